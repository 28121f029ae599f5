import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from '../src/config/config.js';
import { BrainstackError } from '../src/errors.js';

t.test('an empty config gets the documented defaults', async (t) => {
  const config = parseConfig({});
  t.equal(config.listen, '0.0.0.0:8443');
  t.equal(config.internal_listen, '127.0.0.1:8444', 'the internal listener is loopback by default');
  t.equal(config.database.url, 'sqlite:brainstack.db');
  t.equal(config.trust_proxy, false, 'trustProxy is off unless configured');
  t.equal(config.tokens.lifetime, 600);
  t.equal(config.wireguard.interface, undefined, 'no interface: config-only mode');
});

t.test('bad keys are refused with a message naming each of them', async (t) => {
  const err = t.throws(() => parseConfig({ listen: 'nonsense', login: { requre_totp: true }, tokens: { lifetime: 3600 } })) as BrainstackError;
  t.equal(err.code, 'config_invalid');
  t.match(err.message, /'listen'/);
  t.match(err.message, /unknown key 'login\.requre_totp'/);
  t.match(err.message, /'tokens\.lifetime' must be <= 900/);
  t.throws(() => parseConfig({ http: { request_timeout: 5, headers_timeout: 10 } }), /headers_timeout' must not exceed/);
  t.throws(() => parseConfig({ database: { url: 'mysql://x' } }), /database\.url/);
});

t.test('environment variables override the file, named after the key', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'brainstack-config-'));
  writeFileSync(join(dir, 'brainstack.json'), JSON.stringify({ public_url: 'https://file.example', login: { require_totp: false } }));
  const { config } = loadConfig(dir, { BRAINSTACK_PUBLIC_URL: 'https://env.example', BRAINSTACK_LOGIN__REQUIRE_TOTP: 'true', BRAINSTACK_DATABASE_URL: 'postgres://u@h/db', BRAINSTACK_WIREGUARD__DNS: '["10.8.0.1"]' });
  t.equal(config.public_url, 'https://env.example');
  t.equal(config.login.require_totp, true);
  t.equal(config.database.url, 'postgres://u@h/db');
  t.same(config.wireguard.dns, ['10.8.0.1']);
  t.throws(() => loadConfig(dir, { BRAINSTACK_LOGIN__NO_SUCH: '1' }), /unknown key 'login\.no_such'/);
  t.throws(() => loadConfig(dir, { BRAINSTACK_TOKENS__LIFETIME: 'ten' }), /'tokens\.lifetime' must be integer/);
});

t.test('a missing or broken config file says what to do', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'brainstack-config-'));
  const missing = t.throws(() => loadConfig(dir, {})) as BrainstackError;
  t.equal(missing.code, 'home_missing');
  t.match(missing.message, /brainstack init/);
  writeFileSync(join(dir, 'brainstack.json'), '{ not json');
  t.throws(() => loadConfig(dir, {}), { code: 'config_invalid', message: /not valid JSON/ });
});
