import type { Command } from 'commander';
import { cliActor, withServices } from './context.js';
import { formatTable, type Output } from './output.js';
import type { RoleSummary } from '../auth/rbac.js';

const collect = (value: string, previous: string[]) => [...previous, value];
const roleRow = (r: RoleSummary) => ({ ...r, scopes: r.scopes.join(' '), created_at: new Date(r.created_at).toISOString() });

export function registerAdminRoles(admin: Command, output: Output): void {
  const roles = admin.command('roles').description('roles and the assistant scopes they grant');
  const printRole = (role: RoleSummary, json: boolean | undefined, verb: string) =>
    output.out(json ? JSON.stringify(role, null, 2) : `role '${role.name}' ${verb}; scopes: ${role.scopes.join(' ') || '(none)'}`);

  roles
    .command('create')
    .description('create a role')
    .argument('<name>', 'role name ([a-z0-9][a-z0-9._-]*)')
    .option('--scope <scope>', 'assistant:<name> or assistant:* (repeatable)', collect, [] as string[])
    .option('--description <text>', 'what the role is for', '')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { scope: string[]; description: string; json?: boolean }, command: Command) => {
      await withServices(command, async ({ rbac }) => printRole(await rbac.create(name, options.scope, cliActor(), options.description), options.json, 'created'));
    });

  roles
    .command('list')
    .description('list roles')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ rbac }) => {
        const list = await rbac.list();
        output.out(options.json ? JSON.stringify(list, null, 2) : list.length ? formatTable(list.map(roleRow), ['name', 'members', 'scopes', 'description']) : 'no roles');
      });
    });

  roles
    .command('grant')
    .description('add scopes to a role')
    .argument('<role>', 'role name')
    .argument('<scopes...>', 'assistant:<name> or assistant:*')
    .option('--json', 'print JSON')
    .action(async (role: string, scopes: string[], options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ rbac }) => printRole(await rbac.grant(role, scopes, cliActor()), options.json, 'updated'));
    });

  roles
    .command('revoke')
    .description('remove scopes from a role')
    .argument('<role>', 'role name')
    .argument('<scopes...>', 'assistant:<name> or assistant:*')
    .option('--json', 'print JSON')
    .action(async (role: string, scopes: string[], options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ rbac }) => printRole(await rbac.revoke(role, scopes, cliActor()), options.json, 'updated'));
    });

  roles
    .command('assign')
    .description('give a user a role')
    .argument('<user>', 'username')
    .argument('<role>', 'role name')
    .action(async (user: string, role: string, _options: unknown, command: Command) => {
      await withServices(command, async ({ rbac }) => {
        await rbac.assign(user, role, cliActor());
        output.out(`user '${user}' has role '${role}'`);
      });
    });

  roles
    .command('unassign')
    .description('take a role from a user')
    .argument('<user>', 'username')
    .argument('<role>', 'role name')
    .action(async (user: string, role: string, _options: unknown, command: Command) => {
      await withServices(command, async ({ rbac }) => {
        await rbac.unassign(user, role, cliActor());
        output.out(`user '${user}' no longer has role '${role}'`);
      });
    });
}
