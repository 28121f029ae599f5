import t from 'tap';
import { performance } from 'node:perf_hooks';
import { createTestApp, createTestHome, sessionCookie, STRONG_PASSWORD } from './helpers/home.js';
import { currentTotpCode } from '../src/auth/totp.js';

const json = (payload: unknown) => ({ headers: { 'content-type': 'application/json' }, payload: JSON.stringify(payload) });

t.test('password + TOTP login gives a session cookie, and /me shows the user and scopes', async (t) => {
  const home = await createTestHome({ fakeClock: true });
  t.teardown(home.cleanup);
  const { accounts, rbac } = home.services;
  await rbac.create('notes-users', ['assistant:notes'], 'test');
  await accounts.create('alice', STRONG_PASSWORD, 'test', ['notes-users']);
  const { secret } = await accounts.enrolTotpDirect('alice', 'test');
  const app = await createTestApp(home);

  const noCode = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'alice', password: STRONG_PASSWORD }) });
  t.equal(noCode.statusCode, 401);
  t.equal(noCode.json().code, 'totp_required');
  t.notOk(sessionCookie(noCode), 'no session before the second factor');

  const ok = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'alice', password: STRONG_PASSWORD, totp: currentTotpCode(secret, home.clock.now) }) });
  t.equal(ok.statusCode, 200, ok.body);
  const cookie = ok.cookies.find((c) => c.name === '__Host-brainstack');
  t.ok(cookie, 'session cookie set');
  t.equal(cookie?.httpOnly, true);
  t.equal(cookie?.secure, true);
  t.equal(cookie?.sameSite, 'Strict');
  t.equal(cookie?.path, '/');

  const me = await app.inject({ method: 'GET', url: '/api/v1/me', cookies: { '__Host-brainstack': cookie?.value as string } });
  t.equal(me.statusCode, 200);
  t.match(me.json(), { username: 'alice', roles: ['notes-users'], scopes: ['assistant:notes'], totp_enrolled: true, mfa: true });

  const rows = await home.services.audit.list({ event: 'login' });
  t.ok(rows.some((r) => r.outcome === 'success' && r.subject === 'alice'), 'login success audited');
  t.ok(rows.every((r) => !r.details.includes(STRONG_PASSWORD)), 'no password in the audit log');
  await app.close();
});

t.test('unknown user and wrong password get the same status, body and headers; the audit log knows the difference', async (t) => {
  const home = await createTestHome({ settings: { login: { free_failures: 100, max_failures_per_hour: 100 } } });
  t.teardown(home.cleanup);
  await home.services.accounts.create('bob', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  const unknown = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'nobody', password: 'wrong password 1' }) });
  const wrong = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'bob', password: 'wrong password 1' }) });
  t.equal(unknown.statusCode, 401);
  t.equal(wrong.statusCode, 401);
  t.equal(unknown.body, wrong.body);
  const headerNames = (h: Record<string, unknown>) => Object.keys(h).filter((k) => k !== 'date' && !k.startsWith('x-ratelimit')).sort();
  t.same(headerNames(unknown.headers), headerNames(wrong.headers));
  t.same(unknown.json(), { code: 'invalid_credentials', message: 'invalid username, password or code' });
  const reasons = (await home.services.audit.list({ event: 'login' })).map((r) => JSON.parse(r.details).reason);
  t.ok(reasons.includes('unknown_user'));
  t.ok(reasons.includes('wrong_password'));
  await app.close();
});

t.test('unknown user and wrong password take the same time (median within 0.5x-2x)', async (t) => {
  const home = await createTestHome({ settings: { login: { free_failures: 100, max_failures_per_hour: 100, rate_limit_per_minute: 1000 } } });
  t.teardown(home.cleanup);
  await home.services.accounts.create('carol', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  const time = async (username: string) => {
    const start = performance.now();
    const res = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username, password: 'not the password' }) });
    t.equal(res.statusCode, 401);
    return performance.now() - start;
  };
  const unknown: number[] = [];
  const known: number[] = [];
  for (let i = 0; i < 12; i += 1) {
    unknown.push(await time(`ghost${i}`));
    known.push(await time('carol'));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const ratio = median(unknown) / median(known);
  t.ok(ratio > 0.5 && ratio < 2, `median ratio unknown/known = ${ratio.toFixed(2)}`);
  await app.close();
});

