import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, type JSONWebKeySet, type JWTHeaderParameters, type FlattenedJWSInput, type CryptoKey, type KeyObject } from 'jose';

export interface JwksSourceOptions {
  /** A file path or an http(s) URL (usually the ticket service's internal listener). */
  location: string;
  /** Least time between two refetches triggered by unknown kids. */
  refetchIntervalMs?: number;
  fetchImpl?: typeof fetch;
  now?: () => number;
}

export class UnknownKeyError extends Error {
  readonly code = 'unknown_kid';
}

/**
 * The guard's trusted keys. Loaded once; an unknown `kid` triggers a refetch at most once per
 * `refetchIntervalMs` (30 s), so a flood of garbage kids cannot make the guard hammer the ticket
 * service. Keys retired from the JWKS disappear at the next refetch.
 */
export class JwksSource {
  private keys: ReturnType<typeof createLocalJWKSet> | undefined;
  private kids = new Set<string>();
  private lastFetch = 0;
  private inflight: Promise<void> | undefined;
  private readonly refetchIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly options: JwksSourceOptions) {
    this.refetchIntervalMs = options.refetchIntervalMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  get fetchedAt(): number {
    return this.lastFetch;
  }

  async load(): Promise<void> {
    this.inflight ??= (async () => {
      try {
        const jwks = await this.read();
        if (!Array.isArray(jwks.keys)) throw new Error(`${this.options.location} is not a JWKS`);
        this.keys = createLocalJWKSet(jwks);
        this.kids = new Set(jwks.keys.map((k) => k.kid).filter((k): k is string => typeof k === 'string'));
      } finally {
        this.lastFetch = this.now();
        this.inflight = undefined;
      }
    })();
    return this.inflight;
  }

  private async read(): Promise<JSONWebKeySet> {
    const { location } = this.options;
    if (/^https?:\/\//.test(location)) {
      const response = await (this.options.fetchImpl ?? fetch)(location, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`JWKS ${location} answered ${response.status}`);
      return (await response.json()) as JSONWebKeySet;
    }
    return JSON.parse(await readFile(location, 'utf8')) as JSONWebKeySet;
  }

  /** jose key resolver: known kid → key; unknown kid → at most one refetch per interval. */
  getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey | KeyObject> => {
    const kid = header.kid;
    if (typeof kid !== 'string' || kid.length === 0 || kid.length > 128) throw new UnknownKeyError('token has no usable kid');
    if ((!this.keys || !this.kids.has(kid)) && this.now() - this.lastFetch >= this.refetchIntervalMs) {
      await this.load().catch(() => undefined);
    }
    if (!this.keys || !this.kids.has(kid)) throw new UnknownKeyError(`unknown kid`);
    return this.keys(header, token);
  };
}
