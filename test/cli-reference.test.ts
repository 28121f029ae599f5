import t from 'tap';
import { readFileSync } from 'node:fs';
import { buildProgram } from '../src/cli/main.js';
import { commandReference } from '../src/cli/reference.js';

t.test('docs/cli.md matches the command definitions', async (t) => {
  const expected = commandReference(buildProgram());
  t.equal(readFileSync('docs/cli.md', 'utf8'), expected, 'run `node scripts/gen-docs.mjs` after changing a command');
  t.match(expected, /## `brainstack admin users add \[options\] <name>`/);
});

t.test('every command but the long-running ones takes --json; errors under --json are JSON too', async (t) => {
  const leaves: string[] = [];
  const walk = (command: ReturnType<typeof buildProgram>, path: string[]) => {
    if (command.commands.length === 0) {
      if (!['serve', 'guard'].includes(command.name()) && !command.options.some((o) => o.long === '--json')) leaves.push([...path, command.name()].join(' '));
      return;
    }
    for (const sub of command.commands) walk(sub, [...path, command.name()]);
  };
  walk(buildProgram(), []);
  t.same(leaves, [], 'commands without --json');
  const lines: string[] = [];
  const { main } = await import('../src/cli/main.js');
  const code = await main(['node', 'brainstack', 'admin', '--dir', '/nonexistent/brainstack-home', 'users', 'list', '--json'], { out: (x) => lines.push(x), err: (x) => lines.push(x) });
  t.equal(code, 3);
  t.match(JSON.parse(lines.at(-1) as string), { ok: false, code: 'home_missing' });
});
