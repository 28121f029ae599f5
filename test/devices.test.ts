import t from 'tap';
import { createTestApp, createTestHome, sessionCookie, STRONG_PASSWORD } from './helpers/home.js';
import { createTestInterface, wgPubkey, wireguardAvailable } from './helpers/wireguard.js';
import { generateWireGuardKeyPair, wireGuardPublicKey } from '../src/wireguard/keys.js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { FastifyInstance } from 'fastify';

const json = (payload: unknown) => ({ headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

async function loggedIn(app: FastifyInstance, username: string) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username, password: STRONG_PASSWORD }) });
  return { '__Host-brainstack': sessionCookie(res) as string };
}

t.test('keys made in-process are the keys wg makes', async (t) => {
  for (let i = 0; i < 5; i += 1) {
    const pair = generateWireGuardKeyPair();
    t.equal(wgPubkey(pair.privateKey), pair.publicKey);
    t.equal(wireGuardPublicKey(pair.privateKey), pair.publicKey, 'and the in-process `wg pubkey` agrees');
  }
});

t.test('config-only mode: register with a client key, list, config, QR, token, revoke; nothing leaks across users', async (t) => {
  const home = await createTestHome({ settings: { wireguard: { endpoint: 'vpn.example.com:51820', dns: ['10.8.0.1'], allowed_ips: ['10.8.0.0/24', '10.99.0.0/16'] } } });
  t.teardown(home.cleanup);
  const { accounts, rbac } = home.services;
  await rbac.create('staff', ['assistant:notes', 'assistant:search'], 'test');
  await accounts.create('alice', STRONG_PASSWORD, 'test', ['staff']);
  await accounts.create('mallory', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const alice = await loggedIn(app, 'alice');
  const mallory = await loggedIn(app, 'mallory');

  const pair = generateWireGuardKeyPair();
  const created = await app.inject({ method: 'POST', url: '/api/v1/devices', cookies: alice, ...json({ name: 'laptop', publicKey: pair.publicKey }) });
  t.equal(created.statusCode, 201, 'registered');
  const device = created.json();
  t.equal(device.ip, '10.8.0.2', 'first client address after network and server');
  t.equal(device.publicKey, pair.publicKey);
  t.notOk('privateKey' in device, 'no private key when the client made the key');
  t.notMatch(device.config, /PrivateKey = [A-Za-z0-9+/]{43}=/, 'the config carries no private key');
  t.match(device.config, /Endpoint = vpn\.example\.com:51820/);
  t.match(device.config, /AllowedIPs = 10\.8\.0\.0\/24, 10\.99\.0\.0\/16/);
  t.match(device.config, /DNS = 10\.8\.0\.1/);
  t.match(device.config, /PresharedKey = [A-Za-z0-9+/]{43}=/);
  t.match(device.refresh_token, /^bsr_/);

  const serverMade = await app.inject({ method: 'POST', url: '/api/v1/devices', cookies: alice, ...json({ name: 'phone' }) });
  t.equal(serverMade.statusCode, 201);
  t.equal(wgPubkey(serverMade.json().privateKey), serverMade.json().publicKey, 'a server-generated key pair is returned once');
  t.match(serverMade.json().config, new RegExp(`PrivateKey = ${serverMade.json().privateKey.replace(/[+/]/g, '\\$&')}`));
  const download = await app.inject({ method: 'GET', url: `/api/v1/devices/${serverMade.json().id}/config`, cookies: alice });
  t.notMatch(download.body, /^PrivateKey/m, 'and never again: the server did not keep it');

  const list = await app.inject({ method: 'GET', url: '/api/v1/devices', cookies: alice });
  t.same(list.json().devices.map((d: { name: string }) => d.name).sort(), ['laptop', 'phone']);
  const config = await app.inject({ method: 'GET', url: `/api/v1/devices/${device.id}/config`, cookies: alice });
  t.equal(config.statusCode, 200);
  t.equal(config.headers['content-disposition'], 'attachment; filename="bs-laptop.conf"');
  t.match(config.body, /\[Interface\][\s\S]*Address = 10\.8\.0\.2\/32[\s\S]*\[Peer\]/);
  const svg = await app.inject({ method: 'GET', url: `/api/v1/devices/${device.id}/qr.svg`, cookies: alice });
  t.equal(svg.headers['content-type'], 'image/svg+xml');
  t.match(svg.body, /^<svg/);
  const png = await app.inject({ method: 'GET', url: `/api/v1/devices/${device.id}/qr.png`, cookies: alice });
  t.same([...png.rawPayload.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');

  for (const url of [`/api/v1/devices/${device.id}`, `/api/v1/devices/${device.id}/config`, `/api/v1/devices/${device.id}/qr.svg`]) {
    const res = await app.inject({ method: 'GET', url, cookies: mallory });
    t.equal(res.statusCode, 404, `another user's device is 404: ${url}`);
    t.notMatch(res.body, /laptop|10\.8\.0\.2/, 'and shows none of its data');
  }
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/devices/${device.id}`, cookies: mallory })).statusCode, 404);
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/token', cookies: mallory, ...json({ device: device.id }) })).statusCode, 404);

  const token = await app.inject({ method: 'POST', url: '/api/v1/token', cookies: alice, ...json({ device: device.id }) });
  t.equal(token.statusCode, 200, 'token issued');
  const body = token.json();
  t.equal(body.token_type, 'Bearer');
  t.equal(body.scope, 'assistant:notes assistant:search');
  const header = decodeProtectedHeader(body.access_token);
  t.equal(header.typ, 'at+jwt');
  t.equal(header.alg, 'ES256');
  const claims = decodeJwt(body.access_token);
  t.match(claims, { iss: 'https://ticket.test', aud: 'brainstack', client_id: 'brainstack-portal', scope: 'assistant:notes assistant:search', roles: ['staff'], device: device.id, cnf: { wg_ip: '10.8.0.2', wg_pk: pair.publicKey } });
  t.ok((claims.exp as number) - (claims.iat as number) <= 900);
  t.type(claims.jti, 'string');
  const narrowed = await app.inject({ method: 'POST', url: '/api/v1/token', cookies: alice, ...json({ device: device.id, scope: 'assistant:notes' }) });
  t.equal(narrowed.json().scope, 'assistant:notes');
  const wider = await app.inject({ method: 'POST', url: '/api/v1/token', cookies: alice, ...json({ device: device.id, scope: 'assistant:admin' }) });
  t.equal(wider.statusCode, 400);
  t.equal(wider.json().code, 'invalid_scope');

  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/devices/${device.id}`, cookies: alice })).statusCode, 204);
  const after = await app.inject({ method: 'POST', url: '/api/v1/token', cookies: alice, ...json({ device: device.id }) });
  t.equal(after.statusCode, 409, 'no token for a revoked device');
  t.equal(after.json().code, 'device_inactive');
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/devices/${device.id}/config`, cookies: alice })).json().code, 'device_inactive');
  const rev = await home.services.revocations.since(0);
  t.match(rev, [{ kind: 'device', value: device.id }], 'the revocation is in the feed for guards');
});

t.test('bad device input is refused with a specific code and records nothing', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  await home.services.accounts.create('bob', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const bob = await loggedIn(app, 'bob');
  const serverKey = (await home.services.database.db.selectFrom('server_settings').select('value').where('name', '=', 'wireguard.public_key').executeTakeFirstOrThrow()).value;
  const used = generateWireGuardKeyPair().publicKey;
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/devices', cookies: bob, ...json({ name: 'first', publicKey: used }) })).statusCode, 201);
  const cases: Array<[string, unknown, number, string]> = [
    ['newline in name', { name: 'evil\nPostUp = rm -rf /' }, 400, 'invalid_device_name'],
    ['control character in name', { name: 'evil\u0007' }, 400, 'invalid_device_name'],
    ['bracket section in name', { name: '[Peer]' }, 400, 'invalid_device_name'],
    ['empty name', { name: '' }, 400, 'validation_failed'],
    ['short key', { name: 'x', publicKey: Buffer.alloc(31).toString('base64') }, 400, 'invalid_public_key'],
    ['long key', { name: 'x', publicKey: Buffer.alloc(33, 1).toString('base64') }, 400, 'invalid_public_key'],
    ['not base64', { name: 'x', publicKey: '!'.repeat(43) + '=' }, 400, 'invalid_public_key'],
    ["the server's key", { name: 'x', publicKey: serverKey }, 400, 'invalid_public_key'],
    ['a duplicate key', { name: 'x', publicKey: used }, 409, 'public_key_in_use'],
  ];
  for (const [what, body, status, code] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/devices', cookies: bob, ...json(body) });
    t.equal(res.statusCode, status, `${what}: status`);
    t.equal(res.json().code, code, `${what}: code`);
  }
  t.equal((await home.services.devices.list(undefined, { includeInactive: true })).length, 1, 'nothing recorded');
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/devices', ...json({ name: 'x' }) })).statusCode, 401, 'no session, no device');
});

t.test('the address pool: reserved addresses, quarantine before reuse, exhaustion', async (t) => {
  const home = await createTestHome({ fakeClock: true, settings: { wireguard: { cidr: '10.20.0.0/29', ip_quarantine: 600 } } });
  t.teardown(home.cleanup);
  const user = await home.services.accounts.create('pat', STRONG_PASSWORD, 'test');
  const register = (name: string) => home.services.devices.register({ id: user.id, username: 'pat' }, { name, publicKey: generateWireGuardKeyPair().publicKey });
  const ips = [];
  for (let i = 0; i < 5; i += 1) ips.push((await register(`d${i}`)).device.ip);
  t.same(ips, ['10.20.0.2', '10.20.0.3', '10.20.0.4', '10.20.0.5', '10.20.0.6'], 'network .0, server .1 and broadcast .7 are never handed out');
  await t.rejects(register('one too many'), { code: 'pool_exhausted' });
  const [first] = await home.services.devices.list(user.id);
  await home.services.devices.revoke((await home.services.devices.list(user.id)).find((d) => d.ip === '10.20.0.3')?.id as string, 'test', 'test');
  t.ok(first);
  await t.rejects(register('too early'), { code: 'pool_exhausted' }, 'a released address is quarantined');
  home.clock.advance(601_000);
  t.equal((await register('later')).device.ip, '10.20.0.3', 'and reused after the quarantine');
});

t.test('refresh tokens rotate on use; reuse revokes the family; tokens for revoked devices are never issued', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  await home.services.rbac.create('r', ['assistant:notes'], 'test');
  const user = await home.services.accounts.create('quinn', STRONG_PASSWORD, 'test', ['r']);
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const reg = await home.services.devices.register({ id: user.id, username: 'quinn' }, { name: 'cli', publicKey: generateWireGuardKeyPair().publicKey });
  const refresh = (token: string, extra: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, ...extra }).toString() });
  const first = await refresh(reg.refreshToken);
  t.equal(first.statusCode, 200, 'refreshed');
  t.equal(first.headers['cache-control'], 'no-store');
  const r1 = first.json();
  t.match(decodeJwt(r1.access_token), { client_id: 'brainstack-cli', device: reg.device.id, scope: 'assistant:notes' });
  t.not(r1.refresh_token, reg.refreshToken, 'rotated');
  const tooWide = await refresh(r1.refresh_token, { scope: 'assistant:search' });
  t.same(tooWide.json(), { error: 'invalid_scope', error_description: "your roles do not grant 'assistant:search'" });
  const second = await refresh(r1.refresh_token);
  t.equal(second.statusCode, 200, 'a refused scope did not consume the token');
  const reuse = await refresh(reg.refreshToken);
  t.equal(reuse.statusCode, 400);
  t.equal(reuse.json().error, 'invalid_grant');
  const familyDead = await refresh(second.json().refresh_token);
  t.equal(familyDead.json().error, 'invalid_grant', 'reuse revoked the newest token of the family too');
  t.ok((await home.services.audit.list({ event: 'refresh_token.reuse' })).length === 1, 'reuse is audited');
  t.equal((await refresh('bsr_nonsense')).json().error, 'invalid_grant');
  const wrongGrant = await app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=password&username=a&password=b' });
  t.same(wrongGrant.json().error, 'unsupported_grant_type');

  const reg2 = await home.services.devices.register({ id: user.id, username: 'quinn' }, { name: 'cli2', publicKey: generateWireGuardKeyPair().publicKey });
  await home.services.accounts.disable('quinn', 'test');
  t.equal((await refresh(reg2.refreshToken)).json().error, 'invalid_grant', 'no token for a disabled user');
});

const wg = wireguardAvailable();
t.test('with a real WireGuard interface: each change is one peer, failures record nothing, reconcile repairs both ways', { skip: wg.ok ? false : wg.why }, async (t) => {
  const iface = createTestInterface();
  t.teardown(() => iface.destroy());
  const home = await createTestHome({ settings: { wireguard: { interface: iface.name, listen_port: 51999 } } });
  t.teardown(home.cleanup);
  const user = await home.services.accounts.create('rita', STRONG_PASSWORD, 'test');
  const { devices, reconciler } = home.services;
  const start = await reconciler.reconcile();
  t.same(start.repairs.map((r) => r.action), ['set-interface-key'], 'the service sets the interface key itself');
  const reg = await devices.register({ id: user.id, username: 'rita' }, { name: 'a', publicKey: generateWireGuardKeyPair().publicKey });
  t.equal(iface.allowedIps().get(reg.device.public_key), `${reg.device.ip}/32`, 'peer applied with its /32');
  const reg2 = await devices.register({ id: user.id, username: 'rita' }, { name: 'b', publicKey: generateWireGuardKeyPair().publicKey });
  await devices.revoke(reg.device.id, 'test', 'test');
  t.same([...iface.peers()], [reg2.device.public_key], 'revocation removed exactly that peer');

  // Drift both ways: a stray peer, a missing peer, wrong allowed-ips.
  const stray = generateWireGuardKeyPair().publicKey;
  const { execFileSync } = await import('node:child_process');
  execFileSync('wg', ['set', iface.name, 'peer', stray, 'allowed-ips', '10.8.0.200/32']);
  execFileSync('wg', ['set', iface.name, 'peer', reg2.device.public_key, 'allowed-ips', '10.8.0.201/32']);
  const reg3 = await devices.register({ id: user.id, username: 'rita' }, { name: 'c', publicKey: generateWireGuardKeyPair().publicKey });
  execFileSync('wg', ['set', iface.name, 'peer', reg3.device.public_key, 'remove']);
  const dry = await reconciler.reconcile({ dryRun: true });
  t.same(dry.repairs.map((r) => r.action).sort(), ['add', 'fix-allowed-ips', 'remove']);
  t.ok(iface.peers().has(stray), 'a dry run changes nothing');
  await reconciler.reconcile();
  t.same([...iface.peers()].sort(), [reg2.device.public_key, reg3.device.public_key].sort());
  t.equal(iface.allowedIps().get(reg2.device.public_key), `${reg2.device.ip}/32`);
  t.equal((await reconciler.reconcile()).repairs.length, 0, 'then nothing to repair');
  t.equal((await home.services.audit.list({ event: 'wg.reconcile_repair' })).length, 4, 'each repair audited');
});

t.test('when wg fails, the registration is not recorded; a missing interface is a clear error', { skip: wg.ok ? false : wg.why }, async (t) => {
  const home = await createTestHome({ settings: { wireguard: { interface: 'bsnosuchif0' } } });
  t.teardown(home.cleanup);
  const user = await home.services.accounts.create('sam', STRONG_PASSWORD, 'test');
  await t.rejects(home.services.devices.register({ id: user.id, username: 'sam' }, { name: 'x', publicKey: generateWireGuardKeyPair().publicKey }), { code: 'wireguard_interface_missing' });
  t.equal((await home.services.devices.list(undefined, { includeInactive: true })).length, 0, 'rolled back');
  t.equal((await home.services.audit.list({ event: 'device.registered' })).length, 0, 'no audit row either');
  await t.rejects(home.services.reconciler.reconcile(), { code: 'wireguard_interface_missing', message: /bsnosuchif0/ });
  const missingTool = await createTestHome({ settings: { wireguard: { interface: 'wg0', wg_command: '/nonexistent/wg' } } });
  t.teardown(missingTool.cleanup);
  const u2 = await missingTool.services.accounts.create('sam', STRONG_PASSWORD, 'test');
  await t.rejects(missingTool.services.devices.register({ id: u2.id, username: 'sam' }, { name: 'x', publicKey: generateWireGuardKeyPair().publicKey }), { code: 'wireguard_unavailable' });
});

t.test('the token endpoint is rate limited and says when to come back', async (t) => {
  const home = await createTestHome({ settings: { login: { rate_limit_per_minute: 1 } } });
  t.teardown(home.cleanup);
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const statuses: number[] = [];
  let last;
  for (let i = 0; i < 5; i += 1) {
    last = await app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=refresh_token&refresh_token=bsr_nothing' });
    statuses.push(last.statusCode);
  }
  t.same(statuses, [400, 400, 400, 400, 429]);
  t.equal(last?.json().error, 'rate_limited');
  t.ok(Number(last?.headers['retry-after']) > 0);
});
