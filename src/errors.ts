/**
 * The one catalogue of brainstack's error codes.
 *
 * Every error that reaches a caller (HTTP body `code`, CLI message) comes from here. Codes are
 * stable: callers branch on `code`, never on the message. `docs/errors.md` lists exactly these
 * codes; `test/errors-catalogue.test.ts` keeps the two in sync.
 *
 * @example
 * ```ts
 * throw new BrainstackError('user_not_found', `no user named '${name}'`);
 * ```
 */
export const ERROR_CATALOGUE = {
  // request shape
  validation_failed: { status: 400, summary: 'The request body, query or parameters do not match the schema.' },
  invalid_request: { status: 400, summary: 'The request is malformed (RFC 6750 / RFC 6749 `invalid_request`).' },
  unsupported_media_type: { status: 415, summary: 'The request body has a content type the route does not accept.' },
  body_too_large: { status: 413, summary: 'The request body is larger than the route allows.' },
  request_timeout: { status: 408, summary: 'The client did not send the whole request in time.' },
  route_not_found: { status: 404, summary: 'No route matches the method and path.' },
  internal_error: { status: 500, summary: 'An unexpected failure; details are in the server log, not in the response.' },
  // authentication
  invalid_credentials: { status: 401, summary: 'Username, password or TOTP code is wrong, or the account cannot log in. Deliberately generic.' },
  totp_required: { status: 401, summary: 'The password was right and the account needs a TOTP code: repeat the login with `totp`.' },
  unauthenticated: { status: 401, summary: 'No valid session cookie: log in first.' },
  session_expired: { status: 401, summary: 'The session reached its idle or absolute timeout, or was ended.' },
  mfa_enrolment_required: { status: 403, summary: 'This server requires TOTP: enrol a TOTP authenticator before using the API.' },
  csrf_failed: { status: 403, summary: 'A state-changing request carrying a session cookie came from another site (its Origin is not this service).' },
  too_many_attempts: { status: 429, summary: 'Too many failed logins for this account or address; retry after `Retry-After` seconds.' },
  rate_limited: { status: 429, summary: 'Too many requests from this address; retry after `Retry-After` seconds.' },
  totp_already_enrolled: { status: 409, summary: 'TOTP is already active for this account; an operator can reset it.' },
  totp_not_pending: { status: 409, summary: 'No TOTP enrolment is waiting for confirmation: start one first.' },
  invalid_totp: { status: 400, summary: 'The TOTP code given to confirm an enrolment is wrong or was already used.' },
  // single sign-on (upstream OpenID Connect)
  sso_provider_not_found: { status: 404, summary: 'No single sign-on provider with this name is configured.' },
  sso_failed: { status: 400, summary: 'The sign-in through the upstream provider did not complete (wrong or reused state, code, nonce, issuer or audience, or it was cancelled). Deliberately generic; the audit log has the reason. Start again.' },
  sso_access_denied: { status: 403, summary: 'The upstream account is not allowed here (not in an allowed group, not known and not created automatically, disabled, or without the required MFA).' },
  sso_unavailable: { status: 502, summary: 'The upstream provider cannot be reached or answered with an error; retry later.' },
  // OAuth 2.0 device authorization grant (RFC 8628)
  authorization_pending: { status: 400, summary: 'RFC 8628: the user has not approved or denied the code yet; keep polling at `interval`.' },
  slow_down: { status: 400, summary: 'RFC 8628: polling faster than `interval`; the interval grows by 5 s.' },
  access_denied: { status: 400, summary: 'RFC 8628: the user denied the request.' },
  expired_token: { status: 400, summary: 'RFC 8628: the device code expired (or was already used); start again.' },
  user_code_invalid: { status: 400, summary: 'The code typed on the approval page is unknown, expired or already decided. Check it against the terminal.' },
  // accounts and roles
  invalid_name: { status: 400, summary: 'A user, role or scope name has a character or length that is not allowed.' },
  user_exists: { status: 409, summary: 'A user with this name already exists.' },
  user_not_found: { status: 404, summary: 'No user with this name or id.' },
  role_exists: { status: 409, summary: 'A role with this name already exists.' },
  role_not_found: { status: 404, summary: 'No role with this name.' },
  session_not_found: { status: 404, summary: 'No live session matches the given id or user.' },
  weak_password: { status: 400, summary: 'The password is shorter than the configured minimum or too long.' },
  // devices and WireGuard
  device_not_found: { status: 404, summary: 'No device with this id belongs to you (or, for operators, exists).' },
  invalid_device_name: { status: 400, summary: 'Device names are 1-64 letters, digits, spaces and . _ - ( ) \' only: no control characters or newlines.' },
  invalid_public_key: { status: 400, summary: 'A WireGuard public key must be base64 of exactly 32 bytes, and not the server\'s own key.' },
  public_key_in_use: { status: 409, summary: 'This WireGuard public key is already registered: generate a new key pair for each device.' },
  pool_exhausted: { status: 503, summary: 'No tunnel address is free in the configured range (wireguard.cidr); revoke devices or widen the range.' },
  device_inactive: { status: 409, summary: 'The device is revoked or expired: tokens and configs are no longer issued for it.' },
  wireguard_unavailable: { status: 503, summary: 'The `wg` tool is not installed or cannot run: install wireguard-tools.' },
  wireguard_interface_missing: { status: 503, summary: 'The configured WireGuard interface (wireguard.interface) does not exist: create it first.' },
  wireguard_permission_denied: { status: 503, summary: 'The process lacks CAP_NET_ADMIN to change the WireGuard interface.' },
  wireguard_failed: { status: 502, summary: 'A `wg` command failed; the change was not recorded. Details are in the server log.' },
  // OAuth 2.0 token endpoint (RFC 6749 section 5.2: sent as `error`)
  invalid_grant: { status: 400, summary: 'The refresh token is unknown, expired, revoked or already used (reuse revokes its whole family).' },
  invalid_scope: { status: 400, summary: 'The requested scope is malformed or more than the user\'s roles grant.' },
  unsupported_grant_type: { status: 400, summary: 'The token endpoint supports `refresh_token` and `urn:ietf:params:oauth:grant-type:device_code` only.' },
  invalid_client: { status: 401, summary: 'RFC 6749: the `client_id` is unknown to this token endpoint (use `brainstack-cli`).' },
  // guard (RFC 6750: sent as `error` in WWW-Authenticate and in the body)
  invalid_token: { status: 401, summary: 'The access token is missing, malformed, expired, revoked, not for this audience, or used from another tunnel address. Deliberately generic; the guard log has the reason.' },
  insufficient_scope: { status: 403, summary: 'The access token is valid but does not grant this assistant\'s scope.' },
  revocation_unavailable: { status: 503, summary: 'The guard has not heard from the revocation feed for longer than its maximum staleness; it refuses until the feed is back.' },
  guard_not_found: { status: 404, summary: 'No guard with this name is registered.' },
  guard_exists: { status: 409, summary: 'A guard with this name is already registered.' },
  audit_chain_broken: { status: 500, summary: '`audit verify` found edited, inserted or deleted audit rows; the report names each.' },
  // user's CLI
  server_unreachable: { status: 503, summary: 'The CLI cannot reach the ticket service (network, DNS, or an untrusted certificate: pass --ca FILE).' },
  tunnel_failed: { status: 500, summary: '`wg-quick` could not bring the tunnel up or down; its output says why (often: not root).' },
  // configuration and home
  config_invalid: { status: 500, summary: 'The configuration file or environment has a bad or missing key; the message names it.' },
  home_exists: { status: 409, summary: '`brainstack init` found existing keys and was not told `--force`.' },
  home_missing: { status: 404, summary: 'The brainstack home directory or one of its files does not exist: run `brainstack init`.' },
  master_key_invalid: { status: 500, summary: 'The master key is missing, malformed, or does not open a sealed value.' },
  seal_failed: { status: 500, summary: 'A sealed secret could not be opened: wrong master key, or the value was moved or altered.' },
  database_unavailable: { status: 503, summary: 'The database cannot be reached or is not migrated.' },
  usage: { status: 400, summary: 'A command-line invocation is wrong (unknown option, missing argument).' },
  input_required: { status: 400, summary: 'A command needs input (for example a password) and none was given.' },
} as const satisfies Record<string, { status: number; summary: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Base class of every error brainstack raises on purpose. `code` is stable, `message` is for people. */
export class BrainstackError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Extra response headers (for example `Retry-After`). */
  readonly headers: Record<string, string>;
  /** Machine-readable details safe to show the caller (never secrets, never enumeration hints). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: { headers?: Record<string, string>; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message ?? ERROR_CATALOGUE[code].summary, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrainstackError';
    this.code = code;
    this.statusCode = ERROR_CATALOGUE[code].status;
    this.headers = options.headers ?? {};
    this.details = options.details;
  }
}

export function isBrainstackError(err: unknown): err is BrainstackError {
  return err instanceof BrainstackError;
}
