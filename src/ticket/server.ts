import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../home/services.js';
import { readTls } from '../home/init.js';
import { certificateDaysLeft } from '../crypto/tls.js';
import { buildInternalApp, buildTicketApp } from './app.js';
import { DeviceMaintenance } from '../devices/maintenance.js';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../tokens/claims.js';
import { splitHostPort } from './listen-address.js';

export interface RunningTicketService {
  publicApp: FastifyInstance;
  internalApp: FastifyInstance;
  publicAddress: string;
  internalAddress: string;
  close(): Promise<void>;
}


/** Starts the public HTTPS listener and the internal listener. */
export async function startTicketService(services: Services): Promise<RunningTicketService> {
  const { config, dir } = services;
  const maintenance = new DeviceMaintenance(services.devices, services.reconciler, services.logger, { reconcileSeconds: config.wireguard.reconcile_interval, sweepSeconds: config.wireguard.expiry_sweep_interval }, async () => {
    // Keys superseded longer ago than any token lives leave the JWKS.
    const retired = await services.signingKeys.retireSuperseded((MAX_TOKEN_LIFETIME_SECONDS + 120) * 1000);
    if (retired.length > 0) services.logger.info({ retired }, 'retired signing keys whose tokens have all expired');
  }, config.sso.providers.length === 0 ? [] : [{
    name: 'single sign-on re-validation',
    seconds: config.sso.sweep_interval,
    run: async () => {
      const report = await services.sso.revalidateDue();
      if (report.checked > 0) services.logger.info(report, 're-validated single sign-on accounts with their providers');
    },
  }]);
  if (services.applier.mode === 'config-only') {
    services.logger.warn('CONFIG-ONLY MODE: no wireguard.interface is configured; devices get configs but NO PEER IS APPLIED to any interface');
  } else {
    // Start only on an interface that matches the database (fails clearly if it is missing).
    await maintenance.reconcileNow();
  }
  await maintenance.sweepNow();
  maintenance.start();
  services.metrics.gauge('brainstack_devices_active', 'Active (not revoked, not expired) devices', () => services.devices.countActive());
  services.metrics.gauge('brainstack_wireguard_peers', 'Peers on the WireGuard interface', async () => (services.applier.mode === 'interface' ? (await services.applier.peerKeys()).size : 0));
  const tls = config.tls.enabled ? readTls(dir, config) : undefined;
  if (tls) services.alerts.tlsExpiry(certificateDaysLeft(tls.cert), config.alerts.tls_expiry_days);
  if (!tls) services.logger.warn('tls.enabled is false: the public listener speaks plain HTTP; put a TLS-terminating proxy in front of it');
  let publicApp: FastifyInstance;
  try {
    publicApp = await buildTicketApp(services, tls ? { tls } : {});
  } catch (err) {
    await maintenance.stop();
    throw err;
  }
  const internalApp = await buildInternalApp(services);
  await publicApp.listen(splitHostPort(config.listen));
  // fastify names the protocol from its own `https` option, which a serverFactory bypasses.
  const bound = publicApp.server.address() as AddressInfo;
  const publicAddress = `${tls ? 'https' : 'http'}://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  let internalAddress: string;
  try {
    internalAddress = await internalApp.listen(splitHostPort(config.internal_listen));
  } catch (err) {
    await maintenance.stop();
    await publicApp.close();
    throw err;
  }
  services.logger.info({ publicAddress, internalAddress, database: services.database.location }, 'brainstack ticket service started');
  return {
    publicApp,
    internalApp,
    publicAddress,
    internalAddress,
    async close() {
      await maintenance.stop();
      await Promise.allSettled([publicApp.close(), internalApp.close()]);
    },
  };
}
