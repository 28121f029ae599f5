/** Pino options shared by every process: secrets are redacted by path even if someone logs them. */
export const LOG_REDACT = ['password', '*.password', 'totp', '*.totp', 'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'access_token', 'refresh_token'];
