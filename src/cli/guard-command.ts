import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import type { GuardRoute } from '../guard/proxy.js';
import { splitHostPort } from '../ticket/listen-address.js';
import { BrainstackError } from '../errors.js';
import { usageError } from './output.js';
import type { Metrics } from '../audit/metrics.js';
import { createServer, type Server } from 'node:http';

/** An upstream: an http(s) URL, or a UNIX socket `unix:/absolute/path`. */
const UPSTREAM = /^(https?:\/\/\S+|unix:\/\S+)$/;

async function serveMetrics(metrics: Metrics, listen: string): Promise<Server> {
  const { host, port } = splitHostPort(listen);
  const server = createServer(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    const { contentType, body } = await metrics.render();
    res.writeHead(200, { 'content-type': contentType }).end(body);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
  return server;
}

interface GuardCliOptions {
  assistant?: string;
  listen: string;
  upstream?: string;
  jwks: string;
  issuer: string;
  audience: string;
  trustedGateway: string[];
  feed?: string;
  feedCredentialFile?: string;
  routes?: string;
  maxStaleness: string;
  logLevel: string;
  metricsListen?: string;
}

function readRoutes(file: string): GuardRoute[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new BrainstackError('config_invalid', `--routes ${file}: ${(err as Error).message}`);
  }
  const routes = (parsed as { routes?: unknown }).routes ?? parsed;
  if (!Array.isArray(routes) || routes.length === 0) throw new BrainstackError('config_invalid', `--routes ${file}: expected {"routes": [{"prefix", "assistant", "upstream"}, …]}`);
  return routes.map((r: Partial<GuardRoute>, i) => {
    if (typeof r.prefix !== 'string' || typeof r.assistant !== 'string' || typeof r.upstream !== 'string' || !UPSTREAM.test(r.upstream)) {
      throw new BrainstackError('config_invalid', `--routes ${file}: route ${i + 1} needs prefix, assistant and an upstream (http(s)://HOST:PORT or unix:/path/to.sock)`);
    }
    return { prefix: r.prefix, assistant: r.assistant, upstream: r.upstream, ...(typeof r.stripPrefix === 'boolean' ? { stripPrefix: r.stripPrefix } : {}) };
  });
}

export function registerGuard(program: Command): void {
  program
    .command('guard')
    .description("run a guard: a sidecar reverse proxy in front of one assistant, or with --routes the private-side gateway")
    .option('--assistant <name>', 'the assistant behind this sidecar (needs assistant:<name>)')
    .requiredOption('--listen <host:port>', 'address to listen on (the tunnel side)')
    .option('--upstream <url>', 'the assistant, e.g. http://127.0.0.1:8080, or unix:/run/notes.sock (then nothing reaches it around the guard)')
    .requiredOption('--jwks <file|url>', "trusted signing keys: a file, or the ticket service's internal JWKS URL")
    .requiredOption('--issuer <url>', 'expected token issuer (the ticket service public URL)')
    .option('--audience <aud>', 'expected token audience', 'brainstack')
    .option('--trusted-gateway <addr>', 'address whose X-Forwarded-For is trusted (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--feed <url>', 'revocation feed: the ticket service internal listener, e.g. http://10.8.0.1:8444')
    .option('--feed-credential-file <file>', 'file holding this guard\'s feed credential (brainstack admin guards add)')
    .option('--routes <file>', 'gateway mode: JSON routing table {"routes":[{"prefix","assistant","upstream"}]}')
    .option('--max-staleness <seconds>', 'refuse with 503 when the feed has been silent this long', '30')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics here (keep it off the tunnel side)')
    .option('--log-level <level>', 'log level', 'info')
    .action(async (options: GuardCliOptions) => {
      const routes: GuardRoute[] = options.routes ? readRoutes(options.routes) : [];
      if (!options.routes) {
        if (!options.assistant || !options.upstream) throw usageError('give --assistant and --upstream (sidecar), or --routes FILE (gateway)');
        if (!UPSTREAM.test(options.upstream)) throw usageError(`--upstream '${options.upstream.slice(0, 100)}': give http(s)://HOST:PORT or unix:/path/to.sock`);
        routes.push({ prefix: '/', assistant: options.assistant, upstream: options.upstream });
      }
      if (options.feed && !options.feedCredentialFile) throw usageError('--feed needs --feed-credential-file');
      const staleness = Number(options.maxStaleness);
      if (!Number.isFinite(staleness) || staleness < 1 || staleness > 3600) throw usageError('--max-staleness takes a number of seconds from 1 to 3600');
      if (!/^(\[[0-9a-fA-F:]+\]|[^:\s]+):[0-9]{1,5}$/.test(options.listen)) throw usageError(`--listen '${options.listen.slice(0, 60)}' is not HOST:PORT`);
      if (options.metricsListen && !/^(\[[0-9a-fA-F:]+\]|[^:\s]+):[0-9]{1,5}$/.test(options.metricsListen)) throw usageError('--metrics-listen is not HOST:PORT');
      // Loaded once the options are known good: a usage error answers at once.
      const [{ pino }, { Guard }, { buildGuardProxy }, { LOG_REDACT }, { Metrics }] = await Promise.all([import('pino'), import('../guard/guard.js'), import('../guard/proxy.js'), import('../home/log-redact.js'), import('../audit/metrics.js')]);
      const logger = pino({ level: options.logLevel, redact: LOG_REDACT });
      const guard = new Guard({
        assistant: options.assistant ?? (routes[0] as GuardRoute).assistant,
        issuer: options.issuer,
        audience: options.audience,
        jwks: options.jwks,
        trustedGateways: options.trustedGateway,
        maxStalenessMs: staleness * 1000,
        ...(options.feed ? { feedUrl: options.feed, feedCredentialFile: options.feedCredentialFile } : {}),
        onWarning: (message) => logger.warn(message),
        onFeedError: (err) => logger.warn({ err: (err as Error).message }, 'revocation feed unreachable'),
      });
      await guard.start();
      const metrics = new Metrics();
      metrics.gauge('brainstack_guard_feed_lag_seconds', 'Seconds since the revocation feed last answered', () => (guard.follower ? (Date.now() - guard.follower.lastContact) / 1000 : 0));
      const proxy = buildGuardProxy({ guard, routes, logger, trustedGateways: options.trustedGateway, onDecision: (assistant, reason, ok) => metrics.guardDecisions.inc({ assistant, result: ok ? 'allowed' : 'refused', reason }) });
      const metricsServer = options.metricsListen ? await serveMetrics(metrics, options.metricsListen) : undefined;
      const { host, port } = splitHostPort(options.listen);
      const address = await proxy.listen(host, port);
      logger.info({ address, routes: routes.map((r) => ({ prefix: r.prefix, assistant: r.assistant, upstream: r.upstream })) }, 'brainstack guard started');
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => resolve());
        process.once('SIGINT', () => resolve());
      });
      await proxy.close();
      metricsServer?.close();
      await guard.stop();
      logger.info('guard stopped');
    });
}
