import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const TEMPLATES = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', 'templates');

/** The line a config carries when the private key never left the client; clients replace it. */
export const PRIVATE_KEY_PLACEHOLDER = '# PrivateKey = (the private key generated on this device goes here; the server never had it)';

export interface ClientConfigValues {
  deviceName: string;
  deviceId: string;
  username: string;
  issuer: string;
  expiresAt: string;
  /** Present only for a server-generated key pair, in the one response that returns it. */
  privateKey?: string;
  address: string;
  dns: string[];
  serverPublicKey: string;
  presharedKey: string;
  endpoint: string;
  allowedIps: string[];
  keepalive: number;
}

const cache = new Map<string, string>();

function template(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(join(TEMPLATES, name), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/**
 * Renders `templates/NAME`: `{{key}}` is replaced by its value; a line holding `{{key?}}` is
 * dropped when the value is empty. Values never contain newlines (names are validated), so a
 * value cannot add a line to the file.
 */
export function renderTemplate(name: string, values: Record<string, string>): string {
  const lines = template(name).split('\n');
  const out: string[] = [];
  for (const line of lines) {
    let drop = false;
    const rendered = line.replace(/\{\{([a-z_]+)(\??)\}\}/g, (_m, key: string, optional: string) => {
      const value = values[key] ?? '';
      if (/[\r\n]/.test(value)) throw new Error(`template value '${key}' contains a line break`);
      if (optional && value === '') drop = true;
      return value;
    });
    if (!drop) out.push(rendered);
  }
  return out.join('\n');
}

/** A wg-quick client config for one device. */
export function renderClientConfig(v: ClientConfigValues): string {
  return renderTemplate('wg-client.conf', {
    device_name: v.deviceName,
    device_id: v.deviceId,
    username: v.username,
    issuer: v.issuer,
    expires_at: v.expiresAt,
    private_key_line: v.privateKey ? `PrivateKey = ${v.privateKey}` : PRIVATE_KEY_PLACEHOLDER,
    address: `${v.address}/32`,
    dns: v.dns.join(', '),
    server_public_key: v.serverPublicKey,
    preshared_key: v.presharedKey,
    endpoint: v.endpoint,
    allowed_ips: v.allowedIps.join(', '),
    keepalive: v.keepalive > 0 ? String(v.keepalive) : '',
  });
}

/** Puts a locally held private key into a downloaded config (CLI and tests). */
export function withPrivateKey(config: string, privateKey: string): string {
  return config.replace(PRIVATE_KEY_PLACEHOLDER, `PrivateKey = ${privateKey}`);
}

/** A file name wg-quick accepts (interface names: at most 15 of [a-zA-Z0-9_=+.-]). */
export function configFileName(deviceName: string): string {
  const slug = deviceName.normalize('NFKD').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase().slice(0, 12) || 'device';
  return `bs-${slug.replace(/-+$/, '')}.conf`;
}
