import type { Command } from 'commander';
import { cliActor, withServices } from './context.js';
import { formatTable, type Output } from './output.js';
import { BrainstackError } from '../errors.js';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../tokens/claims.js';
import type { DeviceView } from '../devices/device-service.js';
import type { Services } from '../home/services.js';

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : '-');
/** Keys stay in the JWKS this long after they stop signing: every token they signed has expired. */
const KEY_RETIRE_GRACE_MS = (MAX_TOKEN_LIFETIME_SECONDS + 120) * 1000;

async function deviceRows(services: Services, list: DeviceView[]) {
  const state = services.applier.mode === 'interface' ? await services.applier.dump() : undefined;
  const users = new Map((await services.accounts.list()).map((u) => [u.id, u.username]));
  return list.map((d) => {
    const peer = state?.peers.get(d.public_key);
    return {
      id: d.id,
      user: users.get(d.user_id) ?? d.user_id,
      name: d.name,
      ip: d.ip,
      state: d.state,
      on_interface: state ? Boolean(peer) : null,
      last_handshake: peer?.latestHandshake ? new Date(peer.latestHandshake * 1000).toISOString() : null,
      rx: peer?.transferRx ?? null,
      tx: peer?.transferTx ?? null,
      expires_at: new Date(d.expires_at).toISOString(),
      public_key: d.public_key,
    };
  });
}

