import { createServer as createHttpsServer } from 'node:https';
import { createServer as createHttpServer, type Server } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { Services } from '../home/services.js';
import { BrainstackError } from '../errors.js';
import { installErrorHandling } from './http-errors.js';
import { authRoutes } from './routes/auth.js';
import { discoveryRoutes } from './routes/discovery.js';
import { deviceRoutes } from './routes/devices.js';
import { tokenRoutes } from './routes/tokens.js';
import { csrfGuard, portalRoutes } from './routes/portal.js';
import { ssoRoutes } from './routes/sso.js';
import { deviceApprovalRoutes } from './routes/device-approval.js';
import { guardEventRoutes, revocationFeedRoutes } from './routes/revocation-feed.js';

export interface TicketAppOptions {
  /** TLS material for the public listener; omitted in `inject` tests. */
  tls?: { cert: string; key: string };
}

/**
 * A node server with timeouts that make slow clients go away: a client that has not sent its
 * whole request within `request_timeout` gets 408. Node checks every `connectionsCheckingInterval`,
 * so that is set to one second (its default, 30 s, would let a slow body linger).
 */
function serverFactory(services: Services, tls?: { cert: string; key: string }): FastifyServerFactory {
  const { http } = services.config;
  const timeouts = { requestTimeout: http.request_timeout * 1000, headersTimeout: http.headers_timeout * 1000, connectionsCheckingInterval: 1000, keepAliveTimeout: 5000 };
  return (handler) => {
    const server: Server = tls ? (createHttpsServer({ ...timeouts, cert: tls.cert, key: tls.key }, handler) as unknown as Server) : createHttpServer(timeouts, handler);
    return server;
  };
}

/** Observes every request's latency by route template and status class. */
function instrument(app: FastifyInstance, services: Services, listener: string): void {
  app.addHook('onResponse', async (request, reply) => {
    services.metrics.httpDuration.observe({ listener, route: request.routeOptions.url ?? 'unmatched', status: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000);
  });
}

/** The public ticket service: login, sessions, account, discovery. */
export async function buildTicketApp(services: Services, options: TicketAppOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    loggerInstance: services.logger.child({ listener: 'public' }) as FastifyBaseLogger,
    trustProxy: config.trust_proxy,
    bodyLimit: config.http.body_limit,
    serverFactory: serverFactory(services, options.tls),
    return503OnClosing: true,
    ajv: { customOptions: { allErrors: false, removeAdditional: false, coerceTypes: false } },
  });
  installErrorHandling(app);
  instrument(app, services, 'public');
  // JSON only: a text/plain body must be refused (415), not parsed and half-validated.
  app.removeContentTypeParser('text/plain');
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'"], imgSrc: ["'self'", 'data:'], connectSrc: ["'self'"], frameAncestors: ["'none'"], formAction: ["'self'"], objectSrc: ["'none'"], baseUri: ["'none'"] } },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  });
  await app.register(fastifyCookie);
  app.addHook('onRequest', csrfGuard(services));
  await app.register(fastifyRateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => new BrainstackError('rate_limited', `too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`, { headers: { 'retry-after': String(Math.ceil(context.ttl / 1000)) } }),
  });
  await app.register(async (scope) => authRoutes(scope, services));
  await app.register(async (scope) => deviceRoutes(scope, services));
  await app.register(async (scope) => tokenRoutes(scope, services));
  await app.register(async (scope) => ssoRoutes(scope, services));
  await app.register(async (scope) => deviceApprovalRoutes(scope, services));
  await app.register(async (scope) => discoveryRoutes(scope, services));
  await app.register(async (scope) => portalRoutes(scope));
  return app;
}

/** The internal listener (private side): discovery, health, the revocation feed for guards, Prometheus metrics. */
export async function buildInternalApp(services: Services): Promise<FastifyInstance> {
  // forceCloseConnections: guards hold long-polls open; shutdown must not wait for them.
  const app = Fastify({ loggerInstance: services.logger.child({ listener: 'internal' }) as FastifyBaseLogger, serverFactory: serverFactory(services), return503OnClosing: true, forceCloseConnections: true });
  installErrorHandling(app);
  instrument(app, services, 'internal');
  await app.register(async (scope) => discoveryRoutes(scope, services));
  await app.register(async (scope) => revocationFeedRoutes(scope, services));
  await app.register(async (scope) => guardEventRoutes(scope, services));
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const { contentType, body } = await services.metrics.render();
    return reply.type(contentType).send(body);
  });
  return app;
}
