import t from 'tap';
import { admin } from './helpers/cli.js';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { createTestApp, createTestHome, sessionCookie, STRONG_PASSWORD } from './helpers/home.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';



t.test('sessions, reset-totp, delete, audit export and doctor', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  const { services } = home;
  const user = await services.accounts.create('finn', STRONG_PASSWORD, 'test');
  await services.accounts.enrolTotpDirect('finn', 'test');
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  await services.accounts.resetTotp('finn', 'test'); // so the password alone logs in below
  const login = await app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'finn', password: STRONG_PASSWORD }) });
  const cookie = { '__Host-brainstack': sessionCookie(login) as string };

  const list = JSON.parse((await admin(home.dir, ['sessions', 'list', '--json'])).stdout) as Array<{ id: string; username: string }>;
  t.equal(list.length, 1);
  t.equal(list[0]?.username, 'finn');
  t.equal((await admin(home.dir, ['sessions', 'revoke', 'ffffffffffff'])).code, 3, 'no such session → exit 3');
  t.equal((await admin(home.dir, ['sessions', 'revoke', list[0]?.id as string])).code, 0);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/me', cookies: cookie })).statusCode, 401, 'the revoked session is dead');

  await services.accounts.enrolTotpDirect('finn', 'test');
  t.equal((await admin(home.dir, ['users', 'reset-totp', 'finn'])).code, 0);
  t.equal((await services.accounts.show('finn')).totp, false, 'TOTP removed');

  const reg = await services.devices.register({ id: user.id, username: 'finn' }, { name: 'laptop', publicKey: generateWireGuardKeyPair().publicKey });
  const deleted = await admin(home.dir, ['users', 'delete', 'finn']);
  t.equal(deleted.code, 0, deleted.stderr);
  t.equal((await admin(home.dir, ['users', 'show', 'finn'])).code, 3, 'the account is gone');
  t.match(await services.revocations.since(0), [{ kind: 'device', value: reg.device.id }, { kind: 'user', value: user.id }], 'its device and tokens were revoked first');
  const exported = (await admin(home.dir, ['audit', 'export', '--since', '2000-01-01T00:00:00Z'])).stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; subject: string });
  t.ok(exported.some((e) => e.event === 'user.deleted' && e.subject === 'finn'), 'the audit trail keeps the deleted user');
  t.ok(exported.some((e) => e.event === 'user.created' && e.subject === 'finn'));
  t.equal((await admin(home.dir, ['audit', 'export', '--since', 'yesterday'])).code, 2);

  const healthy = await admin(home.dir, ['doctor', '--json']);
  const findings = JSON.parse(healthy.stdout) as Array<{ check: string; status: string }>;
  t.equal(healthy.code, 0, 'a fresh home is healthy');
  t.match(findings, [{ check: 'home directory', status: 'ok' }, { check: 'master key file', status: 'ok' }, { check: 'database file', status: 'ok' }, { check: 'database', status: 'ok' }, { check: 'clock', status: 'ok' }, { check: 'TLS certificate', status: 'ok' }, { check: 'WireGuard', status: 'warning' }]);
  chmodSync(join(home.dir, 'brainstack.db'), 0o644);
  const sick = await admin(home.dir, ['doctor']);
  t.equal(sick.code, 1, 'problems exit 1');
  t.match(sick.stdout, /ERROR   database file: .* has mode 644\n\s+fix: chmod 600 /);
});

t.test('audit tail -f prints new events as they are written, until interrupted', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  const { spawn } = await import('node:child_process');
  const { BIN } = await import('./helpers/cli.js');
  const child = spawn(process.execPath, [BIN, 'admin', '--dir', home.dir, 'audit', 'tail', '-f', '--json', '-n', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 1500));
  await home.services.audit.record({ event: 'test.followed', outcome: 'info', subject: 'live' });
  const deadline = Date.now() + 5000;
  while (!out.includes('test.followed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.match(out, /"event":"test\.followed"/, 'the new event appears');
  child.kill('SIGINT');
  t.equal(await exited, 0, 'Ctrl-C ends it cleanly');
});
