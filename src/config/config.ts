import { readFileSync, existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { configSchema } from './schema.js';
import { BrainstackError } from '../errors.js';

export interface BrainstackConfig {
  public_url: string;
  listen: string;
  internal_listen: string;
  master_key_file: string;
  trust_proxy: boolean;
  log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  database: { url: string; busy_timeout_ms: number };
  tls: { enabled: boolean; cert_file: string; key_file: string };
  http: { request_timeout: number; headers_timeout: number; body_limit: number; auth_body_limit: number };
  session: { idle_timeout: number; absolute_timeout: number; cookie_name: string };
  login: {
    require_totp: boolean;
    min_password_length: number;
    free_failures: number;
    max_failures_per_hour: number;
    max_backoff: number;
    rate_limit_per_minute: number;
  };
  tokens: { audience: string; lifetime: number; algorithm: 'ES256' | 'EdDSA'; refresh_lifetime_days: number };
  alerts: {
    webhook_url?: string;
    webhook_secret_file?: string;
    failed_logins_per_account: number;
    failed_logins_per_ip: number;
    scope_denials_per_device: number;
    window_seconds: number;
    tls_expiry_days: number;
  };
  sso: { revalidate_after: number; sweep_interval: number; login_timeout: number; providers: SsoProviderConfig[] };
  device_code: { lifetime: number; interval: number };
  wireguard: {
    interface?: string;
    endpoint: string;
    listen_port: number;
    cidr: string;
    allowed_ips: string[];
    dns: string[];
    persistent_keepalive: number;
    device_lifetime_days: number;
    reconcile_interval: number;
    expiry_sweep_interval: number;
    ip_quarantine: number;
    wg_command: string;
  };
}

/** One upstream OpenID Connect provider (`sso.providers[]`). */
export interface SsoProviderConfig {
  /** Short name used in URLs (`/sso/<name>/login`) and in `user_roles.source` (`sso:<name>`). */
  name: string;
  display_name?: string;
  issuer: string;
  client_id: string;
  /** File with the client secret; else a secret sealed in the database, else a public client (PKCE only). */
  client_secret_file?: string;
  /** CA certificate(s) to trust for the provider (an internal CA). */
  ca_file?: string;
  scopes: string[];
  groups_claim: string;
  username_claim: string;
  /** Upstream group → brainstack roles. */
  group_roles: Record<string, string[]>;
  /** When not empty, only members of one of these groups may log in. */
  allowed_groups: string[];
  /** Create a brainstack user at the first login of an unknown upstream account. */
  create_users: boolean;
  /** When not empty, the ID token's `amr` must contain one of these. */
  required_amr: string[];
  /** When not empty, the ID token's `acr` must be one of these. */
  required_acr: string[];
}

/** A loaded configuration plus where it came from. */
export interface LoadedConfig {
  dir: string;
  file: string;
  config: BrainstackConfig;
}

export const CONFIG_FILE_NAME = 'brainstack.json';

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: true });
const validate = ajv.compile(configSchema);

/** Environment variables that are not config keys. */
const RESERVED_ENV = new Set(['BRAINSTACK_DIR', 'BRAINSTACK_MASTER_KEY', 'BRAINSTACK_CLI_LOG_LEVEL']);

/** Aliases kept for convenience in container set-ups. */
const ENV_ALIASES: Record<string, string> = { BRAINSTACK_DATABASE_URL: 'database.url' };

/**
 * Maps `BRAINSTACK_LOGIN__REQUIRE_TOTP=true` to `login.require_totp`: the prefix is dropped,
 * `__` separates sections, the rest is lower-cased.
 */
export function envOverrides(env: NodeJS.ProcessEnv): Array<{ path: string[]; value: string; variable: string }> {
  const out: Array<{ path: string[]; value: string; variable: string }> = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('BRAINSTACK_') || RESERVED_ENV.has(name) || value === undefined) continue;
    const dotted = ENV_ALIASES[name] ?? name.slice('BRAINSTACK_'.length).toLowerCase().split('__').join('.');
    out.push({ path: dotted.split('.'), value, variable: name });
  }
  return out;
}

function describe(error: ErrorObject): string {
  const path = error.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.');
  if (error.keyword === 'additionalProperties') {
    const extra = String((error.params as { additionalProperty: string }).additionalProperty);
    return `unknown key '${path ? `${path}.` : ''}${extra}'`;
  }
  return `'${path || '(root)'}' ${error.message ?? 'is invalid'}`;
}

/**
 * Validates a raw configuration object, fills defaults, and returns it typed.
 * Throws `config_invalid` naming every bad key.
 */
export function parseConfig(raw: unknown, source = 'configuration'): BrainstackConfig {
  const candidate = structuredClone(raw ?? {});
  if (!validate(candidate)) {
    const problems = (validate.errors ?? []).map(describe);
    throw new BrainstackError('config_invalid', `${source}: ${problems.join('; ')}`, { details: { problems } });
  }
  const config = candidate as unknown as BrainstackConfig;
  if (config.http.headers_timeout > config.http.request_timeout) {
    throw new BrainstackError('config_invalid', `${source}: 'http.headers_timeout' must not exceed 'http.request_timeout'`);
  }
  return config;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/** Reads `DIR/brainstack.json`, applies environment overrides, validates. */
export function loadConfig(dir: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const home = resolve(dir);
  const file = join(home, CONFIG_FILE_NAME);
  if (!existsSync(file)) {
    throw new BrainstackError('home_missing', `no configuration at ${file}: run 'brainstack init --dir ${home}' first`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BrainstackError('config_invalid', `${file}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BrainstackError('config_invalid', `${file}: the top level must be an object`);
  }
  for (const { path, value, variable } of envOverrides(env)) {
    let parsed: unknown = value;
    if (value.startsWith('[')) {
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new BrainstackError('config_invalid', `${variable}: not a valid JSON array`);
      }
    }
    setPath(raw as Record<string, unknown>, path, parsed);
  }
  return { dir: home, file, config: parseConfig(raw, file) };
}

/** Resolves a path from the config relative to the home directory. */
export function homePath(dir: string, path: string): string {
  return isAbsolute(path) ? path : join(dir, path);
}
