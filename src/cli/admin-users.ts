import type { Command } from 'commander';
import { cliActor, withServices } from './context.js';
import { formatTable, type Output } from './output.js';
import { readNewPassword } from './prompt.js';
import type { UserSummary } from '../auth/accounts.js';

const userRow = (u: UserSummary) => ({ ...u, created_at: new Date(u.created_at).toISOString(), state: u.disabled ? 'disabled' : 'active' });
const USER_COLUMNS = ['username', 'state', 'totp', 'roles', 'created_at', 'id'];

export function registerAdminUsers(admin: Command, output: Output): void {
  const users = admin.command('users').description('local user accounts');

  users
    .command('add')
    .description('create a user (password from a prompt or --password-stdin)')
    .argument('<name>', 'username')
    .option('--password-stdin', 'read the password from standard input')
    .option('--role <role>', 'give the user a role (repeatable)', (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--totp', 'enrol TOTP now and print the otpauth URI once (hand it to the user)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, options: { passwordStdin?: boolean; role: string[]; totp?: boolean; json?: boolean }, command: Command) => {
      await withServices(command, async ({ accounts }) => {
        // Validate before asking for the password, so a bad name fails fast.
        const password = await readNewPassword(options.passwordStdin ?? false);
        const created = await accounts.create(name, password, cliActor(), options.role);
        const totp = options.totp ? await accounts.enrolTotpDirect(created.username, cliActor()) : undefined;
        const user = totp ? await accounts.show(created.username) : created;
        if (options.json) return output.out(JSON.stringify({ ...user, ...(totp ? { otpauth_uri: totp.uri } : {}) }, null, 2));
        output.out(`created user '${user.username}' (${user.id})${user.roles.length ? ` with roles ${user.roles.join(', ')}` : ''}`);
        if (totp) output.out(`TOTP enrolled; give this URI to the user once (it is not shown again):\n${totp.uri}`);
        return undefined;
      });
    });

  users
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ accounts }) => {
        const list = await accounts.list();
        output.out(options.json ? JSON.stringify(list, null, 2) : list.length ? formatTable(list.map(userRow), USER_COLUMNS) : 'no users');
      });
    });

  users
    .command('show')
    .description('show one user')
    .argument('<name>', 'username')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ accounts, rbac, sso }) => {
        const user = await accounts.show(name);
        const scopes = await rbac.scopesOf(user.id);
        const roleSources = await rbac.roleSourcesOf(user.id);
        const identities = await sso.identitiesOf(user.id);
        if (options.json) return output.out(JSON.stringify({ ...user, scopes, role_sources: roleSources, identities }, null, 2));
        const row = userRow(user);
        const roles = roleSources.map((r) => `${r.role} (${r.source})`).join(', ') || '-';
        const linked = identities.map((i) => `${i.provider}:${i.subject} groups=[${i.groups.join(',')}] confirmed ${new Date(i.validated_at).toISOString()}`).join('; ') || '-';
        output.out(
          [`username:   ${user.username}`, `id:         ${user.id}`, `state:      ${row.state}`, `totp:       ${user.totp ? 'enrolled' : 'not enrolled'}`, `roles:      ${roles}`, `scopes:     ${scopes.join(' ') || '-'}`, `sso:        ${linked}`, `created_at: ${row.created_at}`].join('\n'),
        );
        return undefined;
      });
    });

  for (const [verb, description] of [
    ['disable', 'disable a user: logins refused, sessions ended at once'],
    ['enable', 'enable a disabled user'],
  ] as const) {
    users
      .command(verb)
      .description(description)
      .argument('<name>', 'username')
      .action(async (name: string, _options: unknown, command: Command) => {
        await withServices(command, async ({ accounts }) => {
          await accounts[verb](name, cliActor());
          const user = await accounts.show(name);
          output.out(`user '${user.username}' is ${user.disabled ? 'disabled' : 'enabled'}`);
        });
      });
  }

  users
    .command('passwd')
    .description("set a user's password (ends the user's sessions)")
    .argument('<name>', 'username')
    .option('--password-stdin', 'read the password from standard input')
    .action(async (name: string, options: { passwordStdin?: boolean }, command: Command) => {
      await withServices(command, async ({ accounts }) => {
        const user = await accounts.require(name);
        await accounts.setPassword(user.username, await readNewPassword(options.passwordStdin ?? false), cliActor());
        output.out(`password of '${user.username}' changed; its sessions were ended`);
      });
    });
}
