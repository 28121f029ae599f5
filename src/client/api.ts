import { readFileSync } from 'node:fs';
import { Agent, fetch, type Response } from 'undici';
import { BrainstackError, ERROR_CATALOGUE, type ErrorCode } from '../errors.js';

/** A small client of the ticket service's API, for the user's CLI. */
export class TicketClient {
  private readonly dispatcher: Agent;
  private cookie: string | undefined;

  constructor(
    readonly server: string,
    ca?: string,
  ) {
    this.dispatcher = new Agent({ connect: ca ? { ca: readFileSync(ca, 'utf8') } : {} });
  }

  private async call(path: string, init: { method?: string; json?: unknown; form?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    if (this.cookie) headers.cookie = this.cookie;
    try {
      const response = await fetch(`${this.server.replace(/\/$/, '')}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, ...(body !== undefined ? { body } : {}), dispatcher: this.dispatcher });
      const setCookie = response.headers.get('set-cookie');
      if (setCookie) this.cookie = setCookie.split(';')[0];
      return response;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const hint = cause?.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || cause?.code === 'SELF_SIGNED_CERT_IN_CHAIN' || cause?.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ? ' (the server certificate is not trusted: pass --ca FILE)' : '';
      throw new BrainstackError('server_unreachable', `cannot reach ${this.server}: ${cause?.message ?? (err as Error).message}${hint}`);
    }
  }

  private async expect<T>(response: Response, ok: number): Promise<T> {
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // not JSON; fall through with the status
    }
    if (response.status === ok) return body as T;
    const code = (body.code ?? body.error) as string | undefined;
    const message = (body.message ?? body.error_description ?? `the server answered ${response.status}`) as string;
    throw new BrainstackError(code && code in ERROR_CATALOGUE ? (code as ErrorCode) : 'invalid_request', message);
  }

  async login(username: string, password: string, totp?: string): Promise<void> {
    await this.expect(await this.call('/api/v1/login', { json: { username, password, ...(totp ? { totp } : {}) } }), 200);
  }

  async registerDevice(name: string, publicKey: string): Promise<{ id: string; ip: string; config: string; configFileName: string; refresh_token: string }> {
    return this.expect(await this.call('/api/v1/devices', { json: { name, publicKey } }), 201);
  }

  async refresh(refreshToken: string, scope?: string): Promise<{ access_token: string; expires_in: number; scope: string; refresh_token: string }> {
    return this.expect(await this.call('/oauth/token', { form: { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'brainstack-cli', ...(scope ? { scope } : {}) } }), 200);
  }

  /** RFC 8628 §3.1: asks for a device code; the public key and device name travel with it. */
  async startDeviceAuthorization(deviceName: string, publicKey: string): Promise<{ device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; expires_in: number; interval: number }> {
    return this.expect(await this.call('/oauth/device_authorization', { form: { client_id: 'brainstack-cli', device_name: deviceName, public_key: publicKey } }), 200);
  }

  /** RFC 8628 §3.4: one poll; throws `authorization_pending`, `slow_down`, `access_denied` or `expired_token` until approved. */
  async pollDeviceToken(deviceCode: string): Promise<{ access_token: string; expires_in: number; scope: string; refresh_token: string; username: string; device_id: string; device_ip: string; wireguard_config: string; wireguard_config_file_name: string }> {
    return this.expect(await this.call('/oauth/token', { form: { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: deviceCode, client_id: 'brainstack-cli' } }), 200);
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}
