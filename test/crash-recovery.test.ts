import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pino } from 'pino';
import { Agent, fetch } from 'undici';
import { createTestInterface, wireguardAvailable } from './helpers/wireguard.js';
import { createPgDatabase, STRONG_PASSWORD, testDialects } from './helpers/home.js';
import { initHome } from '../src/home/init.js';
import { loadConfig } from '../src/config/config.js';
import { openServices } from '../src/home/services.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const BIN = join(process.cwd(), 'bin', 'brainstack.js');
const KILLS = Number(process.env.BSTEST_CRASH_KILLS ?? 20);

function startServer(dir: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [BIN, 'serve', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  const ready = new Promise<void>((resolve, reject) => {
    const on = (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('ticket service started')) resolve();
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', on);
    child.on('exit', (code, signal) => reject(new Error(`serve exited (${code ?? signal}) before starting:\n${seen.slice(-2000)}`)));
  });
  ready.catch(() => undefined);
  return { child, ready };
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

const wg = wireguardAvailable();
for (const dialect of testDialects()) {
  t.test(`${dialect}: kill -9 the service ${KILLS} times under load; after restart the database and the interface agree and nothing acknowledged is lost`, { skip: wg.ok ? false : wg.why, timeout: 600_000 }, async (t) => {
    const iface = createTestInterface();
    t.teardown(() => iface.destroy());
    const dir = join(mkdtempSync(join(tmpdir(), 'brainstack-crash-')), 'home');
    t.teardown(() => rmSync(join(dir, '..'), { recursive: true, force: true }));
    const pg = dialect === 'postgres' ? await createPgDatabase() : undefined;
    if (pg) t.teardown(() => pg.drop());
    const port = 21000 + Math.floor(Math.random() * 4000) * 2;
    await initHome({ dir, env: {}, settings: { public_url: `https://127.0.0.1:${port}`, listen: `127.0.0.1:${port}`, internal_listen: `127.0.0.1:${port + 1}`, 'database.url': pg?.url ?? 'sqlite:brainstack.db', 'wireguard.interface': iface.name, 'wireguard.cidr': '10.50.0.0/20', 'wireguard.reconcile_interval': 3600 } });
    const seed = await openServices(loadConfig(dir, {}), { logger: pino({ level: 'silent' }), env: {} });
    await seed.accounts.create('crash', STRONG_PASSWORD, 'test');
    await seed.close();

    const dispatcher = new Agent({ connect: { rejectUnauthorized: false }, keepAliveTimeout: 1 });
    t.teardown(() => dispatcher.close());
    const base = `https://127.0.0.1:${port}`;
    const acknowledged = new Map<string, string>(); // device id -> public key
    const revokedAck = new Set<string>();
    let cookie = '';
    let server = startServer(dir);
    t.teardown(() => server.child.kill('SIGKILL'));
    await server.ready;
    const login = await fetch(`${base}/api/v1/login`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'crash', password: STRONG_PASSWORD }) });
    cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;

    let stop = false;
    const worker = async () => {
      while (!stop) {
        try {
          const revocable = [...acknowledged.keys()].filter((id) => !revokedAck.has(id));
          if (revocable.length > 3 && Math.random() < 0.35) {
            const id = revocable[Math.floor(Math.random() * revocable.length)] as string;
            const res = await fetch(`${base}/api/v1/devices/${id}`, { method: 'DELETE', dispatcher, headers: { cookie } });
            if (res.status === 204) revokedAck.add(id);
            await res.arrayBuffer();
          } else {
            const publicKey = generateWireGuardKeyPair().publicKey;
            const res = await fetch(`${base}/api/v1/devices`, { method: 'POST', dispatcher, headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'crash test', publicKey }) });
            if (res.status === 201) acknowledged.set(((await res.json()) as { id: string }).id, publicKey);
            else await res.arrayBuffer();
          }
        } catch {
          await new Promise((r) => setTimeout(r, 50)); // the server is down: keep trying
        }
      }
    };
    const workers = Array.from({ length: 4 }, () => worker());
    for (let kill = 0; kill < KILLS; kill += 1) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 500));
      await killHard(server.child);
      if (process.env.BSTEST_DEBUG) console.error(`kill ${kill + 1}: ${acknowledged.size} registered, ${revokedAck.size} revoked`);
      server = startServer(dir);
      await server.ready;
    }
    stop = true;
    await Promise.all(workers);
    await killHard(server.child);
    t.ok(acknowledged.size > 20, `${acknowledged.size} registrations and ${revokedAck.size} revocations were acknowledged across ${KILLS} crashes`);

    // A last restart reconciles; then compare.
    server = startServer(dir);
    await server.ready;
    const services = await openServices(loadConfig(dir, {}), { logger: pino({ level: 'silent' }), env: {} });
    t.teardown(() => services.close());
    const all = await services.devices.list(undefined, { includeInactive: true });
    const byId = new Map(all.map((d) => [d.id, d]));
    const lost = [...acknowledged.keys()].filter((id) => !byId.has(id));
    t.same(lost, [], 'every acknowledged registration exists');
    const notRevoked = [...revokedAck].filter((id) => byId.get(id)?.state !== 'revoked');
    t.same(notRevoked, [], 'every acknowledged revocation holds');
    const active = all.filter((d) => d.state === 'active');
    t.same([...iface.allowedIps().entries()].sort(), active.map((d) => [d.public_key, `${d.ip}/32`]).sort(), 'the interface holds exactly the active devices');
    t.equal(new Set(active.map((d) => d.ip)).size, active.length, 'no address is held twice');
    server.child.kill('SIGTERM');
  });
}
