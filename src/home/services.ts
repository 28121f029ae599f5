import { pino, type Logger } from 'pino';
import type { CustomFetch } from 'openid-client';
import type { LoadedConfig, BrainstackConfig } from '../config/config.js';
import { homePath } from '../config/config.js';
import { openDatabase, migrate, type DatabaseHandle } from '../db/connect.js';
import { loadKeyring, type MasterKeyring } from '../crypto/master-key.js';
import { SigningKeyStore } from '../crypto/signing-keys.js';
import { AuditLog } from '../audit/audit-log.js';
import { Accounts } from '../auth/accounts.js';
import { Rbac } from '../auth/rbac.js';
import { Sessions } from '../auth/sessions.js';
import { LoginThrottle } from '../auth/throttle.js';
import { PasswordLogin } from '../auth/login.js';
import { openText } from '../crypto/seal.js';
import { BrainstackError } from '../errors.js';
import { ConfigOnlyApplier, WgCommand, type PeerApplier } from '../wireguard/wg.js';
import { PeerLock } from '../wireguard/peer-lock.js';
import { parseCidr } from '../wireguard/ip-pool.js';
import { Reconciler } from '../wireguard/reconcile.js';
import { Revocations } from '../tokens/revocations.js';
import { RefreshTokens } from '../tokens/refresh-tokens.js';
import { AccessTokenIssuer } from '../tokens/access-tokens.js';
import { DeviceService } from '../devices/device-service.js';
import { GuardRegistry } from '../tokens/guard-registry.js';
import { Metrics } from '../audit/metrics.js';
import { Alerts } from '../audit/alerts.js';
import { readFileSync } from 'node:fs';
import { SingleSignOn } from '../auth/sso.js';
import { DeviceAuthorizations } from '../auth/device-authorization.js';
import { WG_PRIVATE_SETTING, WG_PUBLIC_SETTING } from './settings.js';
import { LOG_REDACT } from './log-redact.js';

/** Everything the ticket service and the admin CLI work with, built in one place. */
export interface Services {
  dir: string;
  config: BrainstackConfig;
  database: DatabaseHandle;
  keyring: MasterKeyring;
  logger: Logger;
  audit: AuditLog;
  accounts: Accounts;
  rbac: Rbac;
  sessions: Sessions;
  throttle: LoginThrottle;
  passwordLogin: PasswordLogin;
  signingKeys: SigningKeyStore;
  applier: PeerApplier;
  revocations: Revocations;
  refreshTokens: RefreshTokens;
  accessTokens: AccessTokenIssuer;
  devices: DeviceService;
  reconciler: Reconciler;
  guards: GuardRegistry;
  metrics: Metrics;
  alerts: Alerts;
  sso: SingleSignOn;
  deviceAuthorizations: DeviceAuthorizations;
  issuer: string;
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger?: Logger;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  /** Apply pending migrations first (default true). */
  migrate?: boolean;
  /** Collect process metrics (CPU, memory, event loop): on for `serve`. */
  defaultMetrics?: boolean;
  /** HTTP client towards single sign-on providers (tests that play a misbehaving provider). */
  ssoFetch?: CustomFetch;
}


