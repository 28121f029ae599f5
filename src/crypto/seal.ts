import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { BrainstackError } from '../errors.js';
import type { MasterKeyring } from './master-key.js';

/**
 * Where a sealed value lives. It is bound into the ciphertext as additional authenticated data,
 * so a value copied to another row or column no longer opens.
 */
export interface SealContext {
  table: string;
  column: string;
  row: string;
}

const VERSION = 'bs1';

function aad(keyId: string, ctx: SealContext): Buffer {
  return Buffer.from(`${VERSION}|${keyId}|${ctx.table}|${ctx.column}|${ctx.row}`, 'utf8');
}

/**
 * Seals a secret with AES-256-GCM under the active master key: `bs1:<key id>:<nonce>:<ciphertext+tag>`,
 * a fresh 96-bit random nonce per value.
 */
export function seal(keyring: MasterKeyring, ctx: SealContext, plaintext: string | Buffer): string {
  keyring.refresh?.();
  const { id, key } = keyring.active;
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad(id, ctx));
  const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${VERSION}:${id}:${nonce.toString('base64url')}:${body.toString('base64url')}`;
}

/** The id of the master key a sealed value was made with (for rotation). */
export function sealedKeyId(sealed: string): string {
  const parts = sealed.split(':');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new BrainstackError('seal_failed', 'not a sealed value');
  return parts[1] as string;
}

/** Opens a sealed value; throws `seal_failed` when the key is unknown or the value or its context was altered. */
export function open(keyring: MasterKeyring, ctx: SealContext, sealed: string): Buffer {
  const parts = sealed.split(':');
  if (parts.length !== 4 || parts[0] !== VERSION) throw new BrainstackError('seal_failed', `${ctx.table}.${ctx.column} of ${ctx.row} is not a sealed value`);
  const [, keyId, nonceText, bodyText] = parts as [string, string, string, string];
  let key = keyring.byId.get(keyId);
  if (!key && keyring.refresh) {
    keyring.refresh();
    key = keyring.byId.get(keyId);
  }
  if (!key) throw new BrainstackError('seal_failed', `${ctx.table}.${ctx.column} of ${ctx.row} is sealed under master key ${keyId}, which is not loaded`);
  const body = Buffer.from(bodyText, 'base64url');
  if (body.length < 16) throw new BrainstackError('seal_failed', `${ctx.table}.${ctx.column} of ${ctx.row} is truncated`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(nonceText, 'base64url'));
    decipher.setAAD(aad(keyId, ctx));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
  } catch (cause) {
    throw new BrainstackError('seal_failed', `${ctx.table}.${ctx.column} of ${ctx.row} does not open: altered, moved, or wrong master key`, { cause });
  }
}

export function openText(keyring: MasterKeyring, ctx: SealContext, sealed: string): string {
  return open(keyring, ctx, sealed).toString('utf8');
}
