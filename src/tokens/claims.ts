/** The access token's claims (RFC 9068 profile, plus brainstack's device binding). */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string;
  client_id: string;
  iat: number;
  exp: number;
  jti: string;
  /** Space-separated `assistant:<name>` items. */
  scope: string;
  roles: string[];
  device: string;
  cnf: { wg_ip: string; wg_pk: string };
}

export const ACCESS_TOKEN_TYPE = 'at+jwt';
export const MAX_TOKEN_LIFETIME_SECONDS = 900;
export const CLIENT_PORTAL = 'brainstack-portal';
export const CLIENT_CLI = 'brainstack-cli';

export function scopeItems(scope: string): string[] {
  return scope.split(' ').filter((s) => s.length > 0);
}

/** True when `granted` (a user's scopes) covers `wanted` exactly, or through `assistant:*`. */
export function scopeCovers(granted: string[], wanted: string): boolean {
  return granted.includes(wanted) || (wanted.startsWith('assistant:') && granted.includes('assistant:*'));
}
