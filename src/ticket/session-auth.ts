import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ActiveSession, Sessions } from '../auth/sessions.js';
import { BrainstackError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireSession`; present on every route that uses it. */
    session?: ActiveSession;
  }
}

export interface SessionAuthOptions {
  cookieName: string;
  /** Routes that must not run before the second factor is set up (all but enrolment). */
  requireMfa: boolean;
}

/**
 * A preHandler that resolves the session cookie and refuses the request without a live session.
 * `request.session` is set for the handler.
 */
export function requireSession(sessions: Sessions, options: SessionAuthOptions) {
  return async function sessionPreHandler(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const cookie = request.cookies[options.cookieName];
    if (!cookie) throw new BrainstackError('unauthenticated', 'log in first');
    const session = await sessions.resolve(cookie);
    if (session === 'missing') {
      reply.clearCookie(options.cookieName, { path: '/' });
      throw new BrainstackError('unauthenticated', 'log in first');
    }
    if (session === 'expired') {
      reply.clearCookie(options.cookieName, { path: '/' });
      throw new BrainstackError('session_expired', 'your session has ended; log in again');
    }
    if (options.requireMfa && !session.mfa) throw new BrainstackError('mfa_enrolment_required', 'set up an authenticator app (TOTP) before using this');
    request.session = session;
  };
}

/** The session of a route guarded by `requireSession` (fails closed if the guard was forgotten). */
export function sessionOf(request: FastifyRequest): ActiveSession {
  if (!request.session) throw new Error(`route ${request.routeOptions.url ?? request.url} reads the session without requireSession`);
  return request.session;
}
