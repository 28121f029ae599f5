import t from 'tap';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { createTestHome, STRONG_PASSWORD } from './helpers/home.js';
import { createTestInterface, wireguardAvailable } from './helpers/wireguard.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';
import { DeviceMaintenance } from '../src/devices/maintenance.js';
import { startTicketService } from '../src/ticket/server.js';
import { loadConfig } from '../src/config/config.js';
import { openServices } from '../src/home/services.js';

const wg = wireguardAvailable();
t.test('an expired device leaves the interface within 10 s of its expiry', { skip: wg.ok ? false : wg.why }, async (t) => {
  const iface = createTestInterface();
  t.teardown(() => iface.destroy());
  const home = await createTestHome({ settings: { wireguard: { interface: iface.name } } });
  t.teardown(home.cleanup);
  const { devices, reconciler, accounts, logger } = home.services;
  const user = await accounts.create('tess', STRONG_PASSWORD, 'test');
  await reconciler.reconcile();
  const short = await devices.register({ id: user.id, username: 'tess' }, { name: 'short', publicKey: generateWireGuardKeyPair().publicKey });
  const long = await devices.register({ id: user.id, username: 'tess' }, { name: 'long', publicKey: generateWireGuardKeyPair().publicKey });
  const expiresAt = Date.now() + 1500;
  await devices.setExpiry(short.device.id, expiresAt, 'test');
  const maintenance = new DeviceMaintenance(devices, reconciler, logger, { reconcileSeconds: 3600, sweepSeconds: 5 });
  maintenance.start();
  t.teardown(() => maintenance.stop());
  while (iface.peers().has(short.device.public_key) && Date.now() < expiresAt + 12_000) await new Promise((r) => setTimeout(r, 100));
  const lag = Date.now() - expiresAt;
  t.notOk(iface.peers().has(short.device.public_key), `the expired peer is gone ${lag} ms after expiry`);
  t.ok(lag <= 10_000, 'within 10 s');
  t.ok(iface.peers().has(long.device.public_key), 'the other device stays');
  t.equal((await devices.get(short.device.id)).state, 'expired');
  t.match(await home.services.revocations.since(0), [{ kind: 'device', value: short.device.id, reason: 'expired' }]);
});

t.test('config-only mode says loudly at start that it applies nothing', async (t) => {
  const home = await createTestHome({ settings: { listen: '127.0.0.1:0', internal_listen: '127.0.0.1:0' } });
  t.teardown(home.cleanup);
  let logs = '';
  const sink = new Writable({ write(chunk, _e, cb) { logs += chunk.toString(); cb(); } });
  const services = await openServices(loadConfig(home.dir, {}), { logger: pino({ level: 'info' }, sink), env: {} });
  t.teardown(() => services.close());
  const running = await startTicketService(services);
  await running.close();
  t.match(logs, /"level":40.*CONFIG-ONLY MODE.*NO PEER IS APPLIED/);
});
