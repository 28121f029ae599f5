import type { AuditLog } from '../audit/audit-log.js';
import type { PeerApplier } from './wg.js';
import type { PeerLock } from './peer-lock.js';

export interface DesiredPeer {
  deviceId: string;
  presharedKey: string;
  allowedIps: string[];
}

export interface Repair {
  action: 'add' | 'remove' | 'fix-allowed-ips' | 'set-interface-key';
  publicKey: string;
  deviceId?: string;
  detail?: string;
}

export interface ReconcileReport {
  repairs: Repair[];
  peersOnInterface: number;
  devicesActive: number;
  dryRun: boolean;
}

export interface ReconcileSource {
  /** The peers the database says should be on the interface, by public key. */
  desiredPeers(): Promise<Map<string, DesiredPeer>>;
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');

/**
 * Makes the interface match the database: adds missing peers, removes unknown ones, fixes
 * allowed-ips, and sets the interface's own key. Each repair is one `wg set` and one audit event.
 * Runs under the exclusive peer lock, so no half-committed registration is mistaken for a stray.
 */
export class Reconciler {
  constructor(
    private readonly applier: PeerApplier,
    private readonly source: ReconcileSource,
    private readonly lock: PeerLock,
    private readonly audit: AuditLog,
    private readonly server: { privateKey: () => string; publicKey: string; listenPort: number },
  ) {}

  async reconcile(options: { dryRun?: boolean } = {}): Promise<ReconcileReport> {
    const dryRun = options.dryRun ?? false;
    if (this.applier.mode === 'config-only') return { repairs: [], peersOnInterface: 0, devicesActive: 0, dryRun };
    return this.lock.exclusive(async () => {
      const state = await this.applier.dump();
      const desired = await this.source.desiredPeers();
      const repairs: Repair[] = [];
      if (state.publicKey !== this.server.publicKey || state.listenPort !== this.server.listenPort) {
        repairs.push({ action: 'set-interface-key', publicKey: this.server.publicKey, detail: `listen-port ${this.server.listenPort}` });
        if (!dryRun) await this.applier.configureInterface(this.server.privateKey(), this.server.listenPort);
      }
      for (const [publicKey, peer] of desired) {
        const actual = state.peers.get(publicKey);
        if (!actual) {
          repairs.push({ action: 'add', publicKey, deviceId: peer.deviceId });
          if (!dryRun) await this.applier.setPeer({ publicKey, presharedKey: peer.presharedKey, allowedIps: peer.allowedIps });
        } else if (!sameSet(actual.allowedIps, peer.allowedIps)) {
          repairs.push({ action: 'fix-allowed-ips', publicKey, deviceId: peer.deviceId, detail: `${actual.allowedIps.join(',') || '(none)'} -> ${peer.allowedIps.join(',')}` });
          if (!dryRun) await this.applier.setPeer({ publicKey, presharedKey: peer.presharedKey, allowedIps: peer.allowedIps });
        }
      }
      for (const publicKey of state.peers.keys()) {
        if (!desired.has(publicKey)) {
          repairs.push({ action: 'remove', publicKey });
          if (!dryRun) await this.applier.removePeer(publicKey);
        }
      }
      if (!dryRun) {
        for (const repair of repairs) {
          await this.audit.record({ event: 'wg.reconcile_repair', outcome: 'info', actor: 'system:reconcile', subject: repair.deviceId ?? repair.publicKey, details: { ...repair, interface: this.applier.interfaceName } });
        }
      }
      return { repairs, peersOnInterface: state.peers.size, devicesActive: desired.size, dryRun };
    });
  }
}
