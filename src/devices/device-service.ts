import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database, DevicesTable } from '../db/schema.js';
import type { MasterKeyring } from '../crypto/master-key.js';
import { openText, seal } from '../crypto/seal.js';
import type { AuditLog } from '../audit/audit-log.js';
import { BrainstackError } from '../errors.js';
import { generateWireGuardKeyPair, isWireGuardKey } from '../wireguard/keys.js';
import { allocateAddress, quarantineAddress, type Ipv4Range } from '../wireguard/ip-pool.js';
import type { PeerApplier } from '../wireguard/wg.js';
import type { PeerLock } from '../wireguard/peer-lock.js';
import { configFileName, renderClientConfig } from '../wireguard/render.js';
import type { RefreshTokens } from '../tokens/refresh-tokens.js';
import type { Revocations } from '../tokens/revocations.js';
import { CLIENT_CLI, MAX_TOKEN_LIFETIME_SECONDS } from '../tokens/claims.js';

/** Device names: letters, digits, spaces and `. _ - ( ) '`; no control characters, no line breaks. */
export const DEVICE_NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._()'-]{0,63}$/u;

export type DeviceState = 'active' | 'revoked' | 'expired';

/** What callers see of a device: never the preshared key. */
export interface DeviceView {
  id: string;
  user_id: string;
  name: string;
  ip: string | null;
  public_key: string;
  client_key: boolean;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  state: DeviceState;
}

export interface Registration {
  device: DeviceView;
  /** wg-quick config; carries the private key only when the server generated it. */
  config: string;
  configFileName: string;
  /** Returned once, for a server-generated key pair. Never stored. */
  privateKey?: string;
  refreshToken: string;
}

export interface DeviceServiceOptions {
  range: Ipv4Range;
  endpoint: string;
  allowedIps: string[];
  dns: string[];
  keepalive: number;
  deviceLifetimeMs: number;
  quarantineMs: number;
  issuer: string;
  serverPublicKey: string;
  now?: () => number;
}

const PUBLIC_COLUMNS = ['id', 'user_id', 'name', 'ip', 'released_ip', 'public_key', 'client_key', 'created_at', 'expires_at', 'revoked_at', 'revoked_reason'] as const;
type PublicRow = Pick<DevicesTable, (typeof PUBLIC_COLUMNS)[number]>;

const pskContext = (deviceId: string) => ({ table: 'devices', column: 'psk_sealed', row: deviceId });

function view(row: PublicRow): DeviceView {
  const reason = row.revoked_reason;
  return {
    id: row.id,
    user_id: row.user_id,
    name: row.name,
    ip: row.ip ?? row.released_ip,
    public_key: row.public_key,
    client_key: row.client_key === 1,
    created_at: Number(row.created_at),
    expires_at: Number(row.expires_at),
    revoked_at: row.revoked_at === null ? null : Number(row.revoked_at),
    revoked_reason: reason,
    state: row.revoked_at === null ? 'active' : reason === 'expired' ? 'expired' : 'revoked',
  };
}

export function checkDeviceName(name: string): string {
  const normalised = name.normalize('NFC');
  if (!DEVICE_NAME.test(normalised)) {
    throw new BrainstackError('invalid_device_name', 'device names are 1-64 letters, digits, spaces and . _ - ( ) \' characters, starting with a letter or digit');
  }
  return normalised;
}

/**
 * Devices: registration (address, preshared key, peer applied inside the transaction), listing,
 * configs, revocation and expiry. Every interface change is one peer, never a rewrite.
 */
export class DeviceService {
  private readonly now: () => number;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly keyring: MasterKeyring,
    private readonly audit: AuditLog,
    private readonly applier: PeerApplier,
    private readonly lock: PeerLock,
    private readonly refreshTokens: RefreshTokens,
    private readonly revocations: Revocations,
    private readonly options: DeviceServiceOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get interfaceName(): string {
    return this.applier.interfaceName;
  }

