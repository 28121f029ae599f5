import { resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.js';
import { migrationProvider } from './migrations.js';
import { BrainstackError } from '../errors.js';

export type Dialect = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Where the data lives, for messages (never includes a password). */
  location: string;
  close(): Promise<void>;
}

// PostgreSQL returns bigint (int8) as strings; every bigint here is an epoch-ms time or a
// counter far below 2^53, so read them as numbers on both dialects.
pg.types.setTypeParser(20, (value: string) => Number(value));

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparseable url)';
  }
}

/**
 * Opens the configured database: `sqlite:PATH` (relative to `homeDir`) with WAL, foreign keys
 * and a busy timeout, or `postgres://…` through a pg pool.
 */
export function openDatabase(url: string, homeDir: string, options: { busyTimeoutMs?: number; poolSize?: number; onPoolError?: (err: Error) => void } = {}): DatabaseHandle {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    const path = file === ':memory:' ? file : resolve(homeDir, file);
    let sqlite: SQLite.Database;
    try {
      sqlite = new SQLite(path);
    } catch (cause) {
      throw new BrainstackError('database_unavailable', `cannot open SQLite database ${path}: ${(cause as Error).message}`, { cause });
    }
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    sqlite.pragma('synchronous = NORMAL');
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    return { db, dialect: 'sqlite', location: path, close: () => db.destroy() };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    // An idle client whose server connection dies (restart, failover) emits 'error' on the pool;
    // unhandled, that would crash the process. The pool drops the client and opens a new one.
    pool.on('error', (err) => options.onPoolError?.(err));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: 'postgres', location: redact(url), close: () => db.destroy() };
  }
  throw new BrainstackError('config_invalid', `'database.url' must start with sqlite: or postgres://`);
}

/** Applies every pending migration; returns the names applied now. */
export async function migrate(handle: DatabaseHandle): Promise<string[]> {
  const migrator = new Migrator({ db: handle.db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    throw new BrainstackError('database_unavailable', `migrating ${handle.location} failed: ${(error as Error).message}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of migrations not yet applied (empty when the schema is current). */
export async function pendingMigrations(handle: DatabaseHandle): Promise<string[]> {
  const migrator = new Migrator({ db: handle.db, provider: migrationProvider });
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}
