import t from 'tap';
import { createTestHome, STRONG_PASSWORD, testDialects } from './helpers/home.js';
import { auditRowHash } from '../src/audit/audit-log.js';
import { pendingMigrations } from '../src/db/connect.js';

for (const dialect of testDialects()) {
  t.test(`${dialect}: schema is migrated and the same queries work`, async (t) => {
    const home = await createTestHome({ dialect });
    t.teardown(home.cleanup);
    const { accounts, rbac, database } = home.services;
    t.same(await pendingMigrations(database), [], 'no pending migration');
    t.equal(database.dialect, dialect);
    await rbac.create('ops', ['assistant:notes', 'assistant:search'], 'test');
    await rbac.create('all', ['assistant:*'], 'test');
    const user = await accounts.create('zoë', STRONG_PASSWORD, 'test', ['ops']);
    t.equal(user.username, 'zoë', 'unicode names round-trip');
    await rbac.assign('zoë', 'all', 'test');
    t.same(await rbac.scopesOf(user.id), ['assistant:*', 'assistant:notes', 'assistant:search'], 'scopes are the union of the roles');
    await rbac.revoke('ops', ['assistant:search'], 'test');
    t.same(await rbac.scopesOf(user.id), ['assistant:*', 'assistant:notes']);
    await rbac.unassign('zoë', 'all', 'test');
    t.same(await rbac.scopesOf(user.id), ['assistant:notes']);
    t.equal(typeof (await accounts.show('zoë')).created_at, 'number', 'times read back as numbers');
  });

  t.test(`${dialect}: bad input changes nothing`, async (t) => {
    const home = await createTestHome({ dialect });
    t.teardown(home.cleanup);
    const { accounts, rbac } = home.services;
    await accounts.create('amy', STRONG_PASSWORD, 'test');
    await t.rejects(accounts.create('amy', STRONG_PASSWORD, 'test'), { code: 'user_exists' });
    await t.rejects(accounts.create('ben', STRONG_PASSWORD, 'test', ['no-such-role']), { code: 'role_not_found' });
    await t.rejects(accounts.show('ben'), { code: 'user_not_found' }, 'the failed create left no half-made user');
    await t.rejects(accounts.create('o\'brien"', STRONG_PASSWORD, 'test'), { code: 'invalid_name' });
    await t.rejects(accounts.create('x'.repeat(10_240), STRONG_PASSWORD, 'test'), { code: 'invalid_name' });
    await t.rejects(accounts.create('-rf', STRONG_PASSWORD, 'test'), { code: 'invalid_name' });
    await t.rejects(accounts.create('short', 'short', 'test'), { code: 'weak_password' });
    await t.rejects(rbac.create('Admins', [], 'test'), { code: 'invalid_name' });
    await t.rejects(rbac.create('ok', ['assistant:Notes'], 'test'), { code: 'invalid_name' }, 'scopes are lower-case');
    await t.rejects(rbac.create('ok', ['notes'], 'test'), { code: 'invalid_name' });
    await t.rejects(rbac.list().then(() => rbac.show('ok')), { code: 'role_not_found' }, 'no half-made role');
    await rbac.create('ok', [], 'test');
    await t.rejects(rbac.create('ok', [], 'test'), { code: 'role_exists' });
    await t.rejects(rbac.assign('nobody', 'ok', 'test'), { code: 'user_not_found' });
    await t.rejects(rbac.assign('amy', 'nope', 'test'), { code: 'role_not_found' });
    t.equal((await accounts.list()).length, 1);
  });

  t.test(`${dialect}: the audit trail is a hash chain, even with concurrent writers`, async (t) => {
    const home = await createTestHome({ dialect });
    t.teardown(home.cleanup);
    const { audit } = home.services;
    await Promise.all(Array.from({ length: 25 }, (_, i) => audit.record({ event: 'test.event', outcome: 'info', subject: `s${i}` })));
    const rows = (await audit.list({ limit: 1000 })).reverse();
    t.ok(rows.length >= 25);
    rows.forEach((row, i) => {
      t.equal(row.seq, i + 1, 'sequence without gaps');
      const { hash, ...rest } = row;
      t.equal(hash, auditRowHash(rest), `row ${row.seq} hash`);
      if (i > 0) t.equal(row.prev_hash, rows[i - 1]?.hash, `row ${row.seq} links to ${row.seq - 1}`);
    });
  });
}
