import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog, AuditRow } from './audit-log.js';

export interface AlertThresholds {
  failedLoginsPerAccount: number;
  failedLoginsPerIp: number;
  scopeDenialsPerDevice: number;
  windowMs: number;
}

export interface WebhookSettings {
  url: string;
  secret: string;
  /** Delays between attempts (ms); default 1 s, 4 s, 16 s. */
  retryDelaysMs?: number[];
}

/** What a guard reports to the ticket service about a refusal. */
export interface GuardEvent {
  guard: string;
  assistant: string;
  reason: string;
  user?: string;
  device?: string;
  ip?: string;
}

export interface Alert {
  rule: 'failed_logins_account' | 'failed_logins_ip' | 'stolen_token_suspected' | 'scope_denials_device' | 'revoked_token_used' | 'reconcile_drift' | 'tls_expiry';
  subject: string;
  count: number;
  window_seconds: number;
  details: Record<string, unknown>;
  at: string;
}

/** Sliding-window counters keyed by rule and subject. */
class Windows {
  private readonly hits = new Map<string, number[]>();
  constructor(private readonly windowMs: number) {}
  add(key: string, now: number): number {
    const list = (this.hits.get(key) ?? []).filter((t) => t > now - this.windowMs);
    list.push(now);
    this.hits.set(key, list);
    return list.length;
  }
}

/**
 * Alert rules over audit events and guard reports. Each alert becomes an audit row, a warning
 * log line and, when configured, a signed webhook POST (HMAC-SHA256 of the body in
 * `X-Brainstack-Signature: sha256=…`), retried with back-off in the background: nothing here
 * ever blocks or fails the request that triggered it. One alert per rule and subject per window.
 */
export class Alerts {
  private readonly windows: Windows;
  private readonly cooldown = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly audit: AuditLog,
    private readonly logger: Logger,
    private readonly thresholds: AlertThresholds,
    private readonly webhook?: WebhookSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.windows = new Windows(thresholds.windowMs);
  }

  /** Wire as the audit log's listener. */
  observe(row: AuditRow): void {
    if (row.event.startsWith('alert.')) return;
    if (row.event === 'login' && row.outcome === 'failure') {
      const details = JSON.parse(row.details) as { reason?: string };
      if (details.reason === 'throttled') return;
      if (row.subject) this.count('failed_logins_account', row.subject, this.thresholds.failedLoginsPerAccount, { ip: row.ip });
      if (row.ip) this.count('failed_logins_ip', row.ip, this.thresholds.failedLoginsPerIp, {});
    } else if (row.event === 'wg.reconcile_repair') {
      this.raise({ rule: 'reconcile_drift', subject: row.subject ?? 'interface', count: 1, details: JSON.parse(row.details) as Record<string, unknown> });
    }
  }

  /** A refusal reported by a guard. */
  guardEvent(event: GuardEvent): void {
    if (event.reason === 'wrong_source_address') {
      this.raise({ rule: 'stolen_token_suspected', subject: event.device ?? 'unknown device', count: 1, details: { ...event } });
    } else if (event.reason.startsWith('revoked_')) {
      this.raise({ rule: 'revoked_token_used', subject: event.device ?? event.user ?? 'unknown', count: 1, details: { ...event } });
    } else if (event.reason === 'insufficient_scope' && event.device) {
      this.count('scope_denials_device', event.device, this.thresholds.scopeDenialsPerDevice, { assistant: event.assistant, user: event.user });
    }
  }

  tlsExpiry(daysLeft: number, limitDays: number): void {
    if (daysLeft < limitDays) this.raise({ rule: 'tls_expiry', subject: 'tls certificate', count: 1, details: { days_left: Math.floor(daysLeft) } });
  }

  private count(rule: Alert['rule'], subject: string, threshold: number, details: Record<string, unknown>): void {
    const n = this.windows.add(`${rule}:${subject}`, this.now());
    if (n >= threshold) this.raise({ rule, subject, count: n, details });
  }

  private raise(partial: Omit<Alert, 'at' | 'window_seconds'>): void {
    const key = `${partial.rule}:${partial.subject}`;
    const now = this.now();
    if ((this.cooldown.get(key) ?? 0) > now) return;
    this.cooldown.set(key, now + this.thresholds.windowMs);
    const alert: Alert = { ...partial, window_seconds: this.thresholds.windowMs / 1000, at: new Date(now).toISOString() };
    this.logger.warn({ alert }, `ALERT ${alert.rule}: ${alert.subject}`);
    const work = (async () => {
      await this.audit.record({ event: `alert.${alert.rule}`, outcome: 'info', actor: 'system:alerts', subject: alert.subject, details: { count: alert.count, ...alert.details } }).catch((err) => this.logger.error({ err }, 'could not record an alert'));
      if (this.webhook) await this.deliver(alert, this.webhook);
    })();
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work));
  }

  private async deliver(alert: Alert, webhook: WebhookSettings): Promise<void> {
    const body = JSON.stringify(alert);
    const signature = `sha256=${createHmac('sha256', webhook.secret).update(body).digest('hex')}`;
    const delays = webhook.retryDelaysMs ?? [1000, 4000, 16000];
    for (let attempt = 0; attempt <= delays.length; attempt += 1) {
      try {
        const response = await fetch(webhook.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-brainstack-signature': signature, 'x-brainstack-alert': alert.rule }, body, signal: AbortSignal.timeout(5000) });
        if (response.ok) return;
        throw new Error(`answered ${response.status}`);
      } catch (err) {
        if (attempt === delays.length) {
          this.logger.error({ err: (err as Error).message, rule: alert.rule }, 'alert webhook failed after retries');
          return;
        }
        await new Promise((r) => setTimeout(r, delays[attempt]));
      }
    }
  }

  /** Waits for in-flight deliveries (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** Verifies a webhook signature (for receivers; constant-time). */
export function verifyWebhookSignature(secret: string, body: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
