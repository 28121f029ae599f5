import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { auditRowHash } from './audit-log.js';

export interface ChainProblem {
  seq: number;
  kind: 'edited' | 'missing' | 'inserted' | 'head_mismatch';
  detail: string;
}

export interface ChainReport {
  rows: number;
  ok: boolean;
  problems: ChainProblem[];
}

/**
 * Walks the audit trail in sequence order and recomputes the chain: a row whose content no longer
 * matches its hash was edited; a gap in the sequence or a broken link is a deleted row; a row
 * whose link does not match its predecessor but whose own hash is intact was inserted or
 * reordered. Reads in pages, so it works on any size.
 */
export async function verifyAuditChain(db: Kysely<Database>, pageSize = 5000): Promise<ChainReport> {
  const problems: ChainProblem[] = [];
  let previousHash = '0'.repeat(64);
  let expectedSeq = 1;
  let rows = 0;
  let after = 0;
  for (;;) {
    const page = await db.selectFrom('audit_log').selectAll().where('seq', '>', after).orderBy('seq').limit(pageSize).execute();
    if (page.length === 0) break;
    for (const raw of page) {
      const row = { ...raw, seq: Number(raw.seq), at: Number(raw.at) };
      rows += 1;
      const { hash, ...rest } = row;
      const intact = auditRowHash(rest) === hash;
      if (!intact) problems.push({ seq: row.seq, kind: 'edited', detail: `row ${row.seq} (${row.event}) does not match its hash: its content was changed` });
      if (row.seq !== expectedSeq) {
        problems.push({ seq: row.seq, kind: row.seq > expectedSeq ? 'missing' : 'inserted', detail: row.seq > expectedSeq ? `rows ${expectedSeq}..${row.seq - 1} are missing (deleted)` : `row ${row.seq} is out of sequence` });
      } else if (row.prev_hash !== previousHash && intact) {
        problems.push({ seq: row.seq, kind: 'inserted', detail: `row ${row.seq} does not link to row ${row.seq - 1}: a row was inserted, deleted or replaced before it` });
      }
      previousHash = hash;
      expectedSeq = row.seq + 1;
      after = row.seq;
    }
  }
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  if (head && (Number(head.seq) !== expectedSeq - 1 || head.hash !== previousHash)) {
    problems.push({ seq: Number(head.seq), kind: 'head_mismatch', detail: `the chain head says row ${Number(head.seq)} but the last row is ${expectedSeq - 1}: rows at the end were deleted` });
  }
  return { rows, ok: problems.length === 0, problems };
}
