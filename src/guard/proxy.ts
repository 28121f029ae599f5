import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { Logger } from 'pino';
import type { Guard } from './guard.js';
import { wwwAuthenticate, type GuardDecision } from './verifier.js';
import { callerAddress } from './source-address.js';

/** One entry of a gateway's routing table. */
export interface GuardRoute {
  /** Path prefix, e.g. `/notes` (`/` for a sidecar). */
  prefix: string;
  assistant: string;
  /**
   * Base URL of the assistant, e.g. `http://10.99.0.2:8080`, or `unix:/run/notes.sock` for an
   * assistant that listens on a UNIX socket only (then nothing reaches it around the guard).
   */
  upstream: string;
  /** Forward `/notes/x` as `/x` (default true for prefixes other than `/`). */
  stripPrefix?: boolean;
}

export interface GuardProxyOptions {
  guard: Guard;
  routes: GuardRoute[];
  logger: Logger;
  trustedGateways?: string[];
  onDecision?: (assistant: string, reason: string, ok: boolean) => void;
  /** Kept-alive connections per upstream. */
  connections?: number;
}

export interface GuardProxy {
  server: Server;
  listen(host: string, port: number): Promise<string>;
  close(): Promise<void>;
}

const normalisePrefix = (p: string) => `/${p.replace(/^\/+|\/+$/g, '')}`;

/** Finds the route with the longest prefix (normalised) that matches the path on a segment boundary. */
function matchRoute<R extends { prefix: string }>(routes: R[], path: string): R | undefined {
  let best: R | undefined;
  for (const route of routes) {
    const { prefix } = route;
    const matches = prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
    if (matches && (!best || prefix.length > best.prefix.length)) best = route;
  }
  return best;
}

/** Where a route's requests go: an origin (with an optional UNIX socket) and a base path. */
export function parseUpstream(upstream: string): { key: string; origin: string; socketPath?: string; basePath: string } {
  if (upstream.startsWith('unix:')) {
    const socketPath = upstream.slice('unix:'.length);
    if (!socketPath.startsWith('/')) throw new Error(`upstream '${upstream}': a UNIX socket upstream is unix:/absolute/path`);
    return { key: upstream, origin: 'http://localhost', socketPath, basePath: '' };
  }
  const url = new URL(upstream);
  return { key: url.origin, origin: url.origin, basePath: url.pathname.replace(/\/$/, '') };
}

/**
 * Sends one request upstream with undici's lowest-level API and writes the answer into `res` as
 * it arrives (raw header lists, no intermediate stream or header objects), with backpressure:
 * when `res` is full the upstream read pauses until it drains. Resolves when the answer is done.
 */
