import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Services } from '../../home/services.js';
import { errorBodySchema, toBrainstackError } from '../http-errors.js';
import { safeReturnTo } from '../../auth/sso.js';

const providerParams = { type: 'object', required: ['provider'], properties: { provider: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' } } } as const;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page for the browser at the end of a login; no script (the CSP allows none inline). */
function page(reply: FastifyReply, status: number, body: string, refreshTo?: string): FastifyReply {
  const refresh = refreshTo ? `<meta http-equiv="refresh" content="0;url=${escapeHtml(refreshTo)}">` : '';
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${refresh}<title>brainstack</title><link rel="stylesheet" href="/assets/portal.css"></head><body><main>${body}</main></body></html>`);
}

/**
 * Single sign-on through upstream OpenID Connect providers: the list for the portal, the start
 * (redirect to the provider) and the callback (session for the linked user).
 */
export async function ssoRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { sso, sessions, config } = services;
  const sessionCookie = config.session.cookie_name;
  // Lax, not Strict: the callback is a top-level navigation coming back from the provider's site.
  const bindingCookie = `${sessionCookie}-sso`;
  const bindingOptions = { httpOnly: true, secure: true, sameSite: 'lax' as const, path: '/', maxAge: config.sso.login_timeout };

  app.get('/api/v1/sso/providers', { schema: { response: { 200: { type: 'object', properties: { providers: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, display_name: { type: 'string' }, login_url: { type: 'string' } } } } } } } } }, async () => ({
    providers: sso.list().map((p) => ({ ...p, login_url: `/sso/${p.name}/login` })),
  }));

  app.get<{ Params: { provider: string }; Querystring: { return_to?: string } }>(
    '/sso/:provider/login',
    {
      config: { rateLimit: { max: config.login.rate_limit_per_minute, timeWindow: 60_000 } },
      schema: { params: providerParams, querystring: { type: 'object', properties: { return_to: { type: 'string', maxLength: 64 } } }, response: { '4xx': errorBodySchema, '5xx': errorBodySchema } },
    },
    async (request, reply) => {
      const { authorizationUrl, binding } = await sso.begin(request.params.provider, safeReturnTo(request.query.return_to));
      reply.setCookie(bindingCookie, binding, bindingOptions);
      return reply.header('cache-control', 'no-store').redirect(authorizationUrl, 302);
    },
  );

  app.get<{ Params: { provider: string } }>(
    '/sso/:provider/callback',
    {
      config: { rateLimit: { max: config.login.rate_limit_per_minute, timeWindow: 60_000 } },
      schema: { params: providerParams },
      errorHandler: (err, _request, reply) => {
        const known = toBrainstackError(err);
        if (known.code === 'internal_error') services.logger.error({ err }, 'single sign-on callback failed');
        return page(reply, known.statusCode, `<h1>Sign-in failed</h1><p id="error" class="error" data-code="${known.code}">${escapeHtml(known.message)} (${known.code})</p><p><a href="/">Back to the portal</a></p>`);
      },
    },
    async (request, reply) => {
      const callbackUrl = new URL(request.url, services.issuer);
      const binding = request.cookies[bindingCookie];
      reply.clearCookie(bindingCookie, { path: '/' });
      const result = await sso.complete(request.params.provider, callbackUrl, binding, request.ip);
      const previous = request.cookies[sessionCookie];
      if (previous) await sessions.destroy(previous);
      // The provider did the authentication, including its own second factor.
      const session = await sessions.create(result.userId, true, request.ip, String(request.headers['user-agent'] ?? ''));
      reply.setCookie(sessionCookie, session.id, { httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: config.session.absolute_timeout });
      // A same-origin hop (not a redirect): after a cross-site navigation the browser would not
      // send the Strict session cookie on a redirect's next request.
      return page(reply, 200, `<p>Signed in as ${escapeHtml(result.username)}. <a href="${escapeHtml(result.returnTo)}">Continue</a></p>`, result.returnTo);
    },
  );
}
