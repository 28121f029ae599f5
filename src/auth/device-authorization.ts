import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { AuditLog } from '../audit/audit-log.js';
import { BrainstackError } from '../errors.js';
import { isWireGuardKey } from '../wireguard/keys.js';
import { checkDeviceName } from '../devices/device-service.js';

/** RFC 8628 §6.1: 20 consonants (no vowels: no words), 8 characters, shown as XXXX-XXXX. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Upper-cases and drops everything but the alphabet, so `bcdf-ghjk`, `BCDF GHJK` and `BCDFGHJK` match. */
export function normaliseUserCode(code: string): string {
  return code.toUpperCase().replace(/[^A-Z]/g, '');
}

function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i += 1) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

export interface DeviceAuthorizationStart {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export interface PendingAuthorization {
  user_code: string;
  device_name: string;
  /** The first 8 characters of the WireGuard public key the terminal made, to compare with its screen. */
  key_fingerprint: string;
  client_id: string;
  scope: string | null;
  expires_at: string;
}

export interface ApprovedAuthorization {
  userId: string;
  deviceName: string;
  publicKey: string;
  scope: string | undefined;
}

/**
 * The OAuth 2.0 Device Authorization Grant (RFC 8628) for terminals. The terminal sends the
 * public key it made and a device name; a signed-in user approves the short code in a browser;
 * the terminal's next poll registers the device for that user. Codes are stored hashed and are
 * redeemed once.
 */
export class DeviceAuthorizations {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly audit: AuditLog,
    private readonly options: { publicUrl: string; lifetimeSeconds: number; intervalSeconds: number; now?: () => number },
  ) {}

  private get now(): number {
    return (this.options.now ?? Date.now)();
  }

  async start(input: { clientId: string; deviceName: string; publicKey: string; scope?: string | undefined; ip: string }): Promise<DeviceAuthorizationStart> {
    const deviceName = checkDeviceName(input.deviceName);
    if (!isWireGuardKey(input.publicKey)) throw new BrainstackError('invalid_public_key', 'public_key must be a WireGuard public key: base64 of exactly 32 bytes (what `wg pubkey` prints)');
    const deviceCode = randomBytes(32).toString('base64url');
    const now = this.now;
    await this.db.deleteFrom('device_authorizations').where('expires_at', '<', now - 3_600_000).execute();
    for (let attempt = 0; ; attempt += 1) {
      const userCode = newUserCode();
      try {
        await this.db
          .insertInto('device_authorizations')
          .values({ id: randomUUID(), device_code_hash: sha256(deviceCode), user_code_hash: sha256(normaliseUserCode(userCode)), client_id: input.clientId, device_name: deviceName, public_key: input.publicKey, scope: input.scope ?? null, status: 'pending', user_id: null, interval_seconds: this.options.intervalSeconds, last_poll_at: null, ip: input.ip, created_at: now, expires_at: now + this.options.lifetimeSeconds * 1000, decided_at: null })
          .execute();
      } catch (err) {
        // A user-code collision (1 in 2.5e10 per live code): draw again.
        if (attempt < 3 && /unique|duplicate/i.test((err as Error).message)) continue;
        throw err;
      }
      const base = this.options.publicUrl.replace(/\/$/, '');
      return { device_code: deviceCode, user_code: userCode, verification_uri: `${base}/device`, verification_uri_complete: `${base}/device?user_code=${userCode}`, expires_in: this.options.lifetimeSeconds, interval: this.options.intervalSeconds };
    }
  }

  private async pendingRow(userCode: string) {
    const row = await this.db.selectFrom('device_authorizations').selectAll().where('user_code_hash', '=', sha256(normaliseUserCode(userCode))).executeTakeFirst();
    if (!row || row.status !== 'pending' || Number(row.expires_at) <= this.now) {
      throw new BrainstackError('user_code_invalid', 'this code is unknown, expired or already used: check it against your terminal, or start the login there again');
    }
    return row;
  }

  /** What the approval page shows before the user decides. */
  async lookup(userCode: string): Promise<PendingAuthorization> {
    const row = await this.pendingRow(userCode);
    const normalised = normaliseUserCode(userCode);
    return { user_code: `${normalised.slice(0, 4)}-${normalised.slice(4)}`, device_name: row.device_name, key_fingerprint: row.public_key.slice(0, 8), client_id: row.client_id, scope: row.scope, expires_at: new Date(Number(row.expires_at)).toISOString() };
  }

  /** Approves or denies a pending code for the signed-in user; a code is decided once. */
  async decide(userCode: string, user: { id: string; username: string }, approve: boolean, ip: string): Promise<void> {
    const row = await this.pendingRow(userCode);
    const now = this.now;
    const result = await this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('device_authorizations')
        .set({ status: approve ? 'approved' : 'denied', user_id: user.id, decided_at: now })
        .where('id', '=', row.id)
        .where('status', '=', 'pending')
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) return false;
      await this.audit.record({ event: approve ? 'device_code.approved' : 'device_code.denied', outcome: 'success', actor: user.username, subject: row.id, ip, details: { device_name: row.device_name, public_key: row.public_key, client_ip: row.ip } }, trx);
      return true;
    });
    if (!result) throw new BrainstackError('user_code_invalid', 'this code was decided or expired meanwhile; start the login on your terminal again');
  }

  /**
   * One poll of the token endpoint (RFC 8628 §3.4–3.5). Returns the approval once — the code is
   * redeemed by the poll that returns it — and otherwise throws the RFC's error codes.
   */
  async redeem(deviceCode: string, clientId: string): Promise<ApprovedAuthorization> {
    const now = this.now;
    const row = await this.db.selectFrom('device_authorizations').selectAll().where('device_code_hash', '=', sha256(deviceCode)).executeTakeFirst();
    if (!row || row.client_id !== clientId) throw new BrainstackError('invalid_grant', 'the device code is unknown or was issued to another client');
    if (row.status === 'redeemed' || Number(row.expires_at) <= now) throw new BrainstackError('expired_token', 'the device code has expired or was already used; run the login again');
    if (row.status === 'denied') throw new BrainstackError('access_denied', 'the request was denied in the browser');
    if (row.status === 'pending') {
      const tooSoon = row.last_poll_at !== null && now - Number(row.last_poll_at) < Number(row.interval_seconds) * 1000;
      await this.db
        .updateTable('device_authorizations')
        .set({ last_poll_at: now, ...(tooSoon ? { interval_seconds: Number(row.interval_seconds) + 5 } : {}) })
        .where('id', '=', row.id)
        .execute();
      if (tooSoon) throw new BrainstackError('slow_down', `polling too fast: wait ${Number(row.interval_seconds) + 5} s between polls`);
      throw new BrainstackError('authorization_pending', 'waiting for the code to be approved in a browser');
    }
    const claimed = await this.db.updateTable('device_authorizations').set({ status: 'redeemed' }).where('id', '=', row.id).where('status', '=', 'approved').executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1 || row.user_id === null) throw new BrainstackError('expired_token', 'the device code was already used');
    return { userId: row.user_id, deviceName: row.device_name, publicKey: row.public_key, scope: row.scope ?? undefined };
  }
}
