import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { BrainstackError } from '../errors.js';
import { generateMasterKey, parseKeyring, writeKeyringFile, type MasterKey, type MasterKeyring } from './master-key.js';
import { open, seal, sealedKeyId, type SealContext } from './seal.js';
import { readFileSync } from 'node:fs';

/** Every sealed column: where it lives and how to address its rows. */
const SEALED = [
  { table: 'users', column: 'totp_sealed', key: 'id' },
  { table: 'users', column: 'totp_pending_sealed', key: 'id' },
  { table: 'signing_keys', column: 'private_sealed', key: 'kid' },
  { table: 'server_settings', column: 'value', key: 'name' },
  { table: 'devices', column: 'psk_sealed', key: 'id' },
  { table: 'user_identities', column: 'upstream_refresh_sealed', key: 'id' },
  { table: 'sso_logins', column: 'verifier_sealed', key: 'state_hash' },
] as const;

interface SealedValue {
  ctx: SealContext;
  sealed: string;
}

// `any`: the sealed columns are addressed by name from the table above, which kysely's typed
// builder cannot express; every query here selects and updates exactly those columns.
type Untyped = Kysely<any>;

async function sealedValues(db: Untyped): Promise<SealedValue[]> {
  const values: SealedValue[] = [];
  for (const { table, column, key } of SEALED) {
    const rows = (await db.selectFrom(table).select([key, column]).where(column, 'is not', null).execute()) as Array<Record<string, string>>;
    for (const row of rows) {
      const sealed = row[column] as string;
      if (table === 'server_settings' && !sealed.startsWith('bs1:')) continue; // plain settings (public key)
      values.push({ ctx: { table, column, row: row[key] as string }, sealed });
    }
  }
  return values;
}

export interface RotationReport {
  newKeyId: string;
  resealed: number;
  keptKeys: string[];
}

/**
 * Rotates the master key without a moment where the file fails to open a value:
 * 1. the keyring file gets the new key first, the old ones after it (both open everything);
 * 2. one transaction re-seals every secret under the new key (interrupted: the old key, still in
 *    the file, opens everything, as before);
 * 3. keys no sealed value uses any more are dropped from the file.
 */
export async function rotateMasterKey(db: Kysely<Database>, keyring: MasterKeyring, keyFile: string): Promise<RotationReport> {
  if (process.env.BRAINSTACK_MASTER_KEY) {
    throw new BrainstackError('master_key_invalid', 'the master key comes from BRAINSTACK_MASTER_KEY: rotate it by hand (prepend a new base64 key, re-run with a key file, or see docs/operations.md)');
  }
  const current = parseKeyring(readFileSync(keyFile, 'utf8'), keyFile);
  const fresh: MasterKey = generateMasterKey();
  const all = [fresh, ...current.byId.values()];
  writeKeyringFile(keyFile, all);
  const next: MasterKeyring = { active: fresh, byId: new Map(all.map((k) => [k.id, k])) };
  const untyped = db as unknown as Untyped;
  const resealed = await db.transaction().execute(async (trx) => {
    const t = trx as unknown as Untyped;
    const values = await sealedValues(t);
    for (const { ctx, sealed } of values) {
      if (sealedKeyId(sealed) === fresh.id) continue;
      const spec = SEALED.find((s) => s.table === ctx.table && s.column === ctx.column) as (typeof SEALED)[number];
      await t.updateTable(ctx.table).set({ [ctx.column]: seal(next, ctx, open(next, ctx, sealed)) }).where(spec.key, '=', ctx.row).execute();
    }
    return values.length;
  });
  // Drop keys nothing uses any more (a value sealed meanwhile by a running serve keeps its key).
  const inUse = new Set((await sealedValues(untyped)).map((v) => sealedKeyId(v.sealed)));
  const kept = all.filter((k) => k.id === fresh.id || inUse.has(k.id));
  writeKeyringFile(keyFile, kept);
  keyring.active = fresh;
  keyring.byId = new Map(kept.map((k) => [k.id, k]));
  return { newKeyId: fresh.id, resealed, keptKeys: kept.map((k) => k.id) };
}