  async register(user: { id: string; username: string }, input: { name: string; publicKey?: string | undefined }, ip: string | null = null): Promise<Registration> {
    const name = checkDeviceName(input.name);
    let publicKey = input.publicKey;
    let privateKey: string | undefined;
    if (publicKey === undefined) {
      const pair = generateWireGuardKeyPair();
      publicKey = pair.publicKey;
      privateKey = pair.privateKey;
    } else if (!isWireGuardKey(publicKey)) {
      throw new BrainstackError('invalid_public_key', 'publicKey must be a WireGuard public key: base64 of exactly 32 bytes (what `wg pubkey` prints)');
    } else if (publicKey === this.options.serverPublicKey) {
      throw new BrainstackError('invalid_public_key', "publicKey is the server's own key: generate a key pair for the device");
    }
    const clientKey = privateKey === undefined;
    const presharedKey = randomBytes(32).toString('base64');
    const id = randomUUID();
    const now = this.now();
    const expiresAt = now + this.options.deviceLifetimeMs;

    const { row, refreshToken } = await this.lock.shared(() =>
      this.db.transaction().execute(async (trx) => {
        const taken = await trx.selectFrom('devices').select('id').where('public_key', '=', publicKey as string).executeTakeFirst();
        if (taken) throw new BrainstackError('public_key_in_use', 'this public key is already registered: generate a new key pair for each device');
        const address = await allocateAddress(trx, this.interfaceName, this.options.range, now);
        const row = {
          id,
          user_id: user.id,
          name,
          public_key: publicKey as string,
          psk_sealed: seal(this.keyring, pskContext(id), presharedKey),
          client_key: clientKey ? 1 : 0,
          interface: this.interfaceName,
          ip: address.ip,
          ip_index: address.index,
          released_ip: null,
          created_at: now,
          expires_at: expiresAt,
          revoked_at: null,
          revoked_reason: null,
        };
        try {
          await trx.insertInto('devices').values(row).execute();
        } catch (err) {
          if (/unique|duplicate/i.test((err as Error).message)) throw new BrainstackError('public_key_in_use', 'this public key is already registered: generate a new key pair for each device');
          throw err;
        }
        const refreshToken = await this.refreshTokens.issue(trx, user.id, id, CLIENT_CLI);
        await this.audit.record({ event: 'device.registered', outcome: 'success', actor: user.username, subject: id, ip, details: { name, ip: address.ip, public_key: publicKey, client_key: clientKey } }, trx);
        // Last: if the interface refuses the peer, the transaction rolls back and nothing is recorded.
        await this.applier.setPeer({ publicKey: publicKey as string, presharedKey, allowedIps: [`${address.ip}/32`] });
        return { row, refreshToken };
      }),
    );
    const device = view(row);
    const registration: Registration = { device, config: this.renderConfig(device, user.username, presharedKey, privateKey), configFileName: configFileName(name), refreshToken };
    if (privateKey !== undefined) registration.privateKey = privateKey;
    return registration;
  }

  private renderConfig(device: DeviceView, username: string, presharedKey: string, privateKey?: string): string {
    return renderClientConfig({
      deviceName: device.name,
      deviceId: device.id,
      username,
      issuer: this.options.issuer,
      expiresAt: new Date(device.expires_at).toISOString(),
      ...(privateKey ? { privateKey } : {}),
      address: device.ip as string,
      dns: this.options.dns,
      serverPublicKey: this.options.serverPublicKey,
      presharedKey,
      endpoint: this.options.endpoint,
      allowedIps: this.options.allowedIps,
      keepalive: this.options.keepalive,
    });
  }

  /** A user's devices, or everyone's when `userId` is undefined. Active first, newest first. */
  async list(userId: string | undefined, options: { includeInactive?: boolean } = {}): Promise<DeviceView[]> {
    let query = this.db.selectFrom('devices').select(PUBLIC_COLUMNS).orderBy('created_at', 'desc');
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    if (!options.includeInactive) query = query.where('revoked_at', 'is', null);
    return (await query.execute()).map(view);
  }

