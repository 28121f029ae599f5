import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { AuditLog } from '../audit/audit-log.js';
import { BrainstackError } from '../errors.js';

export const hashRefreshToken = (token: string): string => createHash('sha256').update(token).digest('hex');

export interface RefreshGrant {
  userId: string;
  deviceId: string;
  clientId: string;
  /** The new refresh token (the presented one is now used). */
  refreshToken: string;
}

const TOKEN_PREFIX = 'bsr_';

/**
 * Opaque refresh tokens, bound to a device, stored as SHA-256 only, rotated on every use. A
 * token presented a second time is reuse: its whole family is revoked (RFC 9700 §4.14).
 */
export class RefreshTokens {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditLog,
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Issues the first token of a new family (at device registration). */
  async issue(trx: Transaction<Database>, userId: string, deviceId: string, clientId: string, familyId: string = randomUUID()): Promise<string> {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.now();
    await trx.insertInto('refresh_tokens').values({ id: randomUUID(), token_hash: hashRefreshToken(token), family_id: familyId, device_id: deviceId, user_id: userId, client_id: clientId, created_at: now, expires_at: now + this.lifetimeMs, used_at: null, revoked_at: null }).execute();
    return token;
  }

  /** The user a refresh token belongs to (any state), to run checks before the rotation. */
  async ownerOf(token: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('refresh_tokens').select('user_id').where('token_hash', '=', hashRefreshToken(token)).executeTakeFirst();
    return row?.user_id;
  }

  /**
   * Exchanges a refresh token for a new one in the same family. `check` runs inside the
   * transaction (device and user still active) and may throw to refuse.
   */
  async rotate(token: string, ip: string | null, check: (trx: Transaction<Database>, grant: { userId: string; deviceId: string }) => Promise<void>): Promise<RefreshGrant> {
    const now = this.now();
    const hash = hashRefreshToken(token);
    type Outcome = { grant: RefreshGrant } | { error: 'unknown' | 'revoked' | 'expired' | 'reused'; userId?: string };
    const outcome = await this.db.transaction().execute(async (trx): Promise<Outcome> => {
      const row = await trx.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
      if (!row) return { error: 'unknown' };
      if (row.revoked_at !== null) return { error: 'revoked', userId: row.user_id };
      if (Number(row.expires_at) <= now) return { error: 'expired', userId: row.user_id };
      // Claim it: only one request can flip used_at from NULL.
      const claimed = await trx.updateTable('refresh_tokens').set({ used_at: now }).where('id', '=', row.id).where('used_at', 'is', null).executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) {
        await trx.updateTable('refresh_tokens').set({ revoked_at: now }).where('family_id', '=', row.family_id).where('revoked_at', 'is', null).execute();
        await this.audit.record({ event: 'refresh_token.reuse', outcome: 'failure', subject: row.user_id, ip, details: { device: row.device_id, family: row.family_id, action: 'family revoked' } }, trx);
        return { error: 'reused', userId: row.user_id };
      }
      await check(trx, { userId: row.user_id, deviceId: row.device_id });
      const next = await this.issue(trx, row.user_id, row.device_id, row.client_id, row.family_id);
      return { grant: { userId: row.user_id, deviceId: row.device_id, clientId: row.client_id, refreshToken: next } };
    });
    if ('grant' in outcome) return outcome.grant;
    if (outcome.error !== 'reused') {
      await this.audit.record({ event: 'refresh_token.refused', outcome: 'failure', subject: outcome.userId ?? null, ip, details: { reason: outcome.error } });
    }
    throw new BrainstackError('invalid_grant', 'the refresh token is invalid, expired, revoked or was already used');
  }

  /** Revokes every refresh token of a device (device revoked) or user (user revoked). */
  async revokeFor(trx: Transaction<Database>, where: { deviceId?: string; userId?: string }): Promise<void> {
    let query = trx.updateTable('refresh_tokens').set({ revoked_at: this.now() }).where('revoked_at', 'is', null);
    if (where.deviceId) query = query.where('device_id', '=', where.deviceId);
    if (where.userId) query = query.where('user_id', '=', where.userId);
    await query.execute();
  }
}
