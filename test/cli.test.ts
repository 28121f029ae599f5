import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { BIN, runCli } from './helpers/cli.js';
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { currentTotpCode } from '../src/auth/totp.js';



function freshDir(t: Test): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'brainstack-cli-')), 'home');
  t.teardown(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
  return dir;
}

t.test('init creates a private home and refuses to overwrite it without --force', async (t) => {
  const dir = freshDir(t);
  const first = await runCli(['init', '--dir', dir, '--public-url', 'https://ticket.example']);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /created: config, master key, database, signing key, WireGuard server key, TLS certificate/);
  t.equal(statSync(dir).mode & 0o777, 0o700, 'home is 0700');
  t.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600, 'master key is 0600');
  t.equal(statSync(join(dir, 'brainstack.db')).mode & 0o777, 0o600, 'database is 0600');
  t.ok(existsSync(join(dir, 'tls', 'cert.pem')));
  const again = await runCli(['init', '--dir', dir]);
  t.equal(again.code, 1);
  t.match(again.stderr, /already a brainstack home .*master key.*nothing was changed.*--force/s);
  t.match(again.stderr, /\(home_exists\)/);
  const forced = await runCli(['init', '--dir', dir, '--force']);
  t.equal(forced.code, 0, forced.stderr);
  t.match(forced.stderr, /replaced: config, master key, database, TLS certificate, TLS key/);
});

t.test('admin users and roles: passwords from stdin, --json listings, exit codes, names as data', async (t) => {
  const dir = freshDir(t);
  t.equal((await runCli(['init', '--dir', dir])).code, 0);
  const admin = (args: string[], input?: string) => runCli(['admin', '--dir', dir, ...args], input);

  t.equal((await admin(['roles', 'create', 'notes-users', '--scope', 'assistant:notes'])).code, 0);
  const add = await admin(['users', 'add', 'alice', '--password-stdin', '--role', 'notes-users'], 'correct horse battery\n');
  t.equal(add.code, 0, add.stderr);
  t.match(add.stdout, /created user 'alice'/);
  t.notMatch(add.stdout + add.stderr, /correct horse/, 'the password is never echoed');

  const list = await admin(['users', 'list', '--json']);
  const users = JSON.parse(list.stdout) as Array<{ username: string; roles: string[]; totp: boolean }>;
  t.same(users.map((u) => [u.username, u.roles]), [['alice', ['notes-users']]]);
  t.notMatch(list.stdout, /password_hash|argon2/, 'listings never show hashes');
  const table = await admin(['users', 'list']);
  t.match(table.stdout, /^USERNAME\s+STATE\s+TOTP\s+ROLES/);

  const missing = await admin(['users', 'show', 'bob']);
  t.equal(missing.code, 3, 'not found exits 3');
  t.match(missing.stderr, /no user named 'bob' \(user_not_found\)/);
  const noRole = await admin(['roles', 'assign', 'alice', 'ghosts']);
  t.equal(noRole.code, 3);
  t.match(noRole.stderr, /no role named 'ghosts'/);
  const usage = await admin(['users', 'add']);
  t.equal(usage.code, 2, 'usage errors exit 2');
  const noPassword = await admin(['users', 'add', 'carol'], '');
  t.equal(noPassword.code, 2);
  t.match(noPassword.stderr, /input_required/);
  t.equal((await admin(['users', 'show', 'carol'])).code, 3, 'nothing half-written');

  for (const name of ['o\'brien"; drop table users; --', 'x'.repeat(10_240), '$(touch /tmp/pwned)', 'new\nline']) {
    const res = await admin(['users', 'add', name, '--password-stdin'], 'correct horse battery');
    t.equal(res.code, 2, `name ${JSON.stringify(name.slice(0, 20))} refused as usage`);
    t.match(res.stderr, /invalid username/);
    t.ok(res.stderr.length < 400, 'the message does not echo 10 KB back');
  }
  const dashed = await admin(['users', 'add', '--password-stdin', '--', '-rf'], 'correct horse battery');
  t.equal(dashed.code, 2, 'a leading dash is data, and not a valid name');
  t.notOk(existsSync('/tmp/pwned'));
  const unicode = await admin(['users', 'add', 'zoë', '--password-stdin'], 'correct horse battery');
  t.equal(unicode.code, 0, unicode.stderr);

  t.equal((await admin(['users', 'disable', 'alice'])).code, 0);
  t.match((await admin(['users', 'show', 'alice', '--json'])).stdout, /"disabled": true/);
  t.equal((await admin(['users', 'enable', 'alice'])).code, 0);
  t.equal((await admin(['users', 'passwd', 'alice', '--password-stdin'], 'short')).code, 2, 'weak password refused');
  t.equal((await admin(['users', 'passwd', 'alice', '--password-stdin'], 'a new long password')).code, 0);
  const grant = await admin(['roles', 'grant', 'notes-users', 'assistant:search', '--json']);
  t.same(JSON.parse(grant.stdout).scopes, ['assistant:notes', 'assistant:search']);
  const roles = JSON.parse((await admin(['roles', 'list', '--json'])).stdout) as Array<{ name: string; members: number }>;
  t.same(roles.map((r) => [r.name, r.members]), [['notes-users', 1]]);
});

