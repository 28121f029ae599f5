import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Services } from '../../home/services.js';
import { BrainstackError } from '../../errors.js';

const require = createRequire(import.meta.url);
const PORTAL = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..', 'templates', 'portal');

/** Every file the portal serves, read once: its own page, script and style, and two vendored libraries. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const file = (path: string, type: string) => ({ type, body: readFileSync(path) });
  return new Map([
    ['/', file(join(PORTAL, 'index.html'), 'text/html; charset=utf-8')],
    // The device-authorization approval page (RFC 8628 verification_uri) is the same portal.
    ['/device', file(join(PORTAL, 'index.html'), 'text/html; charset=utf-8')],
    ['/assets/portal.js', file(join(PORTAL, 'portal.js'), 'text/javascript; charset=utf-8')],
    ['/assets/portal.css', file(join(PORTAL, 'portal.css'), 'text/css; charset=utf-8')],
    ['/assets/qrcode.js', file(require.resolve('qrcode-generator'), 'text/javascript; charset=utf-8')],
    ['/assets/nacl.js', file(require.resolve('tweetnacl/nacl-fast.min.js'), 'text/javascript; charset=utf-8')],
  ]);
}

/**
 * CSRF defence for the cookie-authenticated API: a state-changing request that carries the
 * session cookie must come from this origin. Browsers always send `Origin` on such requests (and
 * `Sec-Fetch-Site`); the CLI and scripts send neither and authenticate without ambient cookies.
 * SameSite=Strict on the cookie is the second layer.
 */
export function csrfGuard(services: Services) {
  const publicOrigin = new URL(services.config.public_url).origin;
  const cookieName = services.config.session.cookie_name;
  return async function checkOrigin(request: FastifyRequest): Promise<void> {
    if (['GET', 'HEAD', 'OPTIONS'].includes(request.method) || !request.cookies[cookieName]) return;
    const origin = request.headers.origin;
    if (origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (origin === publicOrigin || (host !== undefined && host === request.headers.host)) return;
      throw new BrainstackError('csrf_failed', 'this request came from another site');
    }
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') throw new BrainstackError('csrf_failed', 'this request came from another site');
  };
}

/** The web portal: one page, its script and style, served by the ticket service itself. */
export async function portalRoutes(app: FastifyInstance): Promise<void> {
  const assets = loadAssets();
  const send = (path: string) => async (_request: FastifyRequest, reply: FastifyReply) => {
    const asset = assets.get(path) as { type: string; body: Buffer };
    return reply.type(asset.type).header('cache-control', path === '/' || path === '/device' ? 'no-store' : 'public, max-age=300').send(asset.body);
  };
  for (const path of assets.keys()) app.get(path, send(path));
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());
}
