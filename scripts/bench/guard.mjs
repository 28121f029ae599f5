#!/usr/bin/env node
// Guard throughput, side by side in one run on one machine (autocannon in this process, each
// server in its own): bare fastify hello-world, the same app with the guard plugin (a token reused
// until expiry: the cached path), the sidecar in front of the bare app vs the bare app hit
// directly, and the cold path (a new token on every request) vs plain jose jwtVerify.
//   npm run build && node scripts/bench/guard.mjs [seconds]
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { createTestHome } from '../../dist/test/helpers/home.js';

const SECONDS = Number(process.argv[2] ?? 10);
const here = new URL('.', import.meta.url).pathname;
const home = await createTestHome({ settings: { public_url: 'https://ticket.bench' } });
const { services } = home;
const dir = mkdtempSync(join(tmpdir(), 'brainstack-bench-'));
const jwksFile = join(dir, 'jwks.json');
writeFileSync(jwksFile, JSON.stringify(await services.signingKeys.jwks()));
const device = { id: 'bench-device', ip: '127.0.0.1', publicKey: 'x'.repeat(43) + '=' };
const issue = async () => (await services.accessTokens.issue({ userId: 'bench-user', roles: [], grantedScopes: ['assistant:bench'], clientId: 'brainstack-cli', device })).access_token;
const token = await issue();
const coldTokens = [];
for (let i = 0; i < 20_000; i += 1) coldTokens.push(await issue());

function start(mode, port, upstream, socketPath) {
  return new Promise((resolve, reject) => {
    const child = fork(join(here, 'guard-server.mjs'), [mode, String(port), jwksFile, upstream ?? '', socketPath ?? ''], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (m) => (m === 'ready' ? resolve(child) : reject(new Error(String(m)))));
    child.once('exit', (code) => reject(new Error(`${mode} exited ${code}`)));
  });
}
const rssOf = (child) => new Promise((resolve) => { child.once('message', (m) => resolve(m.rss)); child.send('rss'); });

async function load(url, { cold = false } = {}) {
  let next = 0;
  const result = await autocannon({
    url,
    connections: 32,
    duration: SECONDS,
    headers: { authorization: `Bearer ${token}` },
    ...(cold ? { requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${coldTokens[next++ % coldTokens.length]}` } }) }] } : {}),
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

const rows = [];
async function measure(name, mode, port, options = {}) {
  const socketPath = options.socket ? join(dir, `upstream-${port}.sock`) : undefined;
  rmSync(socketPath ?? join(dir, 'none'), { force: true });
  const upstreamChild = options.upstreamPort ? await start('bare', options.upstreamPort, undefined, socketPath) : undefined;
  const child = await start(mode, port, socketPath ? `unix:${socketPath}` : options.upstreamPort ? `http://127.0.0.1:${options.upstreamPort}` : undefined);
  await load(`http://127.0.0.1:${port}/`, options); // warm-up (JIT, connections, cache)
  const r = await load(`http://127.0.0.1:${port}/`, options);
  r.rss = await rssOf(child);
  child.kill();
  upstreamChild?.kill();
  return r;
}

// Rounds alternate the order so drift on the machine hits every server alike; medians are reported.
const ROUNDS = Number(process.argv[3] ?? 3);
const plan = [
  ['bare fastify', 'bare', 30100],
  ['fastify + guard plugin (reused token)', 'plugin', 30101],
  ['sidecar -> bare fastify', 'sidecar', 30102, { upstreamPort: 30103 }],
  ['sidecar -> bare fastify on a UNIX socket', 'sidecar', 30106, { upstreamPort: 30107, socket: true }],
  ['fastify + jose jwtVerify (new token each request)', 'jose', 30104, { cold: true }],
  ['fastify + guard plugin (new token each request)', 'plugin', 30105, { cold: true }],
];
const samples = new Map(plan.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [name, mode, port, options] of round % 2 ? [...plan].reverse() : plan) samples.get(name).push(await measure(name, mode, port, options));
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, list] of samples) rows.push({ name, rps: med(list.map((r) => r.rps)), p99: med(list.map((r) => r.p99)), rss: med(list.map((r) => r.rss)) });
const [bare, plugin, sidecar, sidecarUnix, jose, cold] = rows;
const direct = bare;
// Ratios within each round (the two servers measured one after the other), then their median and
// range: on a shared machine this cancels the drift between rounds that a ratio of medians keeps.
const names = plan.map(([name]) => name);
const perRound = (a, b) => samples.get(names[a]).map((r, i) => r.rps / samples.get(names[b])[i].rps);
const ratio = (a, b) => {
  const xs = perRound(a, b);
  return `${med(xs).toFixed(2)}x req/s (rounds ${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
};

const mb = (b) => `${(b / 1048576).toFixed(0)} MB`;
console.log(`${'server'.padEnd(52)}${'req/s'.padStart(10)}${'p99 ms'.padStart(9)}${'RSS'.padStart(9)}`);
for (const r of rows) console.log(`${r.name.padEnd(52)}${r.rps.toFixed(0).padStart(10)}${String(r.p99).padStart(9)}${mb(r.rss).padStart(9)}`);
console.log('');
console.log(`plugin / bare:           ${ratio(1, 0)}   (goal >= 0.90)   p99 ${plugin.p99} vs ${bare.p99} ms   RSS ${(plugin.rss / bare.rss).toFixed(2)}x`);
console.log(`sidecar / direct:        ${ratio(2, 0)}   (goal >= 0.50)   p99 ${sidecar.p99} vs ${direct.p99} ms   RSS ${(sidecar.rss / direct.rss).toFixed(2)}x`);
console.log(`sidecar (UNIX) / direct: ${ratio(3, 0)}   p99 ${sidecarUnix.p99} ms`);
console.log(`cold guard / jose:       ${ratio(5, 4)}   (every check vs signature only)`);
console.log(`ratios: median of the ${ROUNDS} per-round ratios (range in brackets); table: medians of ${ROUNDS} alternating rounds; ${SECONDS} s per run after a ${SECONDS} s warm-up, 32 connections, autocannon in the parent process (it shares the 2 cores with the servers)`);
await home.cleanup();
rmSync(dir, { recursive: true, force: true });
