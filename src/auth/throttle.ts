import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { BrainstackError } from '../errors.js';

export interface ThrottlePolicy {
  /** Failures allowed before back-off starts. */
  freeFailures: number;
  /** Hard cap of failures per hour; reaching it locks until the hour is over. */
  maxFailuresPerHour: number;
  /** Longest single back-off, seconds. */
  maxBackoffSeconds: number;
}

const HOUR = 3_600_000;

/** Throttle keys: usernames are hashed (the table should not list who was tried). */
export const accountKey = (username: string): string => `account:${createHash('sha256').update(username.normalize('NFC').toLowerCase()).digest('hex')}`;
export const addressKey = (ip: string): string => `ip:${ip}`;

/**
 * Failed-login back-off per account and per address, kept in the database so every replica and
 * restart sees it. Unknown usernames are throttled exactly like real ones.
 */
export class LoginThrottle {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly policyFor: (key: string) => ThrottlePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws `too_many_attempts` with `Retry-After` while any key is locked. */
  async check(keys: string[]): Promise<void> {
    const rows = await this.db.selectFrom('login_throttle').select(['key', 'locked_until']).where('key', 'in', keys).execute();
    const now = this.now();
    const until = Math.max(0, ...rows.map((r) => Number(r.locked_until)));
    if (until > now) {
      const seconds = Math.ceil((until - now) / 1000);
      throw new BrainstackError('too_many_attempts', `too many failed logins; try again in ${seconds} s`, { headers: { 'retry-after': String(seconds) }, details: { retry_after: seconds } });
    }
  }

  /** Counts a failure against each key and sets its back-off; returns the lock ends. */
  async fail(keys: string[]): Promise<Record<string, number>> {
    const now = this.now();
    const result: Record<string, number> = {};
    await this.db.transaction().execute(async (trx) => {
      for (const key of keys) {
        const policy = this.policyFor(key);
        // Writes first, so the row is locked (PostgreSQL) or the database is (SQLite) before we read.
        await trx.insertInto('login_throttle').values({ key, failures: 0, window_start: now, locked_until: 0 }).onConflict((oc) => oc.column('key').doNothing()).execute();
        await trx.updateTable('login_throttle').set({ failures: 0, window_start: now }).where('key', '=', key).where('window_start', '<=', now - HOUR).execute();
        await trx.updateTable('login_throttle').set((eb) => ({ failures: eb('failures', '+', 1) })).where('key', '=', key).execute();
        const row = await trx.selectFrom('login_throttle').select(['failures', 'window_start']).where('key', '=', key).executeTakeFirstOrThrow();
        const failures = Number(row.failures);
        const windowStart = Number(row.window_start);
        let lockedUntil = 0;
        if (failures >= policy.maxFailuresPerHour) lockedUntil = windowStart + HOUR;
        else if (failures > policy.freeFailures) {
          const backoff = Math.min(2 ** (failures - policy.freeFailures - 1), policy.maxBackoffSeconds) * 1000;
          lockedUntil = now + backoff;
        }
        await trx.updateTable('login_throttle').set({ locked_until: lockedUntil }).where('key', '=', key).execute();
        result[key] = lockedUntil;
      }
    });
    return result;
  }

  async reset(key: string): Promise<void> {
    await this.db.deleteFrom('login_throttle').where('key', '=', key).execute();
  }
}
