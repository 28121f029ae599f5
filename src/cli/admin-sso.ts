import type { Command } from 'commander';
import { cliActor, withServices } from './context.js';
import { formatTable, type Output } from './output.js';
import { readStdin } from './prompt.js';

export function registerAdminSso(admin: Command, output: Output): void {
  const sso = admin.command('sso').description('single sign-on providers (configured in sso.providers)');
  sso
    .command('list')
    .description('list the configured providers and how many accounts each links')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ config, database }) => {
        const counts = await database.db.selectFrom('user_identities').select(['provider', (eb) => eb.fn.countAll<number>().as('accounts')]).groupBy('provider').execute();
        const list = config.sso.providers.map((p) => ({
          name: p.name,
          issuer: p.issuer,
          client_id: p.client_id,
          allowed_groups: p.allowed_groups,
          group_roles: p.group_roles,
          accounts: Number(counts.find((c) => c.provider === p.name)?.accounts ?? 0),
        }));
        const rows = list.map((p) => ({ ...p, allowed_groups: p.allowed_groups.join(',') || '(any)', group_roles: Object.entries(p.group_roles).map(([g, r]) => `${g}→${r.join('+')}`).join(' ') || '-', accounts: String(p.accounts) }));
        output.out(options.json ? JSON.stringify(list, null, 2) : list.length ? formatTable(rows, ['name', 'issuer', 'client_id', 'allowed_groups', 'group_roles', 'accounts']) : 'no single sign-on providers configured (sso.providers)');
      });
    });
  sso
    .command('set-secret')
    .description("store a provider's client secret sealed in the database (read from standard input); used when no client_secret_file is set")
    .argument('<provider>', 'provider name')
    .action(async (provider: string, _options: unknown, command: Command) => {
      const secret = (await readStdin()).trim();
      await withServices(command, async ({ sso: singleSignOn }) => {
        await singleSignOn.setClientSecret(provider, secret, cliActor());
        output.out(`client secret of '${provider}' stored (sealed); restart serve to use it`);
      });
    });
  sso
    .command('revalidate')
    .description('re-check now, with each provider, every linked account whose last confirmation is older than sso.revalidate_after; revokes those the provider refuses')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async ({ sso: singleSignOn }) => {
        const report = await singleSignOn.revalidateDue(10_000);
        output.out(options.json ? JSON.stringify(report, null, 2) : `checked ${report.checked} account(s); revoked ${report.revoked}`);
      });
    });
}
