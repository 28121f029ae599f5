import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BrainstackError } from '../errors.js';

/** What `brainstack login` leaves on the user's machine (client.json, mode 0600). */
export interface ClientState {
  server: string;
  /** CA certificate file to trust for the server, when it is not publicly trusted. */
  ca?: string;
  username: string;
  deviceId: string;
  deviceName: string;
  ip: string;
  /** Path of the wg-quick config (mode 0600); its file name is the interface name. */
  configPath: string;
  /** Rotated on every use; a secret: the file is readable by its owner only. */
  refreshToken: string;
  accessToken?: string;
  accessScope?: string;
  accessExpiresAt?: number;
}

/** `$BRAINSTACK_CLIENT_DIR`, else `$XDG_CONFIG_HOME/brainstack`, else `~/.config/brainstack`. */
export function clientDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.BRAINSTACK_CLIENT_DIR ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'brainstack');
}

export function ensureClientDir(dir: string): void {
  mkdirSync(join(dir, 'wg'), { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  chmodSync(join(dir, 'wg'), 0o700);
}

export function loadClientState(dir: string): ClientState {
  const file = join(dir, 'client.json');
  if (!existsSync(file)) throw new BrainstackError('home_missing', `not logged in (no ${file}): run 'brainstack login --server URL' first`);
  return JSON.parse(readFileSync(file, 'utf8')) as ClientState;
}

/** Writes the state atomically (temp file + rename), owner-only. */
export function saveClientState(dir: string, state: ClientState): void {
  const file = join(dir, 'client.json');
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}

/** Writes a private file (wg-quick config) owner-only. */
export function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}
