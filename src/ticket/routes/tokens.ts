import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyFormbody from '@fastify/formbody';
import type { Services } from '../../home/services.js';
import { requireSession, sessionOf } from '../session-auth.js';
import { errorBodySchema } from '../http-errors.js';
import { BrainstackError, isBrainstackError } from '../../errors.js';
import { CLIENT_CLI, CLIENT_PORTAL } from '../../tokens/claims.js';
import { resolveScope } from '../../tokens/access-tokens.js';

const tokenResponse = {
  type: 'object',
  properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' }, refresh_token: { type: 'string' } },
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
} as const;

/** RFC 6749 §5.2 error body. */
function oauthError(reply: FastifyReply, err: BrainstackError): FastifyReply {
  const oauthCodes = ['invalid_grant', 'invalid_scope', 'unsupported_grant_type', 'invalid_request'];
  const error = oauthCodes.includes(err.code) ? err.code : err.statusCode === 429 ? err.code : err.statusCode >= 500 ? 'server_error' : 'invalid_request';
  // 429 keeps its status and Retry-After; everything else the client got wrong is 400 (RFC 6749 §5.2).
  const status = err.statusCode === 429 || err.statusCode >= 500 ? err.statusCode : 400;
  return reply.code(status).headers(err.headers).header('cache-control', 'no-store').send({ error, error_description: err.message });
}

/** Access tokens: from a session for one of the user's devices, and the OAuth refresh grant. */
export async function tokenRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { sessions, config, devices, accessTokens, rbac, refreshTokens, database } = services;
  const withSession = requireSession(sessions, { cookieName: config.session.cookie_name, requireMfa: true });

  app.post<{ Body: { device: string; scope?: string } }>(
    '/api/v1/token',
    {
      preHandler: withSession,
      bodyLimit: config.http.auth_body_limit,
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['device'], properties: { device: { type: 'string', maxLength: 64 }, scope: { type: 'string', maxLength: 2048 } } },
        response: { 200: tokenResponse, '4xx': errorBodySchema },
      },
    },
    async (request, reply) => {
      const session = sessionOf(request);
      const device = await devices.requireActive(database.db, request.body.device, session.userId);
      const issued = await accessTokens.issue({
        userId: session.userId,
        roles: await rbac.rolesOf(session.userId),
        grantedScopes: await rbac.scopesOf(session.userId),
        requestedScope: request.body.scope,
        clientId: CLIENT_PORTAL,
        device,
      });
      reply.header('cache-control', 'no-store');
      return { access_token: issued.access_token, token_type: issued.token_type, expires_in: issued.expires_in, scope: issued.scope };
    },
  );

  // Form bodies only where RFC 6749 requires them: the OAuth token endpoint, in its own scope.
  await app.register(async (oauth) => {
  await oauth.register(fastifyFormbody, { bodyLimit: config.http.auth_body_limit });
  oauth.post<{ Body: Record<string, string> }>(
    '/oauth/token',
    {
      bodyLimit: config.http.auth_body_limit,
      config: { rateLimit: { max: config.login.rate_limit_per_minute * 4, timeWindow: 60_000 } },
      schema: { response: { 200: tokenResponse } },
      errorHandler: (err, _request, reply) => oauthError(reply, isBrainstackError(err) ? err : new BrainstackError('invalid_request', (err as Error).message)),
    },
    async (request, reply) => {
      const body = request.body ?? {};
      if (typeof body !== 'object') throw new BrainstackError('invalid_request', 'the body must be application/x-www-form-urlencoded');
      if (body.grant_type !== 'refresh_token') throw new BrainstackError('unsupported_grant_type', `grant_type '${String(body.grant_type ?? '').slice(0, 40)}' is not supported; use refresh_token`);
      if (typeof body.refresh_token !== 'string' || body.refresh_token.length === 0 || body.refresh_token.length > 256) throw new BrainstackError('invalid_request', 'refresh_token is required');
      if (body.client_id !== undefined && body.client_id !== CLIENT_CLI) throw new BrainstackError('invalid_grant', 'the refresh token was not issued to this client');
      const scope = typeof body.scope === 'string' ? body.scope : undefined;
      let grantContext: { device: { id: string; ip: string; publicKey: string }; roles: string[]; scopes: string[] } | undefined;
      // Everything that can refuse runs inside the rotation's transaction, so a refused request
      // does not consume the refresh token.
      const grant = await refreshTokens.rotate(body.refresh_token, request.ip, async (trx, g) => {
        const device = await devices.requireActive(trx, g.deviceId, g.userId).catch(() => {
          throw new BrainstackError('invalid_grant', 'the device is revoked or expired, or the account is disabled');
        });
        const scopes = await rbac.scopesOf(g.userId, trx);
        resolveScope(scopes, scope);
        grantContext = { device, roles: await rbac.rolesOf(g.userId, trx), scopes };
      });
      const context = grantContext as NonNullable<typeof grantContext>;
      const issued = await accessTokens.issue({ userId: grant.userId, roles: context.roles, grantedScopes: context.scopes, requestedScope: scope, clientId: grant.clientId, device: context.device });
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return { access_token: issued.access_token, token_type: issued.token_type, expires_in: issued.expires_in, scope: issued.scope, refresh_token: grant.refreshToken };
    },
  );
  });
}
