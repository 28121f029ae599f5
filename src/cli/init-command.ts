import type { Command } from 'commander';
import { homeDirOf } from './context.js';
import type { Output } from './output.js';

export function registerInit(program: Command, output: Output): void {
  program
    .command('init')
    .description('create a brainstack home: config, database, master key, signing key, WireGuard server key, self-signed TLS')
    .option('--public-url <url>', 'URL users reach the ticket service at (the token issuer)')
    .option('--listen <host:port>', 'public HTTPS listener')
    .option('--internal-listen <host:port>', 'internal listener (private side: JWKS, revocation feed, metrics)')
    .option('--database-url <url>', 'sqlite:FILE (default sqlite:brainstack.db) or postgres://…')
    .option('--wg-interface <name>', 'WireGuard interface to manage (absent: config-only mode)')
    .option('--wg-endpoint <host:port>', 'endpoint clients connect to')
    .option('--force', 'replace an existing home: every key, the database and the certificate')
    .option('--json', 'print the result as JSON')
    .action(async (options: { publicUrl?: string; listen?: string; internalListen?: string; databaseUrl?: string; wgInterface?: string; wgEndpoint?: string; force?: boolean; json?: boolean }, command: Command) => {
      const { initHome } = await import('../home/init.js');
      const report = await initHome({
        dir: homeDirOf(command),
        force: options.force ?? false,
        env: process.env,
        settings: {
          public_url: options.publicUrl,
          listen: options.listen,
          internal_listen: options.internalListen,
          'database.url': options.databaseUrl,
          'wireguard.interface': options.wgInterface,
          'wireguard.endpoint': options.wgEndpoint,
        },
      });
      if (options.json) return output.out(JSON.stringify(report, null, 2));
      if (report.replaced.length > 0) output.err(`replaced: ${report.replaced.join(', ')}`);
      output.out(`brainstack home ready at ${report.dir}`);
      output.out(`created: ${report.created.join(', ')}`);
      output.out(`signing key: ${report.signingKeyId}`);
      output.out(`WireGuard server public key: ${report.wireguardPublicKey}`);
      output.out(`next: brainstack admin --dir ${report.dir} users add NAME --password-stdin, then brainstack serve --dir ${report.dir}`);
    });
}
