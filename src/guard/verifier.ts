import { decodeProtectedHeader, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { IncomingHttpHeaders } from 'node:http';
import { callerAddress } from './source-address.js';
import { JwksSource, UnknownKeyError } from './jwks-source.js';
import type { RevocationState } from './revocation-state.js';
import { ACCESS_TOKEN_TYPE, MAX_TOKEN_LIFETIME_SECONDS, scopeItems } from '../tokens/claims.js';

export interface GuardSettings {
  /** The assistant this guard protects: requests need `assistant:<name>` or `assistant:*`. */
  assistant: string;
  issuer: string;
  audience: string;
  /** JWKS file path or URL. */
  jwks: string;
  algorithms?: Array<'ES256' | 'EdDSA'>;
  /** Addresses whose X-Forwarded-For is believed (a brainstack gateway in front). */
  trustedGateways?: string[];
  /** Clock leeway, seconds (at most 60). */
  leewaySeconds?: number;
  /** Refuse with 503 when the revocation feed has been silent longer than this (ms). */
  maxStalenessMs?: number;
  /** Verified-token cache size (entries). */
  cacheSize?: number;
}

/** The request parts the guard needs, from any Node HTTP server. */
export interface GuardRequest {
  headers: IncomingHttpHeaders;
  /** Raw header list: lets the guard see duplicated Authorization headers Node would fold. */
  rawHeaders?: string[];
  url: string;
  remoteAddress: string | undefined;
}

export interface GuardIdentity {
  user: string;
  device: string;
  scopes: string[];
  roles: string[];
  clientId: string;
  jti: string;
  tunnelIp: string;
  expiresAt: number;
  claims: JWTPayload;
}

export type GuardReason =
  | 'missing_token' | 'malformed_header' | 'multiple_tokens' | 'token_in_query' | 'token_too_long' | 'malformed_token'
  | 'algorithm_not_allowed' | 'embedded_key' | 'unknown_kid' | 'bad_signature' | 'bad_typ' | 'bad_issuer' | 'bad_audience'
  | 'expired' | 'not_yet_valid' | 'issued_in_future' | 'lifetime_too_long' | 'missing_claim' | 'bad_claim'
  | 'insufficient_scope' | 'wrong_source_address' | 'revoked_jti' | 'revoked_device' | 'revoked_user' | 'revocation_unavailable' | 'jwt_error';

export type GuardDecision =
  | { ok: true; identity: GuardIdentity; cached: boolean }
  | { ok: false; status: 400 | 401 | 403 | 503; error: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'revocation_unavailable'; reason: GuardReason; scope?: string; identity?: Partial<GuardIdentity> };

export const MAX_TOKEN_LENGTH = 4096;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const FORBIDDEN_HEADER_PARAMS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

interface CacheEntry {
  identity: GuardIdentity;
  kid: string;
}

/** RFC 6750 `WWW-Authenticate` value for a refusal. */
export function wwwAuthenticate(decision: Extract<GuardDecision, { ok: false }>): string | undefined {
  if (decision.status === 503) return undefined;
  if (decision.reason === 'missing_token') return 'Bearer realm="brainstack"';
  const scope = decision.scope ? `, scope="${decision.scope}"` : '';
  return `Bearer realm="brainstack", error="${decision.error}"${scope}`;
}

/**
 * Checks one request against everything an access token promises, in this order: one
 * well-formed Bearer header, length, algorithm, key, typ, issuer, audience, times and lifetime,
 * required claims, the assistant's scope, the caller's tunnel address, revocation. Exceptions
 * from the JWT library become 401; the precise reason is in `decision.reason`, for logs and
 * metrics only.
 */
export class GuardVerifier {
  readonly keys: JwksSource;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly trusted: Set<string>;
  private readonly algorithms: string[];
  private readonly leeway: number;
  private readonly cacheSize: number;
  private readonly requiredScope: string;

  constructor(
    readonly settings: GuardSettings,
    private readonly revocations?: { state: RevocationState; lastContact: () => number },
    private readonly now: () => number = Date.now,
    keys?: JwksSource,
  ) {
    this.keys = keys ?? new JwksSource({ location: settings.jwks, now });
    this.trusted = new Set(settings.trustedGateways ?? []);
    this.algorithms = settings.algorithms ?? ['ES256', 'EdDSA'];
    this.leeway = Math.min(settings.leewaySeconds ?? 60, 60);
    this.cacheSize = settings.cacheSize ?? 10_000;
    this.requiredScope = `assistant:${settings.assistant}`;
  }

  /** Drops cached tokens signed by keys no longer in the JWKS. */
  async reloadKeys(): Promise<void> {
    await this.keys.load();
    this.cache.clear();
  }

  private refuse(status: 400 | 401 | 403 | 503, reason: GuardReason, identity?: Partial<GuardIdentity>): GuardDecision {
    const error = status === 400 ? 'invalid_request' : status === 403 ? 'insufficient_scope' : status === 503 ? 'revocation_unavailable' : 'invalid_token';
    return { ok: false, status, error, reason, ...(status === 403 ? { scope: this.requiredScope } : {}), ...(identity ? { identity } : {}) };
  }

  /** Finds the one bearer token, refusing ambiguity (RFC 6750 §2). */
  private extract(request: GuardRequest): { token: string } | GuardDecision {
    const raw = request.rawHeaders;
    // Node keeps only the first of several Authorization headers in `headers`: count the raw ones.
    let authHeaders = 0;
    if (raw) {
      for (let i = 0; i < raw.length; i += 2) if ((raw[i] as string).length === 13 && (raw[i] as string).toLowerCase() === 'authorization') authHeaders += 1;
    } else if (request.headers.authorization) authHeaders = 1;
    const queryIndex = request.url.indexOf('?');
    const inQuery = queryIndex >= 0 && new URLSearchParams(request.url.slice(queryIndex + 1)).has('access_token');
    if (authHeaders > 1) return this.refuse(400, 'multiple_tokens');
    const header = request.headers.authorization;
    if (!header) return inQuery ? this.refuse(401, 'token_in_query') : this.refuse(401, 'missing_token');
    if (inQuery) return this.refuse(400, 'multiple_tokens');
    if (header.length > MAX_TOKEN_LENGTH + 16) return this.refuse(401, 'token_too_long');
    const match = BEARER.exec(header);
    if (!match) return this.refuse(401, 'malformed_header');
    const token = match[1] as string;
    if (token.length > MAX_TOKEN_LENGTH) return this.refuse(401, 'token_too_long');
    return { token };
  }

  private async verifyToken(token: string): Promise<{ identity: GuardIdentity; kid: string } | GuardDecision> {
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return this.refuse(401, 'malformed_token');
    }
    if (typeof header.alg !== 'string' || !this.algorithms.includes(header.alg)) return this.refuse(401, 'algorithm_not_allowed');
    if (FORBIDDEN_HEADER_PARAMS.some((p) => p in header)) return this.refuse(401, 'embedded_key');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys.getKey, {
        algorithms: this.algorithms,
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: this.leeway,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'cnf'],
      }));
    } catch (err) {
      return this.refuse(401, joseReason(err));
    }
    const nowSeconds = this.now() / 1000;
    const iat = payload.iat as number;
    const exp = payload.exp as number;
    if (iat > nowSeconds + this.leeway) return this.refuse(401, 'issued_in_future');
    if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) return this.refuse(401, 'lifetime_too_long');
    const cnf = payload.cnf as { wg_ip?: unknown } | undefined;
    const roles = payload.roles ?? [];
    if (typeof payload.sub !== 'string' || typeof payload.jti !== 'string' || typeof payload.client_id !== 'string' || typeof payload.scope !== 'string' || typeof payload.device !== 'string') return this.refuse(401, 'bad_claim');
    if (typeof cnf !== 'object' || cnf === null || typeof cnf.wg_ip !== 'string' || !Array.isArray(roles)) return this.refuse(401, 'bad_claim');
    return {
      kid: header.kid as string,
      identity: {
        user: payload.sub,
        device: payload.device,
        scopes: scopeItems(payload.scope),
        roles: roles.filter((r): r is string => typeof r === 'string'),
        clientId: payload.client_id,
        jti: payload.jti,
        tunnelIp: cnf.wg_ip,
        expiresAt: exp * 1000,
        claims: payload,
      },
    };
  }

  /** The complete check, always as a promise (see `check` for the synchronous fast path). */
  async verify(request: GuardRequest): Promise<GuardDecision> {
    return this.check(request);
  }

  /**
   * The complete check, synchronous when it can be (malformed request, cached token), a promise
   * only when a signature must be verified: hot callers pay for a promise on the cold path only.
   */
  check(request: GuardRequest): GuardDecision | Promise<GuardDecision> {
    const step = this.fastPath(request);
    return 'token' in step ? this.verifyAndCache(request, step.token) : step.decision;
  }

  private async verifyAndCache(request: GuardRequest, token: string): Promise<GuardDecision> {
    const verified = await this.verifyToken(token);
    if ('ok' in verified) return verified;
    // Bounded: the oldest entry goes first (entries also leave when their token expires).
    this.cache.set(token, { identity: verified.identity, kid: verified.kid });
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    return this.checkPerRequest(request, token, verified.identity, false);
  }

  /** Header extraction and cache lookup, once per request: a decision, or the token still to verify. */
  private fastPath(request: GuardRequest): { decision: GuardDecision } | { token: string } {
    const extracted = this.extract(request);
    if ('ok' in extracted) return { decision: extracted };
    const hit = this.cache.get(extracted.token);
    if (!hit) return extracted;
    if (hit.identity.expiresAt + this.leeway * 1000 <= this.now()) {
      this.cache.delete(extracted.token);
      return extracted;
    }
    return { decision: this.checkPerRequest(request, extracted.token, hit.identity, true) };
  }

  /** Checked on every request, cached or not: scope, tunnel address, revocation. */
  private checkPerRequest(request: GuardRequest, token: string, identity: GuardIdentity, cached: boolean): GuardDecision {
    if (!identity.scopes.includes(this.requiredScope) && !identity.scopes.includes('assistant:*')) return this.refuse(403, 'insufficient_scope', identity);
    const caller = callerAddress(request.remoteAddress, request.headers['x-forwarded-for'], this.trusted);
    if (caller !== identity.tunnelIp) return this.refuse(401, 'wrong_source_address', identity);
    if (this.revocations) {
      if (this.now() - this.revocations.lastContact() > (this.settings.maxStalenessMs ?? 30_000)) return this.refuse(503, 'revocation_unavailable', identity);
      const revoked = this.revocations.state.revokedReason({ jti: identity.jti, device: identity.device, sub: identity.user, iatMs: (identity.claims.iat as number) * 1000 });
      if (revoked) {
        this.cache.delete(token);
        return this.refuse(401, revoked as GuardReason, identity);
      }
    }
    return { ok: true, identity, cached };
  }
}

function joseReason(err: unknown): GuardReason {
  if (err instanceof UnknownKeyError || err instanceof joseErrors.JWKSNoMatchingKey || err instanceof joseErrors.JWKSMultipleMatchingKeys) return 'unknown_kid';
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss': return 'bad_issuer';
      case 'aud': return 'bad_audience';
      case 'nbf': return 'not_yet_valid';
      case 'iat': return 'issued_in_future';
      case 'typ': return 'bad_typ';
      default: return err.reason === 'missing' ? 'missing_claim' : 'bad_claim';
    }
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'algorithm_not_allowed';
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid || err instanceof joseErrors.JOSENotSupported) return 'malformed_token';
  return 'jwt_error';
}
