import t from 'tap';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOGUE, BrainstackError, type ErrorCode } from '../src/errors.js';

t.test('docs/errors.md lists exactly the codes of the catalogue, with their statuses', async (t) => {
  const doc = readFileSync('docs/errors.md', 'utf8');
  const rows = [...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
  const catalogue = Object.entries(ERROR_CATALOGUE).map(([code, entry]) => [code, entry.status]);
  t.same(rows.sort(), catalogue.sort());
});

t.test('each error carries its code and the catalogued status', async (t) => {
  for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
    const err = new BrainstackError(code);
    t.equal(err.code, code);
    t.equal(err.statusCode, ERROR_CATALOGUE[code].status);
    t.ok(err.message.length > 0);
  }
  t.ok(Object.keys(ERROR_CATALOGUE).every((code) => /^[a-z][a-z_]+$/.test(code)), 'codes are snake_case');
});
