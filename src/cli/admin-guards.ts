import type { Command } from 'commander';
import { cliActor, withServices } from './context.js';
import { formatTable, type Output } from './output.js';

export function registerAdminGuards(admin: Command, output: Output): void {
  const guards = admin.command('guards').description('guards allowed to follow the revocation feed');
  guards
    .command('add')
    .description("register a guard and print its feed credential (shown once; store it in the guard's credential file)")
    .argument('<name>', 'guard name ([a-z0-9][a-z0-9._-]*)')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ guards: registry }) => {
        const credential = await registry.add(name, cliActor());
        output.out(options.json ? JSON.stringify({ name, credential }, null, 2) : credential);
      });
    });
  guards
    .command('list')
    .description('list guards and when each last polled the feed')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ guards: registry }) => {
        const list = await registry.list();
        const rows = list.map((g) => ({ ...g, created_at: new Date(g.created_at).toISOString(), last_seen_at: g.last_seen_at ? new Date(g.last_seen_at).toISOString() : 'never' }));
        output.out(options.json ? JSON.stringify(list, null, 2) : list.length ? formatTable(rows, ['name', 'created_at', 'last_seen_at']) : 'no guards');
      });
    });
  guards
    .command('remove')
    .description('remove a guard: its credential stops working at once')
    .argument('<name>', 'guard name')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withServices(command, async ({ guards: registry }) => {
        await registry.remove(name, cliActor());
        output.out(`guard '${name}' removed`);
      });
    });
}
