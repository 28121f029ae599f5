import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { initHome } from '../../src/home/init.js';
import { loadConfig } from '../../src/config/config.js';
import { openServices, type ServiceOptions, type Services } from '../../src/home/services.js';
import { buildTicketApp } from '../../src/ticket/app.js';

export type TestDialect = 'sqlite' | 'postgres';

/**
 * The dialects to run database tests on. SQLite always; PostgreSQL when scripts/test started
 * one (BSTEST_PG_URL). Under CI a missing PostgreSQL is an error, not a skip.
 */
export function testDialects(): TestDialect[] {
  if (process.env.BSTEST_PG_URL) return ['sqlite', 'postgres'];
  if (process.env.CI || process.env.BSTEST_REQUIRE_PG) throw new Error('BSTEST_PG_URL is not set: run the tests through scripts/test');
  return ['sqlite'];
}

/** A fresh PostgreSQL database for one test; dropped by `drop()`. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = process.env.BSTEST_PG_URL as string;
  const name = `bs_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export interface TestHome {
  dir: string;
  dialect: TestDialect;
  databaseUrl: string;
  services: Services;
  clock: { now: number; advance(ms: number): void };
  cleanup(): Promise<void>;
}

export interface TestHomeOptions {
  dialect?: TestDialect;
  settings?: Record<string, unknown>;
  /** Use a controllable clock instead of Date.now. */
  fakeClock?: boolean;
  /** Files to write into the home before the services open (name → content, mode 0600). */
  files?: Record<string, string>;
  /** More options for openServices (for example a fetch towards SSO providers). */
  serviceOptions?: Partial<ServiceOptions>;
}

/** A brainstack home in a temp directory, initialised like `brainstack init`, with services open. */
export async function createTestHome(options: TestHomeOptions = {}): Promise<TestHome> {
  const dialect = options.dialect ?? 'sqlite';
  const dir = mkdtempSync(join(tmpdir(), 'brainstack-test-'));
  const pgDb = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const databaseUrl = pgDb?.url ?? 'sqlite:brainstack.db';
  await initHome({ dir, settings: { 'database.url': databaseUrl, public_url: 'https://ticket.test', ...options.settings }, env: {} });
  for (const [name, content] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), content, { mode: 0o600 });
  const clock = {
    now: Date.now(),
    advance(ms: number) {
      clock.now += ms;
    },
  };
  const services = await openServices(loadConfig(dir, {}), { logger: pino({ level: 'silent' }), env: {}, ...(options.fakeClock ? { now: () => clock.now } : {}), ...options.serviceOptions });
  return {
    dir,
    dialect,
    databaseUrl,
    services,
    clock,
    async cleanup() {
      await services.close();
      await pgDb?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The ticket app over `inject` (no sockets). */
export async function createTestApp(home: TestHome): Promise<FastifyInstance> {
  const app = await buildTicketApp(home.services);
  await app.ready();
  return app;
}

export const STRONG_PASSWORD = 'correct horse battery staple';

/** Session cookie value from a login response. */
export function sessionCookie(response: { cookies: Array<{ name: string; value: string }> }, name = '__Host-brainstack'): string | undefined {
  return response.cookies.find((c) => c.name === name)?.value;
}
