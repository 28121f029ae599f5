import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { BrainstackError } from '../errors.js';
import type { TicketClient } from '../client/api.js';
import { clientDir, ensureClientDir, loadClientState, saveClientState, writePrivate, type ClientState } from '../client/state.js';
import { generateWireGuardKeyPair } from '../wireguard/keys.js';
import { withPrivateKey } from '../wireguard/render.js';
import type { Output } from './output.js';
import { promptHidden, readStdin } from './prompt.js';

async function promptLine(question: string): Promise<string> {
  if (!process.stdin.isTTY) throw new BrainstackError('input_required', `no terminal to ask '${question.trim()}': pass it as an option`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

/** wg-quick with the userspace implementation where the kernel has no WireGuard module. */
async function wgQuick(action: 'up' | 'down', configPath: string): Promise<string> {
  if (process.getuid?.() !== 0) {
    throw new BrainstackError('tunnel_failed', `bringing a WireGuard interface ${action} needs root (CAP_NET_ADMIN): run 'sudo brainstack ${action}', or 'sudo wg-quick ${action} ${configPath}'`);
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!existsSync('/sys/module/wireguard') && !env.WG_QUICK_USERSPACE_IMPLEMENTATION) {
    env.WG_QUICK_USERSPACE_IMPLEMENTATION = 'wireguard-go';
    env.WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD = '1';
  }
  const { execa } = await import('execa');
  try {
    const result = await execa('wg-quick', [action, configPath], { env, all: true });
    return result.all ?? '';
  } catch (err) {
    const e = err as { code?: string; all?: string };
    if (e.code === 'ENOENT') throw new BrainstackError('tunnel_failed', "wg-quick is not installed: install wireguard-tools (and wireguard-go where the kernel has no WireGuard)");
    throw new BrainstackError('tunnel_failed', `wg-quick ${action} failed: ${(e.all ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** A fresh access token, refreshing (and saving the rotated refresh token) when needed. */
export async function freshAccessToken(dir: string, state: ClientState, scope?: string): Promise<{ token: string; expiresAt: number; scope: string }> {
  const now = Date.now();
  if (state.accessToken && state.accessExpiresAt && state.accessExpiresAt - now > 60_000 && (scope === undefined || state.accessScope === scope)) {
    return { token: state.accessToken, expiresAt: state.accessExpiresAt, scope: state.accessScope ?? '' };
  }
  const { TicketClient: Client } = await import('../client/api.js');
  const client = new Client(state.server, state.ca);
  try {
    const answer = await client.refresh(state.refreshToken, scope);
    const next: ClientState = { ...state, refreshToken: answer.refresh_token, accessToken: answer.access_token, accessScope: answer.scope, accessExpiresAt: now + answer.expires_in * 1000 };
    saveClientState(dir, next);
    return { token: answer.access_token, expiresAt: next.accessExpiresAt as number, scope: answer.scope };
  } finally {
    await client.close();
  }
}

/**
 * RFC 8628 on the terminal: show the code and the URL, then poll at the server's interval
 * (slower after `slow_down`) until the code is approved, denied or expired.
 */
async function loginWithDeviceCode(client: TicketClient, deviceName: string, publicKey: string, output: Output): Promise<Awaited<ReturnType<TicketClient['pollDeviceToken']>>> {
  const start = await client.startDeviceAuthorization(deviceName, publicKey);
  output.out(`To approve this device, open ${start.verification_uri} in a browser and enter the code ${start.user_code}`);
  output.out(`(or open ${start.verification_uri_complete}); the page shows the key ${publicKey.slice(0, 8)}… for device '${deviceName}'.`);
  output.out(`Waiting for approval (the code expires in ${Math.round(start.expires_in / 60)} min)…`);
  let interval = start.interval;
  const deadline = Date.now() + start.expires_in * 1000;
  for (;;) {
    await new Promise((r) => setTimeout(r, interval * 1000));
    try {
      return await client.pollDeviceToken(start.device_code);
    } catch (err) {
      const code = (err as BrainstackError).code;
      if (code === 'slow_down') interval += 5;
      else if (code !== 'authorization_pending') throw err;
      if (Date.now() > deadline) throw new BrainstackError('expired_token', 'the code expired before it was approved; run the login again');
    }
  }
}

export function registerUserCommands(program: Command, output: Output): void {
  program
    .command('login')
    .description('log in, make a WireGuard key pair here, register its public key, save the wg-quick config and a refresh token')
    .requiredOption('--server <url>', 'the ticket service, e.g. https://vpn.example.com')
    .option('--ca <file>', 'CA certificate to trust for the server (for a self-signed one: its tls/cert.pem)')
    .option('--device <name>', 'name of this device', hostname().slice(0, 64))
    .option('--device-code', 'approve this login in a browser (single sign-on or password) instead of typing a password here (RFC 8628)')
    .option('--username <name>', 'username (prompted when absent)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--totp <code>', 'the TOTP code (prompted when needed and absent)')
    .action(async (options: { server: string; ca?: string; device: string; deviceCode?: boolean; username?: string; passwordStdin?: boolean; totp?: string }) => {
      const dir = clientDir();
      const ca = options.ca ? resolve(options.ca) : undefined;
      const { TicketClient: Client } = await import('../client/api.js');
      const client = new Client(options.server, ca);
      try {
        // The private key is made here and never leaves this machine.
        const keys = generateWireGuardKeyPair();
        let username: string;
        let device: { id: string; ip: string; config: string; configFileName: string; refresh_token: string };
        if (options.deviceCode) {
          const approved = await loginWithDeviceCode(client, options.device, keys.publicKey, output);
          username = approved.username;
          device = { id: approved.device_id, ip: approved.device_ip, config: approved.wireguard_config, configFileName: approved.wireguard_config_file_name, refresh_token: approved.refresh_token };
        } else {
          username = options.username ?? (await promptLine('Username: '));
          const password = options.passwordStdin ? await readStdin() : await promptHidden('Password: ');
          try {
            await client.login(username, password, options.totp);
          } catch (err) {
            if ((err as BrainstackError).code !== 'totp_required' || options.totp) throw err;
            await client.login(username, password, await promptLine('TOTP code: '));
          }
          device = await client.registerDevice(options.device, keys.publicKey);
        }
        ensureClientDir(dir);
        const configPath = join(dir, 'wg', device.configFileName);
        writePrivate(configPath, withPrivateKey(device.config, keys.privateKey));
        saveClientState(dir, { server: options.server, ...(ca ? { ca } : {}), username, deviceId: device.id, deviceName: options.device, ip: device.ip, configPath, refreshToken: device.refresh_token });
        output.out(`logged in as ${username}; device '${options.device}' registered with tunnel address ${device.ip}`);
        output.out(`WireGuard config: ${configPath}`);
        output.out("next: sudo brainstack up, then: curl -H \"Authorization: Bearer $(brainstack token)\" …");
      } finally {
        await client.close();
      }
    });

  for (const [action, description] of [
    ['up', 'bring the tunnel up with wg-quick (needs root)'],
    ['down', 'bring the tunnel down'],
  ] as const) {
    program
      .command(action)
      .description(description)
      .action(async () => {
        const state = loadClientState(clientDir());
        await wgQuick(action, state.configPath);
        output.out(action === 'up' ? `tunnel up: ${state.ip} (${state.configPath})` : 'tunnel down');
      });
  }

  program
    .command('token')
    .description('print a fresh access token (refreshing as needed), for: curl -H "Authorization: Bearer $(brainstack token)"')
    .option('--scope <scope>', 'narrow the token, e.g. assistant:notes')
    .action(async (options: { scope?: string }) => {
      const dir = clientDir();
      const { token } = await freshAccessToken(dir, loadClientState(dir), options.scope);
      output.out(token);
    });

  program
    .command('status')
    .description('server, user, device, tunnel state and token expiry')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const state = loadClientState(clientDir());
      const iface = state.configPath.split('/').pop()?.replace(/\.conf$/, '') ?? '';
      const { execa } = await import('execa');
      const tunnel = await execa('wg', ['show', iface, 'latest-handshakes'], { reject: false });
      const status = {
        server: state.server,
        user: state.username,
        device: state.deviceName,
        device_id: state.deviceId,
        ip: state.ip,
        tunnel: tunnel.exitCode === 0 ? 'up' : 'down',
        interface: iface,
        access_token_expires_at: state.accessExpiresAt ? new Date(state.accessExpiresAt).toISOString() : null,
      };
      output.out(options.json ? JSON.stringify(status, null, 2) : Object.entries(status).map(([k, v]) => `${`${k}:`.padEnd(26)}${v ?? '-'}`).join('\n'));
    });
}
