import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/** Runs a command, throwing with its stderr on failure. */
export function sh(command: string, args: string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input: input ?? '' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Whether this machine can run the real-tunnel tests (root, /dev/net/tun, wg, wireguard-go or kernel module). */
export function wireguardAvailable(): { ok: boolean; why?: string } {
  if (process.getuid?.() !== 0) return { ok: false, why: 'needs root' };
  if (!existsSync('/dev/net/tun')) return { ok: false, why: 'no /dev/net/tun' };
  for (const tool of ['wg', 'wg-quick', 'ip']) if (spawnSync('which', [tool]).status !== 0) return { ok: false, why: `'${tool}' missing` };
  return { ok: true };
}

export interface TestInterface {
  name: string;
  namespace: string;
  /** Public keys of the peers on the interface, as wg reports them. */
  peers(): Set<string>;
  /** `wg show IF allowed-ips` as a map public key → allowed ips. */
  allowedIps(): Map<string, string>;
  destroy(): void;
}

/**
 * A WireGuard interface of its own, in a fresh network namespace (wireguard-go where the kernel
 * has no module). The test process manages it from the root namespace through wg's userspace
 * socket, exactly as `brainstack serve` does.
 */
export function createTestInterface(): TestInterface {
  const id = randomBytes(3).toString('hex');
  const name = `bst${id}`;
  const namespace = `bst-${id}`;
  sh('ip', ['netns', 'add', namespace]);
  if (spawnSync('ip', ['-n', namespace, 'link', 'add', name, 'type', 'wireguard']).status !== 0) {
    execFileSync('ip', ['netns', 'exec', namespace, 'env', 'WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1', 'wireguard-go', name], { stdio: 'ignore' });
  }
  sh('ip', ['-n', namespace, 'link', 'set', name, 'up']);
  const show = (what: string) => sh('wg', ['show', name, what]);
  return {
    name,
    namespace,
    peers: () => new Set(show('peers').split('\n').filter(Boolean)),
    allowedIps: () => new Map(show('allowed-ips').split('\n').filter(Boolean).map((l) => l.split('\t') as [string, string])),
    destroy() {
      const pids = spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
      for (const pid of pids) spawnSync('kill', [pid]);
      spawnSync('ip', ['netns', 'del', namespace]);
      spawnSync('rm', ['-f', `/var/run/wireguard/${name}.sock`]);
    },
  };
}

/** The public key of a wg private key, computed by the real `wg pubkey`. */
export function wgPubkey(privateKey: string): string {
  return sh('wg', ['pubkey'], `${privateKey}\n`).trim();
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
