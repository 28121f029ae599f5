import t from 'tap';
import { mkdirSync, readFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { decodeJwt } from 'jose';
import { createTestHome, STRONG_PASSWORD } from './helpers/home.js';
import { wgPubkey } from './helpers/wireguard.js';
import { startTicketService } from '../src/ticket/server.js';
import { currentTotpCode } from '../src/auth/totp.js';

const ARTIFACTS = 'test-artifacts/portal';
/** A page expression: the image has loaded and has pixels. */
const imageRendered = (selector: string) => `(() => { const img = document.querySelector(${JSON.stringify(selector)}); return Boolean(img && img.complete && img.naturalWidth > 0); })()`;

t.test('the portal in a real browser: TOTP enrolment, login, add a device with a browser-made key, download, token, revoke, CSRF and CSP', { skip: existsSync('/usr/bin/chromium') ? false : 'Debian chromium is not installed', timeout: 180_000 }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = 28000 + Math.floor(Math.random() * 1500) * 2;
  const base = `https://127.0.0.1:${port}`;
  const home = await createTestHome({ settings: { public_url: base, listen: `127.0.0.1:${port}`, internal_listen: `127.0.0.1:${port + 1}`, login: { require_totp: true } } });
  t.teardown(home.cleanup);
  const { services } = home;
  await services.rbac.create('staff', ['assistant:notes'], 'test');
  await services.accounts.create('pia', STRONG_PASSWORD, 'test', ['staff']);
  const running = await startTicketService(services);
  t.teardown(() => running.close());

  const browser: Browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  t.teardown(() => browser.close());
  const context = await browser.newContext({ ignoreHTTPSErrors: true, acceptDownloads: true, viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  const sent: Array<{ url: string; body: string }> = [];
  page.on('request', (r) => sent.push({ url: r.url(), body: r.postData() ?? '' }));
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('dialog', (d) => void d.accept());

  const first = await page.goto(`${base}/`);
  const csp = first?.headers()['content-security-policy'] ?? '';
  t.match(csp, /script-src 'self'/, 'strict CSP: scripts from this origin only');
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script, no eval');
  await page.screenshot({ path: `${ARTIFACTS}/1-login.png`, fullPage: true });
  t.equal(await page.getByRole('button', { name: 'Log out' }).isVisible(), false, 'no log-out button before logging in');

  // A wrong password gets a clear message.
  await page.getByLabel('Username').fill('pia');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('Wrong username, password or code.').waitFor();

  // First login: the server requires TOTP, so the portal walks through enrolment.
  await page.getByLabel('Password').fill(STRONG_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#enrol-section').waitFor({ state: 'visible' });
  t.ok(await page.evaluate(imageRendered('#enrol-qr')), 'the enrolment QR code is rendered in the page');
  await page.screenshot({ path: `${ARTIFACTS}/2-enrol-totp.png`, fullPage: true });
  const secret = (await page.locator('#enrol-secret').textContent()) as string;
  await page.getByLabel('Code', { exact: true }).fill(currentTotpCode(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.locator('#devices-section').waitFor({ state: 'visible' });

  // Log out, log in again with password and then the TOTP step.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByText('Logged out.').waitFor();
  await page.getByLabel('Username').fill('pia');
  await page.getByLabel('Password').fill(STRONG_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Code from your authenticator app').waitFor();
  await page.screenshot({ path: `${ARTIFACTS}/3-totp-step.png`, fullPage: true });
  await page.getByLabel('Code from your authenticator app').fill(currentTotpCode(secret, Date.now() + 30_000));
  await page.keyboard.press('Enter');
  await page.locator('#devices-section').waitFor({ state: 'visible' });

  // Add a device: the key pair is made in the browser, only the public key is sent.
  await page.getByLabel('Device name').fill('pia phone');
  await page.getByRole('button', { name: 'Create key and config' }).click();
  await page.locator('#new-device').waitFor({ state: 'visible' });
  t.match(await page.locator('#new-device').textContent(), /exists only in this download/, 'the page says where the key lives');
  t.ok(await page.evaluate(imageRendered('#config-qr')), 'the config QR code is rendered in the page');
  await page.screenshot({ path: `${ARTIFACTS}/4-device-added.png`, fullPage: true });
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download the WireGuard config' }).click()]);
  t.equal(download.suggestedFilename(), 'bs-pia-phone.conf');
  const config = readFileSync((await download.path()) as string, 'utf8');
  t.match(config, /^\[Interface\]$/m);
  t.match(config, /^\[Peer\]$/m);
  t.match(config, /^Address = 10\.8\.0\.2\/32$/m);
  const privateKey = /^PrivateKey = ([A-Za-z0-9+/]{43}=)$/m.exec(config)?.[1] as string;
  t.ok(privateKey, 'the download carries the private key');
  const [record] = await services.devices.list(undefined);
  t.equal(wgPubkey(privateKey), record?.public_key, "its public key equals the server's record");
  t.notOk(sent.some((r) => r.url.includes(privateKey) || r.body.includes(privateKey) || r.url.includes(encodeURIComponent(privateKey))), 'no request the page sent contains the private key');

  // Copy an access token for the device.
  await page.getByRole('button', { name: 'Copy an access token for pia phone' }).click();
  await page.locator('#token-box').waitFor({ state: 'visible' });
  const token = await page.locator('#token-text').inputValue();
  t.match(decodeJwt(token), { device: record?.id, scope: 'assistant:notes' });
  await page.screenshot({ path: `${ARTIFACTS}/5-token.png`, fullPage: true });

  // CSRF: the same cookie from another origin is refused; CSP blocks injected inline script.
  const cookies = await context.cookies();
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const forged = await page.request.post(`${base}/api/v1/devices`, { headers: { origin: 'https://evil.example', cookie, 'content-type': 'application/json' }, data: { name: 'evil' } });
  t.equal(forged.status(), 403, 'a cross-site POST with the session cookie is refused');
  t.equal((await forged.json()).code, 'csrf_failed');
  // Runs in the page (a string: this file is compiled without DOM types).
  const injected = await page.evaluate(`(() => { const s = document.createElement('script'); s.textContent = 'window.__pwned = true'; document.body.append(s); return window.__pwned === true; })()`);
  t.equal(injected, false, 'an injected inline script does not run');

  // Revoke the device.
  await page.getByRole('button', { name: 'Revoke pia phone' }).click();
  await page.getByText('pia phone revoked: its tunnel is cut.').waitFor();
  t.equal((await services.devices.get(record?.id as string)).state, 'revoked');
  t.equal(await page.locator('#device-rows tr').count(), 0);
  await page.screenshot({ path: `${ARTIFACTS}/6-revoked.png`, fullPage: true });

  // An expired session says so.
  await services.sessions.destroyAllFor((await services.accounts.require('pia')).id);
  await page.getByLabel('Device name').fill('laptop');
  await page.getByRole('button', { name: 'Create key and config' }).click();
  await page.getByText('Your session has ended; log in again.').waitFor();
  t.ok(await page.locator('#login-section').isVisible(), 'back to the login form');
  await page.screenshot({ path: `${ARTIFACTS}/7-session-ended.png`, fullPage: true });
  t.ok(consoleLines.some((l) => /Content Security Policy/i.test(l)), 'the browser reported the blocked inline script');
});
