import t from 'tap';
import { mkdtempSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatKeyring, generateMasterKey, loadKeyring, parseKeyring } from '../src/crypto/master-key.js';
import { open, openText, seal, sealedKeyId } from '../src/crypto/seal.js';

const ctx = { table: 'users', column: 'totp_sealed', row: 'user-1' };

t.test('a sealed value opens with its key and context only', async (t) => {
  const key = generateMasterKey();
  const keyring = parseKeyring(formatKeyring([key]), 'test');
  const sealed = seal(keyring, ctx, 'JBSWY3DPEHPK3PXP');
  t.notMatch(sealed, /JBSWY3DPEHPK3PXP/);
  t.equal(sealedKeyId(sealed), key.id, 'the key id travels with the value');
  t.equal(openText(keyring, ctx, sealed), 'JBSWY3DPEHPK3PXP');
  t.not(seal(keyring, ctx, 'same'), seal(keyring, ctx, 'same'), 'a fresh nonce per value');
  t.throws(() => open(keyring, { ...ctx, row: 'user-2' }, sealed), { code: 'seal_failed' }, 'moved to another row: refused');
  t.throws(() => open(keyring, { ...ctx, column: 'password_hash' }, sealed), { code: 'seal_failed' }, 'moved to another column: refused');
  const parts = sealed.split(':');
  const body = Buffer.from(parts[3] as string, 'base64url');
  body[0] = (body[0] as number) ^ 1;
  t.throws(() => open(keyring, ctx, [...parts.slice(0, 3), body.toString('base64url')].join(':')), { code: 'seal_failed' }, 'tampered: refused');
  const other = parseKeyring(formatKeyring([generateMasterKey()]), 'other');
  t.throws(() => open(other, ctx, sealed), { code: 'seal_failed', message: /not loaded/ }, 'another master key: refused');
});

t.test('a keyring with an old key still opens values sealed under it, and seals with the new one', async (t) => {
  const oldKey = generateMasterKey();
  const newKey = generateMasterKey();
  const before = seal(parseKeyring(formatKeyring([oldKey]), 'old'), ctx, 'secret');
  const rotated = parseKeyring(formatKeyring([newKey, oldKey]), 'rotated');
  t.equal(openText(rotated, ctx, before), 'secret');
  t.equal(sealedKeyId(seal(rotated, ctx, 'x')), newKey.id);
});

t.test('the master key file must be private and well-formed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'brainstack-key-'));
  const file = join(dir, 'master.key');
  writeFileSync(file, formatKeyring([generateMasterKey()]), { mode: 0o600 });
  t.ok(loadKeyring(file, {}).active);
  chmodSync(file, 0o644);
  t.throws(() => loadKeyring(file, {}), { code: 'master_key_invalid', message: /chmod 600/ });
  chmodSync(file, 0o600);
  writeFileSync(file, 'c2hvcnQ=\n');
  t.throws(() => loadKeyring(file, {}), { code: 'master_key_invalid', message: /line 1/ });
  const fromEnv = generateMasterKey();
  t.equal(loadKeyring(join(dir, 'absent'), { BRAINSTACK_MASTER_KEY: fromEnv.key.toString('base64') }).active.id, fromEnv.id, 'containers pass the key in the environment');
});
