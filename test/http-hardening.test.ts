import t from 'tap';
import type { InjectOptions } from 'fastify';
import { connect } from 'node:tls';
import { createTestApp, createTestHome } from './helpers/home.js';
import { startTicketService } from '../src/ticket/server.js';

t.test('bad requests get catalogued JSON errors, never a 500', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const cases: Array<{ name: string; request: InjectOptions; status: number; code: string }> = [
    { name: 'form body on a JSON route', request: { method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'text/plain' }, payload: 'username=a' }, status: 415, code: 'unsupported_media_type' },
    { name: 'malformed JSON', request: { method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: '{"username":' }, status: 400, code: 'invalid_request' },
    { name: 'missing password', request: { method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: '{"username":"a"}' }, status: 400, code: 'validation_failed' },
    { name: 'extra property', request: { method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: '{"username":"a","password":"b","admin":true}' }, status: 400, code: 'validation_failed' },
    { name: 'wrong type', request: { method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: '{"username":["a"],"password":"b"}' }, status: 400, code: 'validation_failed' },
    { name: '10 KB username', request: { method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'x'.repeat(10_240), password: 'b' }) }, status: 413, code: 'body_too_large' },
    { name: 'unknown route', request: { method: 'GET', url: '/api/v1/nothing' }, status: 404, code: 'route_not_found' },
    { name: 'me without a session', request: { method: 'GET', url: '/api/v1/me' }, status: 401, code: 'unauthenticated' },
    { name: 'me with a garbage cookie', request: { method: 'GET', url: '/api/v1/me', cookies: { '__Host-brainstack': '"; drop table users; --' } }, status: 401, code: 'unauthenticated' },
  ];
  for (const c of cases) {
    const res = await app.inject(c.request);
    t.equal(res.statusCode, c.status, `${c.name}: status`);
    t.equal(res.json().code, c.code, `${c.name}: code`);
    t.type(res.json().message, 'string', `${c.name}: message`);
  }
  for (const username of ['o\'brien"; --', 'zoë', '名前', '\u0000null', 'a\nb']) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username, password: 'whatever it is' }) });
    t.equal(res.statusCode, 401, `username ${JSON.stringify(username)} is just a failed login`);
    t.equal(res.json().code, 'invalid_credentials');
  }
});

t.test('security headers are set by helmet', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  t.match(res.headers['content-security-policy'], /default-src 'self'/);
  t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
  t.match(res.headers['strict-transport-security'], /max-age=31536000/);
  t.equal(res.headers['x-content-type-options'], 'nosniff');
});

t.test('the login route is rate limited per address (429 with Retry-After)', async (t) => {
  const home = await createTestHome({ settings: { login: { rate_limit_per_minute: 3, free_failures: 100, max_failures_per_hour: 100 } } });
  t.teardown(home.cleanup);
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const statuses = [];
  for (let i = 0; i < 4; i += 1) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'x', password: 'y' }) });
    statuses.push(res.statusCode);
    if (res.statusCode === 429) {
      t.equal(res.json().code, 'rate_limited');
      t.ok(Number(res.headers['retry-after']) > 0);
    }
  }
  t.same(statuses, [401, 401, 401, 429]);
});

t.test('over real HTTPS: a client that sends its body too slowly gets 408 within 15 s', async (t) => {
  const home = await createTestHome({ settings: { listen: '127.0.0.1:0', internal_listen: '127.0.0.1:0' } });
  t.teardown(home.cleanup);
  const running = await startTicketService(home.services);
  t.teardown(() => running.close());
  const port = new URL(running.publicAddress).port;
  const started = Date.now();
  const response = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false }, () => {
      socket.write('POST /api/v1/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"user');
      // ...and never the rest, dribbling a byte now and then to keep the socket busy.
      const drip = setInterval(() => socket.write(' '), 1000);
      socket.on('close', () => clearInterval(drip));
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(data);
    }, 20_000);
  });
  const elapsed = Date.now() - started;
  t.match(response, /^HTTP\/1\.1 408/, 'the server answered 408');
  t.ok(elapsed < 15_000, `closed after ${elapsed} ms`);
});

t.test('the public listener speaks TLS and serves discovery on both listeners', async (t) => {
  const home = await createTestHome({ settings: { listen: '127.0.0.1:0', internal_listen: '127.0.0.1:0' } });
  t.teardown(home.cleanup);
  const running = await startTicketService(home.services);
  t.teardown(() => running.close());
  t.match(running.publicAddress, /^https:\/\//);
  const internal = await fetch(`${running.internalAddress}/.well-known/openid-configuration`);
  t.equal(internal.status, 200);
  t.equal(((await internal.json()) as { issuer: string }).issuer, 'https://ticket.test');
  const jwks = (await (await fetch(`${running.internalAddress}/.well-known/jwks.json`)).json()) as { keys: Array<Record<string, unknown>> };
  t.equal(jwks.keys.length, 1);
  t.equal(jwks.keys[0]?.alg, 'ES256', 'ES256: measured faster to verify (docs/architecture.md)');
  t.notOk('d' in (jwks.keys[0] ?? {}), 'no private part in the JWKS');
});
