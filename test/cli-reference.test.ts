import t from 'tap';
import { readFileSync } from 'node:fs';
import { buildProgram } from '../src/cli/main.js';
import { commandReference } from '../src/cli/reference.js';

t.test('docs/cli.md matches the command definitions', async (t) => {
  const expected = commandReference(buildProgram());
  t.equal(readFileSync('docs/cli.md', 'utf8'), expected, 'run `node scripts/gen-docs.mjs` after changing a command');
  t.match(expected, /## `brainstack admin users add \[options\] <name>`/);
});
