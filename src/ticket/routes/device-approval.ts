import type { FastifyInstance } from 'fastify';
import type { Services } from '../../home/services.js';
import { requireSession, sessionOf } from '../session-auth.js';
import { errorBodySchema } from '../http-errors.js';

const userCodeProperty = { type: 'string', minLength: 8, maxLength: 16, pattern: '^[A-Za-z -]+$' } as const;

/** The browser side of the device authorization grant: look up a terminal's code, approve or deny it. */
export async function deviceApprovalRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const { sessions, config, deviceAuthorizations } = services;
  const withSession = requireSession(sessions, { cookieName: config.session.cookie_name, requireMfa: true });
  // User codes are short: guessing is bounded per address like logins are.
  const rateLimit = { max: config.login.rate_limit_per_minute, timeWindow: 60_000 };

  app.post<{ Body: { user_code: string } }>(
    '/api/v1/device-authorizations/lookup',
    {
      preHandler: withSession,
      bodyLimit: config.http.auth_body_limit,
      config: { rateLimit },
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['user_code'], properties: { user_code: userCodeProperty } },
        response: { 200: { type: 'object', properties: { user_code: { type: 'string' }, device_name: { type: 'string' }, key_fingerprint: { type: 'string' }, client_id: { type: 'string' }, scope: { type: ['string', 'null'] }, expires_at: { type: 'string' } } }, '4xx': errorBodySchema },
      },
    },
    async (request) => deviceAuthorizations.lookup(request.body.user_code),
  );

  app.post<{ Body: { user_code: string; approve: boolean } }>(
    '/api/v1/device-authorizations/decide',
    {
      preHandler: withSession,
      bodyLimit: config.http.auth_body_limit,
      config: { rateLimit },
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['user_code', 'approve'], properties: { user_code: userCodeProperty, approve: { type: 'boolean' } } },
        response: { '4xx': errorBodySchema },
      },
    },
    async (request, reply) => {
      const session = sessionOf(request);
      await deviceAuthorizations.decide(request.body.user_code, { id: session.userId, username: session.username }, request.body.approve, request.ip);
      return reply.code(204).send();
    },
  );
}
