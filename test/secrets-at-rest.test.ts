import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import pg from 'pg';
import { sql } from 'kysely';
import { createTestApp, createTestHome, sessionCookie, STRONG_PASSWORD, testDialects } from './helpers/home.js';
import { openText } from '../src/crypto/seal.js';
import { WG_PRIVATE_SETTING } from '../src/home/init.js';
import { currentTotpCode } from '../src/auth/totp.js';

/** Everything the database holds, as raw bytes (SQLite: the files; PostgreSQL: every row of every table). */
async function rawDatabase(home: Awaited<ReturnType<typeof createTestHome>>): Promise<string> {
  if (home.dialect === 'sqlite') {
    await sql`pragma wal_checkpoint(PASSIVE)`.execute(home.services.database.db);
    return readdirSync(home.dir)
      .filter((f) => f.startsWith('brainstack.db'))
      .map((f) => readFileSync(join(home.dir, f)).toString('latin1'))
      .join('\n');
  }
  const client = new pg.Client({ connectionString: home.databaseUrl });
  await client.connect();
  const tables = await client.query<{ tablename: string }>("select tablename from pg_tables where schemaname = 'public'");
  let text = '';
  for (const { tablename } of tables.rows) {
    const rows = await client.query(`select row_to_json(t)::text as j from "${tablename}" t`);
    text += rows.rows.map((r: { j: string }) => r.j).join('\n');
  }
  await client.end();
  return text;
}

const encodings = (secret: string | Buffer) => {
  const bytes = typeof secret === 'string' ? Buffer.from(secret) : secret;
  return [bytes.toString('utf8'), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')].filter((s) => s.length >= 8);
};

for (const dialect of testDialects()) {
  t.test(`${dialect}: the raw database reveals no secret`, async (t) => {
    const home = await createTestHome({ dialect, fakeClock: true });
    t.teardown(home.cleanup);
    const { accounts, keyring, database, signingKeys } = home.services;
    const secrets: Array<[string, string | Buffer]> = [];
    await accounts.create('ivy', STRONG_PASSWORD, 'test');
    secrets.push(['password', STRONG_PASSWORD]);
    const { secret: totpSecret } = await accounts.enrolTotpDirect('ivy', 'test');
    secrets.push(['TOTP secret', totpSecret]);
    await accounts.create('jon', 'another long password', 'test');
    const app = await createTestApp(home);
    const login = await app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'jon', password: 'another long password' }) });
    const pending = await app.inject({ method: 'POST', url: '/api/v1/me/totp', cookies: { '__Host-brainstack': sessionCookie(login) as string } });
    secrets.push(['session id', sessionCookie(login) as string], ['pending TOTP secret', pending.json().secret as string]);
    const ivy = await app.inject({ method: 'POST', url: '/api/v1/login', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ username: 'ivy', password: STRONG_PASSWORD, totp: currentTotpCode(totpSecret, home.clock.now) }) });
    secrets.push(['second session id', sessionCookie(ivy) as string]);
    await app.close();

    const wg = await database.db.selectFrom('server_settings').select('value').where('name', '=', WG_PRIVATE_SETTING).executeTakeFirstOrThrow();
    secrets.push(['WireGuard server private key', openText(keyring, { table: 'server_settings', column: 'value', row: WG_PRIVATE_SETTING }, wg.value)]);
    const active = await signingKeys.activeKey();
    const signing = await database.db.selectFrom('signing_keys').select('private_sealed').where('kid', '=', active.kid).executeTakeFirstOrThrow();
    const pkcs8 = openText(keyring, { table: 'signing_keys', column: 'private_sealed', row: active.kid }, signing.private_sealed);
    secrets.push(['signing key (PKCS#8)', pkcs8.replace(/-----[A-Z ]+-----|\s/g, '')]);
    secrets.push(['signing key (private scalar)', Buffer.from(createPrivateKey(pkcs8).export({ format: 'jwk' }).d as string, 'base64url')]);
    secrets.push(['master key', keyring.active.key]);

    const raw = await rawDatabase(home);
    t.ok(raw.length > 1000, 'read the data');
    t.match(raw, /ivy/, 'sanity: plain data is visible in what we read');
    for (const [name, secret] of secrets) {
      for (const form of encodings(secret)) t.notOk(raw.includes(form), `${name} is not in the database (${form.length} chars)`);
    }
  });
}
