import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sh } from './wireguard.js';
import { initHome } from '../../src/home/init.js';

export interface Lab {
  prefix: string;
  env: Record<string, string>;
  /** Runs a command inside a namespace; returns status and output. */
  exec(ns: string, command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string };
  /** Starts a long-running process inside a namespace (killed at teardown). */
  spawn(ns: string, command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  down(): void;
}

const LAB = join(process.cwd(), 'scripts', 'lab');

/** Builds the namespace lab (scripts/lab) under a fresh prefix; `down()` removes everything. */
export function startLab(): Lab {
  const prefix = `l${randomBytes(2).toString('hex')}`;
  const n = String(10 + Math.floor(Math.random() * 200));
  const out = sh(LAB, ['up', prefix, n]);
  const env = Object.fromEntries(out.split('\n').filter((l) => l.includes('=')).map((l) => l.split('=', 2) as [string, string]));
  const children: ChildProcess[] = [];
  return {
    prefix,
    env,
    exec(ns, command, args, options = {}) {
      const result = spawnSync('ip', ['netns', 'exec', ns, command, ...args], { encoding: 'utf8', env: { ...process.env, ...options.env }, input: options.input ?? '', timeout: options.timeoutMs ?? 30_000 });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    spawn(ns, command, args, env = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    down() {
      for (const child of children) child.kill('SIGKILL');
      spawnSync(LAB, ['down', prefix]);
    },
  };
}

export const USERSPACE_WG_ENV = { WG_QUICK_USERSPACE_IMPLEMENTATION: 'wireguard-go', WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };

/** A brainstack home wired to the lab: the ticket service listens on the gateway's internet address. */
export async function createLabHome(lab: Lab, port: number, settings: Record<string, unknown> = {}): Promise<{ dir: string; url: string; cleanup(): void }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'brainstack-lab-')), 'home');
  const url = `https://${lab.env.LAB_GATEWAY_IP}:${port}`;
  await initHome({
    dir,
    env: {},
    settings: {
      public_url: url,
      listen: `0.0.0.0:${port}`,
      internal_listen: `127.0.0.1:${port + 1}`,
      'wireguard.interface': lab.env.LAB_WG_INTERFACE,
      'wireguard.endpoint': lab.env.LAB_WG_ENDPOINT,
      'wireguard.listen_port': 51820,
      'wireguard.allowed_ips': [lab.env.LAB_PRIVATE_CIDR, `${lab.env.LAB_WG_SERVER_IP}/32`],
      'wireguard.persistent_keepalive': 0,
      'wireguard.reconcile_interval': 2,
      ...settings,
    },
  });
  return { dir, url, cleanup: () => rmSync(join(dir, '..'), { recursive: true, force: true }) };
}

const BIN = join(process.cwd(), 'bin', 'brainstack.js');

/**
 * `brainstack serve` in the gateway namespace, and the "notes" assistant (answers `notes for
 * <user>`) on the private network behind a sidecar guard at `LAB_PRIVATE_IP:8080` that follows
 * the feed on the internal listener (`feedHost:port+1`) with `credentialFile`.
 */
export async function startServeAndNotes(lab: Lab, home: { dir: string; url: string }, options: { port: number; feedHost: string; credentialFile: string }): Promise<{ server: ChildProcess }> {
  const server = lab.spawn(lab.env.LAB_GATEWAY_NS as string, process.execPath, [BIN, 'serve', '--dir', home.dir]);
  await waitForOutput(server, /ticket service started/);
  const prv = lab.env.LAB_PRIVATE_NS as string;
  const internal = `http://${options.feedHost}:${options.port + 1}`;
  await waitForOutput(lab.spawn(prv, process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('notes for ' + q.headers['x-brainstack-user'])).listen(9000, '127.0.0.1', () => console.log('listening'))`]), /listening/);
  const sidecar = lab.spawn(prv, process.execPath, [BIN, 'guard', '--assistant', 'notes', '--listen', `${lab.env.LAB_PRIVATE_IP}:8080`, '--upstream', 'http://127.0.0.1:9000', '--jwks', `${internal}/.well-known/jwks.json`, '--issuer', home.url, '--feed', internal, '--feed-credential-file', options.credentialFile]);
  await waitForOutput(sidecar, /brainstack guard started/);
  return { server };
}

/** A tiny HTTP service on the private network that answers with the caller's address. */
export function startEchoService(lab: Lab, port = 8080): ChildProcess {
  const script = `require('node:http').createServer((q, s) => { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ remote: q.socket.remoteAddress })); }).listen(${port}, '${lab.env.LAB_PRIVATE_IP}', () => console.log('listening'));`;
  return lab.spawn(lab.env.LAB_PRIVATE_NS as string, process.execPath, ['-e', script]);
}

export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${seen}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before ${pattern}; output:\n${seen}`));
    });
  });
}

export function writePrivateFile(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
}

/** curl from inside a namespace (the user's side of the internet): status, body, and whether curl succeeded. */
export function curl(lab: Lab, ns: string, args: string[], maxTime = 10): { status: number; body: string; ok: boolean } {
  const result = lab.exec(ns, 'curl', ['-sk', '--max-time', String(maxTime), '-w', '\n%{http_code}', ...args]);
  const lines = result.stdout.split('\n');
  const status = Number(lines.pop());
  return { status, body: lines.join('\n'), ok: result.status === 0 };
}
