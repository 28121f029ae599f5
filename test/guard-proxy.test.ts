import t from 'tap';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createTestHome } from './helpers/home.js';
import { Guard } from '../src/guard/guard.js';
import { buildGuardProxy } from '../src/guard/proxy.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const listen = (server: Server, target: number | string = 0) => new Promise<void>((resolve) => server.listen(target as number, '127.0.0.1', () => resolve()));

t.test('the sidecar forwards bodies both ways, streams big answers with backpressure, and survives clients and upstreams going away', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  const dir = mkdtempSync(join(tmpdir(), 'brainstack-proxy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const jwks = join(dir, 'jwks.json');
  writeFileSync(jwks, JSON.stringify(await home.services.signingKeys.jwks()));
  const device = { id: 'proxy-device', ip: '127.0.0.1', publicKey: `${'p'.repeat(43)}=` };
  const { access_token: token } = await home.services.accessTokens.issue({ userId: 'proxy-user', roles: [], grantedScopes: ['assistant:files'], clientId: 'brainstack-cli', device });
  const auth = { authorization: `Bearer ${token}` };

  const big = randomBytes(8 * 1024 * 1024);
  const huge = { size: 64 * 1024 * 1024, sent: 0 };
  const upstream = createServer((req, res) => {
    if (req.url === '/huge') {
      // 64 MB of one repeated chunk; `huge.sent` says how far the upstream got.
      const chunk = Buffer.alloc(65536, 7);
      huge.sent = 0;
      res.writeHead(200, { 'content-length': String(huge.size) });
      const pump = () => {
        while (huge.sent < huge.size) {
          huge.sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'yes', connection: 'keep-alive' });
      // Many writes: the answer arrives in pieces, as a file or a generator would send it.
      let offset = 0;
      const pump = () => {
        while (offset < big.length) {
          const chunk = big.subarray(offset, offset + 65536);
          offset += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    const hash = createHash('sha256');
    let length = 0;
    req.on('data', (c: Buffer) => {
      hash.update(c);
      length += c.length;
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, path: req.url, length, sha256: hash.digest('hex'), user: req.headers['x-brainstack-user'], forwardedFor: req.headers['x-forwarded-for'], te: req.headers['transfer-encoding'] ?? null }));
    });
  });
  await listen(upstream);
  t.teardown(() => new Promise((r) => upstream.close(r)));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

  const guard = new Guard({ assistant: 'files', issuer: home.services.issuer, audience: 'brainstack', jwks });
  await guard.start();
  t.teardown(() => guard.stop());
  const proxy = buildGuardProxy({ guard, routes: [{ prefix: '/', assistant: 'files', upstream: upstreamUrl }, { prefix: '/gone', assistant: 'files', upstream: 'http://127.0.0.1:1' }], logger: pino({ level: 'silent' }) });
  const base = await proxy.listen('127.0.0.1', 0);
  t.teardown(() => proxy.close());

  const upload = randomBytes(3 * 1024 * 1024);
  const posted = await call(`${base}/upload?x=1`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream', 'x-brainstack-user': 'forged' }, body: upload });
  t.equal(posted.status, 200);
  const seen = JSON.parse(posted.body.toString()) as Record<string, unknown>;
  t.match(seen, { method: 'POST', path: '/upload?x=1', length: upload.length, sha256: createHash('sha256').update(upload).digest('hex'), user: 'proxy-user', forwardedFor: '127.0.0.1' }, 'a 3 MB body arrives whole, with the verified user instead of the forged header');

  const chunked = await new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(`${base}/chunked`, { method: 'PUT', headers: { ...auth, 'transfer-encoding': 'chunked' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.write('hello ');
    setTimeout(() => req.end('world'), 50);
  });
  t.match(JSON.parse(chunked.body.toString()), { method: 'PUT', length: 11 }, 'a chunked body sent in pieces arrives whole');

  const download = await call(`${base}/big`, { headers: auth });
  t.equal(download.status, 200);
  t.ok(download.body.equals(big), 'an 8 MB answer streams through intact');
  t.equal(download.headers['x-upstream'], 'yes', "the upstream's own headers pass");

  // A client that reads slowly: the proxy must hold the upstream back (backpressure), not buffer
  // the whole answer in memory, and still deliver every byte.
  const slow = await new Promise<{ length: number; sentWhilePaused: number }>((resolve, reject) => {
    const req = httpRequest(`${base}/huge`, { headers: auth }, (res) => {
      let length = 0;
      res.pause();
      setTimeout(() => {
        const sentWhilePaused = huge.sent;
        res.on('data', (c: Buffer) => (length += c.length));
        res.on('end', () => resolve({ length, sentWhilePaused }));
        res.resume();
      }, 1000);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(slow.length, huge.size, 'a client that starts reading late still gets every byte');
  t.ok(slow.sentWhilePaused < huge.size / 2, `while the client did not read, the upstream was held back (${(slow.sentWhilePaused / 1048576).toFixed(1)} of 64 MB sent)`);

  // A client that goes away mid-answer does not break the proxy for the next caller.
  await new Promise<void>((resolve) => {
    const req = httpRequest(`${base}/big`, { headers: auth }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
    req.end();
  });
  const after = await call(`${base}/ping`, { headers: auth });
  t.equal(after.status, 200, 'the next request after an aborted download works');

  const down = await call(`${base}/gone/x`, { headers: auth });
  t.equal(down.status, 502);
  t.equal(JSON.parse(down.body.toString()).code, 'upstream_unavailable', 'an unreachable assistant is a clear 502');
  const refused = await call(`${base}/upload`, { method: 'POST', body: upload });
  t.equal(refused.status, 401, 'without a token the body never reaches the assistant');
});
