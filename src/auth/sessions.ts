import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface SessionPolicy {
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
}

export interface ActiveSession {
  idHash: string;
  userId: string;
  username: string;
  mfa: boolean;
  createdAt: number;
  expiresAt: number;
}

export const hashSessionId = (id: string): string => createHash('sha256').update(id).digest('hex');

/**
 * Server-side sessions. The cookie holds 256 random bits; the table holds only their SHA-256.
 * A session ends at its idle or absolute timeout, at logout, or when its user is disabled.
 */
export class Sessions {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly policy: SessionPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates a new session; returns the cookie value (shown once, never stored). */
  async create(userId: string, mfa: boolean, ip: string, userAgent: string): Promise<{ id: string; expiresAt: number }> {
    const id = randomBytes(32).toString('base64url');
    const now = this.now();
    const expiresAt = now + this.policy.absoluteTimeoutSeconds * 1000;
    await this.db.insertInto('sessions').values({ id_hash: hashSessionId(id), user_id: userId, created_at: now, last_seen_at: now, expires_at: expiresAt, mfa: mfa ? 1 : 0, ip, user_agent: userAgent.slice(0, 256) }).execute();
    return { id, expiresAt };
  }

  /**
   * Resolves a cookie value to a live session and refreshes its idle timer; `expired` when it
   * existed but timed out (and is now deleted), `missing` when unknown.
   */
  async resolve(id: string): Promise<ActiveSession | 'expired' | 'missing'> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return 'missing';
    const idHash = hashSessionId(id);
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.user_id', 'sessions.created_at', 'sessions.last_seen_at', 'sessions.expires_at', 'sessions.mfa', 'users.username', 'users.disabled_at'])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!row) return 'missing';
    const now = this.now();
    const idleEnd = Number(row.last_seen_at) + this.policy.idleTimeoutSeconds * 1000;
    if (row.disabled_at !== null || now >= Number(row.expires_at) || now >= idleEnd) {
      await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
      return 'expired';
    }
    // Refresh the idle timer at most every few seconds, not on every request.
    if (now - Number(row.last_seen_at) > 5_000) {
      await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
    }
    return { idHash, userId: row.user_id, username: row.username, mfa: row.mfa === 1, createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) };
  }

  /** Live sessions, newest first; `id` is a prefix of the stored hash (enough to revoke one). */
  async list(userId?: string): Promise<Array<{ id: string; user_id: string; username: string; created_at: number; last_seen_at: number; expires_at: number; ip: string; user_agent: string }>> {
    let query = this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.id_hash', 'sessions.user_id', 'users.username', 'sessions.created_at', 'sessions.last_seen_at', 'sessions.expires_at', 'sessions.ip', 'sessions.user_agent'])
      .where('sessions.expires_at', '>', this.now())
      .orderBy('sessions.created_at', 'desc');
    if (userId) query = query.where('sessions.user_id', '=', userId);
    return (await query.execute()).map((r) => ({ id: r.id_hash.slice(0, 16), user_id: r.user_id, username: r.username, created_at: Number(r.created_at), last_seen_at: Number(r.last_seen_at), expires_at: Number(r.expires_at), ip: r.ip, user_agent: r.user_agent }));
  }

  /** Ends the sessions whose hash starts with `prefix` (at least 8 hex characters); returns how many. */
  async destroyByPrefix(prefix: string): Promise<number> {
    if (!/^[0-9a-f]{8,64}$/.test(prefix)) return 0;
    const result = await this.db.deleteFrom('sessions').where('id_hash', 'like', `${prefix}%`).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async destroy(id: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', hashSessionId(id)).execute();
  }

  async destroyByHash(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  async destroyAllFor(userId: string): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Marks a session as having passed the second factor (after TOTP enrolment). */
  async markMfa(idHash: string): Promise<void> {
    await this.db.updateTable('sessions').set({ mfa: 1 }).where('id_hash', '=', idHash).execute();
  }
}
