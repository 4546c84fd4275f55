import pg from 'pg';

/** Says once, clearly, whether the PostgreSQL suites run. */
export default async function setup(): Promise<void> {
  const url = process.env.AIRLOCK_TEST_POSTGRES_URL;
  if (!url) {
    console.warn('\n[airlock] AIRLOCK_TEST_POSTGRES_URL is not set: the PostgreSQL suites are SKIPPED (SQLite suites run).\n');
    return;
  }
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (err) {
    throw new Error(`AIRLOCK_TEST_POSTGRES_URL is set but PostgreSQL does not answer: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
