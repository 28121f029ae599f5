import type { RevocationEntry, RevocationState } from './revocation-state.js';

export interface FollowerOptions {
  /** Base URL of the ticket service's internal listener, e.g. http://127.0.0.1:8444 */
  feedUrl: string;
  credential: string;
  /** Long-poll wait the guard asks for, seconds. */
  waitSeconds?: number;
  onError?: (err: unknown) => void;
  fetchImpl?: typeof fetch;
  now?: () => number;
}

/**
 * Follows `GET /internal/v1/revocations?after=SEQ&wait=S` (long-poll): a snapshot first, then each
 * change as it commits. Every answer, even an empty one after the wait, counts as contact:
 * `lastContact` is what the staleness bound is measured against.
 */
export class RevocationFollower {
  lastContact = 0;
  private stopped = false;
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private firstContact: Promise<void>;
  private resolveFirst!: () => void;

  constructor(
    private readonly state: RevocationState,
    private readonly options: FollowerOptions,
  ) {
    this.firstContact = new Promise((resolve) => (this.resolveFirst = resolve));
  }

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves after the first successful answer (or after `timeoutMs`). */
  async ready(timeoutMs = 10_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const result = await Promise.race([this.firstContact.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  private async run(): Promise<void> {
    let backoff = 250;
    const longWait = this.options.waitSeconds ?? 20;
    // The first request takes the snapshot at once; then long-polls for the changes.
    let wait = 0;
    while (!this.stopped) {
      this.controller = new AbortController();
      const timer = setTimeout(() => this.controller?.abort(), (wait + 10) * 1000);
      try {
        const url = `${this.options.feedUrl.replace(/\/$/, '')}/internal/v1/revocations?after=${this.state.seq}&wait=${wait}`;
        const response = await (this.options.fetchImpl ?? fetch)(url, { headers: { authorization: `Bearer ${this.options.credential}` }, signal: this.controller.signal });
        if (!response.ok) throw new Error(`revocation feed answered ${response.status}`);
        const body = (await response.json()) as { revocations: RevocationEntry[]; latest: number };
        this.state.apply(body.revocations);
        this.lastContact = this.now;
        this.resolveFirst();
        backoff = 250;
        wait = longWait;
      } catch (err) {
        if (this.stopped) break;
        this.options.onError?.(err);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    await this.loop?.catch(() => undefined);
  }
}