  async countActive(): Promise<number> {
    const row = await this.db.selectFrom('devices').select((eb) => eb.fn.countAll<number>().as('n')).where('revoked_at', 'is', null).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** One device; another user's device is `device_not_found`, exactly like a missing one. */
  async get(id: string, userId?: string): Promise<DeviceView> {
    let query = this.db.selectFrom('devices').select(PUBLIC_COLUMNS).where('id', '=', id);
    if (userId !== undefined) query = query.where('user_id', '=', userId);
    const row = await query.executeTakeFirst();
    if (!row) throw new BrainstackError('device_not_found', `no device ${id.slice(0, 64)}`);
    return view(row);
  }

  /** The wg-quick config of an active device (without a private key: the server does not have it). */
  async config(id: string, user: { id: string; username: string }): Promise<{ text: string; fileName: string }> {
    const device = await this.get(id, user.id);
    if (device.state !== 'active') throw new BrainstackError('device_inactive', 'this device is revoked or expired');
    const sealed = await this.db.selectFrom('devices').select('psk_sealed').where('id', '=', id).executeTakeFirstOrThrow();
    return { text: this.renderConfig(device, user.username, openText(this.keyring, pskContext(id), sealed.psk_sealed)), fileName: configFileName(device.name) };
  }

  /**
   * Revokes a device: the peer leaves the interface (read back to be sure) inside the same
   * transaction that releases its address, kills its refresh tokens and records a revocation
   * for the guards. Returns false when it was already inactive.
   */
  async revoke(id: string, actor: string, reason: string, options: { userId?: string; ip?: string | null } = {}): Promise<boolean> {
    return this.lock.shared(() => this.db.transaction().execute((trx) => this.revokeIn(trx, id, actor, reason, options)));
  }

  private async revokeIn(trx: Transaction<Database>, id: string, actor: string, reason: string, options: { userId?: string; ip?: string | null }): Promise<boolean> {
    let query = trx.selectFrom('devices').select(['id', 'user_id', 'public_key', 'ip', 'ip_index', 'revoked_at']).where('id', '=', id);
    if (options.userId !== undefined) query = query.where('user_id', '=', options.userId);
    const row = await query.executeTakeFirst();
    if (!row) throw new BrainstackError('device_not_found', `no device ${id.slice(0, 64)}`);
    if (row.revoked_at !== null) return false;
    const now = this.now();
    const released = await trx
      .updateTable('devices')
      .set({ revoked_at: now, revoked_reason: reason, released_ip: row.ip, ip: null, ip_index: null })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(released.numUpdatedRows) !== 1) return false;
    if (row.ip_index !== null) await quarantineAddress(trx, this.interfaceName, Number(row.ip_index), now + this.options.quarantineMs);
    await this.refreshTokens.revokeFor(trx, { deviceId: id });
    await this.revocations.add(trx, { kind: 'device', value: id, reason, expiresAt: now + (MAX_TOKEN_LIFETIME_SECONDS + 120) * 1000 });
    await this.audit.record({ event: reason === 'expired' ? 'device.expired' : 'device.revoked', outcome: 'success', actor, subject: id, ip: options.ip ?? null, details: { user: row.user_id, ip: row.ip, reason } }, trx);
    await this.applier.removePeer(row.public_key);
    // `wg set … remove` succeeds for unknown peers too: read back before declaring it gone.
    if ((await this.applier.peerKeys()).has(row.public_key)) {
      throw new BrainstackError('wireguard_failed', `the peer of device ${id} is still on ${this.interfaceName} after removal`);
    }
    return true;
  }

