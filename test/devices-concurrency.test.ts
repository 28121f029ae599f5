import t from 'tap';
import { createTestApp, createTestHome, sessionCookie, STRONG_PASSWORD, testDialects } from './helpers/home.js';
import { createTestInterface, wireguardAvailable } from './helpers/wireguard.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';

const wg = wireguardAvailable();
for (const dialect of testDialects()) {
  t.test(`${dialect}: 200 parallel registrations get 200 distinct addresses, and the interface holds exactly the database's peers`, { skip: wg.ok ? false : wg.why, timeout: 240_000 }, async (t) => {
    const iface = createTestInterface();
    t.teardown(() => iface.destroy());
    const home = await createTestHome({ dialect, settings: { wireguard: { interface: iface.name, cidr: '10.40.0.0/22' } } });
    t.teardown(home.cleanup);
    await home.services.accounts.create('load', STRONG_PASSWORD, 'test');
    const app = await createTestApp(home);
    t.teardown(() => app.close());
    await home.services.reconciler.reconcile();
    const login = await app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'load', password: STRONG_PASSWORD }) });
    const cookies = { '__Host-brainstack': sessionCookie(login) as string };
    const keys = Array.from({ length: 200 }, () => generateWireGuardKeyPair().publicKey);
    const responses = await Promise.all(
      keys.map((publicKey, i) => app.inject({ method: 'POST', url: '/api/v1/devices', cookies, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: `device ${i}`, publicKey }) })),
    );
    const statuses = responses.map((r) => r.statusCode);
    t.same([...new Set(statuses)], [201], 'every registration succeeded');
    const ips = responses.map((r) => r.json().ip as string);
    t.equal(new Set(ips).size, 200, '200 distinct addresses');
    t.equal(new Set(responses.map((r) => r.json().publicKey as string)).size, 200, '200 distinct keys');
    const database = await home.services.devices.list(undefined);
    const dbPeers = new Map(database.map((d) => [d.public_key, `${d.ip}/32`]));
    const wgPeers = iface.allowedIps();
    t.same([...wgPeers.entries()].sort(), [...dbPeers.entries()].sort(), 'wg show dump equals the database exactly');
    // Half of them revoked in parallel: the two sides still agree.
    await Promise.all(responses.slice(0, 100).map((r) => app.inject({ method: 'DELETE', url: `/api/v1/devices/${r.json().id}`, cookies })));
    const remaining = await home.services.devices.list(undefined);
    t.equal(remaining.length, 100);
    t.same([...iface.allowedIps().entries()].sort(), remaining.map((d) => [d.public_key, `${d.ip}/32`]).sort(), 'after parallel revocations too');
  });
}
