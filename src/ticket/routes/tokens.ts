import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyFormbody from '@fastify/formbody';
import type { Services } from '../../home/services.js';
import { requireSession, sessionOf } from '../session-auth.js';
import { errorBodySchema } from '../http-errors.js';
import { BrainstackError, isBrainstackError } from '../../errors.js';
import { CLIENT_CLI, CLIENT_PORTAL } from '../../tokens/claims.js';
import { resolveScope } from '../../tokens/access-tokens.js';
import { DEVICE_CODE_GRANT } from '../../auth/device-authorization.js';

const tokenResponse = {
  type: 'object',
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string' },
    expires_in: { type: 'integer' },
    scope: { type: 'string' },
    refresh_token: { type: 'string' },
    // device authorization grant: the device registered for the terminal's key
    username: { type: 'string' },
    device_id: { type: 'string' },
    device_ip: { type: 'string' },
    wireguard_config: { type: 'string' },
    wireguard_config_file_name: { type: 'string' },
  },
  required: ['access_token', 'token_type', 'expires_in', 'scope'],
} as const;

/** RFC 6749 §5.2 error body. */
function oauthError(reply: FastifyReply, err: BrainstackError): FastifyReply {
  const oauthCodes = ['invalid_grant', 'invalid_scope', 'unsupported_grant_type', 'invalid_request', 'invalid_client', 'authorization_pending', 'slow_down', 'access_denied', 'expired_token'];
  const error = oauthCodes.includes(err.code) ? err.code : err.statusCode === 429 ? err.code : err.statusCode >= 500 ? 'server_error' : 'invalid_request';
  // 429 keeps its status and Retry-After, invalid_client is 401; everything else the client got
  // wrong is 400 (RFC 6749 §5.2, RFC 8628 §3.5).
  const status = err.statusCode === 429 || err.statusCode >= 500 || err.code === 'invalid_client' ? err.statusCode : 400;
  return reply.code(status).headers(err.headers).header('cache-control', 'no-store').send({ error, error_description: err.message });
}

/** Access tokens: from a session for one of the user's devices, and the OAuth refresh grant. */
export async function tokenRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { sessions, config, devices, accessTokens, rbac, refreshTokens, database, deviceAuthorizations, accounts, sso } = services;
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

  // Form bodies only where RFC 6749 requires them: the OAuth endpoints, in their own scope.
  await app.register(async (oauth) => {
    await oauth.register(fastifyFormbody, { bodyLimit: config.http.auth_body_limit });
    const errorHandler = (err: Error, _request: unknown, reply: FastifyReply) => oauthError(reply, isBrainstackError(err) ? err : new BrainstackError('invalid_request', err.message));
    const formBody = (body: unknown): Record<string, string> => {
      if (typeof body !== 'object' || body === null) throw new BrainstackError('invalid_request', 'the body must be application/x-www-form-urlencoded');
      return body as Record<string, string>;
    };
    const requireCliClient = (clientId: unknown): void => {
      if (clientId !== CLIENT_CLI) throw new BrainstackError('invalid_client', `unknown client_id '${String(clientId ?? '').slice(0, 40)}': use ${CLIENT_CLI}`);
    };

    oauth.post<{ Body: Record<string, string> }>(
      '/oauth/device_authorization',
      {
        bodyLimit: config.http.auth_body_limit,
        config: { rateLimit: { max: config.login.rate_limit_per_minute, timeWindow: 60_000 } },
        schema: { response: { 200: { type: 'object', properties: { device_code: { type: 'string' }, user_code: { type: 'string' }, verification_uri: { type: 'string' }, verification_uri_complete: { type: 'string' }, expires_in: { type: 'integer' }, interval: { type: 'integer' } } } } },
        errorHandler,
      },
      async (request, reply) => {
        const body = formBody(request.body);
        requireCliClient(body.client_id);
        if (typeof body.public_key !== 'string' || typeof body.device_name !== 'string') throw new BrainstackError('invalid_request', 'device_name and public_key (the WireGuard public key made on the terminal) are required');
        if (body.scope !== undefined) resolveScope(await rbac.allScopes(), body.scope);
        const started = await deviceAuthorizations.start({ clientId: CLIENT_CLI, deviceName: body.device_name, publicKey: body.public_key, scope: body.scope, ip: request.ip });
        reply.header('cache-control', 'no-store');
        return started;
      },
    );

    oauth.post<{ Body: Record<string, string> }>(
      '/oauth/token',
      {
        bodyLimit: config.http.auth_body_limit,
        config: { rateLimit: { max: config.login.rate_limit_per_minute * 4, timeWindow: 60_000 } },
        schema: { response: { 200: tokenResponse } },
        errorHandler,
      },
      async (request, reply) => {
        const body = formBody(request.body);
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        if (body.grant_type === DEVICE_CODE_GRANT) {
          requireCliClient(body.client_id);
          if (typeof body.device_code !== 'string' || body.device_code.length === 0 || body.device_code.length > 128) throw new BrainstackError('invalid_request', 'device_code is required');
          const approved = await deviceAuthorizations.redeem(body.device_code, CLIENT_CLI);
          const user = await accounts.showById(approved.userId);
          if (!user || user.disabled) throw new BrainstackError('access_denied', 'the account that approved this code is disabled');
          const registration = await devices.register({ id: user.id, username: user.username }, { name: approved.deviceName, publicKey: approved.publicKey }, request.ip);
          const device = registration.device;
          const issued = await accessTokens.issue({ userId: user.id, roles: await rbac.rolesOf(user.id), grantedScopes: await rbac.scopesOf(user.id), requestedScope: approved.scope, clientId: CLIENT_CLI, device: { id: device.id, ip: device.ip as string, publicKey: device.public_key } });
          return {
            access_token: issued.access_token,
            token_type: issued.token_type,
            expires_in: issued.expires_in,
            scope: issued.scope,
            refresh_token: registration.refreshToken,
            username: user.username,
            device_id: device.id,
            device_ip: device.ip,
            wireguard_config: registration.config,
            wireguard_config_file_name: registration.configFileName,
          };
        }
        if (body.grant_type !== 'refresh_token') throw new BrainstackError('unsupported_grant_type', `grant_type '${String(body.grant_type ?? '').slice(0, 60)}' is not supported; use refresh_token or ${DEVICE_CODE_GRANT}`);
        if (typeof body.refresh_token !== 'string' || body.refresh_token.length === 0 || body.refresh_token.length > 256) throw new BrainstackError('invalid_request', 'refresh_token is required');
        if (body.client_id !== undefined && body.client_id !== CLIENT_CLI) throw new BrainstackError('invalid_grant', 'the refresh token was not issued to this client');
        const scope = typeof body.scope === 'string' ? body.scope : undefined;
        // Accounts from a provider must have been confirmed upstream recently (sso.revalidate_after).
        const owner = await refreshTokens.ownerOf(body.refresh_token);
        if (owner) await sso.requireFreshIdentity(owner);
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
        return { access_token: issued.access_token, token_type: issued.token_type, expires_in: issued.expires_in, scope: issued.scope, refresh_token: grant.refreshToken };
      },
    );
  });
}
