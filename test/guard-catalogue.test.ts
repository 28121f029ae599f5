import t from 'tap';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHmac, createPublicKey } from 'node:crypto';
import Fastify from 'fastify';
import { CompactSign, SignJWT, generateKeyPair, exportJWK, base64url, type JWK, type CryptoKey } from 'jose';
import { createTestHome, STRONG_PASSWORD } from './helpers/home.js';
import { GuardVerifier, type GuardDecision } from '../src/guard/verifier.js';
import { RevocationState } from '../src/guard/revocation-state.js';
import { guard as guardPlugin } from '../src/guard/plugin.js';
import { Guard } from '../src/guard/guard.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';
import { createSigningKey } from '../src/crypto/signing-keys.js';

const ISSUER = 'https://ticket.test';
const DEVICE_IP = '10.8.0.2';

t.test('guard: the catalogue of bad tokens and requests', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  const { services } = home;
  await services.rbac.create('staff', ['assistant:notes'], 'test');
  const user = await services.accounts.create('alice', STRONG_PASSWORD, 'test', ['staff']);
  const reg = await services.devices.register({ id: user.id, username: 'alice' }, { name: 'laptop', publicKey: generateWireGuardKeyPair().publicKey });
  t.equal(reg.device.ip, DEVICE_IP);
  const device = { id: reg.device.id, ip: DEVICE_IP, publicKey: reg.device.public_key };
  const issue = async (scope?: string) => (await services.accessTokens.issue({ userId: user.id, roles: ['staff'], grantedScopes: ['assistant:notes', 'assistant:search'], requestedScope: scope, clientId: 'brainstack-cli', device })).access_token;

  const dir = mkdtempSync(join(tmpdir(), 'brainstack-guard-'));
  const jwksFile = join(dir, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(await services.signingKeys.jwks()));
  const state = new RevocationState();
  let lastContact = Date.now();
  const verifier = new GuardVerifier({ assistant: 'notes', issuer: ISSUER, audience: 'brainstack', jwks: jwksFile }, { state, lastContact: () => lastContact });
  await verifier.keys.load();

  const active = await services.signingKeys.activeKey();
  const good = await issue();
  const goodClaims = JSON.parse(Buffer.from(good.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}, key: CryptoKey = active.privateKey) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: active.kid, ...header }).sign(key);
  const withClaims = (changes: Record<string, unknown>) => sign({ ...goodClaims, ...changes });
  const without = (claim: string) => {
    const copy = { ...goodClaims };
    delete copy[claim];
    return sign(copy);
  };
  const b64 = (value: unknown) => base64url.encode(JSON.stringify(value));
  const [goodHeader, goodPayload, goodSignature] = good.split('.') as [string, string, string];
  const attacker = await generateKeyPair('ES256', { extractable: true });
  const attackerJwk: JWK = await exportJWK(attacker.publicKey);
  const publicPem = createPublicKey({ key: (await services.signingKeys.jwks()).keys[0] as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  const hsWith = (secret: string | Buffer) => {
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: active.kid })}.${goodPayload}`;
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };

  const call = (token: string | undefined, extra: { remoteAddress?: string; url?: string; headers?: Record<string, string>; rawHeaders?: string[] } = {}) =>
    verifier.verify({ headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...extra.headers }, ...(extra.rawHeaders ? { rawHeaders: extra.rawHeaders } : {}), url: extra.url ?? '/notes', remoteAddress: extra.remoteAddress ?? `::ffff:${DEVICE_IP}` });

  const expectRefusal = async (name: string, decision: Promise<GuardDecision>, status: number, reason?: string) => {
    const d = await decision;
    t.equal(d.ok, false, `${name}: refused`);
    if (!d.ok) {
      t.equal(d.status, status, `${name}: ${status}`);
      if (reason) t.equal(d.reason, reason, `${name}: reason ${reason}`);
    }
  };

  const ok = await call(good);
  t.equal(ok.ok, true, 'a good token from the right tunnel address passes');
  t.match(ok, { ok: true, identity: { user: user.id, device: device.id, scopes: ['assistant:notes', 'assistant:search'], tunnelIp: DEVICE_IP }, cached: false });
  t.match(await call(good), { ok: true, cached: true }, 'and the second call comes from the cache');
  t.match(await verifier.verify({ headers: { authorization: `bearer ${good}` }, url: '/', remoteAddress: DEVICE_IP }), { ok: true }, 'lower-case bearer is accepted');
  t.match(await call(await issue('assistant:notes')), { ok: true }, 'a narrowed token for this assistant passes');

  // The Authorization header itself.
  await expectRefusal('no token', call(undefined), 401, 'missing_token');
  await expectRefusal('Basic auth', verifier.verify({ headers: { authorization: 'Basic YTpi' }, url: '/', remoteAddress: DEVICE_IP }), 401, 'malformed_header');
  await expectRefusal('two Authorization headers', call(good, { rawHeaders: ['Authorization', `Bearer ${good}`, 'authorization', `Bearer ${good}`] }), 400, 'multiple_tokens');
  await expectRefusal('token in header and query', call(good, { url: `/notes?access_token=${good}` }), 400, 'multiple_tokens');
  await expectRefusal('token only in the query', call(undefined, { url: `/notes?access_token=${good}` }), 401, 'token_in_query');
  await expectRefusal('oversized token', call(`${good}${'A'.repeat(4096)}`), 401, 'token_too_long');
  for (const malformed of ['abc', 'a.b', 'a.b.c.d', '%%%.%%%.%%%', `${goodHeader}..${goodSignature}`]) await expectRefusal(`malformed ${malformed.slice(0, 12)}`, call(malformed), 401);

  // Algorithms and keys.
  for (const none of ['none', 'None', 'NONE', 'nOnE']) await expectRefusal(`alg ${none}`, call(`${b64({ alg: none, typ: 'at+jwt', kid: active.kid })}.${goodPayload}.`), 401, 'algorithm_not_allowed');
  await expectRefusal('HS256 with the public key (PEM) as secret', call(hsWith(publicPem)), 401, 'algorithm_not_allowed');
  await expectRefusal('HS256 with the JWK as secret', call(hsWith(JSON.stringify((await services.signingKeys.jwks()).keys[0]))), 401, 'algorithm_not_allowed');
  await expectRefusal('RS256 header', call(`${b64({ alg: 'RS256', typ: 'at+jwt', kid: active.kid })}.${goodPayload}.${goodSignature}`), 401, 'algorithm_not_allowed');
  for (const kid of ['unknown', '../../../../etc/passwd', "' OR 1=1 --", 'k'.repeat(200), '\u0000']) {
    await expectRefusal(`kid ${JSON.stringify(kid.slice(0, 20))}`, call(await sign(goodClaims, { kid })), 401, 'unknown_kid');
  }
  for (const param of ['jwk', 'jku', 'x5u', 'x5c']) {
    const value = param === 'jwk' ? attackerJwk : param === 'x5c' ? ['MIIB'] : 'https://attacker.example/keys';
    await expectRefusal(`embedded ${param}`, call(await sign(goodClaims, { [param]: value }, attacker.privateKey)), 401, 'embedded_key');
  }
  await expectRefusal('foreign signature (attacker key, our kid)', call(await sign(goodClaims, {}, attacker.privateKey)), 401, 'bad_signature');
  await expectRefusal('stripped signature', call(`${goodHeader}.${goodPayload}.`), 401);
  const tamperedPayload = b64({ ...goodClaims, scope: 'assistant:*' });
  await expectRefusal('tampered payload', call(`${goodHeader}.${tamperedPayload}.${goodSignature}`), 401, 'bad_signature');
  await expectRefusal('ECDSA r=s=0', call(`${goodHeader}.${goodPayload}.${base64url.encode(new Uint8Array(64))}`), 401, 'bad_signature');
  const critical = await new CompactSign(new TextEncoder().encode(JSON.stringify(goodClaims)))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: active.kid, crit: ['x-brainstack-unknown'], 'x-brainstack-unknown': 1 })
    .sign(active.privateKey, { crit: { 'x-brainstack-unknown': true } });
  await expectRefusal('unknown crit', call(critical), 401);
  // A correctly signed JWS whose payload is itself a JWT, not a claims object.
  const nested = await new CompactSign(new TextEncoder().encode(good)).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: active.kid, cty: 'JWT' }).sign(active.privateKey);
  await expectRefusal('nested JWT', call(nested), 401, 'malformed_token');

  // typ, issuer, audience, times.
  await expectRefusal('typ JWT', call(await sign(goodClaims, { typ: 'JWT' })), 401, 'bad_typ');
  await expectRefusal('no typ', call(await sign(goodClaims, { typ: undefined })), 401, 'bad_typ');
  await expectRefusal('wrong issuer', call(await withClaims({ iss: 'https://evil.test' })), 401, 'bad_issuer');
  await expectRefusal('wrong audience', call(await withClaims({ aud: 'someone-else' })), 401, 'bad_audience');
  await expectRefusal('expired', call(await withClaims({ iat: now - 1000, exp: now - 100 })), 401, 'expired');
  t.match(await call(await withClaims({ iat: now - 600, exp: now - 30 })), { ok: true }, 'expired within the 60 s leeway still passes');
  await expectRefusal('not yet valid', call(await withClaims({ nbf: now + 300 })), 401, 'not_yet_valid');
  await expectRefusal('issued in the future', call(await withClaims({ iat: now + 300, exp: now + 600 })), 401);
  await expectRefusal('lifetime over 15 min', call(await withClaims({ iat: now, exp: now + 3600 })), 401, 'lifetime_too_long');
  for (const claim of ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'cnf']) await expectRefusal(`missing ${claim}`, call(await without(claim)), 401);
  await expectRefusal('scope as an array', call(await withClaims({ scope: ['assistant:notes'] })), 401, 'bad_claim');
  await expectRefusal('cnf without wg_ip', call(await withClaims({ cnf: { wg_pk: 'x' } })), 401, 'bad_claim');

  // Scope: exact, case-sensitive items.
  for (const scope of ['assistant:search', 'assistant:Notes', 'assistant:notes-extra', 'assistant:notes2', 'assistant:*x', 'xassistant:notes', 'assistant:', '']) {
    await expectRefusal(`scope ${JSON.stringify(scope)}`, call(await withClaims({ scope })), 403, 'insufficient_scope');
  }
  t.match(await call(await withClaims({ scope: 'assistant:search  assistant:notes' })), { ok: true }, 'any space-separated item counts');
  t.match(await call(await withClaims({ scope: 'assistant:*' })), { ok: true }, 'assistant:* covers every assistant');

  // Tunnel binding.
  await expectRefusal('a valid token from another tunnel address', call(good, { remoteAddress: '10.8.0.3' }), 401, 'wrong_source_address');
  await expectRefusal('X-Forwarded-For from an untrusted peer is ignored', call(good, { remoteAddress: '10.8.0.3', headers: { 'x-forwarded-for': DEVICE_IP } }), 401, 'wrong_source_address');
  const behindGateway = new GuardVerifier({ assistant: 'notes', issuer: ISSUER, audience: 'brainstack', jwks: jwksFile, trustedGateways: ['10.99.0.1'] }, undefined, Date.now, verifier.keys);
  t.match(await behindGateway.verify({ headers: { authorization: `Bearer ${good}`, 'x-forwarded-for': `6.6.6.6, ${DEVICE_IP}` }, url: '/', remoteAddress: '10.99.0.1' }), { ok: true }, 'behind a trusted gateway its appended address counts');
  t.match(await behindGateway.verify({ headers: { authorization: `Bearer ${good}`, 'x-forwarded-for': `${DEVICE_IP}, 10.8.0.9` }, url: '/', remoteAddress: '10.99.0.1' }), { ok: false, reason: 'wrong_source_address' }, 'only the rightmost entry, the one the gateway wrote');

  // Revocation: token, device, user-before-time; staleness.
  const fresh = await issue();
  t.match(await call(fresh), { ok: true });
  const jti = JSON.parse(Buffer.from(fresh.split('.')[1] as string, 'base64url').toString()).jti as string;
  state.apply([{ seq: 1, kind: 'jti', value: jti, not_before: Date.now(), expires_at: Date.now() + 900_000 }]);
  await expectRefusal('revoked jti (even from the cache)', call(fresh), 401, 'revoked_jti');
  state.apply([{ seq: 2, kind: 'device', value: device.id, not_before: Date.now(), expires_at: Date.now() + 900_000 }]);
  await expectRefusal('revoked device', call(good), 401, 'revoked_device');
  const state2 = new RevocationState();
  const v2 = new GuardVerifier({ assistant: 'notes', issuer: ISSUER, audience: 'brainstack', jwks: jwksFile }, { state: state2, lastContact: () => lastContact }, Date.now, verifier.keys);
  state2.apply([{ seq: 1, kind: 'user', value: user.id, not_before: Date.now(), expires_at: Date.now() + 900_000 }]);
  await expectRefusal('revoked user: tokens issued before', v2.verify({ headers: { authorization: `Bearer ${good}` }, url: '/', remoteAddress: DEVICE_IP }), 401, 'revoked_user');
  lastContact = Date.now() - 31_000;
  await expectRefusal('feed silent past the staleness bound', v2.verify({ headers: { authorization: `Bearer ${await withClaims({ jti: 'other', iat: now + 5, exp: now + 300 })}` }, url: '/', remoteAddress: DEVICE_IP }), 503, 'revocation_unavailable');
  lastContact = Date.now();

  // A key rotated out of the JWKS.
  const oldToken = await issue();
  const newKid = await createSigningKey(services.database.db, services.keyring, 'ES256');
  services.signingKeys.invalidate();
  const jwks = await services.signingKeys.jwks();
  writeFileSync(jwksFile, JSON.stringify({ keys: jwks.keys.filter((k) => k.kid === newKid) }));
  const rotated = new GuardVerifier({ assistant: 'notes', issuer: ISSUER, audience: 'brainstack', jwks: jwksFile }, undefined);
  await rotated.keys.load();
  await expectRefusal('a key rotated out of the JWKS', rotated.verify({ headers: { authorization: `Bearer ${oldToken}` }, url: '/', remoteAddress: DEVICE_IP }), 401, 'unknown_kid');
  t.match(await rotated.verify({ headers: { authorization: `Bearer ${await issue()}` }, url: '/', remoteAddress: DEVICE_IP }), { ok: true }, 'tokens of the new key pass');
});

t.test('guard plugin: RFC 6750 responses, identity for handlers, never a 500', async (t) => {
  const home = await createTestHome();
  t.teardown(home.cleanup);
  const { services } = home;
  await services.rbac.create('staff', ['assistant:notes'], 'test');
  const user = await services.accounts.create('bob', STRONG_PASSWORD, 'test', ['staff']);
  const reg = await services.devices.register({ id: user.id, username: 'bob' }, { name: 'laptop', publicKey: generateWireGuardKeyPair().publicKey });
  const token = (await services.accessTokens.issue({ userId: user.id, roles: ['staff'], grantedScopes: ['assistant:notes'], clientId: 'brainstack-cli', device: { id: reg.device.id, ip: reg.device.ip as string, publicKey: reg.device.public_key } })).access_token;
  const dir = mkdtempSync(join(tmpdir(), 'brainstack-guard-'));
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(await services.signingKeys.jwks()));
  const shared = new Guard({ assistant: 'notes', issuer: ISSUER, audience: 'brainstack', jwks: join(dir, 'jwks.json') });
  await shared.start();
  const app = Fastify();
  await app.register(guardPlugin, { assistant: 'notes', issuer: ISSUER, audience: 'brainstack', jwks: join(dir, 'jwks.json'), guard: shared });
  app.get('/notes', async (request) => ({ user: request.brainstack?.user, device: request.brainstack?.device }));
  const search = Fastify();
  await search.register(guardPlugin, { assistant: 'search', issuer: ISSUER, audience: 'brainstack', jwks: join(dir, 'jwks.json') });
  search.get('/', async () => 'found');
  t.teardown(async () => {
    await app.close();
    await search.close();
  });

  const ok = await app.inject({ method: 'GET', url: '/notes', headers: { authorization: `Bearer ${token}` }, remoteAddress: reg.device.ip as string });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { user: user.id, device: reg.device.id }, 'the handler knows who is calling');
  const noToken = await app.inject({ method: 'GET', url: '/notes', remoteAddress: reg.device.ip as string });
  t.equal(noToken.statusCode, 401);
  t.equal(noToken.headers['www-authenticate'], 'Bearer realm="brainstack"');
  const bad = await app.inject({ method: 'GET', url: '/notes', headers: { authorization: 'Bearer not.a.jwt' }, remoteAddress: reg.device.ip as string });
  t.equal(bad.statusCode, 401);
  t.equal(bad.headers['www-authenticate'], 'Bearer realm="brainstack", error="invalid_token"');
  t.same(bad.json(), { code: 'invalid_token', error: 'invalid_token', message: 'the access token is invalid' }, 'the caller learns nothing more');
  const otherAssistant = await search.inject({ method: 'GET', url: '/', headers: { authorization: `Bearer ${token}` }, remoteAddress: reg.device.ip as string });
  t.equal(otherAssistant.statusCode, 403);
  t.equal(otherAssistant.headers['www-authenticate'], 'Bearer realm="brainstack", error="insufficient_scope", scope="assistant:search"');
  const twoHeaders = await app.inject({ method: 'GET', url: `/notes?access_token=${token}`, headers: { authorization: `Bearer ${token}` }, remoteAddress: reg.device.ip as string });
  t.equal(twoHeaders.statusCode, 400);
  t.match(twoHeaders.headers['www-authenticate'], /error="invalid_request"/);
  const garbage = ['Bearer ' + '\u00ff'.repeat(10), 'Bearer a.b.c', `Bearer ${Buffer.from('{"alg":"ES256"}').toString('base64url')}.e30.${'A'.repeat(86)}`, 'Bearer eyJ.eyJ.eyJ'];
  for (const authorization of garbage) {
    const res = await app.inject({ method: 'GET', url: '/notes', headers: { authorization }, remoteAddress: reg.device.ip as string });
    t.ok(res.statusCode === 401 || res.statusCode === 400, `garbage ${JSON.stringify(authorization.slice(0, 20))} → ${res.statusCode}, never 500`);
  }
  await shared.stop();
});
