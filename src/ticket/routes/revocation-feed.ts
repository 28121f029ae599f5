import type { FastifyInstance } from 'fastify';
import type { Services } from '../../home/services.js';
import { BrainstackError } from '../../errors.js';
import { errorBodySchema } from '../http-errors.js';

/**
 * Wakes long-polling guards when the revocation list grows. Revocations can be committed by any
 * process (serve, the admin CLI, another replica), so it watches the database's sequence head,
 * every `intervalMs`, and only while somebody is waiting.
 */
export class RevocationWatcher {
  private waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private latest = -1;

  constructor(
    private readonly latestSeq: () => Promise<number>,
    private readonly intervalMs = 200,
  ) {}

  private schedule(): void {
    if (this.timer || this.waiters.size === 0) return;
    this.timer = setTimeout(async () => {
      this.timer = undefined;
      try {
        const seq = await this.latestSeq();
        if (seq !== this.latest) {
          this.latest = seq;
          for (const wake of [...this.waiters]) wake();
        }
      } catch {
        // the database is briefly unavailable: try again next tick
      }
      this.schedule();
    }, this.intervalMs);
  }

  /** Resolves when the sequence moves past `after`, or after `ms`. */
  wait(after: number, ms: number): Promise<void> {
    if (this.latest > after) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timeout);
        this.waiters.delete(done);
        resolve();
      };
      const timeout = setTimeout(done, ms);
      this.waiters.add(() => {
        if (this.latest > after) done();
      });
      this.schedule();
    });
  }

  /** Answers every waiting guard now (shutdown). */
  /** Guards currently waiting on a long-poll. */
  get followers(): number {
    return this.waiters.size;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.latest = Number.POSITIVE_INFINITY;
    for (const wake of [...this.waiters]) wake();
  }
}

/** The guard named by a request's Bearer credential, or a 401. */
async function requireGuard(services: Services, authorization: string | undefined): Promise<string> {
  const credential = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
  const guardName = credential ? await services.guards.authenticate(credential) : undefined;
  if (!guardName) throw new BrainstackError('invalid_token', 'a registered guard credential is required (brainstack admin guards add NAME)', { headers: { 'www-authenticate': 'Bearer realm="brainstack-feed", error="invalid_token"' } });
  return guardName;
}

/** `GET /internal/v1/revocations?after=SEQ&wait=S` for guards, and their refusal reports (internal listener only). */
export async function revocationFeedRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const watcher = new RevocationWatcher(() => services.revocations.latestSeq());
  services.metrics.gauge('brainstack_feed_followers', 'Guards waiting on the revocation feed right now', () => watcher.followers);
  services.metrics.gauge('brainstack_revocation_seq', 'Sequence number of the newest revocation', () => services.revocations.latestSeq());
  app.addHook('onClose', async () => watcher.close());
  app.get<{ Querystring: { after: number; wait: number } }>(
    '/internal/v1/revocations',
    {
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { after: { type: 'integer', minimum: 0, default: 0 }, wait: { type: 'integer', minimum: 0, maximum: 30, default: 0 } } },
        response: { '4xx': errorBodySchema },
      },
    },
    async (request, reply) => {
      await requireGuard(services, request.headers.authorization);
      const { after, wait } = request.query;
      let revocations = await services.revocations.since(after);
      if (revocations.length === 0 && wait > 0) {
        await watcher.wait(after, wait * 1000);
        revocations = await services.revocations.since(after);
      }
      reply.header('cache-control', 'no-store');
      return { revocations: revocations.map(({ seq, kind, value, not_before, expires_at }) => ({ seq, kind, value, not_before, expires_at })), latest: revocations.at(-1)?.seq ?? after };
    },
  );
}

/** `POST /internal/v1/guard-events`: guards report refusals, so alerts see every assistant. */
export async function guardEventRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const text = { type: 'string', maxLength: 128 } as const;
  app.post<{ Body: { events: Array<{ assistant: string; reason: string; user?: string; device?: string; ip?: string }> } }>(
    '/internal/v1/guard-events',
    {
      bodyLimit: 256 * 1024,
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['events'], properties: { events: { type: 'array', maxItems: 500, items: { type: 'object', additionalProperties: false, required: ['assistant', 'reason'], properties: { assistant: text, reason: text, user: text, device: text, ip: text } } } } },
        response: { '4xx': errorBodySchema },
      },
    },
    async (request, reply) => {
      const guard = await requireGuard(services, request.headers.authorization);
      for (const event of request.body.events) services.alerts.guardEvent({ ...event, guard });
      return reply.code(204).send();
    },
  );
}
