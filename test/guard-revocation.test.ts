import t, { type Test } from 'tap';
import { createTestHome, STRONG_PASSWORD } from './helpers/home.js';
import { startTicketService, type RunningTicketService } from '../src/ticket/server.js';
import { startGuardedNotes } from './helpers/guarded-app.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';
import { loadConfig } from '../src/config/config.js';
import { openServices } from '../src/home/services.js';
import { pino } from 'pino';

async function setup(t: Test, maxStalenessMs = 30_000) {
  const port = 23000 + Math.floor(Math.random() * 3000) * 2;
  const home = await createTestHome({ settings: { listen: `127.0.0.1:${port}`, internal_listen: `127.0.0.1:${port + 1}` } });
  t.teardown(home.cleanup);
  const { services } = home;
  await services.rbac.create('staff', ['assistant:notes'], 'test');
  const user = await services.accounts.create('carol', STRONG_PASSWORD, 'test', ['staff']);
  let running: RunningTicketService | undefined = await startTicketService(services);
  t.teardown(async () => running?.close());
  const { guard, call: callNotes } = await startGuardedNotes(t, services, `http://127.0.0.1:${port + 1}`, { maxStalenessMs });
  const newDevice = async () => {
    const reg = await services.devices.register({ id: user.id, username: 'carol' }, { name: 'd', publicKey: generateWireGuardKeyPair().publicKey });
    const token = (await services.accessTokens.issue({ userId: user.id, roles: ['staff'], grantedScopes: ['assistant:notes'], clientId: 'brainstack-cli', device: { id: reg.device.id, ip: reg.device.ip as string, publicKey: reg.device.public_key } })).access_token;
    return { id: reg.device.id, ip: reg.device.ip as string, token };
  };
  const call = (d: { ip: string; token: string }) => callNotes(d.token, d.ip);
  return {
    home,
    services,
    user,
    guard,
    newDevice,
    call,
    async stopTicket() {
      await running?.close();
      running = undefined;
    },
    async restartTicket() {
      running = await startTicketService(services);
    },
  };
}

t.test('revocations reach the guard within 1 s: 20 trials', async (t) => {
  const ctx = await setup(t);
  const delays: number[] = [];
  for (let trial = 0; trial < 20; trial += 1) {
    const device = await ctx.newDevice();
    t.equal((await ctx.call(device)).statusCode, 200, `trial ${trial + 1}: allowed before`);
    const started = Date.now();
    await ctx.services.devices.revoke(device.id, 'test', 'test');
    let status = 200;
    while (status === 200 && Date.now() - started < 1500) {
      status = (await ctx.call(device)).statusCode;
      if (status === 200) await new Promise((r) => setTimeout(r, 10));
    }
    const delay = Date.now() - started;
    delays.push(delay);
    t.equal(status, 401, `trial ${trial + 1}: refused ${delay} ms after the revocation`);
    t.ok(delay <= 1000, `trial ${trial + 1}: within 1 s`);
  }
  t.comment(`propagation delays (ms): ${delays.join(' ')}`);
});

t.test('a revocation committed by another process (the admin CLI) reaches the guard too', async (t) => {
  const ctx = await setup(t);
  const device = await ctx.newDevice();
  t.equal((await ctx.call(device)).statusCode, 200);
  const other = await openServices(loadConfig(ctx.home.dir, {}), { logger: pino({ level: 'silent' }), env: {} });
  t.teardown(() => other.close());
  const started = Date.now();
  await other.devices.revoke(device.id, 'cli:test', 'test');
  let status = 200;
  while (status === 200 && Date.now() - started < 1500) {
    status = (await ctx.call(device)).statusCode;
    // inject() never yields to the event loop; let the guard's feed follower run.
    await new Promise((r) => setTimeout(r, 10));
  }
  t.equal(status, 401);
  t.ok(Date.now() - started <= 1000, `within 1 s (${Date.now() - started} ms)`);
});

t.test('feed down longer than the staleness bound → 503; back → normal, by itself', async (t) => {
  const ctx = await setup(t, 2000);
  const device = await ctx.newDevice();
  t.equal((await ctx.call(device)).statusCode, 200);
  await ctx.stopTicket();
  await new Promise((r) => setTimeout(r, 2600));
  const down = await ctx.call(device);
  t.equal(down.statusCode, 503, 'refuses while it cannot know about revocations');
  t.equal(down.json().code, 'revocation_unavailable');
  t.equal(down.headers['retry-after'], '5');
  await ctx.restartTicket();
  let status = 503;
  const started = Date.now();
  while (status === 503 && Date.now() - started < 10_000) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await ctx.call(device)).statusCode;
  }
  t.equal(status, 200, `recovered ${Date.now() - started} ms after the feed came back`);
});

t.test('the feed refuses callers without a registered guard credential', async (t) => {
  const ctx = await setup(t);
  const internal = ctx.services.config.internal_listen;
  for (const authorization of [undefined, 'Bearer bsg_nope', 'Basic abc']) {
    const res = await fetch(`http://${internal}/internal/v1/revocations?after=0`, { headers: authorization ? { authorization } : {} });
    t.equal(res.status, 401, `${authorization ?? 'no credential'} → 401`);
  }
  await ctx.services.guards.remove('notes', 'test');
  const removed = await fetch(`http://${internal}/internal/v1/revocations?after=0`, { headers: { authorization: 'Bearer bsg_' + 'x'.repeat(43) } });
  t.equal(removed.status, 401);
});
