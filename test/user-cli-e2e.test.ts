import t from 'tap';
import { join } from 'node:path';
import { statSync, writeFileSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { createLabHome, startLab, startServeAndNotes } from './helpers/lab.js';
import { wireguardAvailable } from './helpers/wireguard.js';
import { STRONG_PASSWORD } from './helpers/home.js';
import { loadConfig } from '../src/config/config.js';
import { openServices } from '../src/home/services.js';

const BIN = join(process.cwd(), 'bin', 'brainstack.js');

const wg = wireguardAvailable();
t.test('from `brainstack login` to a call to an assistant behind a guard, over the tunnel', { skip: wg.ok ? false : wg.why, timeout: 180_000 }, async (t) => {
  const lab = startLab();
  t.teardown(() => lab.down());
  const port = 17000 + Math.floor(Math.random() * 400) * 2;
  const feedHost = lab.env.LAB_PRIVATE_GW_IP as string;
  const home = await createLabHome(lab, port, { internal_listen: `${feedHost}:${port + 1}` });
  t.teardown(home.cleanup);
  const credentialFile = join(home.dir, 'guard.credential');
  {
    const services = await openServices(loadConfig(home.dir, {}), { logger: pino({ level: 'silent' }), env: {} });
    await services.rbac.create('staff', ['assistant:notes', 'assistant:search'], 'test');
    await services.accounts.create('erin', STRONG_PASSWORD, 'test', ['staff']);
    writeFileSync(credentialFile, `${await services.guards.add('notes', 'test')}\n`, { mode: 0o600 });
    await services.close();
  }
  const { server } = await startServeAndNotes(lab, home, { port, feedHost, credentialFile });
  const privateIp = lab.env.LAB_PRIVATE_IP as string;

  const cli = lab.env.LAB_CLIENT_NS as string;
  const clientDir = join(home.dir, '..', 'client');
  const env = { BRAINSTACK_CLIENT_DIR: clientDir };
  const bs = (args: string[], input?: string) => lab.exec(cli, process.execPath, [BIN, ...args], { env, ...(input !== undefined ? { input } : {}) });

  const untrusted = bs(['login', '--server', home.url, '--username', 'erin', '--password-stdin', '--device', 'laptop'], STRONG_PASSWORD);
  t.not(untrusted.status, 0, 'a self-signed server is refused without --ca');
  t.match(untrusted.stderr, /not trusted: pass --ca FILE/);
  const wrong = bs(['login', '--server', home.url, '--ca', join(home.dir, 'tls', 'cert.pem'), '--username', 'erin', '--password-stdin'], 'wrong password');
  t.equal(wrong.status, 1);
  t.match(wrong.stderr, /invalid username, password or code \(invalid_credentials\)/);

  const login = bs(['login', '--server', home.url, '--ca', join(home.dir, 'tls', 'cert.pem'), '--username', 'erin', '--password-stdin', '--device', 'laptop'], STRONG_PASSWORD);
  t.equal(login.status, 0, login.stderr);
  t.match(login.stdout, /device 'laptop' registered with tunnel address 10\.8\.0\.2/);
  const configPath = /WireGuard config: (.*)/.exec(login.stdout)?.[1] as string;
  t.equal(statSync(configPath).mode & 0o777, 0o600, 'the config is 0600');
  t.equal(statSync(join(clientDir, 'client.json')).mode & 0o777, 0o600, 'the refresh token file is 0600');
  t.match(readFileSync(configPath, 'utf8'), /^PrivateKey = [A-Za-z0-9+/]{43}=$/m, 'the private key made here is in the local config');

  const up = bs(['up']);
  t.equal(up.status, 0, up.stderr);
  const token = bs(['token', '--scope', 'assistant:notes']);
  t.equal(token.status, 0, token.stderr);
  const call = lab.exec(cli, 'curl', ['-s', '--max-time', '5', '-H', `Authorization: Bearer ${token.stdout.trim()}`, `http://${privateIp}:8080/`]);
  t.match(call.stdout, /^notes for [0-9a-f-]{36}$/, 'the call through the tunnel and the guard succeeds');
  const again = bs(['token', '--scope', 'assistant:notes']);
  t.equal(again.stdout.trim(), token.stdout.trim(), 'a still-fresh token is reused, not refreshed');
  const status = JSON.parse(bs(['status', '--json']).stdout) as { tunnel: string; ip: string; user: string };
  t.match(status, { tunnel: 'up', ip: '10.8.0.2', user: 'erin' });
  t.equal(bs(['down']).status, 0);
  t.equal(JSON.parse(bs(['status', '--json']).stdout).tunnel, 'down');
  server.kill('SIGTERM');
});