t.test('a TOTP code is accepted once: replay within its window is refused', async (t) => {
  const home = await createTestHome({ fakeClock: true });
  t.teardown(home.cleanup);
  await home.services.accounts.create('dave', STRONG_PASSWORD, 'test');
  const { secret } = await home.services.accounts.enrolTotpDirect('dave', 'test');
  const app = await createTestApp(home);
  const code = currentTotpCode(secret, home.clock.now);
  const first = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'dave', password: STRONG_PASSWORD, totp: code }) });
  t.equal(first.statusCode, 200);
  home.clock.advance(5_000);
  const replay = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'dave', password: STRONG_PASSWORD, totp: code }) });
  t.equal(replay.statusCode, 401);
  t.equal(replay.json().code, 'invalid_credentials');
  const reasons = (await home.services.audit.list({ event: 'login' })).map((r) => JSON.parse(r.details).reason);
  t.ok(reasons.includes('totp_replay'), 'replay audited as such');
  // The next step's code works (±1 step drift accepted).
  home.clock.advance(30_000);
  const next = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'dave', password: STRONG_PASSWORD, totp: currentTotpCode(secret, home.clock.now) }) });
  t.equal(next.statusCode, 200);
  const stale = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'dave', password: STRONG_PASSWORD, totp: currentTotpCode(secret, home.clock.now - 120_000) }) });
  t.equal(stale.statusCode, 401, 'a code four steps old is refused');
  await app.close();
});

t.test('login issues a new session id (no fixation); logout and disable end sessions server-side', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  await home.services.accounts.create('erin', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  const first = sessionCookie(await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'erin', password: STRONG_PASSWORD }) })) as string;
  t.ok(first);
  const planted = 'A'.repeat(43);
  const second = await app.inject({ method: 'POST', url: '/api/v1/login', cookies: { '__Host-brainstack': first }, ...json({ username: 'erin', password: STRONG_PASSWORD }) });
  const secondId = sessionCookie(second) as string;
  t.not(secondId, first, 'a new id at login');
  t.not(secondId, planted);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/me', cookies: { '__Host-brainstack': first } })).statusCode, 401, 'the session brought to login is gone');
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/me', cookies: { '__Host-brainstack': planted } })).statusCode, 401, 'a planted id is not accepted');

  const logout = await app.inject({ method: 'POST', url: '/api/v1/logout', cookies: { '__Host-brainstack': secondId } });
  t.equal(logout.statusCode, 204);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/me', cookies: { '__Host-brainstack': secondId } })).statusCode, 401, 'logged out server-side');

  const third = sessionCookie(await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'erin', password: STRONG_PASSWORD }) })) as string;
  await home.services.accounts.disable('erin', 'test');
  const afterDisable = await app.inject({ method: 'GET', url: '/api/v1/me', cookies: { '__Host-brainstack': third } });
  t.equal(afterDisable.statusCode, 401, 'disabling the user kills the session');
  const loginDisabled = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'erin', password: STRONG_PASSWORD }) });
  t.equal(loginDisabled.json().code, 'invalid_credentials', 'a disabled user gets the generic answer');
  const reasons = (await home.services.audit.list({ event: 'login' })).map((r) => JSON.parse(r.details).reason);
  t.ok(reasons.includes('disabled'));
  await app.close();
});

t.test('sessions end at their idle and absolute timeouts', async (t) => {
  const home = await createTestHome({ fakeClock: true, settings: { session: { idle_timeout: 600, absolute_timeout: 3600 } } });
  t.teardown(home.cleanup);
  await home.services.accounts.create('fay', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  const login = async () => sessionCookie(await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'fay', password: STRONG_PASSWORD }) })) as string;
  const me = (id: string) => app.inject({ method: 'GET', url: '/api/v1/me', cookies: { '__Host-brainstack': id } });
  const idle = await login();
  home.clock.advance(601_000);
  const idleRes = await me(idle);
  t.equal(idleRes.statusCode, 401);
  t.equal(idleRes.json().code, 'session_expired');

  const active = await login();
  for (let i = 0; i < 6; i += 1) {
    home.clock.advance(590_000);
    t.equal((await me(active)).statusCode, 200, `request ${i + 1} after ${((i + 1) * 590) / 60} min`);
  }
  home.clock.advance(60_000);
  t.equal((await me(active)).json().code, 'session_expired', 'absolute timeout ends even an active session');
  await app.close();
});

