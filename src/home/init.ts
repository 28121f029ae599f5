import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CONFIG_FILE_NAME, homePath, parseConfig, type BrainstackConfig } from '../config/config.js';
import { formatKeyring, generateMasterKey, parseKeyring } from '../crypto/master-key.js';
import { createSigningKey } from '../crypto/signing-keys.js';
import { createSelfSignedCertificate } from '../crypto/tls.js';
import { seal } from '../crypto/seal.js';
import { openDatabase, migrate } from '../db/connect.js';
import { generateWireGuardKeyPair } from '../wireguard/keys.js';
import { BrainstackError } from '../errors.js';

export interface InitOptions {
  dir: string;
  force?: boolean;
  /** Config keys to set (public_url, listen, internal_listen, database.url, …). */
  settings?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
}

export interface InitReport {
  dir: string;
  created: string[];
  replaced: string[];
  signingKeyId: string;
  wireguardPublicKey: string;
}

import { WG_PRIVATE_SETTING, WG_PUBLIC_SETTING } from './settings.js';

export { WG_PRIVATE_SETTING, WG_PUBLIC_SETTING };

function setDotted(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const path = dotted.split('.');
  let node = target;
  for (const key of path.slice(0, -1)) {
    node[key] ??= {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function sqlitePath(config: BrainstackConfig, dir: string): string | undefined {
  if (!config.database.url.startsWith('sqlite:')) return undefined;
  const file = config.database.url.slice('sqlite:'.length);
  return file === ':memory:' ? undefined : resolve(dir, file);
}

/**
 * Creates a brainstack home: config, master key (0600, directory 0700), migrated database with
 * the first signing key and the WireGuard server key pair (private part sealed), and a
 * self-signed TLS certificate. Never overwrites anything unless `force` is given.
 */
export async function initHome(options: InitOptions): Promise<InitReport> {
  const dir = resolve(options.dir);
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options.settings ?? {})) if (value !== undefined) setDotted(raw, key, value);
  const config = parseConfig(structuredClone(raw), 'init options');
  const configFile = join(dir, CONFIG_FILE_NAME);
  const keyFile = homePath(dir, config.master_key_file);
  const dbFile = sqlitePath(config, dir);
  const certFile = homePath(dir, config.tls.cert_file);
  const tlsKeyFile = homePath(dir, config.tls.key_file);

  const existing = [
    ['config', configFile],
    ['master key', keyFile],
    ['database', dbFile],
    ['TLS certificate', config.tls.enabled ? certFile : undefined],
    ['TLS key', config.tls.enabled ? tlsKeyFile : undefined],
  ].filter((entry): entry is [string, string] => entry[1] !== undefined && existsSync(entry[1]));
  if (existing.length > 0 && !options.force) {
    throw new BrainstackError(
      'home_exists',
      `${dir} is already a brainstack home (${existing.map(([what, path]) => `${what}: ${path}`).join(', ')}); nothing was changed. ` +
        `Re-run with --force to replace all of them: every device, token and account in it stops working.`,
      { details: { existing: existing.map(([what]) => what) } },
    );
  }

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const replaced = existing.map(([what]) => what);
  for (const [, path] of existing) rmSync(path, { force: true });
  if (dbFile) for (const suffix of ['-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });

  writeFileSync(configFile, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });
  const created = ['config'];

  const masterKeyFromEnv = options.env?.BRAINSTACK_MASTER_KEY;
  const keyring = masterKeyFromEnv ? parseKeyring(masterKeyFromEnv, 'BRAINSTACK_MASTER_KEY') : { active: generateMasterKey(), byId: new Map() };
  if (!masterKeyFromEnv) {
    mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
    writeFileSync(keyFile, formatKeyring([keyring.active]), { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    keyring.byId.set(keyring.active.id, keyring.active);
    created.push('master key');
  }

  const database = openDatabase(config.database.url, dir, { busyTimeoutMs: config.database.busy_timeout_ms });
  let signingKeyId: string;
  const wg = generateWireGuardKeyPair();
  try {
    await migrate(database);
    const db = database.db;
    const hasKeys = await db.selectFrom('signing_keys').select('kid').executeTakeFirst();
    if (hasKeys && !options.force) {
      throw new BrainstackError('home_exists', `the database at ${database.location} already holds signing keys; re-run with --force to add new ones`);
    }
    signingKeyId = await createSigningKey(db, keyring, config.tokens.algorithm);
    const now = Date.now();
    for (const [name, value] of [
      [WG_PRIVATE_SETTING, seal(keyring, { table: 'server_settings', column: 'value', row: WG_PRIVATE_SETTING }, wg.privateKey)],
      [WG_PUBLIC_SETTING, wg.publicKey],
    ] as const) {
      await db.insertInto('server_settings').values({ name, value, updated_at: now }).onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now })).execute();
    }
    created.push('database', 'signing key', 'WireGuard server key');
  } finally {
    await database.close();
  }
  if (dbFile) chmodSync(dbFile, 0o600);

  if (config.tls.enabled && !existsSync(certFile)) {
    const host = new URL(config.public_url).hostname.replace(/^\[|\]$/g, '');
    const tls = createSelfSignedCertificate([host]);
    mkdirSync(dirname(certFile), { recursive: true, mode: 0o700 });
    mkdirSync(dirname(tlsKeyFile), { recursive: true, mode: 0o700 });
    writeFileSync(certFile, tls.certPem, { mode: 0o644 });
    writeFileSync(tlsKeyFile, tls.keyPem, { mode: 0o600 });
    created.push('TLS certificate (self-signed)');
  }
  return { dir, created, replaced, signingKeyId, wireguardPublicKey: wg.publicKey };
}

/** Reads the TLS material configured for the public listener. */
export function readTls(dir: string, config: BrainstackConfig): { cert: string; key: string } {
  const cert = homePath(dir, config.tls.cert_file);
  const key = homePath(dir, config.tls.key_file);
  for (const file of [cert, key]) {
    if (!existsSync(file)) throw new BrainstackError('home_missing', `TLS file ${file} does not exist: configure tls.cert_file/tls.key_file or run 'brainstack init'`);
  }
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}
