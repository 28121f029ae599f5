import { execa, type ExecaError } from 'execa';
import { BrainstackError } from '../errors.js';
import { withSecretStdin } from './secret-stdin.js';

/** One peer as `wg show IF dump` reports it (the preshared key is read but never kept). */
export interface PeerState {
  publicKey: string;
  endpoint: string | null;
  allowedIps: string[];
  /** Seconds since the epoch, 0 when never. */
  latestHandshake: number;
  transferRx: number;
  transferTx: number;
}

export interface InterfaceState {
  publicKey: string | null;
  listenPort: number | null;
  peers: Map<string, PeerState>;
}

export interface PeerSpec {
  publicKey: string;
  presharedKey: string;
  allowedIps: string[];
}

/**
 * What the services need from a WireGuard interface: one call per peer change, never a whole
 * config rewrite. `mode` is `config-only` when no interface is configured: then nothing is
 * applied and configs are still provisioned.
 */
export interface PeerApplier {
  readonly mode: 'interface' | 'config-only';
  readonly interfaceName: string;
  setPeer(peer: PeerSpec): Promise<void>;
  removePeer(publicKey: string): Promise<void>;
  /** Public keys of the peers on the interface (cheap read-back after a removal). */
  peerKeys(): Promise<Set<string>>;
  dump(): Promise<InterfaceState>;
  /** Sets the interface's own private key and listen port. */
  configureInterface(privateKey: string, listenPort: number): Promise<void>;
}

/** Parses `wg show IF dump`: an interface line, then one tab-separated line per peer. */
export function parseDump(text: string): InterfaceState {
  const lines = text.split('\n').filter((l) => l.length > 0);
  const head = lines.shift()?.split('\t') ?? [];
  const peers = new Map<string, PeerState>();
  for (const line of lines) {
    const f = line.split('\t');
    if (f.length < 8) continue;
    const [publicKey, , endpoint, allowed, handshake, rx, tx] = f as [string, string, string, string, string, string, string];
    peers.set(publicKey, {
      publicKey,
      endpoint: endpoint === '(none)' ? null : endpoint,
      allowedIps: allowed === '(none)' ? [] : allowed.split(','),
      latestHandshake: Number(handshake),
      transferRx: Number(rx),
      transferTx: Number(tx),
    });
  }
  return { publicKey: head[1] && head[1] !== '(none)' ? head[1] : null, listenPort: head[2] ? Number(head[2]) : null, peers };
}

/** Maps a failed `wg` run onto a catalogued error, without echoing any secret. */
export function wgError(err: unknown, interfaceName: string, action: string): BrainstackError {
  const e = err as ExecaError;
  const stderr = typeof e.stderr === 'string' ? e.stderr : '';
  if ((e as { code?: string }).code === 'ENOENT') return new BrainstackError('wireguard_unavailable', `cannot run 'wg' to ${action}: install wireguard-tools`);
  // "Protocol not supported": no userspace socket for that name and no kernel WireGuard either.
  if (/No such device|does not exist|Protocol not supported/i.test(stderr)) {
    return new BrainstackError('wireguard_interface_missing', `WireGuard interface '${interfaceName}' does not exist (wireguard.interface): create it (ip link add … type wireguard, or wireguard-go) before starting brainstack`);
  }
  if (/Operation not permitted|Permission denied/i.test(stderr)) {
    return new BrainstackError('wireguard_permission_denied', `not allowed to ${action} on '${interfaceName}': the process needs CAP_NET_ADMIN`);
  }
  return new BrainstackError('wireguard_failed', `wg failed to ${action} on '${interfaceName}': ${stderr.split('\n')[0]?.slice(0, 200) ?? 'unknown error'}`, { cause: err });
}

/**
 * The real interface, through `wg` with argument arrays (never a shell). Secrets go through
 * stdin (`/dev/stdin`, see secret-stdin.ts), never argv, so they never show in process listings. Works the same on
 * kernel WireGuard and wireguard-go (wg finds the userspace socket itself).
 */
export class WgCommand implements PeerApplier {
  readonly mode = 'interface' as const;

  constructor(
    readonly interfaceName: string,
    private readonly wg = 'wg',
  ) {}

  private async run(args: string[], action: string, secret?: string): Promise<string> {
    const exec = async (stdin: number | 'ignore') => {
      try {
        // execa passes any file descriptor number through to the child; its types list only 0-9.
        const result = await execa(this.wg, args, { stdin: stdin as 'ignore', stripFinalNewline: false, timeout: 15_000 });
        return result.stdout;
      } catch (err) {
        throw wgError(err, this.interfaceName, action);
      }
    };
    return secret === undefined ? exec('ignore') : withSecretStdin(secret, exec);
  }

  async setPeer(peer: PeerSpec): Promise<void> {
    await this.run(['set', this.interfaceName, 'peer', peer.publicKey, 'preshared-key', '/dev/stdin', 'allowed-ips', peer.allowedIps.join(',')], 'add a peer', `${peer.presharedKey}\n`);
  }

  async removePeer(publicKey: string): Promise<void> {
    await this.run(['set', this.interfaceName, 'peer', publicKey, 'remove'], 'remove a peer');
  }

  async peerKeys(): Promise<Set<string>> {
    const out = await this.run(['show', this.interfaceName, 'peers'], 'list peers');
    return new Set(out.split('\n').filter(Boolean));
  }

  async dump(): Promise<InterfaceState> {
    return parseDump(await this.run(['show', this.interfaceName, 'dump'], 'read the interface'));
  }

  async configureInterface(privateKey: string, listenPort: number): Promise<void> {
    await this.run(['set', this.interfaceName, 'listen-port', String(listenPort), 'private-key', '/dev/stdin'], 'set the interface key', `${privateKey}\n`);
  }
}

/** No interface configured: provisioning works, nothing is applied. */
export class ConfigOnlyApplier implements PeerApplier {
  readonly mode = 'config-only' as const;
  readonly interfaceName = 'config-only';
  async setPeer(): Promise<void> {}
  async removePeer(): Promise<void> {}
  async peerKeys(): Promise<Set<string>> {
    return new Set();
  }
  async dump(): Promise<InterfaceState> {
    return { publicKey: null, listenPort: null, peers: new Map() };
  }
  async configureInterface(): Promise<void> {}
}
