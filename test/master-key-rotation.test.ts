import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { createTestApp, createTestHome, STRONG_PASSWORD } from './helpers/home.js';
import { rotateMasterKey } from '../src/crypto/rotate-master.js';
import { loadKeyring, parseKeyring } from '../src/crypto/master-key.js';
import { loadConfig } from '../src/config/config.js';
import { openServices } from '../src/home/services.js';
import { currentTotpCode } from '../src/auth/totp.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';
import { openText, sealedKeyId } from '../src/crypto/seal.js';
import { WG_PRIVATE_SETTING, WG_PUBLIC_SETTING } from '../src/home/settings.js';
import { wireGuardPublicKey } from '../src/wireguard/keys.js';
import type { Services } from '../src/home/services.js';

const serverPublicKey = async (services: Services) => (await services.database.db.selectFrom('server_settings').select('value').where('name', '=', WG_PUBLIC_SETTING).executeTakeFirstOrThrow()).value;

async function everythingOpens(t: Test, dir: string, totpSecret: string, deviceId: string, userId: string, stepOffset: number) {
  const services = await openServices(loadConfig(dir, {}), { logger: pino({ level: 'silent' }), env: {} });
  try {
    const app = await createTestApp({ services } as Parameters<typeof createTestApp>[0]);
    const login = await app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'ivan', password: STRONG_PASSWORD, totp: currentTotpCode(totpSecret, Date.now() + stepOffset * 30_000) }) });
    t.equal(login.statusCode, 200, 'the TOTP secret opens: login with a code succeeds');
    const config = await services.devices.config(deviceId, { id: userId, username: 'ivan' });
    t.match(config.text, /PresharedKey = [A-Za-z0-9+/]{43}=/, 'the device preshared key opens');
    t.ok((await services.signingKeys.activeKey()).kid, 'the signing key opens');
    // Open the sealed WireGuard server key for real (a config-only reconcile would never touch it).
    const wg = await services.database.db.selectFrom('server_settings').select('value').where('name', '=', WG_PRIVATE_SETTING).executeTakeFirstOrThrow();
    const serverKey = openText(services.keyring, { table: 'server_settings', column: 'value', row: WG_PRIVATE_SETTING }, wg.value);
    t.equal(wireGuardPublicKey(serverKey), await serverPublicKey(services), 'the WireGuard server key opens and matches its public key');
    await app.close();
  } finally {
    await services.close();
  }
}

t.test('rotate-master re-seals every secret under a new key; interrupted, the old key still opens everything', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  const { services } = home;
  const user = await services.accounts.create('ivan', STRONG_PASSWORD, 'test');
  const { secret } = await services.accounts.enrolTotpDirect('ivan', 'test');
  const reg = await services.devices.register({ id: user.id, username: 'ivan' }, { name: 'laptop', publicKey: generateWireGuardKeyPair().publicKey });
  const keyFile = join(home.dir, 'master.key');
  const oldId = services.keyring.active.id;

  // Interrupted: a value that cannot be re-sealed makes the transaction roll back midway.
  await services.database.db.updateTable('devices').set({ psk_sealed: `bs1:${oldId}:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA` }).where('id', '=', reg.device.id).execute();
  const pskBefore = await services.database.db.selectFrom('users').select('totp_sealed').where('id', '=', user.id).executeTakeFirstOrThrow();
  await t.rejects(rotateMasterKey(services.database.db, services.keyring, keyFile), { code: 'seal_failed' });
  const afterFailure = parseKeyring(readFileSync(keyFile, 'utf8'), keyFile);
  t.ok(afterFailure.byId.has(oldId), 'the old key is still in the keyring file');
  const unchanged = await services.database.db.selectFrom('users').select('totp_sealed').where('id', '=', user.id).executeTakeFirstOrThrow();
  t.equal(unchanged.totp_sealed, pskBefore.totp_sealed, 'nothing was re-sealed: the transaction rolled back');
  // Put the real device back (re-register) and rotate for real.
  await services.database.db.deleteFrom('devices').where('id', '=', reg.device.id).execute();
  const reg2 = await services.devices.register({ id: user.id, username: 'ivan' }, { name: 'laptop', publicKey: generateWireGuardKeyPair().publicKey });
  await everythingOpens(t, home.dir, secret, reg2.device.id, user.id, -1);

  const report = await rotateMasterKey(services.database.db, services.keyring, keyFile);
  t.not(report.newKeyId, oldId);
  t.ok(report.resealed >= 4, `${report.resealed} secrets re-sealed`);
  t.same(report.keptKeys, [report.newKeyId], 'keys nothing uses any more are dropped');
  const fileKeyring = loadKeyring(keyFile, {});
  t.equal(fileKeyring.active.id, report.newKeyId);
  t.notOk(fileKeyring.byId.has(oldId), 'the old key is gone from the file');
  const row = await services.database.db.selectFrom('devices').select('psk_sealed').where('id', '=', reg2.device.id).executeTakeFirstOrThrow();
  t.equal(sealedKeyId(row.psk_sealed), report.newKeyId, 'values are sealed under the new key');
  await everythingOpens(t, home.dir, secret, reg2.device.id, user.id, 0);
});
