import type { Kysely, Transaction } from 'kysely';
import type { Database, RevocationsTable } from '../db/schema.js';

export type RevocationKind = 'jti' | 'device' | 'user';

export type Revocation = RevocationsTable;

/**
 * The revocation list that guards follow. Entries get a sequence number from the single
 * `revocation_head` row, updated first in the transaction, so entries commit in sequence order
 * and a follower reading `after=SEQ` never misses one that commits late.
 */
export class Revocations {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
    private readonly onAdd: (kind: RevocationKind) => void = () => undefined,
  ) {}

  /** Adds an entry inside `trx`. `expiresAt`: when every token it can affect has expired. */
  async add(trx: Transaction<Database>, entry: { kind: RevocationKind; value: string; reason: string; expiresAt: number; notBefore?: number }): Promise<Revocation> {
    await trx.updateTable('revocation_head').set((eb) => ({ seq: eb('seq', '+', 1) })).where('id', '=', 1).execute();
    const head = await trx.selectFrom('revocation_head').select('seq').where('id', '=', 1).executeTakeFirstOrThrow();
    const now = this.now();
    const row: Revocation = { seq: Number(head.seq), kind: entry.kind, value: entry.value, not_before: entry.notBefore ?? now, expires_at: entry.expiresAt, reason: entry.reason, created_at: now };
    await trx.insertInto('revocations').values(row).execute();
    this.onAdd(entry.kind);
    return row;
  }

  /** Entries after `seq` that still matter, oldest first. */
  async since(seq: number, limit = 1000): Promise<Revocation[]> {
    const rows = await this.db.selectFrom('revocations').selectAll().where('seq', '>', seq).where('expires_at', '>', this.now()).orderBy('seq').limit(limit).execute();
    return rows.map((r) => ({ ...r, seq: Number(r.seq), not_before: Number(r.not_before), expires_at: Number(r.expires_at), created_at: Number(r.created_at) }));
  }

  async latestSeq(): Promise<number> {
    const head = await this.db.selectFrom('revocation_head').select('seq').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(head.seq);
  }
}
