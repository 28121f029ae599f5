import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AuditRow } from './audit-log.js';

/**
 * Prometheus metrics of one process (ticket service or guard), on its own registry. Most
 * security counters are derived from audit events, so every audited outcome is also counted.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly logins = new Counter({ name: 'brainstack_logins_total', help: 'Login attempts by outcome (success, failure, throttled)', labelNames: ['outcome'], registers: [this.registry] });
  readonly tokensIssued = new Counter({ name: 'brainstack_tokens_issued_total', help: 'Access tokens issued, by client', labelNames: ['client'], registers: [this.registry] });
  readonly revocations = new Counter({ name: 'brainstack_revocations_total', help: 'Revocations recorded, by kind (jti, device, user)', labelNames: ['kind'], registers: [this.registry] });
  readonly reconcileRepairs = new Counter({ name: 'brainstack_reconcile_repairs_total', help: 'Differences between interface and database repaired by reconcile, by action', labelNames: ['action'], registers: [this.registry] });
  readonly devicesRegistered = new Counter({ name: 'brainstack_devices_registered_total', help: 'Devices registered', registers: [this.registry] });
  readonly guardDecisions = new Counter({ name: 'brainstack_guard_decisions_total', help: 'Guard decisions by assistant, result and reason', labelNames: ['assistant', 'result', 'reason'], registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: 'brainstack_http_request_duration_seconds',
    help: 'HTTP request latency by listener, route and status class',
    labelNames: ['listener', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'brainstack_process_' });
  }

  /** A gauge whose value is read when Prometheus scrapes. */
  gauge(name: string, help: string, read: () => Promise<number> | number): void {
    // A listener rebuilt in the same process (restart in tests) replaces its gauges.
    if (this.registry.getSingleMetric(name)) this.registry.removeSingleMetric(name);
    new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        this.set(await read());
      },
    });
  }

  /** Counts what an audit event says (wired as the audit log's listener). */
  observeAudit(row: AuditRow): void {
    if (row.event === 'login') {
      const reason = (JSON.parse(row.details) as { reason?: string }).reason;
      if (row.outcome === 'success') this.logins.inc({ outcome: 'success' });
      else if (row.outcome === 'failure') this.logins.inc({ outcome: reason === 'throttled' ? 'throttled' : 'failure' });
    } else if (row.event === 'wg.reconcile_repair') {
      this.reconcileRepairs.inc({ action: (JSON.parse(row.details) as { action?: string }).action ?? 'unknown' });
    } else if (row.event === 'device.registered') {
      this.devicesRegistered.inc();
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
