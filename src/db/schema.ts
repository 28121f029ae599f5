/**
 * The database as kysely sees it. Times are epoch milliseconds (bigint columns, read back as
 * numbers on both dialects); booleans are 0/1 integers; ids are random UUIDs. Columns named
 * `*_sealed` hold AES-256-GCM envelopes (src/crypto/seal.ts), never plaintext.
 */
export interface UsersTable {
  id: string;
  username: string;
  password_hash: string | null;
  totp_sealed: string | null;
  totp_pending_sealed: string | null;
  totp_last_step: number | null;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface RolesTable {
  id: string;
  name: string;
  description: string;
  created_at: number;
}

export interface RoleScopesTable {
  role_id: string;
  scope: string;
}

export interface UserRolesTable {
  user_id: string;
  role_id: string;
  /** `local` (granted by an operator) or the upstream provider that granted it. */
  source: string;
  created_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the cookie value; the value itself is never stored. */
  id_hash: string;
  user_id: string;
  created_at: number;
  last_seen_at: number;
  /** Absolute expiry. */
  expires_at: number;
  /** 1 when the login included a second factor (or none is required). */
  mfa: number;
  ip: string;
  user_agent: string;
}

export interface LoginThrottleTable {
  /** `account:<sha256 of name>` or `ip:<address>`. */
  key: string;
  failures: number;
  window_start: number;
  locked_until: number;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: string;
  private_sealed: string;
  created_at: number;
  /** When it stopped signing (a newer key became active). */
  superseded_at: number | null;
  /** When it left the JWKS. */
  retired_at: number | null;
}

export interface ServerSettingsTable {
  name: string;
  value: string;
  updated_at: number;
}

export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

export interface AuditLogTable {
  seq: number;
  at: number;
  event: string;
  outcome: string;
  actor: string | null;
  subject: string | null;
  ip: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface DevicesTable {
  id: string;
  user_id: string;
  name: string;
  /** WireGuard public key (base64); unique across all devices ever registered. */
  public_key: string;
  /** Per-device preshared key, sealed. */
  psk_sealed: string;
  /** 1 when the client generated the key pair (the server never saw the private key). */
  client_key: number;
  interface: string;
  /** Tunnel address while the device holds one; NULL once released (revoked or expired). */
  ip: string | null;
  /** Offset of `ip` in the pool; unique per interface. */
  ip_index: number | null;
  /** The address it had, kept for the record after release. */
  released_ip: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
}

export interface IpPoolsTable {
  interface: string;
  cidr: string;
  /** Next never-used offset. */
  next_index: number;
  /** Bumped by every allocation: the write that serialises allocators. */
  version: number;
}

export interface IpQuarantineTable {
  interface: string;
  ip_index: number;
  /** The address may be handed out again from this time on. */
  available_at: number;
}

export interface RefreshTokensTable {
  id: string;
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  family_id: string;
  device_id: string;
  user_id: string;
  client_id: string;
  created_at: number;
  expires_at: number;
  /** Set when rotated; presenting it again is reuse. */
  used_at: number | null;
  revoked_at: number | null;
}

export interface RevocationHeadTable {
  id: number;
  seq: number;
}

export interface RevocationsTable {
  seq: number;
  /** `jti`, `device` or `user`. */
  kind: string;
  value: string;
  /** Tokens issued before this time (ms) are refused (for `user` and `device`). */
  not_before: number;
  /** After this time the entry no longer matters (every affected token has expired). */
  expires_at: number;
  reason: string;
  created_at: number;
}

export interface GuardsTable {
  name: string;
  /** SHA-256 of the feed credential; the credential is shown once and never stored. */
  credential_hash: string;
  created_at: number;
  last_seen_at: number | null;
}

export interface UserIdentitiesTable {
  id: string;
  user_id: string;
  /** The configured provider name (`sso.providers[].name`). */
  provider: string;
  /** The provider's issuer URL and the user's `sub` there: the link, never the email. */
  issuer: string;
  subject: string;
  /** JSON array of the upstream groups seen at the last login or re-validation. */
  groups: string;
  /** The upstream refresh token, sealed; NULL when the provider granted none. */
  upstream_refresh_sealed: string | null;
  created_at: number;
  last_login_at: number;
  /** Last time the provider confirmed the account (login or re-validation). */
  validated_at: number;
}

export interface SsoLoginsTable {
  /** SHA-256 of the OAuth `state`; one row per login in progress, deleted when used. */
  state_hash: string;
  provider: string;
  /** SHA-256 of the binding cookie set in the browser that started the login. */
  browser_hash: string;
  /** The PKCE code verifier, sealed. */
  verifier_sealed: string;
  nonce: string;
  /** Where the portal goes afterwards (a local path). */
  return_to: string;
  created_at: number;
  expires_at: number;
}

export interface DeviceAuthorizationsTable {
  id: string;
  /** SHA-256 of the device code (the CLI's secret); the code itself is never stored. */
  device_code_hash: string;
  /** SHA-256 of the normalised user code. */
  user_code_hash: string;
  client_id: string;
  device_name: string;
  /** The WireGuard public key the CLI made; registered when the approved code is redeemed. */
  public_key: string;
  scope: string | null;
  /** `pending`, `approved`, `denied` or `redeemed`. */
  status: string;
  /** Who approved or denied it. */
  user_id: string | null;
  interval_seconds: number;
  last_poll_at: number | null;
  ip: string | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
}

export interface Database {
  user_identities: UserIdentitiesTable;
  sso_logins: SsoLoginsTable;
  device_authorizations: DeviceAuthorizationsTable;
  guards: GuardsTable;
  devices: DevicesTable;
  ip_pools: IpPoolsTable;
  ip_quarantine: IpQuarantineTable;
  refresh_tokens: RefreshTokensTable;
  revocation_head: RevocationHeadTable;
  revocations: RevocationsTable;
  users: UsersTable;
  roles: RolesTable;
  role_scopes: RoleScopesTable;
  user_roles: UserRolesTable;
  sessions: SessionsTable;
  login_throttle: LoginThrottleTable;
  signing_keys: SigningKeysTable;
  server_settings: ServerSettingsTable;
  audit_head: AuditHeadTable;
  audit_log: AuditLogTable;
}
