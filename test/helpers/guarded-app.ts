import Fastify from 'fastify';
import type { Test } from 'tap';
import type { Services } from '../../src/home/services.js';
import { Guard } from '../../src/guard/guard.js';
import { guard as guardPlugin } from '../../src/guard/plugin.js';

/**
 * An assistant "notes" behind the guard plugin, its guard registered with the ticket service and
 * following the revocation feed of the internal listener at `internalUrl`. Closed at teardown.
 */
export async function startGuardedNotes(t: Test, services: Services, internalUrl: string, options: { maxStalenessMs?: number } = {}) {
  const guard = new Guard({
    assistant: 'notes',
    issuer: services.issuer,
    audience: services.config.tokens.audience,
    jwks: `${internalUrl}/.well-known/jwks.json`,
    feedUrl: internalUrl,
    feedCredential: await services.guards.add('notes', 'test'),
    ...options,
  });
  await guard.start();
  const app = Fastify();
  await app.register(guardPlugin, { assistant: 'notes', issuer: services.issuer, audience: services.config.tokens.audience, jwks: 'unused: the guard is shared', guard });
  app.get('/notes', async () => 'ok');
  t.teardown(async () => {
    await app.close();
    await guard.stop();
  });
  return {
    guard,
    /** GET /notes with a bearer token, as if from tunnel address `ip`. */
    call: (token: string, ip: string) => app.inject({ method: 'GET', url: '/notes', headers: { authorization: `Bearer ${token}` }, remoteAddress: ip }),
  };
}
