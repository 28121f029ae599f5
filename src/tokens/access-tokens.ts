import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKeyStore } from '../crypto/signing-keys.js';
import { BrainstackError } from '../errors.js';
import { SCOPE } from '../auth/names.js';
import { ACCESS_TOKEN_TYPE, scopeCovers, scopeItems, type AccessTokenClaims } from './claims.js';

export interface IssueRequest {
  userId: string;
  roles: string[];
  /** Everything the user's roles grant. */
  grantedScopes: string[];
  /** Space-separated narrowing; omitted → all granted scopes. */
  requestedScope?: string | undefined;
  clientId: string;
  device: { id: string; ip: string; publicKey: string };
}

export interface IssuedAccessToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  jti: string;
}

/** Narrows the granted scopes to the requested ones; asking for more is `invalid_scope`. */
export function resolveScope(granted: string[], requested: string | undefined): string {
  if (requested === undefined) return [...granted].sort().join(' ');
  const wanted = [...new Set(scopeItems(requested))];
  for (const item of wanted) {
    if (!SCOPE.test(item)) throw new BrainstackError('invalid_scope', `'${item.slice(0, 80)}' is not a scope (assistant:<name> or assistant:*)`);
    if (!scopeCovers(granted, item)) throw new BrainstackError('invalid_scope', `your roles do not grant '${item}'`);
  }
  return wanted.sort().join(' ');
}

/** Signs access tokens with the active signing key. */
export class AccessTokenIssuer {
  constructor(
    private readonly keys: SigningKeyStore,
    private readonly options: { issuer: string; audience: string; lifetimeSeconds: number; now?: () => number; onIssue?: (clientId: string) => void },
  ) {}

  async issue(request: IssueRequest): Promise<IssuedAccessToken> {
    const scope = resolveScope(request.grantedScopes, request.requestedScope);
    const key = await this.keys.activeKey();
    const iat = Math.floor((this.options.now ?? Date.now)() / 1000);
    const jti = randomUUID();
    const claims: AccessTokenClaims = {
      iss: this.options.issuer,
      sub: request.userId,
      aud: this.options.audience,
      client_id: request.clientId,
      iat,
      exp: iat + this.options.lifetimeSeconds,
      jti,
      scope,
      roles: request.roles,
      device: request.device.id,
      cnf: { wg_ip: request.device.ip, wg_pk: request.device.publicKey },
    };
    const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: key.alg, typ: ACCESS_TOKEN_TYPE, kid: key.kid }).sign(key.privateKey);
    this.options.onIssue?.(request.clientId);
    return { access_token: token, token_type: 'Bearer', expires_in: this.options.lifetimeSeconds, scope, jti };
  }
}
