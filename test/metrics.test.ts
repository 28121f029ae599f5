import t from 'tap';
import { createTestApp, createTestHome, STRONG_PASSWORD } from './helpers/home.js';
import { startTicketService } from '../src/ticket/server.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';

t.test('the internal listener serves Prometheus metrics that follow what happens', async (t) => {
  const home = await createTestHome({ settings: { listen: '127.0.0.1:0', internal_listen: '127.0.0.1:0' } });
  t.teardown(home.cleanup);
  const { services } = home;
  const running = await startTicketService(services);
  t.teardown(() => running.close());
  await services.rbac.create('staff', ['assistant:notes'], 'test');
  const user = await services.accounts.create('mia', STRONG_PASSWORD, 'test', ['staff']);
  const app = await createTestApp(home);
  t.teardown(() => app.close());
  const login = (password: string) => app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'mia', password }) });
  await login(STRONG_PASSWORD);
  await login('wrong password here');
  const reg = await services.devices.register({ id: user.id, username: 'mia' }, { name: 'laptop', publicKey: generateWireGuardKeyPair().publicKey });
  await services.accessTokens.issue({ userId: user.id, roles: ['staff'], grantedScopes: ['assistant:notes'], clientId: 'brainstack-cli', device: { id: reg.device.id, ip: reg.device.ip as string, publicKey: reg.device.public_key } });
  await services.devices.revoke(reg.device.id, 'test', 'test');
  await services.devices.register({ id: user.id, username: 'mia' }, { name: 'phone', publicKey: generateWireGuardKeyPair().publicKey });
  await fetch(`${running.internalAddress}/.well-known/jwks.json`);

  const response = await fetch(`${running.internalAddress}/metrics`);
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /text\/plain/);
  const text = await response.text();
  t.match(text, /brainstack_logins_total\{outcome="success"\} 1/);
  t.match(text, /brainstack_logins_total\{outcome="failure"\} 1/);
  t.match(text, /brainstack_tokens_issued_total\{client="brainstack-cli"\} 1/);
  t.match(text, /brainstack_revocations_total\{kind="device"\} 1/);
  t.match(text, /brainstack_devices_registered_total 2/);
  t.match(text, /brainstack_devices_active 1/);
  t.match(text, /brainstack_feed_followers 0/);
  t.match(text, /brainstack_http_request_duration_seconds_count\{listener="internal",route="\/\.well-known\/jwks\.json",status="2xx"\} 1/);
  const publicMetrics = await app.inject({ method: 'GET', url: '/metrics' });
  t.equal(publicMetrics.statusCode, 404, 'metrics are not on the public listener');
});
