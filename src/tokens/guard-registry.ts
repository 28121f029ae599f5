import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { AuditLog } from '../audit/audit-log.js';
import { BrainstackError } from '../errors.js';
import { checkRoleName, describeName } from '../auth/names.js';

const hash = (credential: string) => createHash('sha256').update(credential).digest('hex');

export interface GuardSummary {
  name: string;
  created_at: number;
  last_seen_at: number | null;
}

/** Guards allowed to follow the revocation feed, each with its own credential (stored hashed). */
export class GuardRegistry {
  private lastSeenWrites = new Map<string, number>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers a guard; returns its credential, shown once. */
  async add(name: string, actor: string): Promise<string> {
    checkRoleName(name);
    const credential = `bsg_${randomBytes(32).toString('base64url')}`;
    await this.db.transaction().execute(async (trx) => {
      if (await trx.selectFrom('guards').select('name').where('name', '=', name).executeTakeFirst()) throw new BrainstackError('guard_exists', `a guard named ${describeName(name)} is already registered`);
      await trx.insertInto('guards').values({ name, credential_hash: hash(credential), created_at: this.now(), last_seen_at: null }).execute();
      await this.audit.record({ event: 'guard.added', outcome: 'success', actor, subject: name }, trx);
    });
    return credential;
  }

  async list(): Promise<GuardSummary[]> {
    const rows = await this.db.selectFrom('guards').select(['name', 'created_at', 'last_seen_at']).orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, created_at: Number(r.created_at), last_seen_at: r.last_seen_at === null ? null : Number(r.last_seen_at) }));
  }

  async remove(name: string, actor: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const result = await trx.deleteFrom('guards').where('name', '=', name).executeTakeFirst();
      if (Number(result.numDeletedRows) !== 1) throw new BrainstackError('guard_not_found', `no guard named ${describeName(name)}`);
      await this.audit.record({ event: 'guard.removed', outcome: 'success', actor, subject: name }, trx);
    });
  }

  /** The guard a credential belongs to, or undefined. Records when it was last seen (at most once a minute). */
  async authenticate(credential: string): Promise<string | undefined> {
    if (!/^bsg_[A-Za-z0-9_-]{43}$/.test(credential)) return undefined;
    const row = await this.db.selectFrom('guards').select('name').where('credential_hash', '=', hash(credential)).executeTakeFirst();
    if (!row) return undefined;
    const now = this.now();
    if (now - (this.lastSeenWrites.get(row.name) ?? 0) > 60_000) {
      this.lastSeenWrites.set(row.name, now);
      await this.db.updateTable('guards').set({ last_seen_at: now }).where('name', '=', row.name).execute();
    }
    return row.name;
  }
}
