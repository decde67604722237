import { mkdirSync } from 'node:fs';
import { MIGRATIONS } from './migrations.js';

/** The one thing the stores need from PostgreSQL: parameterised queries. */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export type OpenDatabaseParameters = {
  /** `postgres://…`; when absent, an embedded PGlite is used. */
  url?: string;
  /** PGlite data directory (absent: in memory). */
  dataDir?: string;
  /** Schema to create and use (lets test suites share one server). */
  schema?: string;
};

/**
 * Opens PostgreSQL (`DATABASE_URL`) or an embedded PGlite, and applies pending migrations.
 * Opening PGlite takes seconds: open one per process and share it.
 */
export async function openDatabase(p: OpenDatabaseParameters = {}): Promise<Database> {
  const schema = p.schema;
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new TypeError(`bad schema name ${schema}`);
  return p.url ? openPostgres(p.url, schema) : openPglite(p.dataDir, schema);
}

type Query = (sql: string, params?: unknown[]) => Promise<unknown>;

async function openPostgres(url: string, schema?: string): Promise<Database> {
  const { default: pg } = await import('pg');
  const options = schema ? { options: `-c search_path=${schema}` } : {};
  // Migrations need one connection (lock, BEGIN … COMMIT): a pool could spread them over several.
  const client = new pg.Client({ connectionString: url, ...options });
  await client.connect();
  try {
    // IF NOT EXISTS still races when two processes create the schema at once: the loser's unique violation is fine
    if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch((err: { code?: string }) => {
      if (err.code !== '23505') throw err;
    });
    await migrate((sql, params) => client.query(sql, params));
  } finally {
    await client.end();
  }
  const pool = new pg.Pool({ connectionString: url, max: 10, ...options });
  pool.on('error', () => {}); // an idle client's error must not crash the process; queries report it
  return {
    kind: 'postgres',
    async query(sql, params) {
      return (await pool.query(sql, params)).rows;
    },
    close: () => pool.end(),
  };
}

async function openPglite(dataDir?: string, schema?: string): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = new PGlite(dataDir);
  await pg.waitReady;
  if (schema) await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema};`);
  await migrate((sql, params) => pg.query(sql, params));
  return {
    kind: 'pglite',
    async query(sql, params) {
      return (await pg.query(sql, params)).rows as never[];
    },
    close: () => pg.close(),
  };
}

/** Arbitrary constant naming Segmint's migration lock. */
const MIGRATION_LOCK = 74617001;

/**
 * Applies migrations in order, each once and in its own transaction, under an advisory lock so
 * orchestrators starting together cannot race. `query` must stay on one connection.
 */
async function migrate(query: Query): Promise<void> {
  await query(`SELECT pg_advisory_lock(${MIGRATION_LOCK})`);
  try {
    await query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`);
    const { rows } = (await query(`SELECT version FROM schema_migrations`)) as { rows: { version: number }[] };
    const done = new Set(rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await query('BEGIN');
      try {
        for (const statement of m.up) await query(statement);
        await query(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, [m.version, m.name, Date.now()]);
        await query('COMMIT');
      } catch (err) {
        await query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`);
  }
}
