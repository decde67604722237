import pg from 'pg';

const POSTGRES = process.env.SEGMINT_TEST_POSTGRES_URL ?? process.env.CHAOS_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh PostgreSQL database (several orchestrators share one); its URL. */
export async function createTestDatabase(label: string): Promise<string> {
  const name = `segmint_${label}_${process.pid}_${Date.now()}`;
  const c = new pg.Client({ connectionString: POSTGRES });
  await c.connect().catch((err: Error) => {
    throw new Error(`this needs PostgreSQL at ${POSTGRES} (set SEGMINT_TEST_POSTGRES_URL): ${err.message}`);
  });
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return POSTGRES.replace(/\/[^/]*$/, `/${name}`);
}

export async function dropTestDatabase(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: POSTGRES });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${url.replace(/^.*\//, '')} WITH (FORCE)`);
  await c.end();
}
