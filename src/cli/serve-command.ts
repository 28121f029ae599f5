import type { Command } from 'commander';
import { homeDirOf } from './context.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the ticket service: public HTTPS listener and internal listener')
    .action(async (_options: unknown, command: Command) => {
      const [{ pino }, { loadConfig }, { openServices }, { LOG_REDACT }, { startTicketService }] = await Promise.all([import('pino'), import('../config/config.js'), import('../home/services.js'), import('../home/log-redact.js'), import('../ticket/server.js')]);
      const loaded = loadConfig(homeDirOf(command));
      const logger = pino({ level: loaded.config.log_level, redact: LOG_REDACT });
      const services = await openServices(loaded, { logger, defaultMetrics: true });
      let running;
      try {
        running = await startTicketService(services);
      } catch (err) {
        await services.close();
        throw err;
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'shutting down');
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await running.close();
      await services.close();
      logger.info('stopped');
    });
}
