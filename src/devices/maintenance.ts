import type { Logger } from 'pino';
import type { Reconciler } from '../wireguard/reconcile.js';
import type { DeviceService } from './device-service.js';

/**
 * Background work of `serve`: reconcile the interface with the database every
 * `reconcileSeconds`, and revoke expired devices every `sweepSeconds` (so a device's peer is gone
 * within that many seconds of its expiry). Runs are never concurrent with themselves.
 */
export class DeviceMaintenance {
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<string>();

  constructor(
    private readonly devices: DeviceService,
    private readonly reconciler: Reconciler,
    private readonly logger: Logger,
    private readonly intervals: { reconcileSeconds: number; sweepSeconds: number },
    /** Other periodic housekeeping run with the sweep (key retirement). */
    private readonly housekeeping: () => Promise<void> = async () => undefined,
    /** More periodic work on the same terms (single sign-on re-validation). */
    private readonly tasks: Array<{ name: string; seconds: number; run: () => Promise<void> }> = [],
  ) {}

  private async once(name: string, work: () => Promise<void>): Promise<void> {
    if (this.running.has(name)) return;
    this.running.add(name);
    try {
      await work();
    } catch (err) {
      this.logger.error({ err, task: name }, `${name} failed`);
    } finally {
      this.running.delete(name);
    }
  }

  async reconcileNow(): Promise<void> {
    const report = await this.reconciler.reconcile();
    if (report.repairs.length > 0) this.logger.warn({ repairs: report.repairs.map((r) => ({ action: r.action, device: r.deviceId, publicKey: r.publicKey })) }, `reconcile repaired ${report.repairs.length} difference(s)`);
    else this.logger.debug({ peers: report.peersOnInterface }, 'reconcile: interface matches the database');
  }

  async sweepNow(): Promise<void> {
    await this.housekeeping();
    const expired = await this.devices.expireDue();
    if (expired > 0) this.logger.info({ expired }, `removed ${expired} expired device(s)`);
  }

  start(): void {
    this.timers.push(setInterval(() => void this.once('reconcile', () => this.reconcileNow()), this.intervals.reconcileSeconds * 1000));
    this.timers.push(setInterval(() => void this.once('expiry sweep', () => this.sweepNow()), this.intervals.sweepSeconds * 1000));
    for (const task of this.tasks) this.timers.push(setInterval(() => void this.once(task.name, task.run), task.seconds * 1000));
    for (const timer of this.timers) timer.unref();
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    while (this.running.size > 0) await new Promise((r) => setTimeout(r, 20));
  }
}
