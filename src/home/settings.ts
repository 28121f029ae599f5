/** Names of rows in `server_settings`. */
export const WG_PRIVATE_SETTING = 'wireguard.private_key';
export const WG_PUBLIC_SETTING = 'wireguard.public_key';
