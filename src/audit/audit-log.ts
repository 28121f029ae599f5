import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { AuditLogTable, Database } from '../db/schema.js';

/** A security event. `details` must never contain a secret (passwords, codes, keys, tokens). */
export interface AuditEvent {
  event: string;
  outcome: 'success' | 'failure' | 'info';
  actor?: string | null;
  subject?: string | null;
  ip?: string | null;
  details?: Record<string, unknown>;
}

/** One row of the trail, exactly as stored. */
export type AuditRow = AuditLogTable;

/** The hash that chains a row to the one before it; `audit verify` recomputes it. */
export function auditRowHash(row: Omit<AuditRow, 'hash'>): string {
  return createHash('sha256')
    .update(row.prev_hash)
    .update(JSON.stringify([row.seq, row.at, row.event, row.outcome, row.actor, row.subject, row.ip, row.details]))
    .digest('hex');
}

/**
 * The audit trail: each event is a database row chained to the previous one by hash, and a
 * structured log line. Writers serialise on the single `audit_head` row, which is updated first
 * in the transaction, so concurrent processes (serve and the admin CLI) never fork the chain.
 */
export class AuditLog {
  private listeners: Array<(row: AuditRow) => void> = [];

  /** Called with every row after it is written (metrics, alerts). */
  onRecord(listener: (row: AuditRow) => void): void {
    this.listeners.push(listener);
  }

  constructor(
    private readonly db: Kysely<Database>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records an event in its own transaction, or inside `trx` when the event belongs to a change. */
  async record(event: AuditEvent, trx?: Transaction<Database>): Promise<AuditRow> {
    const row = trx ? await this.append(trx, event) : await this.db.transaction().execute((t) => this.append(t, event));
    for (const listener of this.listeners) listener(row);
    this.logger.info({ audit: { seq: row.seq, event: row.event, outcome: row.outcome, actor: row.actor, subject: row.subject, ip: row.ip, details: event.details ?? {} } }, `audit ${row.event} ${row.outcome}`);
    return row;
  }

  private async append(trx: Transaction<Database>, event: AuditEvent): Promise<AuditRow> {
    // Take the write lock first (an UPDATE), then read what we now own.
    await trx.updateTable('audit_head').set((eb) => ({ seq: eb('seq', '+', 1) })).where('id', '=', 1).execute();
    const head = await trx.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
    const base = {
      seq: Number(head.seq),
      at: this.now(),
      event: event.event,
      outcome: event.outcome,
      actor: event.actor ?? null,
      subject: event.subject ?? null,
      ip: event.ip ?? null,
      details: JSON.stringify(event.details ?? {}),
      prev_hash: head.hash,
    };
    const row: AuditRow = { ...base, hash: auditRowHash(base) };
    await trx.insertInto('audit_log').values(row).execute();
    await trx.updateTable('audit_head').set({ hash: row.hash }).where('id', '=', 1).execute();
    return row;
  }

  /** Newest first; `afterSeq` keeps only rows written after that one. */
  async list(options: { limit?: number; event?: string; afterSeq?: number } = {}): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(options.limit ?? 100);
    if (options.event) query = query.where('event', '=', options.event);
    if (options.afterSeq !== undefined) query = query.where('seq', '>', options.afterSeq);
    return (await query.execute()).map((r) => ({ ...r, seq: Number(r.seq), at: Number(r.at) }));
  }
}
