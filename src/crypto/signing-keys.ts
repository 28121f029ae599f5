import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8, type CryptoKey, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { MasterKeyring } from './master-key.js';
import { openText, seal } from './seal.js';

export type SigningAlgorithm = 'EdDSA' | 'ES256';

export interface ActiveSigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: CryptoKey;
}

export interface PublicSigningKey {
  kid: string;
  alg: string;
  created_at: number;
  superseded_at: number | null;
  retired_at: number | null;
}

const sealContext = (kid: string) => ({ table: 'signing_keys', column: 'private_sealed', row: kid });

/** Creates a signing key pair, stores it (private part sealed) and returns its kid. It becomes active at once. */
export async function createSigningKey(db: Kysely<Database>, keyring: MasterKeyring, alg: SigningAlgorithm, now = Date.now()): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const publicJwk: JWK = { ...jwk, kid, alg, use: 'sig' };
  const pkcs8 = await exportPKCS8(privateKey);
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('signing_keys').set({ superseded_at: now }).where('superseded_at', 'is', null).execute();
    await trx
      .insertInto('signing_keys')
      .values({ kid, alg, public_jwk: JSON.stringify(publicJwk), private_sealed: seal(keyring, sealContext(kid), pkcs8), created_at: now, superseded_at: null, retired_at: null })
      .execute();
  });
  return kid;
}

/**
 * Reads signing keys from the database. The active key is the newest one not superseded; the
 * JWKS holds every key not yet retired, so tokens signed before a rotation keep verifying.
 */
export class SigningKeyStore {
  private active: ActiveSigningKey | undefined;
  private activeLoadedAt = 0;
  /** How long the active key is trusted from memory: a rotation by the CLI is picked up within this. */
  static readonly ACTIVE_KEY_TTL_MS = 5_000;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly keyring: MasterKeyring,
  ) {}

  async activeKey(): Promise<ActiveSigningKey> {
    if (this.active && Date.now() - this.activeLoadedAt < SigningKeyStore.ACTIVE_KEY_TTL_MS) return this.active;
    const row = await this.db
      .selectFrom('signing_keys')
      .select(['kid', 'alg', 'private_sealed'])
      .where('superseded_at', 'is', null)
      .where('retired_at', 'is', null)
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (!row) throw new Error('no active signing key: run `brainstack init` or `brainstack admin keys rotate`');
    const alg = row.alg as SigningAlgorithm;
    if (this.active?.kid !== row.kid) {
      const privateKey = await importPKCS8(openText(this.keyring, sealContext(row.kid), row.private_sealed), alg);
      this.active = { kid: row.kid, alg, privateKey };
    }
    this.activeLoadedAt = Date.now();
    return this.active;
  }

  /** Forget the cached active key (after a rotation). */
  invalidate(): void {
    this.active = undefined;
  }

  async jwks(): Promise<{ keys: JWK[] }> {
    const rows = await this.db.selectFrom('signing_keys').select(['public_jwk']).where('retired_at', 'is', null).orderBy('created_at', 'desc').execute();
    return { keys: rows.map((r) => JSON.parse(r.public_jwk) as JWK) };
  }

  /**
   * Retires keys superseded more than `graceMs` ago (every token they signed has expired by then):
   * they leave the JWKS, and guards refuse their tokens at their next JWKS refresh.
   */
  async retireSuperseded(graceMs: number, now = Date.now()): Promise<string[]> {
    const due = await this.db.selectFrom('signing_keys').select('kid').where('retired_at', 'is', null).where('superseded_at', 'is not', null).where('superseded_at', '<=', now - graceMs).execute();
    if (due.length > 0) await this.db.updateTable('signing_keys').set({ retired_at: now }).where('kid', 'in', due.map((d) => d.kid)).execute();
    return due.map((d) => d.kid);
  }

  async list(): Promise<PublicSigningKey[]> {
    return this.db.selectFrom('signing_keys').select(['kid', 'alg', 'created_at', 'superseded_at', 'retired_at']).orderBy('created_at', 'desc').execute();
  }
}
