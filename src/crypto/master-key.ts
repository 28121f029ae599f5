import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { BrainstackError } from '../errors.js';

/** One 256-bit master key and its id (derived from the key, so the two can never disagree). */
export interface MasterKey {
  id: string;
  key: Buffer;
}

/**
 * The master keyring: the first key seals new values, every key opens values sealed under it.
 * Rotation adds a new first key, re-seals, then drops the old one.
 */
export interface MasterKeyring {
  active: MasterKey;
  byId: Map<string, MasterKey>;
  /** Re-reads the keyring when its file changed (after `keys rotate-master` by another process). */
  refresh?: () => void;
}

export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update('brainstack master key id').update(key).digest('hex').slice(0, 16);
}

export function generateMasterKey(): MasterKey {
  const key = randomBytes(32);
  return { id: masterKeyId(key), key };
}

/** Serialises a keyring: one base64 key per line, active first. */
export function formatKeyring(keys: MasterKey[]): string {
  return `${keys.map((k) => k.key.toString('base64')).join('\n')}\n`;
}

/** Parses one base64 key per line (or comma-separated, for environment variables). */
export function parseKeyring(text: string, source: string): MasterKeyring {
  const lines = text.split(/[\n,]/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (lines.length === 0) throw new BrainstackError('master_key_invalid', `${source}: holds no key`);
  const keys = lines.map((line, index) => {
    const key = Buffer.from(line, 'base64');
    if (key.length !== 32 || key.toString('base64') !== line) {
      throw new BrainstackError('master_key_invalid', `${source}: line ${index + 1} is not a base64 256-bit key`);
    }
    return { id: masterKeyId(key), key };
  });
  return { active: keys[0] as MasterKey, byId: new Map(keys.map((k) => [k.id, k])) };
}

/**
 * Loads the keyring from `BRAINSTACK_MASTER_KEY` (containers) or from the key file, which must be
 * readable by its owner only: a group- or world-readable key file is refused, not silently used.
 */
export function loadKeyring(file: string, env: NodeJS.ProcessEnv = process.env): MasterKeyring {
  const fromEnv = env.BRAINSTACK_MASTER_KEY;
  if (fromEnv !== undefined && fromEnv !== '') return parseKeyring(fromEnv, 'BRAINSTACK_MASTER_KEY');
  if (!existsSync(file)) throw new BrainstackError('master_key_invalid', `master key file ${file} does not exist`);
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new BrainstackError('master_key_invalid', `master key file ${file} has mode ${mode.toString(8)}; run 'chmod 600 ${file}'`);
  }
  const keyring = parseKeyring(readFileSync(file, 'utf8'), file);
  let seen = statSync(file).mtimeMs;
  keyring.refresh = () => {
    const mtime = statSync(file).mtimeMs;
    if (mtime === seen) return;
    const fresh = parseKeyring(readFileSync(file, 'utf8'), file);
    keyring.active = fresh.active;
    keyring.byId = fresh.byId;
    seen = mtime;
  };
  return keyring;
}

/** Writes a keyring file atomically (temp file, fsync'd by rename), owner-only. */
export function writeKeyringFile(file: string, keys: MasterKey[]): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, formatKeyring(keys), { mode: 0o600 });
  renameSync(temp, file);
}
