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

export interface Database {
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