export function registerAdminOps(admin: Command, output: Output): void {
  const revokeDevice = async (id: string, _o: unknown, command: Command) => {
    await withServices(command, async (services) => {
      const changed = await services.devices.revoke(id, cliActor(), 'revoked by an operator');
      output.out(changed ? `device ${id} revoked; its peer is off the interface` : `device ${id} was already inactive`);
    });
  };
  const print = (json: boolean | undefined, value: unknown, human: () => string) => output.out(json ? JSON.stringify(value, null, 2) : human());

  const devices = admin.command('devices').description('devices, their tunnel addresses and state on the interface');
  devices
    .command('list')
    .description('list devices (active ones unless --all) with handshake and transfer from wg')
    .option('--user <name>', 'only this user')
    .option('--all', 'include revoked and expired devices')
    .option('--json', 'print JSON')
    .action(async (options: { user?: string; all?: boolean; json?: boolean }, command: Command) => {
      await withServices(command, async (services) => {
        const userId = options.user ? (await services.accounts.require(options.user)).id : undefined;
        const rows = await deviceRows(services, await services.devices.list(userId, { includeInactive: options.all ?? false }));
        print(options.json, rows, () => (rows.length ? formatTable(rows, ['id', 'user', 'name', 'ip', 'state', 'last_handshake', 'expires_at']) : 'no devices'));
      });
    });
  devices
    .command('show')
    .description('show one device')
    .argument('<id>', 'device id')
    .option('--json', 'print JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      await withServices(command, async (services) => {
        const [row] = await deviceRows(services, [await services.devices.get(id)]);
        print(options.json, row, () => Object.entries(row ?? {}).map(([k, v]) => `${`${k}:`.padEnd(16)}${v ?? '-'}`).join('\n'));
      });
    });
  devices
    .command('revoke')
    .description('revoke a device: its peer leaves the interface before this returns')
    .argument('<id>', 'device id')
    .action(revokeDevice);
  devices
    .command('expire')
    .description("set a device's expiry (the sweep of `serve` removes it within 10 s of that time)")
    .argument('<id>', 'device id')
    .requiredOption('--at <time>', 'ISO 8601 time, e.g. 2027-01-31T18:00:00Z')
    .action(async (id: string, options: { at: string }, command: Command) => {
      const at = Date.parse(options.at);
      if (Number.isNaN(at)) throw new BrainstackError('usage', `--at '${options.at.slice(0, 40)}' is not a time (use ISO 8601)`);
      await withServices(command, async (services) => {
        const device = await services.devices.setExpiry(id, at, cliActor());
        output.out(`device ${device.id} expires at ${iso(device.expires_at)}`);
      });
    });

  const revoke = admin.command('revoke').description('cut access now: users, devices, tokens');
  revoke
    .command('user')
    .description('disable a user, remove all their peers, kill sessions and refresh tokens, refuse every token issued before now')
    .argument('<name>', 'username')
    .action(async (name: string, _o: unknown, command: Command) => {
      await withServices(command, async (services) => {
        const user = await services.accounts.require(name);
        const { devices: count } = await services.devices.revokeUser(user.id, cliActor());
        output.out(`user '${user.username}' revoked: account disabled, ${count} device(s) off the interface, sessions and tokens dead`);
      });
    });
  revoke
    .command('device')
    .description('revoke a device (same as devices revoke)')
    .argument('<id>', 'device id')
    .action(revokeDevice);
  revoke
    .command('token')
    .description('revoke one access token by its jti: guards refuse it within a second')
    .argument('<jti>', 'the token id (jti claim)')
    .action(async (jti: string, _o: unknown, command: Command) => {
      await withServices(command, async (services) => {
        await services.devices.revokeToken(jti, cliActor());
        output.out(`token ${jti} revoked`);
      });
    });

  const keys = admin.command('keys').description('token signing keys');
  keys
    .command('list')
    .description('list signing keys: active, superseded (still in the JWKS) and retired')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async (services) => {
        const list = (await services.signingKeys.list()).map((k) => ({ ...k, state: k.retired_at ? 'retired' : k.superseded_at ? 'verify-only' : 'active' }));
        print(options.json, list, () => formatTable(list.map((k) => ({ ...k, created_at: iso(k.created_at), superseded_at: iso(k.superseded_at), retired_at: iso(k.retired_at) })), ['kid', 'alg', 'state', 'created_at', 'superseded_at', 'retired_at']));
      });
    });
  keys
    .command('rotate')
    .description('new signing key, active at once; older keys stay in the JWKS until their tokens have expired, then retire')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async (services) => {
        const { createSigningKey } = await import('../crypto/signing-keys.js');
        const kid = await createSigningKey(services.database.db, services.keyring, services.config.tokens.algorithm);
        const retired = await services.signingKeys.retireSuperseded(KEY_RETIRE_GRACE_MS);
        await services.audit.record({ event: 'keys.rotated', outcome: 'success', actor: cliActor(), subject: kid, details: { retired } });
        print(options.json, { kid, retired }, () => `new signing key ${kid} is active${retired.length ? `; retired ${retired.join(', ')}` : ''}`);
      });
    });

  keys
    .command('rotate-master')
    .description('new master key: every secret is re-sealed in one transaction; interrupted, the old key still opens everything')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async (services) => {
        const [{ rotateMasterKey }, { homePath }] = await Promise.all([import('../crypto/rotate-master.js'), import('../config/config.js')]);
        const report = await rotateMasterKey(services.database.db, services.keyring, homePath(services.dir, services.config.master_key_file));
        await services.audit.record({ event: 'keys.master_rotated', outcome: 'success', actor: cliActor(), subject: report.newKeyId, details: { resealed: report.resealed, kept: report.keptKeys } });
        print(options.json, report, () => `master key ${report.newKeyId} is active; ${report.resealed} secret(s) re-sealed${report.keptKeys.length > 1 ? `; still in the keyring (in use): ${report.keptKeys.slice(1).join(', ')}` : ''}. Back up the new key file.`);
      });
    });

  const audit = admin.command('audit').description('the audit trail');
  audit
    .command('tail')
    .description('the latest audit events, oldest first; -f keeps printing new ones until interrupted')
    .option('-n, --lines <n>', 'how many', '20')
    .option('-f, --follow', 'keep printing events as they are written')
    .option('--json', 'print NDJSON')
    .action(async (options: { lines: string; follow?: boolean; json?: boolean }, command: Command) => {
      const limit = Number(options.lines);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new BrainstackError('usage', '--lines must be a whole number from 1 to 100000');
      await withServices(command, async (services) => {
        const format = (rows: Awaited<ReturnType<typeof services.audit.list>>, header: boolean) =>
          options.json ? rows.map((r) => JSON.stringify({ ...r, details: JSON.parse(r.details) })).join('\n') : formatTable(rows.map((r) => ({ ...r, at: iso(r.at) })), ['seq', 'at', 'event', 'outcome', 'actor', 'subject', 'ip', 'details']).split('\n').slice(header ? 0 : 1).join('\n');
        const rows = (await services.audit.list({ limit })).reverse();
        if (rows.length) output.out(format(rows, true));
        else if (!options.json && !options.follow) output.out('no events');
        if (!options.follow) return;
        let last = rows.at(-1)?.seq ?? 0;
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        process.once('SIGTERM', () => (stop = true));
        while (!stop) {
          await new Promise((r) => setTimeout(r, 500));
          const fresh = (await services.audit.list({ limit: 1000, afterSeq: last })).reverse();
          if (fresh.length) {
            output.out(format(fresh, false));
            last = fresh.at(-1)?.seq ?? last;
          }
        }
      });
    });
  audit
    .command('verify')
    .description('recompute the hash chain: names every edited, inserted or deleted row (exit 1 if any)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async (services) => {
        const { verifyAuditChain } = await import('../audit/verify-chain.js');
        const report = await verifyAuditChain(services.database.db);
        print(options.json, report, () => (report.ok ? `audit chain intact: ${report.rows} rows` : [`audit chain BROKEN (${report.problems.length} problem(s) in ${report.rows} rows):`, ...report.problems.map((p) => `  ${p.kind}: ${p.detail}`)].join('\n')));
        if (!report.ok) throw new BrainstackError('audit_chain_broken', `the audit chain is broken: ${report.problems.length} problem(s)`);
      });
    });

  const wg = admin.command('wg').description('the WireGuard interface');
  wg.command('status')
    .description('the interface and its peers next to the database')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      await withServices(command, async (services) => {
        if (services.applier.mode === 'config-only') return output.out(options.json ? JSON.stringify({ mode: 'config-only' }) : 'config-only mode: no wireguard.interface configured, nothing is applied');
        const dry = await services.reconciler.reconcile({ dryRun: true });
        const rows = await deviceRows(services, await services.devices.list(undefined));
        const status = { interface: services.applier.interfaceName, peers: dry.peersOnInterface, active_devices: dry.devicesActive, differences: dry.repairs.length, devices: rows };
        print(options.json, status, () => [`interface ${status.interface}: ${status.peers} peer(s), ${status.active_devices} active device(s), ${status.differences} difference(s)`, rows.length ? formatTable(rows, ['id', 'user', 'ip', 'on_interface', 'last_handshake', 'rx', 'tx']) : ''].join('\n'));
        return undefined;
      });
    });
  wg.command('reconcile')
    .description('make the interface match the database; --dry-run shows each difference it would repair')
    .option('--dry-run', 'change nothing')
    .option('--json', 'print JSON')
    .action(async (options: { dryRun?: boolean; json?: boolean }, command: Command) => {
      await withServices(command, async (services) => {
        const report = await services.reconciler.reconcile({ dryRun: options.dryRun ?? false });
        print(options.json, report, () => (report.repairs.length === 0 ? 'the interface matches the database' : report.repairs.map((r) => `${options.dryRun ? 'would ' : ''}${r.action} ${r.publicKey}${r.deviceId ? ` (device ${r.deviceId})` : ''}${r.detail ? `: ${r.detail}` : ''}`).join('\n')));
      });
    });
}