t.test('init + users add + serve + login with TOTP over HTTPS, JWKS and discovery, graceful SIGTERM', async (t) => {
  const dir = freshDir(t);
  const port = 20000 + Math.floor(Math.random() * 20000);
  t.equal((await runCli(['init', '--dir', dir, '--public-url', `https://localhost:${port}`, '--listen', `127.0.0.1:${port}`, '--internal-listen', `127.0.0.1:${port + 1}`])).code, 0);
  const add = await runCli(['admin', '--dir', dir, 'users', 'add', 'alice', '--password-stdin', '--totp', '--json'], 'correct horse battery');
  const secret = new URL(JSON.parse(add.stdout).otpauth_uri as string).searchParams.get('secret') as string;
  const server = spawn(process.execPath, [BIN, 'serve', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  server.stdout.on('data', (d) => (logs += d));
  server.stderr.on('data', (d) => (logs += d));
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  t.teardown(() => server.kill('SIGKILL'));
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  const base = `https://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !logs.includes('ticket service started'); i += 1) await new Promise((r) => setTimeout(r, 100));
  t.match(logs, /ticket service started/);

  const post = (body: unknown) => undiciFetch(`${base}/api/v1/login`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const needCode = await post({ username: 'alice', password: 'correct horse battery' });
  t.equal(needCode.status, 401);
  t.equal(((await needCode.json()) as { code: string }).code, 'totp_required');
  const ok = await post({ username: 'alice', password: 'correct horse battery', totp: currentTotpCode(secret) });
  t.equal(ok.status, 200);
  const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] as string;
  const me = await undiciFetch(`${base}/api/v1/me`, { dispatcher, headers: { cookie } });
  t.equal(((await me.json()) as { username: string }).username, 'alice');

  const jwks = (await (await undiciFetch(`${base}/.well-known/jwks.json`, { dispatcher })).json()) as { keys: unknown[] };
  t.equal(jwks.keys.length, 1);
  const discovery = (await (await fetch(`http://127.0.0.1:${port + 1}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
  t.equal(discovery.issuer, `https://localhost:${port}`);
  t.equal(discovery.jwks_uri, `https://localhost:${port}/.well-known/jwks.json`);
  t.notMatch(logs, /correct horse|"totp":"\d{6}"/, 'no password or code in the logs');

  server.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM stops it cleanly');
  t.match(logs, /stopped/);
  await dispatcher.close();
});

t.test('guard refuses an upstream it cannot use, naming the accepted forms', async (t) => {
  const dir = freshDir(t);
  const bad = await runCli(['guard', '--assistant', 'notes', '--listen', '127.0.0.1:18999', '--upstream', 'ftp://example', '--jwks', join(dir, 'jwks.json'), '--issuer', 'https://ticket.example']);
  t.equal(bad.code, 2, 'usage error');
  t.match(bad.stderr, /--upstream 'ftp:\/\/example': give http\(s\):\/\/HOST:PORT or unix:\/path\/to\.sock/);
});
