import type { Command } from 'commander';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cliActor, homeDirOf, withServices } from './context.js';
import { formatTable, type Output } from './output.js';
import { BrainstackError } from '../errors.js';

const iso = (ms: number) => new Date(ms).toISOString();

interface Finding {
  check: string;
  status: 'ok' | 'warning' | 'error';
  detail: string;
  fix?: string;
}

export function registerAdminMaintenance(admin: Command, output: Output): void {
  const print = (json: boolean | undefined, value: unknown, human: () => string) => output.out(json ? JSON.stringify(value, null, 2) : human());
  const users = admin.commands.find((c) => c.name() === 'users') as Command;

  users
    .command('reset-totp')
    .description("remove a user's TOTP (lost phone); their sessions end and they enrol again at next login")
    .argument('<name>', 'username')
    .action(async (name: string, _o: unknown, command: Command) => {
      await withServices(command, async ({ accounts }) => {
        await accounts.resetTotp(name, cliActor());
        output.out(`TOTP of '${name}' removed; their sessions were ended`);
      });
    });
  users
    .command('delete')
    .description('revoke everything of a user, then delete the account (the audit trail keeps its history)')
    .argument('<name>', 'username')
    .action(async (name: string, _o: unknown, command: Command) => {
      await withServices(command, async ({ accounts, devices }) => {
        const user = await accounts.require(name);
        await devices.revokeUser(user.id, cliActor(), 'user deleted');
        await accounts.delete(user.username, cliActor());
        output.out(`user '${user.username}' deleted; devices revoked, tokens refused`);
      });
    });

  const sessions = admin.command('sessions').description('web and API sessions');
  sessions
    .command('list')
    .description('live sessions (id = first 16 hex characters of the stored hash)')
    .option('--user <name>', 'only this user')
    .option('--json', 'print JSON')
    .action(async (options: { user?: string; json?: boolean }, command: Command) => {
      await withServices(command, async ({ accounts, sessions: store }) => {
        const userId = options.user ? (await accounts.require(options.user)).id : undefined;
        const list = await store.list(userId);
        print(options.json, list, () => (list.length ? formatTable(list.map((s) => ({ ...s, created_at: iso(s.created_at), last_seen_at: iso(s.last_seen_at), expires_at: iso(s.expires_at) })), ['id', 'username', 'ip', 'created_at', 'last_seen_at', 'expires_at']) : 'no sessions'));
      });
    });
  sessions
    .command('revoke')
    .description('end one session (by the id from sessions list) or all of a user')
    .argument('[id]', 'session id (prefix of at least 8 hex characters)')
    .option('--user <name>', 'end every session of this user')
    .action(async (id: string | undefined, options: { user?: string }, command: Command) => {
      if (!id && !options.user) throw new BrainstackError('usage', 'give a session id or --user NAME');
      await withServices(command, async ({ accounts, sessions: store, audit }) => {
        const ended = options.user ? await store.destroyAllFor((await accounts.require(options.user)).id) : await store.destroyByPrefix(id as string);
        if (ended === 0) throw new BrainstackError('session_not_found', `no live session matches ${options.user ? `user '${options.user}'` : `'${(id as string).slice(0, 64)}'`}`);
        await audit.record({ event: 'session.revoked', outcome: 'success', actor: cliActor(), subject: options.user ?? id ?? null, details: { sessions: ended } });
        output.out(`${ended} session(s) ended`);
      });
    });

  const audit = admin.commands.find((c) => c.name() === 'audit') as Command;
  audit
    .command('export')
    .description('audit events between two times as NDJSON (one JSON object per line)')
    .option('--since <time>', 'ISO 8601 start (inclusive)', '1970-01-01T00:00:00Z')
    .option('--until <time>', 'ISO 8601 end (exclusive)', '9999-12-31T00:00:00Z')
    .option('--json', 'NDJSON (the default: always machine-readable)')
    .action(async (options: { since: string; until: string }, command: Command) => {
      const since = Date.parse(options.since);
      const until = Date.parse(options.until);
      if (Number.isNaN(since) || Number.isNaN(until)) throw new BrainstackError('usage', '--since and --until take ISO 8601 times, e.g. 2026-12-01T00:00:00Z');
      await withServices(command, async ({ database }) => {
        let after = 0;
        for (;;) {
          const page = await database.db.selectFrom('audit_log').selectAll().where('seq', '>', after).where('at', '>=', since).where('at', '<', until).orderBy('seq').limit(5000).execute();
          if (page.length === 0) break;
          output.out(page.map((r) => JSON.stringify({ ...r, seq: Number(r.seq), at: iso(Number(r.at)), details: JSON.parse(r.details) })).join('\n'));
          after = Number(page.at(-1)?.seq);
        }
      });
    });

  admin
    .command('doctor')
    .description('check file modes, database, WireGuard, capabilities, clock and TLS; each finding with its fix')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      const dir = homeDirOf(command);
      const findings: Finding[] = [];
      const mode = (path: string) => statSync(path).mode & 0o777;
      const [{ execa }, { pendingMigrations }, { homePath }, { certificateDaysLeft }] = await Promise.all([import('execa'), import('../db/connect.js'), import('../config/config.js'), import('../crypto/tls.js')]);
      await withServices(command, async (services) => {
        const { config } = services;
        const checkMode = (what: string, path: string, wanted: number) => {
          if (!existsSync(path)) return;
          const actual = mode(path);
          findings.push(actual & 0o077 ? { check: what, status: 'error', detail: `${path} has mode ${actual.toString(8)}`, fix: `chmod ${wanted.toString(8)} ${path}` } : { check: what, status: 'ok', detail: `${path} is ${actual.toString(8)}` });
        };
        checkMode('home directory', dir, 0o700);
        checkMode('master key file', homePath(dir, config.master_key_file), 0o600);
        if (config.database.url.startsWith('sqlite:')) checkMode('database file', homePath(dir, config.database.url.slice(7)), 0o600);
        const pending = await pendingMigrations(services.database);
        findings.push(pending.length ? { check: 'database', status: 'error', detail: `reachable, ${pending.length} migration(s) pending`, fix: 'start brainstack serve (it migrates) after a backup' } : { check: 'database', status: 'ok', detail: `${services.database.location} reachable and migrated` });
        const year = new Date().getUTCFullYear();
        findings.push(year < 2024 || year > 2100 ? { check: 'clock', status: 'error', detail: `the clock says ${new Date().toISOString()}`, fix: 'enable time synchronisation (systemd-timesyncd, chrony): tokens and TOTP depend on it' } : { check: 'clock', status: 'ok', detail: new Date().toISOString() });
        if (config.tls.enabled && existsSync(homePath(dir, config.tls.cert_file))) {
          const days = certificateDaysLeft(readFileSync(homePath(dir, config.tls.cert_file), 'utf8'));
          findings.push(days < 14 ? { check: 'TLS certificate', status: days < 0 ? 'error' : 'warning', detail: `expires in ${Math.floor(days)} day(s)`, fix: `renew ${config.tls.cert_file} and restart serve` } : { check: 'TLS certificate', status: 'ok', detail: `valid for ${Math.floor(days)} more days` });
        }
        if (services.applier.mode === 'config-only') {
          findings.push({ check: 'WireGuard', status: 'warning', detail: 'config-only mode: no wireguard.interface, no peer is applied', fix: 'set wireguard.interface in brainstack.json to manage an interface' });
        } else {
          const wg = await execa(config.wireguard.wg_command, ['--version'], { reject: false });
          findings.push(wg.exitCode === 0 ? { check: 'wg tool', status: 'ok', detail: wg.stdout.trim() } : { check: 'wg tool', status: 'error', detail: 'wg cannot run', fix: 'apt-get install --no-install-recommends wireguard-tools' });
          try {
            const report = await services.reconciler.reconcile({ dryRun: true });
            findings.push({ check: 'WireGuard interface', status: report.repairs.length ? 'warning' : 'ok', detail: `${services.applier.interfaceName}: ${report.peersOnInterface} peer(s), ${report.repairs.length} difference(s) from the database`, ...(report.repairs.length ? { fix: 'brainstack admin wg reconcile' } : {}) });
          } catch (err) {
            findings.push({ check: 'WireGuard interface', status: 'error', detail: (err as Error).message, fix: `create the interface '${services.applier.interfaceName}' (ip link add … type wireguard, or wireguard-go)` });
          }
          const capEff = /CapEff:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
          const hasNetAdmin = capEff ? (BigInt(`0x${capEff}`) & (1n << 12n)) !== 0n : false;
          findings.push(hasNetAdmin ? { check: 'CAP_NET_ADMIN', status: 'ok', detail: 'present' } : { check: 'CAP_NET_ADMIN', status: 'error', detail: 'missing: peers cannot be changed', fix: 'run as root or grant AmbientCapabilities=CAP_NET_ADMIN (systemd/brainstack.service)' });
        }
      });
      print(options.json, findings, () => findings.map((f) => `${f.status === 'ok' ? 'ok     ' : f.status === 'warning' ? 'WARNING' : 'ERROR  '} ${f.check}: ${f.detail}${f.fix ? `\n        fix: ${f.fix}` : ''}`).join('\n'));
      if (findings.some((f) => f.status === 'error')) throw new BrainstackError('config_invalid', `${findings.filter((f) => f.status === 'error').length} problem(s) found`);
    });
}
