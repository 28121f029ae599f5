// One server of the guard benchmark, in its own process (so each gets a core and its own RSS).
//   node guard-server.mjs MODE PORT JWKS_FILE [UPSTREAM] [SOCKET]
// MODE: bare | plugin | jose | sidecar. A bare server also listens on the UNIX socket SOCKET when
// given (the same app, for a sidecar in front of an assistant that listens on a socket only).
import Fastify from 'fastify';
import { pino } from 'pino';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { readFileSync } from 'node:fs';
import { guard as guardPlugin } from '../../dist/src/guard/plugin.js';
import { Guard } from '../../dist/src/guard/guard.js';
import { buildGuardProxy } from '../../dist/src/guard/proxy.js';

import { createServer } from 'node:http';

const [mode, port, jwksFile, upstream, socketPath] = process.argv.slice(2);
const settings = { assistant: 'bench', issuer: 'https://ticket.bench', audience: 'brainstack', jwks: jwksFile };
let app;
if (mode === 'sidecar') {
  const guard = new Guard(settings);
  await guard.start();
  const proxy = buildGuardProxy({ guard, routes: [{ prefix: '/', assistant: 'bench', upstream }], logger: pino({ level: 'silent' }) });
  app = { listen: ({ host, port: p }) => proxy.listen(host, p) };
} else {
  app = Fastify({ logger: false });
  if (mode === 'plugin') await app.register(guardPlugin, settings);
  if (mode === 'jose') {
    const keys = createLocalJWKSet(JSON.parse(readFileSync(jwksFile, 'utf8')));
    app.addHook('onRequest', async (request, reply) => {
      try {
        await jwtVerify((request.headers.authorization ?? '').slice(7), keys, { algorithms: ['ES256'] });
      } catch {
        return reply.code(401).send();
      }
      return undefined;
    });
  }
  app.get('/', async () => ({ hello: 'world' }));
}
await app.listen({ host: '127.0.0.1', port: Number(port) });
if (socketPath) await new Promise((resolve) => createServer((req, res) => app.routing(req, res)).listen(socketPath, resolve));
process.on('message', (m) => {
  if (m === 'rss') process.send?.({ rss: process.memoryUsage().rss });
  if (m === 'exit') process.exit(0);
});
process.send?.('ready');
