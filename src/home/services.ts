import { pino, type Logger } from 'pino';
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
  close(): Promise<void>;
}

export interface ServiceOptions {
  logger?: Logger;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  /** Apply pending migrations (serve and init do; the CLI refuses to run on an old schema instead). */
  migrate?: boolean;
}

/** Pino options shared by every process: secrets are redacted by path even if someone logs them. */
export const LOG_REDACT = ['password', '*.password', 'totp', '*.totp', 'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', 'access_token', 'refresh_token'];

export async function openServices(loaded: LoadedConfig, options: ServiceOptions = {}): Promise<Services> {
  const { config, dir } = loaded;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? pino({ level: config.log_level, redact: LOG_REDACT });
  const keyring = loadKeyring(homePath(dir, config.master_key_file), options.env ?? process.env);
  const database = openDatabase(config.database.url, dir, { busyTimeoutMs: config.database.busy_timeout_ms });
  if (options.migrate ?? true) await migrate(database);
  const db = database.db;
  const audit = new AuditLog(db, logger, now);
  const accounts = new Accounts(db, keyring, audit, { minPasswordLength: config.login.min_password_length, totpIssuer: `brainstack ${new URL(config.public_url).host}`, now });
  const rbac = new Rbac(db, audit, now);
  const sessions = new Sessions(db, { idleTimeoutSeconds: config.session.idle_timeout, absoluteTimeoutSeconds: config.session.absolute_timeout }, now);
  const policy = { freeFailures: config.login.free_failures, maxFailuresPerHour: config.login.max_failures_per_hour, maxBackoffSeconds: config.login.max_backoff };
  // An address is shared by many people (NAT, offices): it gets four times the account budget.
  const addressPolicy = { ...policy, freeFailures: policy.freeFailures * 4, maxFailuresPerHour: policy.maxFailuresPerHour * 4 };
  const throttle = new LoginThrottle(db, (key) => (key.startsWith('ip:') ? addressPolicy : policy), now);
  const passwordLogin = new PasswordLogin(db, accounts, throttle, audit, { requireTotp: config.login.require_totp, now });
  const signingKeys = new SigningKeyStore(db, keyring);
  return { dir, config, database, keyring, logger, audit, accounts, rbac, sessions, throttle, passwordLogin, signingKeys, close: () => database.close() };
}
