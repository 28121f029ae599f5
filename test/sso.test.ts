import t from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { pino } from 'pino';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SignJWT, decodeJwt, importJWK, generateKeyPair } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import type { CustomFetch } from 'openid-client';
import { createTestHome, STRONG_PASSWORD } from './helpers/home.js';
import { admin } from './helpers/cli.js';
import { startOidcProvider, type TestProvider } from './helpers/oidc-provider.js';
import { generateWireGuardKeyPair } from '../src/wireguard/keys.js';
import { startTicketService } from '../src/ticket/server.js';
import { SingleSignOn } from '../src/auth/sso.js';
import { BrainstackError } from '../src/errors.js';
import type { SsoProviderConfig } from '../src/config/config.js';

const ARTIFACTS = 'test-artifacts/sso';
const skip = existsSync('/usr/bin/chromium') ? false : 'Debian chromium is not installed';

function providerSettings(issuer: string): SsoProviderConfig {
  return {
    name: 'corp',
    display_name: 'Corp SSO',
    issuer,
    client_id: 'brainstack',
    client_secret_file: 'corp.secret',
    ca_file: 'corp-ca.pem',
    scopes: ['openid', 'profile', 'email', 'groups'],
    groups_claim: 'groups',
    username_claim: 'preferred_username',
    group_roles: { engineering: ['staff'], admins: ['ops'], ghosts: ['no-such-role'] },
    allowed_groups: ['engineering', 'admins'],
    create_users: true,
    required_amr: [],
    required_acr: [],
  };
}

