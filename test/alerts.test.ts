import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestApp, createTestHome, STRONG_PASSWORD } from './helpers/home.js';
import { verifyWebhookSignature } from '../src/audit/alerts.js';
import { startTicketService } from '../src/ticket/server.js';
import { startGuardedNotes } from './helpers/guarded-app.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';

interface Received {
  rule: string;
  subject: string;
  count: number;
  signed: boolean;
}

/** A real webhook receiver on loopback that checks every signature; fails the first `failFirst` calls. */
async function receiver(secret: string, failFirst = 0) {
  const received: Received[] = [];
  let calls = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      calls += 1;
      if (calls <= failFirst) {
        res.writeHead(500).end();
        return;
      }
      const alert = JSON.parse(body) as Received;
      received.push({ ...alert, signed: verifyWebhookSignature(secret, body, req.headers['x-brainstack-signature'] as string) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, close: () => server.close(), calls: () => calls };
}

const until = async (check: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return check();
};

t.test('failed logins per account fire one signed alert at the threshold, retried until delivered', async (t) => {
  const secret = 'a webhook secret of some length';
  const hook = await receiver(secret, 1);
  t.teardown(hook.close);
  const home = await createTestHome({ settings: { alerts: { webhook_url: hook.url, webhook_secret_file: 'webhook.secret', failed_logins_per_account: 3, failed_logins_per_ip: 1000, window_seconds: 60 } }, files: { 'webhook.secret': secret } });
  t.teardown(home.cleanup);
  await home.services.accounts.create('gina', STRONG_PASSWORD, 'test');
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const fail = () => app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'gina', password: 'not her password' }) });
  await fail();
  await fail();
  t.equal(hook.received.length, 0, 'below the threshold: nothing');
  const started = Date.now();
  const third = await fail();
  t.equal(third.statusCode, 401);
  t.ok(Date.now() - started < 1000, 'the login answer does not wait for the webhook');
  await fail();
  t.ok(await until(() => hook.received.length >= 1), 'delivered after a failed first attempt');
  await home.services.alerts.settle();
  t.same(hook.received.map((r) => [r.rule, r.subject, r.count, r.signed]), [['failed_logins_account', 'gina', 3, true]], 'one alert, signed, at the threshold');
  t.equal(hook.calls(), 2, 'one retry');
  t.equal((await home.services.audit.list({ event: 'alert.failed_logins_account' })).length, 1, 'and an audit row');
});

t.test('guards report refusals: a token from the wrong tunnel address and a revoked token raise alerts', async (t) => {
  const secret = 'another webhook secret';
  const hook = await receiver(secret);
  t.teardown(hook.close);
  const port = 27000 + Math.floor(Math.random() * 2000) * 2;
  const home = await createTestHome({ settings: { listen: `127.0.0.1:${port}`, internal_listen: `127.0.0.1:${port + 1}`, alerts: { webhook_url: hook.url, webhook_secret_file: 'webhook.secret' } }, files: { 'webhook.secret': secret } });
  t.teardown(home.cleanup);
  const { services } = home;
  const running = await startTicketService(services);
  t.teardown(() => running.close());
  await services.rbac.create('staff', ['assistant:notes'], 'test');
  const user = await services.accounts.create('hugo', STRONG_PASSWORD, 'test', ['staff']);
  const reg = await services.devices.register({ id: user.id, username: 'hugo' }, { name: 'laptop', publicKey: generateWireGuardKeyPair().publicKey });
  const token = (await services.accessTokens.issue({ userId: user.id, roles: ['staff'], grantedScopes: ['assistant:notes'], clientId: 'brainstack-cli', device: { id: reg.device.id, ip: reg.device.ip as string, publicKey: reg.device.public_key } })).access_token;
  const internal = `http://127.0.0.1:${port + 1}`;
  const { call } = await startGuardedNotes(t, services, internal);
  t.equal((await call(token, '10.8.0.99')).statusCode, 401);
  t.ok(await until(() => hook.received.some((r) => r.rule === 'stolen_token_suspected')), 'stolen-token signal delivered');
  await services.devices.revoke(reg.device.id, 'test', 'test');
  let status = 200;
  while (status !== 401) {
    status = (await call(token, reg.device.ip as string)).statusCode;
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(await until(() => hook.received.some((r) => r.rule === 'revoked_token_used')), 'use of a revoked token delivered');
  await services.audit.record({ event: 'wg.reconcile_repair', outcome: 'info', subject: 'dev-1', details: { action: 'remove' } });
  t.ok(await until(() => hook.received.some((r) => r.rule === 'reconcile_drift')), 'reconcile drift delivered');
  t.ok(hook.received.every((r) => r.signed), 'every alert carries a valid signature');
  const forged = await fetch(`${internal}/internal/v1/guard-events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [] }) });
  t.equal(forged.status, 401, 'guard events need a guard credential');
});