  /**
   * Revokes a user at once, in one transaction: the account is disabled, its sessions and refresh
   * tokens die, every device is revoked (its peer leaves the interface before the commit), and a
   * `user` revocation makes guards refuse every token issued before now.
   */
  async revokeUser(userId: string, actor: string, reason = 'user revoked'): Promise<{ devices: number }> {
    return this.lock.shared(() =>
      this.db.transaction().execute(async (trx) => {
        const now = this.now();
        const user = await trx.selectFrom('users').select(['id', 'username']).where('id', '=', userId).executeTakeFirst();
        if (!user) throw new BrainstackError('user_not_found', `no user ${userId.slice(0, 64)}`);
        await trx.updateTable('users').set({ disabled_at: now, updated_at: now }).where('id', '=', userId).where('disabled_at', 'is', null).execute();
        await trx.deleteFrom('sessions').where('user_id', '=', userId).execute();
        await this.refreshTokens.revokeFor(trx, { userId });
        const active = await trx.selectFrom('devices').select('id').where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
        let devices = 0;
        for (const { id } of active) if (await this.revokeIn(trx, id, actor, reason, {})) devices += 1;
        await this.revocations.add(trx, { kind: 'user', value: userId, reason, expiresAt: now + (MAX_TOKEN_LIFETIME_SECONDS + 120) * 1000 });
        await this.audit.record({ event: 'user.revoked', outcome: 'success', actor, subject: user.username, details: { devices, reason } }, trx);
        return { devices };
      }),
    );
  }

  /** Revokes one access token by its `jti` (guards refuse it within a second). */
  async revokeToken(jti: string, actor: string): Promise<void> {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(jti)) throw new BrainstackError('validation_failed', 'a token id (jti) is a UUID');
    await this.db.transaction().execute(async (trx) => {
      await this.revocations.add(trx, { kind: 'jti', value: jti, reason: 'token revoked', expiresAt: this.now() + (MAX_TOKEN_LIFETIME_SECONDS + 120) * 1000 });
      await this.audit.record({ event: 'token.revoked', outcome: 'success', actor, subject: jti }, trx);
    });
  }

  /** Revokes every device whose expiry has passed; returns how many. */
  async expireDue(limit = 100): Promise<number> {
    const due = await this.db.selectFrom('devices').select('id').where('revoked_at', 'is', null).where('expires_at', '<=', this.now()).limit(limit).execute();
    let count = 0;
    for (const { id } of due) if (await this.revoke(id, 'system:expiry', 'expired')) count += 1;
    return count;
  }

  /** Changes a device's expiry (operators). */
  async setExpiry(id: string, expiresAt: number, actor: string): Promise<DeviceView> {
    await this.db.transaction().execute(async (trx) => {
      const updated = await trx.updateTable('devices').set({ expires_at: expiresAt }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      if (Number(updated.numUpdatedRows) !== 1) throw new BrainstackError('device_not_found', `no active device ${id.slice(0, 64)}`);
      await this.audit.record({ event: 'device.expiry_changed', outcome: 'success', actor, subject: id, details: { expires_at: expiresAt } }, trx);
    });
    return this.get(id);
  }

  /** The peers the interface should hold: every active device, with its preshared key. */
  async desiredPeers(): Promise<Map<string, { deviceId: string; presharedKey: string; allowedIps: string[] }>> {
    const rows = await this.db.selectFrom('devices').select(['id', 'public_key', 'psk_sealed', 'ip']).where('revoked_at', 'is', null).where('interface', '=', this.interfaceName).execute();
    return new Map(rows.map((r) => [r.public_key, { deviceId: r.id, presharedKey: openText(this.keyring, pskContext(r.id), r.psk_sealed), allowedIps: [`${r.ip}/32`] }]));
  }

  /** Is this device active and its user enabled? Used before issuing any token. */
  async requireActive(trxOrDb: Kysely<Database>, deviceId: string, userId: string): Promise<{ id: string; ip: string; publicKey: string }> {
    const row = await trxOrDb
      .selectFrom('devices')
      .innerJoin('users', 'users.id', 'devices.user_id')
      .select(['devices.id', 'devices.ip', 'devices.public_key', 'devices.revoked_at', 'devices.expires_at', 'users.disabled_at'])
      .where('devices.id', '=', deviceId)
      .where('devices.user_id', '=', userId)
      .executeTakeFirst();
    if (!row) throw new BrainstackError('device_not_found', `no device ${deviceId.slice(0, 64)}`);
    if (row.revoked_at !== null || Number(row.expires_at) <= this.now() || row.disabled_at !== null || row.ip === null) {
      throw new BrainstackError('device_inactive', 'the device is revoked or expired, or the account is disabled');
    }
    return { id: row.id, ip: row.ip, publicKey: row.public_key };
  }
}
