import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { Guard, type GuardOptions } from './guard.js';
import { wwwAuthenticate, type GuardDecision, type GuardIdentity } from './verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, set by the brainstack guard on every request it let through. */
    brainstack?: GuardIdentity;
  }
}

export interface GuardPluginOptions extends GuardOptions {
  /** An already started guard (shared with other apps); otherwise one is created and started. */
  guard?: Guard;
  /** Called with every decision (logging, metrics). */
  onDecision?: (decision: GuardDecision, request: FastifyRequest) => void;
}

/** Sends the RFC 6750 refusal for a decision. */
export function sendRefusal(reply: FastifyReply, decision: Extract<GuardDecision, { ok: false }>): FastifyReply {
  const header = wwwAuthenticate(decision);
  if (header) reply.header('www-authenticate', header);
  if (decision.status === 503) reply.header('retry-after', '5');
  const description = {
    invalid_request: 'the request must carry exactly one Bearer token, in the Authorization header',
    invalid_token: 'the access token is invalid',
    insufficient_scope: `the access token does not grant ${decision.scope ?? 'this assistant'}`,
    revocation_unavailable: 'the guard cannot currently check revocations; try again shortly',
  }[decision.error];
  return reply.code(decision.status).header('cache-control', 'no-store').send({ code: decision.error, error: decision.error, message: description });
}

const guardPlugin: FastifyPluginAsync<GuardPluginOptions> = async (app, options) => {
  const guard = options.guard ?? new Guard(options);
  if (!options.guard) {
    await guard.start();
    app.addHook('onClose', async () => guard.stop());
  }
  const verifier = guard.verifierFor(options.assistant ?? guard.options.assistant);
  // Declared up front so every request object keeps one shape (fastify's advice for hot paths).
  if (!app.hasRequestDecorator('brainstack')) app.decorateRequest('brainstack', undefined);
  const conclude = (decision: GuardDecision, request: FastifyRequest, reply: FastifyReply): boolean => {
    options.onDecision?.(decision, request);
    if (decision.ok) {
      request.brainstack = decision.identity;
      return true;
    }
    request.log.info({ guard: { reason: decision.reason, status: decision.status, user: decision.identity?.user, device: decision.identity?.device } }, 'guard refused the request');
    guard.reportRefusal(options.assistant ?? guard.options.assistant, decision, request.raw.socket.remoteAddress);
    sendRefusal(reply, decision);
    return false;
  };
  // Callback style with a synchronous fast path: a cached token costs no promise at all.
  app.addHook('onRequest', (request, reply, done) => {
    const input = { headers: request.headers, rawHeaders: request.raw.rawHeaders, url: request.url, remoteAddress: request.raw.socket.remoteAddress };
    const decision = verifier.check(input);
    if (!(decision instanceof Promise)) {
      if (conclude(decision, request, reply)) done();
      return;
    }
    decision.then(
      (result) => {
        if (conclude(result, request, reply)) done();
      },
      (err: unknown) => done(err as Error),
    );
  });
};

/**
 * The brainstack guard as a fastify plugin: every request in the scope it is registered in is
 * checked before its handler runs; `request.brainstack` tells the handler who is calling.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { guard } from 'brainstack/guard';
 * const app = Fastify();
 * await app.register(guard, { assistant: 'notes', issuer: 'https://vpn.example.com', audience: 'brainstack',
 *   jwks: 'http://10.8.0.1:8444/.well-known/jwks.json', feedUrl: 'http://10.8.0.1:8444', feedCredentialFile: '/etc/brainstack/notes.credential' });
 * app.get('/notes', async (request) => listNotes(request.brainstack!.user));
 * ```
 */
export const guard = fp(guardPlugin, { fastify: '5.x', name: 'brainstack-guard' });
