import type { FastifyInstance } from 'fastify';
import type { Services } from '../../home/services.js';
import { requireSession, sessionOf } from '../session-auth.js';
import { errorBodySchema } from '../http-errors.js';
import { BrainstackError } from '../../errors.js';

const meSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    scopes: { type: 'array', items: { type: 'string' } },
    totp_enrolled: { type: 'boolean' },
    mfa: { type: 'boolean' },
    totp_enrolment_required: { type: 'boolean' },
    session_expires_at: { type: 'string' },
  },
  required: ['id', 'username', 'roles', 'scopes', 'totp_enrolled', 'mfa', 'totp_enrolment_required', 'session_expires_at'],
} as const;

interface LoginBody {
  username: string;
  password: string;
  totp?: string;
}

/** Login, logout, the current user, and TOTP self-enrolment. */
export async function authRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { config, sessions, passwordLogin, accounts, rbac, audit } = services;
  const cookieName = config.session.cookie_name;
  const anySession = requireSession(sessions, { cookieName, requireMfa: false });
  const cookieOptions = { httpOnly: true, secure: true, sameSite: 'strict' as const, path: '/' };

  app.post<{ Body: LoginBody }>(
    '/api/v1/login',
    {
      bodyLimit: config.http.auth_body_limit,
      config: { rateLimit: { max: config.login.rate_limit_per_minute, timeWindow: 60_000 } },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'password'],
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 256 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
            totp: { type: 'string', maxLength: 16 },
          },
        },
        response: {
          200: { type: 'object', properties: { username: { type: 'string' }, mfa: { type: 'boolean' }, totp_enrolment_required: { type: 'boolean' }, session_expires_at: { type: 'string' } } },
          '4xx': errorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { username, password, totp } = request.body;
      const result = await passwordLogin.login({ username, password, totp, ip: request.ip });
      // A new session id at every login; any session the browser brought along ends (no fixation).
      const previous = request.cookies[cookieName];
      if (previous) await sessions.destroy(previous);
      const session = await sessions.create(result.userId, result.mfa, request.ip, String(request.headers['user-agent'] ?? ''));
      reply.setCookie(cookieName, session.id, { ...cookieOptions, maxAge: config.session.absolute_timeout });
      return { username: result.username, mfa: result.mfa, totp_enrolment_required: !result.mfa, session_expires_at: new Date(session.expiresAt).toISOString() };
    },
  );

  app.post('/api/v1/logout', { schema: { response: { '4xx': errorBodySchema } } }, async (request, reply) => {
    const cookie = request.cookies[cookieName];
    if (cookie) {
      const session = await sessions.resolve(cookie);
      await sessions.destroy(cookie);
      if (typeof session === 'object') await audit.record({ event: 'logout', outcome: 'success', actor: session.username, subject: session.username, ip: request.ip });
    }
    reply.clearCookie(cookieName, { path: '/' });
    return reply.code(204).send();
  });

  app.get('/api/v1/me', { preHandler: anySession, schema: { response: { 200: meSchema, '4xx': errorBodySchema } } }, async (request) => {
    const session = sessionOf(request);
    const user = await accounts.showById(session.userId);
    if (!user) throw new BrainstackError('unauthenticated');
    return {
      id: user.id,
      username: user.username,
      roles: user.roles,
      scopes: await rbac.scopesOf(user.id),
      totp_enrolled: user.totp,
      mfa: session.mfa,
      totp_enrolment_required: !session.mfa,
      session_expires_at: new Date(session.expiresAt).toISOString(),
    };
  });

  app.post(
    '/api/v1/me/totp',
    { preHandler: anySession, schema: { response: { 200: { type: 'object', properties: { otpauth_uri: { type: 'string' }, secret: { type: 'string' } } }, '4xx': errorBodySchema } } },
    async (request) => {
      const session = sessionOf(request);
      const { secret, uri } = await accounts.beginTotp(session.userId, session.username);
      return { otpauth_uri: uri, secret };
    },
  );

  app.post<{ Body: { code: string } }>(
    '/api/v1/me/totp/confirm',
    {
      preHandler: anySession,
      bodyLimit: config.http.auth_body_limit,
      config: { rateLimit: { max: config.login.rate_limit_per_minute, timeWindow: 60_000 } },
      schema: { body: { type: 'object', additionalProperties: false, required: ['code'], properties: { code: { type: 'string', maxLength: 16 } } }, response: { '4xx': errorBodySchema } },
    },
    async (request, reply) => {
      const session = sessionOf(request);
      await accounts.confirmTotp(session.userId, request.body.code, session.username, request.ip);
      await sessions.markMfa(session.idHash);
      return reply.code(204).send();
    },
  );
}
