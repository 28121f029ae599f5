import t, { type Test } from 'tap';
import { join } from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { createLabHome, curl, startLab, USERSPACE_WG_ENV, waitForOutput, writePrivateFile, type Lab } from './helpers/lab.js';
import { wireguardAvailable } from './helpers/wireguard.js';
import { STRONG_PASSWORD } from './helpers/home.js';
import { loadConfig } from '../src/config/config.js';
import { openServices } from '../src/home/services.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';
import { withPrivateKey } from '../src/wireguard/render.js';

const BIN = join(process.cwd(), 'bin', 'brainstack.js');


async function tunnelUp(t: Test, lab: Lab, ns: string, base: string, username: string, tag: string, endpoint: string) {
  const jar = `/tmp/${lab.prefix}${tag}.jar`;
  t.teardown(() => lab.exec(ns, 'rm', ['-f', jar]));
  t.equal(curl(lab, ns, ['-c', jar, '-H', 'content-type: application/json', '-d', JSON.stringify({ username, password: STRONG_PASSWORD }), `${base}/api/v1/login`]).status, 200);
  const keys = generateWireGuardKeyPair();
  const device = JSON.parse(curl(lab, ns, ['-b', jar, '-H', 'content-type: application/json', '-d', JSON.stringify({ name: tag, publicKey: keys.publicKey }), `${base}/api/v1/devices`]).body) as { id: string; ip: string };
  const config = withPrivateKey(curl(lab, ns, ['-b', jar, `${base}/api/v1/devices/${device.id}/config`]).body, keys.privateKey).replace(/^Endpoint = .*$/m, `Endpoint = ${endpoint}`);
  const conf = `/tmp/${lab.prefix}${tag}.conf`;
  writePrivateFile(conf, config);
  t.teardown(() => {
    lab.exec(ns, 'wg-quick', ['down', conf], { env: USERSPACE_WG_ENV });
    lab.exec(ns, 'rm', ['-f', conf]);
  });
  t.equal(lab.exec(ns, 'wg-quick', ['up', conf], { env: USERSPACE_WG_ENV }).status, 0, `${username}'s tunnel is up`);
  const token = (scope: string) => JSON.parse(curl(lab, ns, ['-b', jar, '-H', 'content-type: application/json', '-d', JSON.stringify({ device: device.id, scope }), `${base}/api/v1/token`]).body).access_token as string;
  return { device, token };
}

