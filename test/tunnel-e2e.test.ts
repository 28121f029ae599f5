import t, { type Test } from 'tap';
import { join } from 'node:path';
import { pino } from 'pino';
import { createLabHome, curl, startEchoService, startLab, USERSPACE_WG_ENV, waitForOutput, writePrivateFile, type Lab } from './helpers/lab.js';
import { wireguardAvailable } from './helpers/wireguard.js';
import { loadConfig } from '../src/config/config.js';
import { openServices } from '../src/home/services.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';
import { withPrivateKey } from '../src/wireguard/render.js';
import { STRONG_PASSWORD } from './helpers/home.js';

const BIN = join(process.cwd(), 'bin', 'brainstack.js');


interface Client {
  ns: string;
  jar: string;
  deviceId: string;
  ip: string;
  confFile: string;
}

async function connectClient(t: Test, lab: Lab, ns: string, base: string, username: string, tag: string, endpoint: string): Promise<Client> {
  const jar = `/tmp/${lab.prefix}${tag}.jar`;
  t.teardown(() => lab.exec(ns, 'rm', ['-f', jar]));
  const login = curl(lab, ns, ['-c', jar, '-H', 'content-type: application/json', '-d', JSON.stringify({ username, password: STRONG_PASSWORD }), `${base}/api/v1/login`]);
  t.equal(login.status, 200, `${username} logs in over HTTPS from the internet side`);
  const keys = generateWireGuardKeyPair();
  const created = curl(lab, ns, ['-b', jar, '-H', 'content-type: application/json', '-d', JSON.stringify({ name: `${username} laptop`, publicKey: keys.publicKey }), `${base}/api/v1/devices`]);
  t.equal(created.status, 201, `${username} registers a device with a key made on the client`);
  const device = JSON.parse(created.body) as { id: string; ip: string; configFileName: string };
  const download = curl(lab, ns, ['-b', jar, `${base}/api/v1/devices/${device.id}/config`]);
  t.equal(download.status, 200);
  t.notMatch(download.body, new RegExp(keys.privateKey.replace(/[+/]/g, '\\$&')), 'the downloaded config has no private key');
  const config = withPrivateKey(download.body, keys.privateKey).replace(/^Endpoint = .*$/m, `Endpoint = ${endpoint}`);
  const confFile = `/tmp/${lab.prefix}${tag}.conf`;
  writePrivateFile(confFile, config);
  t.teardown(() => {
    lab.exec(ns, 'wg-quick', ['down', confFile], { env: USERSPACE_WG_ENV });
    lab.exec(ns, 'rm', ['-f', confFile]);
  });
  const up = lab.exec(ns, 'wg-quick', ['up', confFile], { env: USERSPACE_WG_ENV });
  t.equal(up.status, 0, `stock wg-quick brings ${username}'s tunnel up${up.status ? `: ${up.stderr}` : ''}`);
  return { ns, jar, deviceId: device.id, ip: device.ip, confFile };
}

const wg = wireguardAvailable();
t.test('end to end over a real tunnel: login, register, wg-quick up, reach the private service, revoke cuts it at once', { skip: wg.ok ? false : wg.why, timeout: 180_000 }, async (t) => {
  const lab = startLab();
  t.teardown(() => lab.down());
  const port = 18000 + Math.floor(Math.random() * 1000) * 2;
  const home = await createLabHome(lab, port);
  t.teardown(home.cleanup);
  {
    const services = await openServices(loadConfig(home.dir, {}), { logger: pino({ level: 'silent' }), env: {} });
    await services.rbac.create('staff', ['assistant:*'], 'test');
    await services.accounts.create('alice', STRONG_PASSWORD, 'test', ['staff']);
    await services.accounts.create('bob', STRONG_PASSWORD, 'test', ['staff']);
    await services.close();
  }
  const gatewayNs = lab.env.LAB_GATEWAY_NS as string;
  const server = lab.spawn(gatewayNs, process.execPath, [BIN, 'serve', '--dir', home.dir], { BRAINSTACK_LOG_LEVEL: 'info' });
  await waitForOutput(server, /ticket service started/);
  const echo = startEchoService(lab);
  await waitForOutput(echo, /listening/);
  const privateUrl = `http://${lab.env.LAB_PRIVATE_IP}:8080/`;

  const cliNs = lab.env.LAB_CLIENT_NS as string;
  const cl2Ns = lab.env.LAB_CLIENT2_NS as string;
  const before = curl(lab, cliNs, [privateUrl], 1);
  t.notOk(before.ok, 'without the tunnel the private service is unreachable');

  const alice = await connectClient(t, lab, cliNs, home.url, 'alice', 'a', lab.env.LAB_WG_ENDPOINT as string);
  const bob = await connectClient(t, lab, cl2Ns, `https://${lab.env.LAB_GATEWAY2_IP}:${port}`, 'bob', 'b', lab.env.LAB_WG_ENDPOINT2 as string);

  const viaTunnel = curl(lab, cliNs, [privateUrl], 5);
  t.equal(viaTunnel.status, 200, 'alice reaches the private service through the tunnel');
  t.equal(JSON.parse(viaTunnel.body || '{}').remote, alice.ip, "the service sees alice's tunnel address");
  const bobCall = curl(lab, cl2Ns, [privateUrl], 5);
  t.equal(JSON.parse(bobCall.body || '{}').remote, bob.ip, "and bob's");

  const revoke = curl(lab, cliNs, ['-b', alice.jar, '-X', 'DELETE', `${home.url}/api/v1/devices/${alice.deviceId}`]);
  t.equal(revoke.status, 204, 'alice revokes her device');
  const started = Date.now();
  const after = curl(lab, cliNs, [privateUrl], 1);
  t.notOk(after.ok && after.status === 200, `the tunnel no longer passes traffic (${Date.now() - started} ms after the revocation returned)`);
  t.equal(curl(lab, cl2Ns, [privateUrl], 5).status, 200, "bob's tunnel keeps working");
  server.kill('SIGTERM');
});