export async function openServices(loaded: LoadedConfig, options: ServiceOptions = {}): Promise<Services> {
  const { config, dir } = loaded;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? pino({ level: config.log_level, redact: LOG_REDACT });
  const keyring = loadKeyring(homePath(dir, config.master_key_file), options.env ?? process.env);
  const database = openDatabase(config.database.url, dir, { busyTimeoutMs: config.database.busy_timeout_ms, onPoolError: (err) => logger.warn({ err: err.message }, 'a database connection was lost; the pool replaces it') });
  if (options.migrate ?? true) await migrate(database);
  const db = database.db;
  const audit = new AuditLog(db, logger, now);
  const metrics = new Metrics({ defaultMetrics: options.defaultMetrics ?? false });
  audit.onRecord((row) => metrics.observeAudit(row));
  const { alerts: alertConfig } = config;
  const webhookSecret = alertConfig.webhook_secret_file ? readFileSync(homePath(dir, alertConfig.webhook_secret_file), 'utf8').trim() : undefined;
  if (alertConfig.webhook_url && !webhookSecret) throw new BrainstackError('config_invalid', "'alerts.webhook_url' needs 'alerts.webhook_secret_file' (the HMAC key that signs each alert)");
  const alerts = new Alerts(
    audit,
    logger,
    { failedLoginsPerAccount: alertConfig.failed_logins_per_account, failedLoginsPerIp: alertConfig.failed_logins_per_ip, scopeDenialsPerDevice: alertConfig.scope_denials_per_device, windowMs: alertConfig.window_seconds * 1000 },
    alertConfig.webhook_url && webhookSecret ? { url: alertConfig.webhook_url, secret: webhookSecret } : undefined,
    now,
  );
  audit.onRecord((row) => alerts.observe(row));
  const accounts = new Accounts(db, keyring, audit, { minPasswordLength: config.login.min_password_length, totpIssuer: `brainstack ${new URL(config.public_url).host}`, now });
  const rbac = new Rbac(db, audit, now);
  const sessions = new Sessions(db, { idleTimeoutSeconds: config.session.idle_timeout, absoluteTimeoutSeconds: config.session.absolute_timeout }, now);
  const policy = { freeFailures: config.login.free_failures, maxFailuresPerHour: config.login.max_failures_per_hour, maxBackoffSeconds: config.login.max_backoff };
  // An address is shared by many people (NAT, offices): it gets four times the account budget.
  const addressPolicy = { ...policy, freeFailures: policy.freeFailures * 4, maxFailuresPerHour: policy.maxFailuresPerHour * 4 };
  const throttle = new LoginThrottle(db, (key) => (key.startsWith('ip:') ? addressPolicy : policy), now);
  const passwordLogin = new PasswordLogin(db, accounts, throttle, audit, { requireTotp: config.login.require_totp, now });
  const signingKeys = new SigningKeyStore(db, keyring);
  const issuer = config.public_url.replace(/\/$/, '');

  const settings = await db.selectFrom('server_settings').select(['name', 'value']).where('name', 'in', [WG_PUBLIC_SETTING, WG_PRIVATE_SETTING]).execute();
  const serverPublicKey = settings.find((r) => r.name === WG_PUBLIC_SETTING)?.value;
  const sealedPrivate = settings.find((r) => r.name === WG_PRIVATE_SETTING)?.value;
  if (!serverPublicKey || !sealedPrivate) {
    await database.close();
    throw new BrainstackError('home_missing', `the database at ${database.location} has no WireGuard server key: run 'brainstack init'`);
  }
  const applier: PeerApplier = config.wireguard.interface ? new WgCommand(config.wireguard.interface, config.wireguard.wg_command) : new ConfigOnlyApplier();
  const lock = new PeerLock();
  const revocations = new Revocations(db, now, (kind) => metrics.revocations.inc({ kind }));
  const refreshTokens = new RefreshTokens(db, audit, config.tokens.refresh_lifetime_days * 86_400_000, now);
  const accessTokens = new AccessTokenIssuer(signingKeys, { issuer, audience: config.tokens.audience, lifetimeSeconds: config.tokens.lifetime, now, onIssue: (client) => metrics.tokensIssued.inc({ client }) });
  const devices = new DeviceService(db, keyring, audit, applier, lock, refreshTokens, revocations, {
    range: parseCidr(config.wireguard.cidr),
    endpoint: config.wireguard.endpoint,
    allowedIps: config.wireguard.allowed_ips,
    dns: config.wireguard.dns,
    keepalive: config.wireguard.persistent_keepalive,
    deviceLifetimeMs: config.wireguard.device_lifetime_days * 86_400_000,
    quarantineMs: config.wireguard.ip_quarantine * 1000,
    issuer,
    serverPublicKey,
    now,
  });
  const reconciler = new Reconciler(applier, devices, lock, audit, {
    publicKey: serverPublicKey,
    listenPort: config.wireguard.listen_port,
    privateKey: () => openText(keyring, { table: 'server_settings', column: 'value', row: WG_PRIVATE_SETTING }, sealedPrivate),
  });
  const sso = new SingleSignOn(config.sso.providers, db, keyring, audit, logger, (userId, actor, reason) => devices.revokeUser(userId, actor, reason), {
    dir,
    publicUrl: issuer,
    loginTimeoutMs: config.sso.login_timeout * 1000,
    revalidateAfterMs: config.sso.revalidate_after * 1000,
    now,
    ...(options.ssoFetch ? { fetch: options.ssoFetch } : {}),
  });
  const deviceAuthorizations = new DeviceAuthorizations(db, audit, { publicUrl: issuer, lifetimeSeconds: config.device_code.lifetime, intervalSeconds: config.device_code.interval, now });
  return {
    dir, config, database, keyring, logger, audit, accounts, rbac, sessions, throttle, passwordLogin, signingKeys, sso, deviceAuthorizations,
    applier, revocations, refreshTokens, accessTokens, devices, reconciler, issuer, guards: new GuardRegistry(db, audit, now), metrics, alerts,
    close: () => database.close(),
  };
}
