import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { chromium } from 'playwright-core';
import { createLabHome, curl, startLab, startServeAndNotes, waitForOutput } from './helpers/lab.js';
import { wireguardAvailable } from './helpers/wireguard.js';
import { ACCOUNTS_FILE, CLIENTS_FILE, type TestAccount } from './helpers/oidc-provider.js';
import { loadConfig } from '../src/config/config.js';
import { openServices } from '../src/home/services.js';

const BIN = join(process.cwd(), 'bin', 'brainstack.js');
const PROVIDER_SCRIPT = fileURLToPath(new URL('./helpers/oidc-provider.js', import.meta.url));

const wg = wireguardAvailable();
const skip = !wg.ok ? wg.why : existsSync('/usr/bin/chromium') ? false : 'Debian chromium is not installed';

t.test('device-code login from a terminal, approved through single sign-on in a browser, then a call over the tunnel; removal upstream cuts the tunnel', { skip, timeout: 240_000 }, async (t) => {
  const lab = startLab();
  t.teardown(() => lab.down());
  const port = 17000 + Math.floor(Math.random() * 400) * 4;
  const providerPort = port + 2;
  const gatewayIp = lab.env.LAB_GATEWAY_IP as string;
  const feedHost = lab.env.LAB_PRIVATE_GW_IP as string;
  const work = mkdtempSync(join(tmpdir(), 'brainstack-sso-e2e-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const ticketUrl = `https://${gatewayIp}:${port}`;
  const issuer = `https://${gatewayIp}:${providerPort}`;
  const erin: TestAccount = { username: 'erin', email: 'erin@corp.example', groups: ['engineering'] };
  writeFileSync(join(work, ACCOUNTS_FILE), JSON.stringify({ 'u-erin': erin }));
  writeFileSync(join(work, CLIENTS_FILE), JSON.stringify([{ client_id: 'brainstack', client_secret: 'lab-client-secret', redirect_uris: [`${ticketUrl}/sso/corp/callback`] }]));
  writeFileSync(join(work, 'client.secret'), 'lab-client-secret\n', { mode: 0o600 });

  // The company's identity provider, reachable from the user's side and from the ticket service.
  const providerProcess = lab.spawn(lab.env.LAB_GATEWAY_NS as string, process.execPath, [PROVIDER_SCRIPT, work, gatewayIp, String(providerPort)]);
  await waitForOutput(providerProcess, /oidc provider listening/);

  const home = await createLabHome(lab, port, {
    internal_listen: `${feedHost}:${port + 1}`,
    sso: {
      revalidate_after: 10,
      sweep_interval: 1,
      providers: [{ name: 'corp', display_name: 'Corp SSO', issuer, client_id: 'brainstack', client_secret_file: join(work, 'client.secret'), ca_file: join(work, 'ca.pem'), scopes: ['openid', 'profile', 'email', 'groups'], group_roles: { engineering: ['staff'] }, allowed_groups: ['engineering'] }],
    },
  });
  t.teardown(home.cleanup);
  const credentialFile = join(home.dir, 'guard.credential');
  {
    const services = await openServices(loadConfig(home.dir, {}), { logger: pino({ level: 'silent' }), env: {} });
    await services.rbac.create('staff', ['assistant:notes'], 'test');
    writeFileSync(credentialFile, `${await services.guards.add('notes', 'test')}\n`, { mode: 0o600 });
    await services.close();
  }
  const { server } = await startServeAndNotes(lab, home, { port, feedHost, credentialFile });
  const privateIp = lab.env.LAB_PRIVATE_IP as string;

  // The terminal: `brainstack login --device-code` in the user's namespace.
  const cli = lab.env.LAB_CLIENT_NS as string;
  const env = { BRAINSTACK_CLIENT_DIR: join(work, 'client') };
  const bs = (args: string[]) => lab.exec(cli, process.execPath, [BIN, ...args], { env });
  const login = lab.spawn(cli, process.execPath, [BIN, 'login', '--server', home.url, '--ca', join(home.dir, 'tls', 'cert.pem'), '--device-code', '--device', 'erin-terminal'], env);
  const prompt = await waitForOutput(login, /\(or open (\S+)\)/);
  const userCode = /enter the code ([A-Z]{4}-[A-Z]{4})/.exec(prompt)?.[1] as string;
  const approvalUrl = /\(or open (\S+)\)/.exec(prompt)?.[1] as string;
  t.equal(approvalUrl, `${home.url}/device?user_code=${userCode}`, 'the terminal shows the code and where to approve it');
  const finished = new Promise<number | null>((resolve) => login.on('exit', resolve));
  let loginOutput = prompt;
  login.stdout?.on('data', (c: Buffer) => (loginOutput += c.toString()));

  // The browser, on the user's side too: a wrapper runs Debian's chromium inside the namespace.
  const wrapper = join(work, 'chromium-in-namespace');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${cli} /usr/bin/chromium "$@"\n`, { mode: 0o755 });
  const browser = await chromium.launch({ executablePath: wrapper, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  await context.route(/fonts\.googleapis\.com/, (route) => route.abort());
  const page = await context.newPage();
  await page.goto(approvalUrl);
  await page.getByRole('link', { name: 'Log in with Corp SSO' }).click();
  await page.locator('input[name="login"]').fill('u-erin');
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.locator('#approve-details').waitFor({ state: 'visible' });
  t.equal(await page.locator('#approve-device').textContent(), 'erin-terminal', 'back from the provider, the approval page shows the terminal');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.getByText('Approved: your terminal continues by itself.').waitFor();

  t.equal(await finished, 0, `the terminal finishes the login: ${loginOutput}`);
  t.match(loginOutput, /logged in as erin; device 'erin-terminal' registered with tunnel address 10\.8\.0\.\d+/);
  const up = bs(['up']);
  t.equal(up.status, 0, up.stderr);
  const token = bs(['token', '--scope', 'assistant:notes']);
  t.equal(token.status, 0, token.stderr);
  const call = curl(lab, cli, ['-H', `Authorization: Bearer ${token.stdout.trim()}`, `http://${privateIp}:8080/`], 5);
  t.equal(call.status, 200, 'the call to the assistant over the tunnel succeeds');
  t.match(call.body, /^notes for [0-9a-f-]{36}$/);

  // Upstream, erin leaves the allowed group: the next re-validation revokes her, tunnel included.
  writeFileSync(join(work, ACCOUNTS_FILE), JSON.stringify({ 'u-erin': { ...erin, groups: ['former-staff'] } }));
  let cut = false;
  for (let i = 0; i < 60 && !cut; i += 1) {
    await new Promise((r) => setTimeout(r, 500));
    const peers = lab.exec(lab.env.LAB_GATEWAY_NS as string, 'wg', ['show', lab.env.LAB_WG_INTERFACE as string, 'peers']).stdout.trim();
    cut = peers === '';
  }
  t.ok(cut, "within revalidate_after + a sweep, erin's peer is gone from the interface");
  const after = curl(lab, cli, ['-H', `Authorization: Bearer ${token.stdout.trim()}`, `http://${privateIp}:8080/`], 3);
  t.notOk(after.ok, 'the tunnel no longer carries her calls');
  const state = JSON.parse(readFileSync(join(work, 'client', 'client.json'), 'utf8')) as { refreshToken: string };
  const refresh = curl(lab, cli, ['-X', 'POST', '--data-urlencode', 'grant_type=refresh_token', '--data-urlencode', `refresh_token=${state.refreshToken}`, `${home.url}/oauth/token`]);
  t.equal(refresh.status, 400, 'and the terminal gets no new token');
  t.equal(JSON.parse(refresh.body).error, 'invalid_grant');
  bs(['down']);
  server.kill('SIGTERM');
});
