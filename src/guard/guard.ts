import { readFileSync } from 'node:fs';
import { GuardVerifier, type GuardRequest, type GuardDecision, type GuardSettings } from './verifier.js';
import { RevocationState } from './revocation-state.js';
import { RevocationFollower } from './revocation-follower.js';

export interface GuardOptions extends GuardSettings {
  /** Internal listener of the ticket service; without it revocation is enforced only by expiry. */
  feedUrl?: string;
  /** The guard's feed credential, or a file holding it. */
  feedCredential?: string;
  feedCredentialFile?: string;
  onWarning?: (message: string) => void;
  onFeedError?: (err: unknown) => void;
  now?: () => number;
}

/**
 * A running guard: trusted keys, the revocation feed follower and the verifier, for one
 * assistant. Use it through the fastify plugin, `verifyRequest()` for other Node servers, or the
 * sidecar proxy.
 */
/** Refusals worth an alert on the ticket service: a stolen-token signal, revoked tokens, scope probing. */
const REPORTED_REASONS = new Set(['wrong_source_address', 'revoked_jti', 'revoked_device', 'revoked_user', 'insufficient_scope']);

export class Guard {
  readonly follower: RevocationFollower | undefined;
  readonly revocations: RevocationState;
  private readonly credential: string | undefined;
  private reports: Array<{ assistant: string; reason: string; user?: string; device?: string; ip?: string }> = [];
  private reportTimer: NodeJS.Timeout | undefined;

  constructor(readonly options: GuardOptions) {
    this.revocations = new RevocationState();
    const credential = options.feedCredential ?? (options.feedCredentialFile ? readFileSync(options.feedCredentialFile, 'utf8').trim() : undefined);
    this.credential = credential;
    if (options.feedUrl && credential) {
      this.follower = new RevocationFollower(this.revocations, {
        feedUrl: options.feedUrl,
        credential,
        waitSeconds: Math.max(1, Math.min(20, Math.floor((options.maxStalenessMs ?? 30_000) / 2000))),
        ...(options.onFeedError ? { onError: options.onFeedError } : {}),
      });
    } else if (options.feedUrl) {
      throw new Error('a revocation feed URL needs the guard credential (feedCredential or feedCredentialFile)');
    } else {
      options.onWarning?.('no revocation feed configured: revoked tokens are refused only when they expire (at most 15 minutes)');
    }
  }

  private readonly verifiers = new Map<string, GuardVerifier>();

  /** The verifier of this guard's own assistant. */
  get verifier(): GuardVerifier {
    return this.verifierFor(this.options.assistant);
  }

  /** A verifier for another assistant sharing this guard's keys and revocation feed (gateway mode). */
  verifierFor(assistant: string): GuardVerifier {
    let verifier = this.verifiers.get(assistant);
    if (!verifier) {
      const follower = this.follower;
      const first = this.verifiers.values().next().value as GuardVerifier | undefined;
      verifier = new GuardVerifier({ ...this.options, assistant }, follower ? { state: this.revocations, lastContact: () => follower.lastContact } : undefined, this.options.now, first?.keys);
      this.verifiers.set(assistant, verifier);
    }
    return verifier;
  }

  /** Loads the keys (retrying for up to `timeoutMs`) and starts following the feed. */
  async start(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.verifier.keys.load();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`cannot load the JWKS from ${this.options.jwks}: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (this.follower) {
      this.follower.start();
      if (!(await this.follower.ready(timeoutMs))) this.options.onWarning?.(`the revocation feed at ${this.options.feedUrl} has not answered yet; requests get 503 until it does`);
    }
  }

  async stop(): Promise<void> {
    if (this.reportTimer) clearTimeout(this.reportTimer);
    await this.flushReports();
    await this.follower?.stop();
  }

  /**
   * Tells the ticket service about a refusal that matters for alerts (batched, at most every
   * 500 ms, best effort: never delays or fails a request).
   */
  reportRefusal(assistant: string, decision: GuardDecision, ip: string | undefined): void {
    if (decision.ok || !this.options.feedUrl || !REPORTED_REASONS.has(decision.reason)) return;
    const { user, device } = decision.identity ?? {};
    this.reports.push({ assistant, reason: decision.reason, ...(user ? { user } : {}), ...(device ? { device } : {}), ...(ip ? { ip } : {}) });
    if (this.reports.length > 500) this.reports.shift();
    this.reportTimer ??= setTimeout(() => {
      this.reportTimer = undefined;
      void this.flushReports();
    }, 500);
  }

  private async flushReports(): Promise<void> {
    if (this.reports.length === 0 || !this.options.feedUrl || !this.credential) return;
    const events = this.reports;
    this.reports = [];
    try {
      const response = await fetch(`${this.options.feedUrl.replace(/\/$/, '')}/internal/v1/guard-events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${this.credential}` }, body: JSON.stringify({ events }), signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`guard events answered ${response.status}`);
    } catch (err) {
      this.options.onFeedError?.(err);
    }
  }

  verify(request: GuardRequest): Promise<GuardDecision> {
    return this.verifier.verify(request);
  }
}

/** Framework-agnostic check of a Node `IncomingMessage` (or anything shaped like one). */
export function verifyRequest(guard: Guard, request: { headers: GuardRequest['headers']; rawHeaders?: string[]; url?: string; socket?: { remoteAddress?: string | undefined } }): Promise<GuardDecision> {
  return guard.verify({ headers: request.headers, ...(request.rawHeaders ? { rawHeaders: request.rawHeaders } : {}), url: request.url ?? '/', remoteAddress: request.socket?.remoteAddress });
}
