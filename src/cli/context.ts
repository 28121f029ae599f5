import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Services } from '../home/services.js';

export const DEFAULT_DIR = '/var/lib/brainstack';

/** The brainstack home a command works on: `--dir`, else BRAINSTACK_DIR, else /var/lib/brainstack. */
export function homeDirOf(command: Command): string {
  const { dir } = command.optsWithGlobals<{ dir?: string }>();
  return resolve(dir ?? process.env.BRAINSTACK_DIR ?? DEFAULT_DIR);
}

/** Runs `work` with services opened on the command's home, closing them afterwards. Logs go to stderr, warnings only. */
export async function withServices<T>(command: Command, work: (services: Services) => Promise<T>): Promise<T> {
  // Loaded here, not at start: commands that need no database (token, up, status) start faster.
  const [{ loadConfig }, { openServices }, { LOG_REDACT }, { pino }] = await Promise.all([import('../config/config.js'), import('../home/services.js'), import('../home/log-redact.js'), import('pino')]);
  const loaded = loadConfig(homeDirOf(command));
  const logger = pino({ level: process.env.BRAINSTACK_CLI_LOG_LEVEL ?? 'warn', redact: LOG_REDACT }, pino.destination(2));
  const services = await openServices(loaded, { logger });
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}

/** The operator name recorded in the audit log for CLI actions. */
export function cliActor(): string {
  const user = process.env.SUDO_USER ?? process.env.USER ?? 'root';
  return `cli:${user}`;
}