/** Through the provider's own login page (its development interactions: the login name is the account id). */
async function providerLogin(page: Page, accountId: string): Promise<void> {
  await page.locator('input[name="login"]').waitFor();
  await page.locator('input[name="login"]').fill(accountId);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

t.test('single sign-on through a real OpenID Connect provider', { skip, timeout: 240_000 }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const base = 20000 + Math.floor(Math.random() * 2000) * 3;
  const ticketUrl = `https://127.0.0.1:${base}`;
  const provider: TestProvider = await startOidcProvider({
    port: base + 2,
    // Port 1 refuses connections: where the "misbehaving provider" test's callbacks end.
    clients: [{ client_id: 'brainstack', client_secret: 'corp-client-secret', redirect_uris: [`${ticketUrl}/sso/corp/callback`, `${ticketUrl}/sso/strict/callback`, 'https://127.0.0.1:1/sso/corp/callback'] }],
    accounts: {
      'u-alice': { username: 'alice', email: 'alice@corp.example', groups: ['engineering', 'ghosts'], amr: ['pwd', 'otp'] },
      'u-bob': { username: 'bob', email: 'bob@corp.example', groups: ['admins'] },
      'u-mallory': { username: 'mallory', email: 'mallory@corp.example', groups: ['contractors'] },
      'u-local': { username: 'carol', email: 'carol@corp.example', groups: ['engineering'] },
    },
  });
  t.teardown(() => provider.close());
  const home = await createTestHome({
    fakeClock: true,
    files: { 'corp.secret': 'corp-client-secret\n', 'corp-ca.pem': provider.caPem },
    settings: {
      public_url: ticketUrl,
      listen: `127.0.0.1:${base}`,
      internal_listen: `127.0.0.1:${base + 1}`,
      // "strict" is the same provider, but demands a hardware-key login (amr "hwk"); its client
      // secret is sealed in the database (admin sso set-secret) instead of a file.
      sso: { revalidate_after: 60, providers: [providerSettings(provider.issuer), { ...providerSettings(provider.issuer), name: 'strict', display_name: 'Strict SSO', required_amr: ['hwk'], client_secret_file: undefined }] },
    },
  });
  t.teardown(home.cleanup);
  const { services } = home;
  await services.rbac.create('staff', ['assistant:notes'], 'test');
  await services.rbac.create('ops', ['assistant:ops'], 'test');
  await services.rbac.create('contractor', ['assistant:search'], 'test');
  // A local user called carol exists already: an upstream account named carol must not take it over.
  await services.accounts.create('carol', STRONG_PASSWORD, 'test', ['contractor']);
  const running = await startTicketService(services);
  t.teardown(() => running.close());
  const app = running.publicApp;

  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  t.teardown(() => browser.close());
  const newPage = async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    // The provider's page imports a web font; there is no internet here.
    await context.route(/fonts\.googleapis\.com/, (route) => route.abort());
    return context.newPage();
  };

  /** Logs in through the portal's "Log in with Corp SSO" button; returns the page on the portal. */
  const ssoLogin = async (accountId: string): Promise<Page> => {
    const page = await newPage();
    await page.goto(`${ticketUrl}/`);
    await page.getByRole('link', { name: 'Log in with Corp SSO' }).click();
    await providerLogin(page, accountId);
    return page;
  };
  const userByName = (name: string) => services.database.db.selectFrom('users').selectAll().where('username', '=', name).executeTakeFirst();
  const auditRows = async (event: string) => (await services.database.db.selectFrom('audit_log').selectAll().where('event', '=', event).orderBy('seq').execute()).map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
  const refresh = (token: string) => app.inject({ method: 'POST', url: '/oauth/token', payload: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  let aliceRefresh = '';
  let alicePage: Page;
  await t.test('first login creates the user, linked by issuer and subject, with roles from the groups', async (t) => {
    const page = await ssoLogin('u-alice');
    await page.locator('#devices-section').waitFor({ state: 'visible' });
    t.equal(await page.locator('#whoami').textContent(), 'alice', 'the portal shows the user signed in through the provider');
    await page.screenshot({ path: `${ARTIFACTS}/1-signed-in.png`, fullPage: true });
    const user = await userByName('alice');
    t.ok(user, 'user alice was created');
    t.equal(user?.password_hash, null, 'an SSO user has no local password');
    const identity = await services.database.db.selectFrom('user_identities').selectAll().where('user_id', '=', user?.id as string).executeTakeFirstOrThrow();
    t.match(identity, { provider: 'corp', issuer: provider.issuer, subject: 'u-alice' });
    t.not(identity.upstream_refresh_sealed, null, 'the upstream refresh token is kept, sealed');
    t.notMatch(identity.upstream_refresh_sealed as string, /^[A-Za-z0-9_-]{20,}$/, 'and not in plain text');
    const roles = await services.database.db.selectFrom('user_roles').innerJoin('roles', 'roles.id', 'user_roles.role_id').select(['roles.name', 'user_roles.source']).where('user_id', '=', user?.id as string).execute();
    t.same(roles, [{ name: 'staff', source: 'sso:corp' }], 'engineering → staff, marked as given by the provider');
    const login = (await auditRows('login')).filter((r) => r.details.method === 'sso').at(-1);
    t.match(login, { outcome: 'success', subject: 'alice', details: { provider: 'corp', sub: 'u-alice' } }, 'the audit log records the provider and subject');
    t.ok(login && 'amr' in login.details && 'acr' in login.details, 'and the amr and acr the provider reported');
    const synced = (await auditRows('sso.roles_synced')).at(-1);
    t.same(synced?.details.unknown_roles, ['no-such-role'], 'a mapping to a role that does not exist is reported, not fatal');

    // A device from the portal's session, and its refresh token for the re-validation tests.
    const registered = (await page.evaluate(`fetch('/api/v1/devices', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'alice-laptop', publicKey: ${JSON.stringify(generateWireGuardKeyPair().publicKey)} }) }).then((r) => r.json())`)) as { refresh_token: string; id: string };
    t.ok(registered.refresh_token, 'the SSO user registers a device');
    aliceRefresh = registered.refresh_token;
    alicePage = page;
  });

  await t.test('roles follow the groups at every login; locally granted roles stay', async (t) => {
    await services.rbac.assign('alice', 'contractor', 'admin');
    provider.setAccount('u-alice', { username: 'alice', email: 'alice@corp.example', groups: ['admins'] });
    const page = await ssoLogin('u-alice');
    await page.locator('#devices-section').waitFor({ state: 'visible' });
    const user = await userByName('alice');
    const roles = await services.database.db.selectFrom('user_roles').innerJoin('roles', 'roles.id', 'user_roles.role_id').select(['roles.name', 'user_roles.source']).where('user_id', '=', user?.id as string).orderBy('roles.name').execute();
    t.same(roles, [{ name: 'contractor', source: 'local' }, { name: 'ops', source: 'sso:corp' }], 'staff left with the engineering group, ops came with admins, the local role stayed');
    t.equal((await services.database.db.selectFrom('users').select('id').where('username', 'like', 'alice%').execute()).length, 1, 'the same account, not a second one');
    await page.context().close();
  });

  await t.test('operators see linked accounts and role sources; an operator grant makes a role local', async (t) => {
    const listed = await admin(home.dir, ['sso', 'list', '--json']);
    t.equal(listed.code, 0, listed.stderr);
    t.match(JSON.parse(listed.stdout), [{ name: 'corp', issuer: provider.issuer, allowed_groups: ['engineering', 'admins'], accounts: 1 }, { name: 'strict', accounts: 0 }]);
    await services.rbac.assign('alice', 'ops', 'admin');
    const shown = await admin(home.dir, ['users', 'show', 'alice', '--json']);
    t.equal(shown.code, 0, shown.stderr);
    const user = JSON.parse(shown.stdout) as { role_sources: unknown; identities: unknown };
    t.same(user.role_sources, [{ role: 'contractor', source: 'local' }, { role: 'ops', source: 'local' }], 'ops was given by the provider, then granted by an operator: now local');
    t.match(user.identities, [{ provider: 'corp', subject: 'u-alice', groups: ['admins'], upstream_refresh: true }]);
    const text = await admin(home.dir, ['users', 'show', 'alice']);
    t.match(text.stdout, /sso: +corp:u-alice groups=\[admins\]/);
    const badSecret = await admin(home.dir, ['sso', 'set-secret', 'nope'], 'x');
    t.equal(badSecret.code, 3, 'not found: exit 3');
    t.match(badSecret.stderr, /no single sign-on provider named 'nope' \(sso_provider_not_found\)/);
    await services.rbac.unassign('alice', 'ops', 'admin');
  });

  await t.test('an upstream account is never linked to a local user by name', async (t) => {
    const page = await ssoLogin('u-local');
    await page.locator('#devices-section').waitFor({ state: 'visible' });
    t.equal(await page.locator('#whoami').textContent(), 'carol-2', 'a new user with a free name, not the local carol');
    const local = await userByName('carol');
    t.equal((await services.database.db.selectFrom('user_identities').select('id').where('user_id', '=', local?.id as string).execute()).length, 0);
    await page.context().close();
  });

  await t.test('someone outside the allowed groups is refused with a clear page', async (t) => {
    const page = await ssoLogin('u-mallory');
    await page.locator('#error').waitFor();
    t.equal(await page.locator('#error').getAttribute('data-code'), 'sso_access_denied');
    t.match(await page.locator('#error').textContent(), /not allowed to use this service/);
    t.notOk(await userByName('mallory'), 'no user was created');
    const failure = (await auditRows('login')).filter((r) => r.outcome === 'failure').at(-1);
    t.match(failure?.details, { method: 'sso', reason: 'not_in_allowed_group', groups: ['contractors'] }, 'the audit log has the precise reason');
    await page.screenshot({ path: `${ARTIFACTS}/2-refused.png`, fullPage: true });
    await page.context().close();
  });

  await t.test("a provider configured to require MFA refuses a login without the required amr", async (t) => {
    const stored = await admin(home.dir, ['sso', 'set-secret', 'strict'], 'corp-client-secret\n');
    t.equal(stored.code, 0, stored.stderr);
    const row = await services.database.db.selectFrom('server_settings').select('value').where('name', '=', 'sso.strict.client_secret').executeTakeFirstOrThrow();
    t.match(row.value, /^bs1:/, 'the client secret is sealed in the database');
    const page = await newPage();
    await page.goto(`${ticketUrl}/`);
    await page.getByRole('link', { name: 'Log in with Strict SSO' }).click();
    await providerLogin(page, 'u-bob');
    await page.locator('#error').waitFor();
    t.equal(await page.locator('#error').getAttribute('data-code'), 'sso_access_denied');
    t.match((await auditRows('login')).at(-1)?.details, { provider: 'strict', reason: 'required_amr_missing', required: ['hwk'] }, 'the code exchange with the sealed secret worked; the amr check refused');
    await page.context().close();
  });

  await t.test('wrong state, a state from another browser, a replayed callback and a replayed code are refused', async (t) => {
    const wrong = await app.inject({ method: 'GET', url: '/sso/corp/callback?code=abc&state=not-the-state' });
    t.equal(wrong.statusCode, 400);
    t.match(wrong.body, /data-code="sso_failed"/);
    t.equal((await auditRows('login')).at(-1)?.details.reason, 'unknown_or_used_state');

    // A login started in one browser cannot be finished in another (login CSRF).
    const started = await app.inject({ method: 'GET', url: '/sso/corp/login' });
    t.equal(started.statusCode, 302);
    const authorize = new URL(started.headers.location as string);
    t.equal(authorize.origin, provider.issuer, 'the login redirects to the provider');
    t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'with PKCE');
    t.ok(authorize.searchParams.get('nonce'), 'and a nonce');
    t.equal(authorize.searchParams.get('redirect_uri'), `${ticketUrl}/sso/corp/callback`, 'and the exact redirect URI');
    const otherBrowser = await app.inject({ method: 'GET', url: `/sso/corp/callback?code=abc&state=${authorize.searchParams.get('state')}`, cookies: { '__Host-brainstack-sso': 'another-browser' } });
    t.equal(otherBrowser.statusCode, 400);
    t.equal((await auditRows('login')).at(-1)?.details.reason, 'state_from_another_browser');

    // Capture a real callback (code + state) in the browser, then replay it.
    const page = await newPage();
    let callback = '';
    page.on('request', (r) => {
      if (r.url().includes('/sso/corp/callback')) callback = r.url();
    });
    await page.goto(`${ticketUrl}/`);
    await page.getByRole('link', { name: 'Log in with Corp SSO' }).click();
    await providerLogin(page, 'u-bob');
    await page.locator('#devices-section').waitFor({ state: 'visible' });
    t.ok(callback, 'the callback was seen');
    const replay = (await page.evaluate(`fetch(${JSON.stringify(callback)}).then(async (r) => ({ status: r.status, body: await r.text() }))`)) as { status: number; body: string };
    t.equal(replay.status, 400, 'the same callback a second time is refused');
    t.match(replay.body, /sso_failed/);
    // The code with a fresh state of this browser: the provider refuses the used code (and the PKCE verifier does not match).
    const fresh = await app.inject({ method: 'GET', url: '/sso/corp/login' });
    const freshState = new URL(fresh.headers.location as string).searchParams.get('state') as string;
    const binding = fresh.cookies.find((c) => c.name === '__Host-brainstack-sso')?.value as string;
    const code = new URL(callback).searchParams.get('code') as string;
    const replayedCode = await app.inject({ method: 'GET', url: `/sso/corp/callback?code=${encodeURIComponent(code)}&state=${freshState}&iss=${encodeURIComponent(provider.issuer)}`, cookies: { '__Host-brainstack-sso': binding } });
    t.equal(replayedCode.statusCode, 400);
    t.match((await auditRows('login')).at(-1)?.details, { reason: 'code_exchange_failed', error: 'invalid_grant' }, 'the provider refused the replayed code');
    await page.context().close();
  });

  await t.test('ID tokens with a wrong nonce, issuer, audience or signature are refused', async (t) => {
    const dispatcher = new Agent({ connect: { ca: provider.caPem } });
    const providerKey = await importJWK(provider.signingKey as Parameters<typeof importJWK>[0], 'ES256');
    const strangerKey = (await generateKeyPair('ES256')).privateKey;
    let tamper: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
    let signWith: Parameters<SignJWT['sign']>[0] = providerKey;
    // A provider that misbehaves: the real one's token response with its ID token rewritten and re-signed.
    const tamperingFetch = (async (url: string, options: { method: string; headers: Record<string, string>; body?: unknown }) => {
      const response = await undiciFetch(url, { method: options.method, headers: options.headers, body: options.body as string | undefined, dispatcher });
      if (!url.endsWith('/token') || !tamper) return response;
      const body = (await response.json()) as Record<string, unknown>;
      const claims = tamper(decodeJwt(body.id_token as string));
      body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'test-provider-1' }).sign(signWith);
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as unknown as CustomFetch;
    const config = providerSettings(provider.issuer);
    const sso = new SingleSignOn([config], services.database.db, services.keyring, services.audit, pino({ level: 'silent' }), async () => undefined, { dir: home.dir, publicUrl: 'https://127.0.0.1:1', loginTimeoutMs: 600_000, revalidateAfterMs: 60_000, now: () => home.clock.now, fetch: tamperingFetch });

    const page = await newPage();
    let captured = '';
    // The browser's trip ends at a callback nobody answers; the test hands it to the tampered client.
    page.on('request', (r) => {
      if (r.url().startsWith('https://127.0.0.1:1/')) captured = r.url();
    });
    const cases: Array<[string, (c: Record<string, unknown>) => Record<string, unknown>, boolean]> = [
      ['nonce', (c) => ({ ...c, nonce: 'a-different-nonce' }), false],
      ['issuer', (c) => ({ ...c, iss: 'https://evil.example' }), false],
      ['audience', (c) => ({ ...c, aud: 'another-client' }), false],
      ['signature', (c) => c, true],
    ];
    for (const [what, rewrite, foreignKey] of cases) {
      tamper = rewrite;
      signWith = foreignKey ? strangerKey : providerKey;
      const { authorizationUrl, binding } = await sso.begin('corp', '/');
      captured = '';
      await page.goto(authorizationUrl).catch(() => undefined);
      if (await page.locator('input[name="login"]').isVisible().catch(() => false)) await providerLogin(page, 'u-bob');
      for (let i = 0; i < 100 && !captured; i += 1) await new Promise((r) => setTimeout(r, 50));
      t.ok(captured, `${what}: the provider sent the browser back`);
      const error = await sso.complete('corp', new URL(captured), binding, '127.0.0.1').then(() => undefined, (err: unknown) => err);
      t.ok(error instanceof BrainstackError && error.code === 'sso_failed', `an ID token with a wrong ${what} is refused (sso_failed)`);
      const reason = (await auditRows('login')).at(-1)?.details;
      t.match(reason, { reason: 'code_exchange_failed' }, `${what}: the audit log says why`);
    }
    await page.context().close();
  });

  await t.test('with create_users off, only accounts already linked may sign in', async (t) => {
    const closed = new SingleSignOn([{ ...providerSettings(provider.issuer), create_users: false }], services.database.db, services.keyring, services.audit, pino({ level: 'silent' }), async () => undefined, { dir: home.dir, publicUrl: 'https://127.0.0.1:1', loginTimeoutMs: 600_000, revalidateAfterMs: 60_000, now: () => home.clock.now });
    provider.setAccount('u-newbie', { username: 'newbie', email: 'newbie@corp.example', groups: ['engineering'] });
    const signIn = async (accountId: string) => {
      const page = await newPage();
      let captured = '';
      page.on('request', (r) => {
        if (r.url().startsWith('https://127.0.0.1:1/')) captured = r.url();
      });
      const { authorizationUrl, binding } = await closed.begin('corp', '/');
      await page.goto(authorizationUrl).catch(() => undefined);
      await providerLogin(page, accountId);
      for (let i = 0; i < 100 && !captured; i += 1) await new Promise((r) => setTimeout(r, 50));
      await page.context().close();
      return closed.complete('corp', new URL(captured), binding, '127.0.0.1').then((r) => r.username, (err: unknown) => err);
    };
    const refused = await signIn('u-newbie');
    t.ok(refused instanceof BrainstackError && refused.code === 'sso_access_denied', 'an unknown account is refused');
    t.equal((await auditRows('login')).at(-1)?.details.reason, 'unknown_user_not_created');
    t.notOk(await userByName('newbie'), 'and no user is created');
    t.equal(await signIn('u-bob'), 'bob', 'an account linked before still signs in');
  });

  await t.test('re-validation: the upstream refresh token keeps a device going; removal upstream revokes the user', async (t) => {
    const first = await refresh(aliceRefresh);
    t.equal(first.statusCode, 200, 'a fresh SSO account refreshes');
    home.clock.advance(61_000);
    const second = await refresh(first.json().refresh_token);
    t.equal(second.statusCode, 200, `after revalidate_after the provider confirms the account and the refresh goes on: ${second.body}`);
    t.equal((await auditRows('sso.revalidation')).at(-1)?.outcome, 'success');

    provider.setAccount('u-alice', { username: 'alice', email: 'alice@corp.example', groups: ['sales'] });
    home.clock.advance(61_000);
    const report = await services.sso.revalidateDue();
    t.match(report, { revoked: 1 }, 'the sweep finds alice outside the allowed groups');
    const alice = await userByName('alice');
    t.not(alice?.disabled_at, null, 'the account is disabled');
    const devices = await services.devices.list(alice?.id as string, { includeInactive: true });
    t.ok(devices.length > 0 && devices.every((d) => d.state === 'revoked'), 'every device is revoked (its peer leaves the interface)');
    const revocation = await services.database.db.selectFrom('revocations').selectAll().where('kind', '=', 'user').where('value', '=', alice?.id as string).executeTakeFirst();
    t.ok(revocation, 'guards get a user revocation: every token issued before now is refused');
    t.equal((await refresh(second.json().refresh_token)).statusCode, 400, 'the refresh token is dead');
    const me = (await alicePage.evaluate(`fetch('/api/v1/me').then((r) => r.status)`)) as number;
    t.equal(me, 401, "the portal session ended too");
    const page = await ssoLogin('u-alice');
    await page.locator('#error').waitFor();
    t.equal(await page.locator('#error').getAttribute('data-code'), 'sso_access_denied', 'and the next login is refused');
    await page.context().close();
  });

  await t.test('an account deleted upstream is revoked at the next refresh; without an upstream refresh token a new login is required', async (t) => {
    const bob = await userByName('bob');
    const registered = await services.devices.register({ id: bob?.id as string, username: 'bob' }, { name: 'bob-phone', publicKey: generateWireGuardKeyPair().publicKey });
    provider.setAccount('u-bob', undefined);
    home.clock.advance(61_000);
    const refused = await refresh(registered.refreshToken);
    t.equal(refused.statusCode, 400);
    t.equal(refused.json().error, 'invalid_grant', 'RFC 6749 error');
    t.match(refused.json().error_description, /no longer allowed/);
    t.not((await userByName('bob'))?.disabled_at, null, 'bob is revoked');

    // An identity without an upstream refresh token: after revalidate_after the device must log in again.
    const carol2 = await userByName('carol-2');
    await services.database.db.updateTable('user_identities').set({ upstream_refresh_sealed: null }).where('user_id', '=', carol2?.id as string).execute();
    const device = await services.devices.register({ id: carol2?.id as string, username: 'carol-2' }, { name: 'carol-pc', publicKey: generateWireGuardKeyPair().publicKey });
    home.clock.advance(61_000);
    const stale = await refresh(device.refreshToken);
    t.equal(stale.statusCode, 400);
    t.match(stale.json().error_description, /sign in again through 'corp'/);
    t.equal((await userByName('carol-2'))?.disabled_at, null, 'not revoked: only asked to sign in again');

    // A provider dropped from the configuration (or renamed by mistake) revokes nobody.
    const withoutProviders = new SingleSignOn([], services.database.db, services.keyring, services.audit, pino({ level: 'silent' }), async () => {
      throw new Error('must not revoke');
    }, { dir: home.dir, publicUrl: ticketUrl, loginTimeoutMs: 600_000, revalidateAfterMs: 60_000, now: () => home.clock.now });
    const identity = await services.database.db.selectFrom('user_identities').select('id').where('user_id', '=', carol2?.id as string).executeTakeFirstOrThrow();
    t.equal(await withoutProviders.revalidate(identity.id), 'login_required', 'its accounts must sign in again');
    t.same(await withoutProviders.revalidateDue(), { checked: 0, revoked: 0 }, 'and the sweep leaves them alone');
  });
});
