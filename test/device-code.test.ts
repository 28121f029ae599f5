import t from 'tap';
import { createTestApp, createTestHome, sessionCookie, STRONG_PASSWORD } from './helpers/home.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const form = (fields: Record<string, string>) => ({ payload: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });

t.test('device authorization grant (RFC 8628): start, approve in a session, poll, and its errors', async (t) => {
  const home = await createTestHome({ fakeClock: true });
  t.teardown(home.cleanup);
  const { services } = home;
  await services.rbac.create('staff', ['assistant:notes'], 'test');
  await services.accounts.create('dana', STRONG_PASSWORD, 'test', ['staff']);
  const app = await createTestApp(home);
  const login = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'dana', password: STRONG_PASSWORD } });
  const cookie = sessionCookie(login) as string;
  const asDana = { cookies: { '__Host-brainstack': cookie } };
  const start = async (publicKey = generateWireGuardKeyPair().publicKey, name = 'dana-terminal') => app.inject({ method: 'POST', url: '/oauth/device_authorization', ...form({ client_id: 'brainstack-cli', device_name: name, public_key: publicKey }) });
  const poll = (deviceCode: string, clientId = 'brainstack-cli') => app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: DEVICE_GRANT, device_code: deviceCode, client_id: clientId }) });

  await t.test('the discovery document lists the grant and the endpoint', async (t) => {
    const discovery = (await app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json();
    t.match(discovery, { device_authorization_endpoint: 'https://ticket.test/oauth/device_authorization', grant_types_supported: ['refresh_token', DEVICE_GRANT] });
  });

  await t.test('bad starts are refused with RFC 6749 errors', async (t) => {
    const unknownClient = await app.inject({ method: 'POST', url: '/oauth/device_authorization', ...form({ client_id: 'someone', device_name: 'x', public_key: generateWireGuardKeyPair().publicKey }) });
    t.equal(unknownClient.statusCode, 401);
    t.equal(unknownClient.json().error, 'invalid_client');
    const noKey = await app.inject({ method: 'POST', url: '/oauth/device_authorization', ...form({ client_id: 'brainstack-cli', device_name: 'x' }) });
    t.equal(noKey.statusCode, 400);
    t.match(noKey.json(), { error: 'invalid_request', error_description: /public_key/ });
    const badKey = await start('not-a-key');
    t.match(badKey.json(), { error: 'invalid_request', error_description: /WireGuard public key/ });
    const badName = await start(undefined, 'bad\nname');
    t.equal(badName.json().error, 'invalid_request');
    const json = await app.inject({ method: 'POST', url: '/oauth/device_authorization', payload: { client_id: 'brainstack-cli' } });
    t.equal(json.statusCode, 400, 'a JSON body is not a form');
  });

  await t.test('pending, slow_down, approve, redeem once', async (t) => {
    const keys = generateWireGuardKeyPair();
    const started = (await start(keys.publicKey)).json();
    t.match(started, { user_code: /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/, verification_uri: 'https://ticket.test/device', expires_in: 600, interval: 5 });
    t.equal(started.verification_uri_complete, `https://ticket.test/device?user_code=${started.user_code}`);
    const pending = await poll(started.device_code);
    t.equal(pending.statusCode, 400);
    t.equal(pending.json().error, 'authorization_pending');
    t.equal(pending.headers['cache-control'], 'no-store');
    home.clock.advance(1000);
    t.equal((await poll(started.device_code)).json().error, 'slow_down', 'polling faster than the interval');
    home.clock.advance(6000);
    t.equal((await poll(started.device_code)).json().error, 'slow_down', 'the interval grew by 5 s');
    home.clock.advance(15_500);
    t.equal((await poll(started.device_code)).json().error, 'authorization_pending', 'back to normal at the new interval');

    const noSession = await app.inject({ method: 'POST', url: '/api/v1/device-authorizations/lookup', payload: { user_code: started.user_code } });
    t.equal(noSession.statusCode, 401, 'approving needs a signed-in user');
    const lookup = await app.inject({ method: 'POST', url: '/api/v1/device-authorizations/lookup', payload: { user_code: started.user_code.toLowerCase().replace('-', ' ') }, ...asDana });
    t.equal(lookup.statusCode, 200, lookup.body);
    t.match(lookup.json(), { user_code: started.user_code, device_name: 'dana-terminal', key_fingerprint: keys.publicKey.slice(0, 8), client_id: 'brainstack-cli' }, 'the page shows which terminal and key it approves (code typed loosely)');
    const wrongCode = await app.inject({ method: 'POST', url: '/api/v1/device-authorizations/lookup', payload: { user_code: 'BCDF-GHJK' }, ...asDana });
    t.equal(wrongCode.statusCode, 400);
    t.equal(wrongCode.json().code, 'user_code_invalid');
    const approve = await app.inject({ method: 'POST', url: '/api/v1/device-authorizations/decide', payload: { user_code: started.user_code, approve: true }, ...asDana });
    t.equal(approve.statusCode, 204);
    const twice = await app.inject({ method: 'POST', url: '/api/v1/device-authorizations/decide', payload: { user_code: started.user_code, approve: false }, ...asDana });
    t.equal(twice.json().code, 'user_code_invalid', 'a code is decided once');

    home.clock.advance(16_000);
    const granted = await poll(started.device_code);
    t.equal(granted.statusCode, 200, granted.body);
    const body = granted.json();
    t.match(body, { token_type: 'Bearer', scope: 'assistant:notes', refresh_token: /^bsr_/, username: 'dana', device_ip: /^10\.8\.0\.\d+$/, wireguard_config_file_name: /\.conf$/ });
    t.match(body.wireguard_config, /^# PrivateKey = /m, 'the config leaves the private key for the terminal to fill in');
    const device = await services.devices.get(body.device_id);
    t.equal(device.public_key, keys.publicKey, "the device holds the terminal's own public key");
    t.equal((await poll(started.device_code)).json().error, 'expired_token', 'a redeemed code cannot be used again');
    const refreshed = await app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: 'brainstack-cli' }) });
    t.equal(refreshed.statusCode, 200, 'the refresh token works like one from a password login');
    const audit = await services.database.db.selectFrom('audit_log').select(['event', 'actor']).where('event', 'in', ['device_code.approved', 'device.registered']).execute();
    t.match(audit, [{ event: 'device_code.approved', actor: 'dana' }, { event: 'device.registered', actor: 'dana' }]);
  });

  await t.test('denied, expired, unknown and foreign codes', async (t) => {
    const denied = (await start()).json();
    await app.inject({ method: 'POST', url: '/api/v1/device-authorizations/decide', payload: { user_code: denied.user_code, approve: false }, ...asDana });
    t.equal((await poll(denied.device_code)).json().error, 'access_denied');

    const expiring = (await start()).json();
    home.clock.advance(601_000);
    t.equal((await poll(expiring.device_code)).json().error, 'expired_token');
    const late = await app.inject({ method: 'POST', url: '/api/v1/device-authorizations/decide', payload: { user_code: expiring.user_code, approve: true }, ...asDana });
    t.equal(late.json().code, 'user_code_invalid', 'an expired code cannot be approved');

    t.equal((await poll('no-such-device-code')).json().error, 'invalid_grant');
    const other = (await start()).json();
    const foreign = await poll(other.device_code, 'another-client');
    t.equal(foreign.statusCode, 401);
    t.equal(foreign.json().error, 'invalid_client');
    const unsupported = await app.inject({ method: 'POST', url: '/oauth/token', ...form({ grant_type: 'password', username: 'dana' }) });
    t.equal(unsupported.json().error, 'unsupported_grant_type');
  });
});