const wg = wireguardAvailable();
t.test('guards over the real tunnel: sidecar and gateway check scope, device binding and revocation', { skip: wg.ok ? false : wg.why, timeout: 180_000 }, async (t) => {
  const lab = startLab();
  t.teardown(() => lab.down());
  const port = 19000 + Math.floor(Math.random() * 500) * 2;
  const feedHost = lab.env.LAB_PRIVATE_GW_IP as string;
  const home = await createLabHome(lab, port, { internal_listen: `${feedHost}:${port + 1}` });
  t.teardown(home.cleanup);
  const credentialFile = join(home.dir, 'guard.credential');
  {
    const services = await openServices(loadConfig(home.dir, {}), { logger: pino({ level: 'silent' }), env: {} });
    await services.rbac.create('notes', ['assistant:notes'], 'test');
    await services.rbac.create('search', ['assistant:search'], 'test');
    await services.accounts.create('alice', STRONG_PASSWORD, 'test', ['notes', 'search']);
    await services.accounts.create('bob', STRONG_PASSWORD, 'test', ['notes']);
    writeFileSync(credentialFile, `${await services.guards.add('private-net', 'test')}\n`, { mode: 0o600 });
    await services.close();
  }
  const gwNs = lab.env.LAB_GATEWAY_NS as string;
  const prvNs = lab.env.LAB_PRIVATE_NS as string;
  const privateIp = lab.env.LAB_PRIVATE_IP as string;
  const server = lab.spawn(gwNs, process.execPath, [BIN, 'serve', '--dir', home.dir]);
  await waitForOutput(server, /ticket service started/);

  // Two assistants on the private network, reachable only on the private namespace's loopback.
  // "search" listens on a UNIX socket only: no network path to it except through the gateway.
  const searchSocket = `/tmp/${lab.prefix}-search.sock`;
  t.teardown(() => rmSync(searchSocket, { force: true }));
  const echo = (name: string, listenOn: string) => `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ assistant: '${name}', path: q.url, remote: q.socket.remoteAddress, user: q.headers['x-brainstack-user'] ?? null, scopes: q.headers['x-brainstack-scopes'] ?? null, device: q.headers['x-brainstack-device'] ?? null })); }).listen(${listenOn}, () => console.log('listening'));`;
  await waitForOutput(lab.spawn(prvNs, process.execPath, ['-e', echo('notes', "9000, '127.0.0.1'")]), /listening/);
  await waitForOutput(lab.spawn(prvNs, process.execPath, ['-e', echo('search', JSON.stringify(searchSocket))]), /listening/);
  const common = ['--jwks', `http://${feedHost}:${port + 1}/.well-known/jwks.json`, '--issuer', home.url, '--feed', `http://${feedHost}:${port + 1}`, '--feed-credential-file', credentialFile];
  const sidecar = lab.spawn(prvNs, process.execPath, [BIN, 'guard', '--assistant', 'notes', '--listen', `${privateIp}:8080`, '--upstream', 'http://127.0.0.1:9000', '--trusted-gateway', privateIp, '--metrics-listen', '127.0.0.1:9100', ...common]);
  await waitForOutput(sidecar, /brainstack guard started/);
  const routes = join(home.dir, 'routes.json');
  writeFileSync(routes, JSON.stringify({ routes: [{ prefix: '/notes', assistant: 'notes', upstream: `http://${privateIp}:8080` }, { prefix: '/search', assistant: 'search', upstream: `unix:${searchSocket}` }] }));
  const gateway = lab.spawn(prvNs, process.execPath, [BIN, 'guard', '--listen', `${privateIp}:8090`, '--routes', routes, ...common]);
  await waitForOutput(gateway, /brainstack guard started/);

  const alice = await tunnelUp(t, lab, lab.env.LAB_CLIENT_NS as string, home.url, 'alice', 'a', lab.env.LAB_WG_ENDPOINT as string);
  const bob = await tunnelUp(t, lab, lab.env.LAB_CLIENT2_NS as string, `https://${lab.env.LAB_GATEWAY2_IP}:${port}`, 'bob', 'b', lab.env.LAB_WG_ENDPOINT2 as string);
  const cli = lab.env.LAB_CLIENT_NS as string;
  const cl2 = lab.env.LAB_CLIENT2_NS as string;
  const notesToken = alice.token('assistant:notes');
  const searchToken = alice.token('assistant:search');
  const bearer = (token: string) => ['-H', `authorization: Bearer ${token}`];

  // Sidecar.
  const direct = curl(lab, cli, [...bearer(notesToken), '-H', 'x-brainstack-user: admin', `http://${privateIp}:8080/hello`]);
  t.equal(direct.status, 200, 'sidecar: a token for notes, from the device it was issued to → 200');
  const seen = JSON.parse(direct.body || '{}');
  t.match(seen, { assistant: 'notes', path: '/hello', device: alice.device.id, scopes: 'assistant:notes' }, 'the assistant gets who is calling');
  t.not(seen.user, 'admin', 'a client-sent X-Brainstack-User is dropped');
  t.equal(curl(lab, cli, [...bearer(searchToken), `http://${privateIp}:8080/`]).status, 403, 'sidecar: a token for another assistant → 403');
  t.equal(curl(lab, cl2, [...bearer(notesToken), `http://${privateIp}:8080/`]).status, 401, "sidecar: alice's token through bob's tunnel → 401");
  t.equal(curl(lab, cli, [`http://${privateIp}:8080/`]).status, 401, 'sidecar: no token → 401');

  // Gateway: each route checks its own assistant; the sidecar behind it re-checks.
  t.match(JSON.parse(curl(lab, cli, [...bearer(notesToken), `http://${privateIp}:8090/notes/x`]).body || '{}'), { assistant: 'notes', path: '/x', device: alice.device.id }, 'gateway → sidecar → notes');
  const search = curl(lab, cli, [...bearer(searchToken), `http://${privateIp}:8090/search/q`]);
  t.equal(search.status, 200, 'gateway: search token on /search → 200');
  t.match(JSON.parse(search.body || '{}'), { assistant: 'search', path: '/q', device: alice.device.id, scopes: 'assistant:search' }, 'gateway → search on its UNIX socket, with the caller');
  t.equal(curl(lab, cli, [...bearer(notesToken), `http://${privateIp}:8090/search/q`]).status, 403, 'gateway: notes token on /search → 403');
  t.equal(curl(lab, cl2, [...bearer(notesToken), `http://${privateIp}:8090/notes/x`]).status, 401, "gateway: alice's token through bob's tunnel → 401");
  t.equal(curl(lab, cli, [...bearer(notesToken), '-H', `x-forwarded-for: ${bob.device.ip}`, `http://${privateIp}:8090/notes/x`]).status, 200, 'a forged X-Forwarded-For changes nothing');
  t.equal(curl(lab, cli, [...bearer(notesToken), `http://${privateIp}:8090/other`]).status, 404, 'gateway: unrouted path → 404');

  // Revocation of the token reaches both guards within 1 s.
  const services = await openServices(loadConfig(home.dir, {}), { logger: pino({ level: 'silent' }), env: {} });
  t.teardown(() => services.close());
  const jti = JSON.parse(Buffer.from(notesToken.split('.')[1] as string, 'base64url').toString()).jti as string;
  const started = Date.now();
  await services.database.db.transaction().execute((trx) => services.revocations.add(trx, { kind: 'jti', value: jti, reason: 'test', expiresAt: Date.now() + 900_000 }));
  let sidecarStatus = 200;
  let gatewayStatus = 200;
  while ((sidecarStatus === 200 || gatewayStatus === 200) && Date.now() - started < 3000) {
    sidecarStatus = curl(lab, cli, [...bearer(notesToken), `http://${privateIp}:8080/`]).status;
    gatewayStatus = curl(lab, cli, [...bearer(notesToken), `http://${privateIp}:8090/notes/`]).status;
  }
  const delay = Date.now() - started;
  t.equal(sidecarStatus, 401, 'sidecar refuses the revoked token');
  t.equal(gatewayStatus, 401, 'gateway refuses the revoked token');
  t.ok(delay <= 1000, `within 1 s (${delay} ms)`);
  t.equal(curl(lab, cli, [...bearer(searchToken), `http://${privateIp}:8090/search/`]).status, 200, "alice's other token still works");
  const metrics = curl(lab, prvNs, ['http://127.0.0.1:9100/metrics']).body;
  t.match(metrics, /brainstack_guard_decisions_total\{assistant="notes",result="refused",reason="insufficient_scope"\} [1-9]/, 'the sidecar counts its decisions by reason');
  t.match(metrics, /brainstack_guard_decisions_total\{assistant="notes",result="refused",reason="revoked_jti"\} [1-9]/);
  t.match(metrics, /brainstack_guard_feed_lag_seconds \d/);
  server.kill('SIGTERM');
});