t.test('failed logins back off per account (429 + Retry-After), lock out softly, and the lock expires', async (t) => {
  const home = await createTestHome({ fakeClock: true, settings: { login: { free_failures: 3, max_backoff: 60, max_failures_per_hour: 10 } } });
  t.teardown(home.cleanup);
  await home.services.accounts.create('gus', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  const attempt = (password: string, username = 'gus') => app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username, password }) });
  for (let i = 0; i < 3; i += 1) t.equal((await attempt('wrong password!')).statusCode, 401);
  t.equal((await attempt('wrong password!')).statusCode, 401, 'the 4th failure is counted and starts the back-off');
  const locked = await attempt(STRONG_PASSWORD);
  t.equal(locked.statusCode, 429, 'even the right password waits during back-off');
  t.equal(locked.json().code, 'too_many_attempts');
  t.ok(Number(locked.headers['retry-after']) >= 1);
  const unknownLocked = [];
  for (let i = 0; i < 4; i += 1) unknownLocked.push((await attempt('wrong password!', 'phantom')).statusCode);
  t.same(unknownLocked, [401, 401, 401, 401]);
  t.equal((await attempt('x', 'phantom')).statusCode, 429, 'unknown accounts lock exactly like real ones');

  // Back-off grows exponentially up to the cap, then 10 failures per hour lock until the hour ends.
  for (let i = 0; i < 6; i += 1) {
    home.clock.advance(61_000);
    await attempt('wrong password!');
  }
  home.clock.advance(61_000);
  const hardLocked = await attempt(STRONG_PASSWORD);
  t.equal(hardLocked.statusCode, 429, 'the hourly cap holds');
  t.ok(Number(hardLocked.headers['retry-after']) > 60);
  home.clock.advance(3_600_000);
  t.equal((await attempt(STRONG_PASSWORD)).statusCode, 200, 'the lock expires by itself');
  const events = (await home.services.audit.list({ event: 'login.lockout' })).length;
  t.ok(events > 0, 'lockouts are audited');
  await app.close();
});

t.test('TOTP self-enrolment: begin, confirm with a code, then logins need it', async (t) => {
  const home = await createTestHome({ fakeClock: true, settings: { login: { require_totp: true } } });
  t.teardown(home.cleanup);
  await home.services.accounts.create('hana', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  const login = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'hana', password: STRONG_PASSWORD }) });
  t.equal(login.statusCode, 200);
  t.equal(login.json().totp_enrolment_required, true);
  const cookie = { '__Host-brainstack': sessionCookie(login) as string };
  const begin = await app.inject({ method: 'POST', url: '/api/v1/me/totp', cookies: cookie });
  t.equal(begin.statusCode, 200);
  const uri = new URL(begin.json().otpauth_uri);
  t.equal(uri.protocol, 'otpauth:');
  const secret = uri.searchParams.get('secret') as string;
  const wrong = await app.inject({ method: 'POST', url: '/api/v1/me/totp/confirm', cookies: cookie, ...json({ code: '000000' === currentTotpCode(secret, home.clock.now) ? '111111' : '000000' }) });
  t.equal(wrong.statusCode, 400);
  t.equal(wrong.json().code, 'invalid_totp');
  const confirm = await app.inject({ method: 'POST', url: '/api/v1/me/totp/confirm', cookies: cookie, ...json({ code: currentTotpCode(secret, home.clock.now) }) });
  t.equal(confirm.statusCode, 204);
  const again = await app.inject({ method: 'POST', url: '/api/v1/me/totp', cookies: cookie });
  t.equal(again.json().code, 'totp_already_enrolled');
  home.clock.advance(30_000);
  const next = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'hana', password: STRONG_PASSWORD }) });
  t.equal(next.json().code, 'totp_required');
  const full = await app.inject({ method: 'POST', url: '/api/v1/login', ...json({ username: 'hana', password: STRONG_PASSWORD, totp: currentTotpCode(secret, home.clock.now) }) });
  t.equal(full.statusCode, 200);
  t.equal(full.json().mfa, true);
  t.ok((await home.services.audit.list({ event: 'totp.enrolled' })).length === 1, 'enrolment audited');
  await app.close();
});