function forward(pool: Pool, request: { path: string; method: string; headers: string[]; body: IncomingMessage | null }, res: ServerResponse, onError: (err: Error) => void): Promise<void> {
  return new Promise((resolve) => {
    let abort: ((err?: Error) => void) | undefined;
    let resume: (() => void) | undefined;
    const onClose = () => {
      if (!res.writableFinished) abort?.(new Error('the client went away'));
    };
    res.once('close', onClose);
    const done = () => {
      res.off('close', onClose);
      resolve();
    };
    pool.dispatch(
      { path: request.path, method: request.method as 'GET', headers: request.headers, body: request.body },
      {
        onConnect(abortRequest) {
          abort = abortRequest;
        },
        onHeaders(statusCode, rawHeaders, resumeReading) {
          resume = resumeReading;
          const out: string[] = [];
          for (let i = 0; i < rawHeaders.length; i += 2) {
            const name = (rawHeaders[i] as Buffer).toString('latin1');
            if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'));
          }
          res.writeHead(statusCode, out);
          return true;
        },
        onData(chunk) {
          const more = res.write(chunk);
          if (!more && resume) res.once('drain', resume);
          return more;
        },
        onComplete() {
          res.end();
          done();
        },
        onError(err) {
          onError(err);
          done();
        },
      },
    );
  });
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded in either direction. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization']);

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function refuse(res: ServerResponse, decision: Extract<GuardDecision, { ok: false }>): void {
  const headers: Record<string, string> = {};
  const challenge = wwwAuthenticate(decision);
  if (challenge) headers['www-authenticate'] = challenge;
  if (decision.status === 503) headers['retry-after'] = '5';
  const message = decision.error === 'insufficient_scope' ? `the access token does not grant ${decision.scope}` : decision.error === 'revocation_unavailable' ? 'the guard cannot currently check revocations; try again shortly' : decision.error === 'invalid_request' ? 'the request must carry exactly one Bearer token, in the Authorization header' : 'the access token is invalid';
  json(res, decision.status, { code: decision.error, error: decision.error, message }, headers);
}

/**
 * The sidecar reverse proxy (one route, prefix `/`) and the private-side gateway (a routing
 * table). Every request is checked for its route's assistant, then streamed to the upstream over
 * a pool of kept-alive connections (undici). Incoming `X-Brainstack-*` headers are dropped; the
 * upstream gets `X-Brainstack-User`, `-Scopes`, `-Device`, and `X-Forwarded-For` set to the
 * verified caller address, so an assistant behind it can re-check the token with this proxy as
 * its trusted gateway.
 *
 * Plain node:http rather than fastify: a proxy has no routes, bodies or schemas of its own, and
 * the framework layer cost a third of the throughput in `scripts/bench/guard.mjs`.
 */
export function buildGuardProxy(options: GuardProxyOptions): GuardProxy {
  const trusted = new Set(options.trustedGateways ?? []);
  const pools = new Map<string, Pool>();
  // Everything about a route that does not change per request is worked out once.
  const prepared = options.routes.map((route) => {
    const target = parseUpstream(route.upstream);
    let pool = pools.get(target.key);
    if (!pool) {
      pool = new Pool(target.origin, { connections: options.connections ?? 64, pipelining: 1, keepAliveTimeout: 60_000, ...(target.socketPath ? { connect: { socketPath: target.socketPath } } : {}) });
      pools.set(target.key, pool);
    }
    const prefix = normalisePrefix(route.prefix);
    const strip = (route.stripPrefix ?? prefix !== '/') && prefix !== '/';
    return { route, verifier: options.guard.verifierFor(route.assistant), pool, basePath: target.basePath, prefix, strip };
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0] as string;
    const matched = matchRoute(prepared, path);
    if (!matched) return json(res, 404, { code: 'route_not_found', message: `no assistant is routed at ${path.slice(0, 100)}` });
    const { route, verifier, pool, basePath, prefix, strip } = matched;
    const input = { headers: req.headers, rawHeaders: req.rawHeaders, url, remoteAddress: req.socket.remoteAddress };
    const decision = await verifier.check(input);
    options.onDecision?.(route.assistant, decision.ok ? 'allowed' : decision.reason, decision.ok);
    if (!decision.ok) {
      options.logger.info({ guard: { reason: decision.reason, status: decision.status, assistant: route.assistant, user: decision.identity?.user, device: decision.identity?.device } }, 'guard refused the request');
      options.guard.reportRefusal(route.assistant, decision, req.socket.remoteAddress);
      return refuse(res, decision);
    }
    const identity = decision.identity;
    // The request's raw header list, minus hop-by-hop and the headers this proxy owns.
    const raw = req.rawHeaders;
    const headers: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = (raw[i] as string).toLowerCase();
      if (HOP_BY_HOP.has(name) || name.startsWith('x-brainstack-') || name === 'x-forwarded-for' || name === 'host') continue;
      headers.push(name, raw[i + 1] as string);
    }
    headers.push('x-brainstack-user', identity.user, 'x-brainstack-scopes', identity.scopes.join(' '), 'x-brainstack-device', identity.device);
    headers.push('x-forwarded-for', callerAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted) ?? identity.tunnelIp);
    const rest = strip ? url.slice(prefix.length) || '/' : url;
    const upstreamPath = `${basePath}${rest.startsWith('/') ? rest : `/${rest}`}`;
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    return forward(pool, { path: upstreamPath, method: req.method as string, headers, body: hasBody ? req : null }, res, (err) => {
      options.logger.warn({ err: err.message, upstream: route.upstream }, 'upstream unreachable');
      if (!res.headersSent) json(res, 502, { code: 'upstream_unavailable', message: `the assistant '${route.assistant}' did not answer` });
      else res.destroy();
    });
  }

  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((err) => {
      options.logger.error({ err }, 'guard proxy failure');
      if (!res.headersSent) json(res, 500, { code: 'internal_error', message: 'internal error' });
    });
  });
  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const a = server.address() as AddressInfo;
          resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
        });
      }),
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}
