import { createPublicKey, generateKeyPairSync, createPrivateKey } from 'node:crypto';

/** A WireGuard key pair in wg's text form (base64 of the raw 32 bytes). */
export interface WireGuardKeyPair {
  privateKey: string;
  publicKey: string;
}

/** DER prefix of a PKCS#8 X25519 private key; the raw 32 key bytes follow. */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

const toStd = (b64url: string): string => Buffer.from(b64url, 'base64url').toString('base64');

/** Generates an X25519 key pair in-process: the same keys `wg genkey | wg pubkey` makes. */
export function generateWireGuardKeyPair(): WireGuardKeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const jwk = privateKey.export({ format: 'jwk' });
  return { privateKey: toStd(jwk.d as string), publicKey: toStd(jwk.x as string) };
}

/** The public key of a wg private key (what `wg pubkey` prints). */
export function wireGuardPublicKey(privateKey: string): string {
  const raw = Buffer.from(privateKey, 'base64');
  const key = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  return toStd(jwk.x as string);
}

/** True when `key` is base64 of exactly 32 bytes, in canonical form. */
export function isWireGuardKey(key: string): boolean {
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(key)) return false;
  return Buffer.from(key, 'base64').length === 32;
}
