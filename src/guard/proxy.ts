import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import replyFrom from '@fastify/reply-from';
import type { Logger } from 'pino';
import type { Guard } from './guard.js';
import { sendRefusal } from './plugin.js';
import { callerAddress } from './source-address.js';

/** One entry of a gateway's routing table. */
export interface GuardRoute {
  /** Path prefix, e.g. `/notes` (`/` for a sidecar). */
  prefix: string;
  assistant: string;
  /** Base URL of the assistant, e.g. `http://10.99.0.2:8080`. */
  upstream: string;
  /** Forward `/notes/x` as `/x` (default true for prefixes other than `/`). */
  stripPrefix?: boolean;
}

export interface GuardProxyOptions {
  guard: Guard;
  routes: GuardRoute[];
  logger: Logger;
  trustedGateways?: string[];
  onDecision?: (reason: string, ok: boolean) => void;
}

const normalisePrefix = (p: string) => `/${p.replace(/^\/+|\/+$/g, '')}`;

/** Finds the route with the longest prefix that matches the path on a segment boundary. */
export function matchRoute(routes: GuardRoute[], path: string): GuardRoute | undefined {
  let best: GuardRoute | undefined;
  for (const route of routes) {
    const prefix = normalisePrefix(route.prefix);
    const matches = prefix === '/' || path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`);
    if (matches && (!best || prefix.length > normalisePrefix(best.prefix).length)) best = route;
  }
  return best;
}

/**
 * The sidecar reverse proxy (one route, prefix `/`) and the private-side gateway (a routing
 * table): every request is checked for its route's assistant, then forwarded over kept-alive
 * connections. Incoming `X-Brainstack-*` headers are dropped; the upstream gets
 * `X-Brainstack-User`, `-Scopes`, `-Device`, and `X-Forwarded-For` set to the verified caller
 * address, so an assistant behind it can re-check the token with this proxy as trusted gateway.
 */
export async function buildGuardProxy(options: GuardProxyOptions): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: options.logger as FastifyBaseLogger, disableRequestLogging: true, bodyLimit: 10 * 1024 * 1024, return503OnClosing: true });
  const trusted = new Set(options.trustedGateways ?? []);
  await app.register(replyFrom, { undici: { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 } });
  // Bodies pass through untouched, whatever their type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  const verifiers = new Map(options.routes.map((r) => [r, options.guard.verifierFor(r.assistant)]));

  app.all('/*', async (request, reply) => {
    const path = request.url.split('?')[0] as string;
    const route = matchRoute(options.routes, path);
    if (!route) return reply.code(404).send({ code: 'route_not_found', message: `no assistant is routed at ${path.slice(0, 100)}` });
    const verifier = verifiers.get(route) as NonNullable<ReturnType<typeof verifiers.get>>;
    const decision = await verifier.verify({ headers: request.headers, rawHeaders: request.raw.rawHeaders, url: request.url, remoteAddress: request.raw.socket.remoteAddress });
    options.onDecision?.(decision.ok ? 'allowed' : decision.reason, decision.ok);
    if (!decision.ok) {
      request.log.info({ guard: { reason: decision.reason, status: decision.status, assistant: route.assistant, user: decision.identity?.user, device: decision.identity?.device } }, 'guard refused the request');
      return sendRefusal(reply, decision);
    }
    const identity = decision.identity;
    const caller = callerAddress(request.raw.socket.remoteAddress, request.headers['x-forwarded-for'], trusted) ?? identity.tunnelIp;
    const prefix = normalisePrefix(route.prefix);
    const strip = route.stripPrefix ?? prefix !== '/';
    const rest = strip && prefix !== '/' ? request.url.slice(prefix.length) || '/' : request.url;
    const target = `${route.upstream.replace(/\/$/, '')}${rest.startsWith('/') ? rest : `/${rest}`}`;
    return reply.from(target, {
      rewriteRequestHeaders: (_req, headers) => {
        const out: Record<string, string | string[] | undefined> = {};
        for (const [name, value] of Object.entries(headers)) if (!name.toLowerCase().startsWith('x-brainstack-')) out[name] = value;
        out['x-brainstack-user'] = identity.user;
        out['x-brainstack-scopes'] = identity.scopes.join(' ');
        out['x-brainstack-device'] = identity.device;
        out['x-forwarded-for'] = caller;
        return out as typeof headers;
      },
    });
  });
  return app;
}
