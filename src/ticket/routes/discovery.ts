import type { FastifyInstance } from 'fastify';
import type { Services } from '../../home/services.js';

/**
 * Published signing keys and the OpenID-style discovery document. Served on the public and the
 * internal listener alike; guards usually read them from the internal one.
 */
export async function discoveryRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const issuer = services.config.public_url.replace(/\/$/, '');
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=60');
    return services.signingKeys.jwks();
  });
  app.get('/.well-known/openid-configuration', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    const keys = await services.signingKeys.jwks();
    const algorithms = [...new Set(keys.keys.map((k) => k.alg).filter((a): a is string => typeof a === 'string'))];
    return {
      issuer,
      jwks_uri: `${issuer}/.well-known/jwks.json`,
      token_endpoint: `${issuer}/oauth/token`,
      device_authorization_endpoint: `${issuer}/oauth/device_authorization`,
      grant_types_supported: ['refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      token_endpoint_auth_methods_supported: ['none'],
      scopes_supported: await services.rbac.allScopes(),
      access_token_signing_alg_values_supported: algorithms,
      token_types_supported: ['at+jwt'],
    };
  });
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
}
