// PostgreSQL for the bench: AIRLOCK_BENCH_POSTGRES_URL (else the project's default server) names a server the
// bench can connect to; the bench drops and recreates its own database `airlock_bench` there before each run
// and never touches the database named in the URL.
import pg from 'pg';

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const BENCH_DATABASE = 'airlock_bench';

/** Hides a password in a URL before it is printed. */
export function displayUrl(url) {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

/** Resolves the admin URL to use, or `{ skip: reason }` when no PostgreSQL answers. */
export async function findPostgres(env = process.env) {
  const explicit = env.AIRLOCK_BENCH_POSTGRES_URL;
  const adminUrl = explicit || DEFAULT_POSTGRES_URL;
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const { rows } = await client.query('show server_version');
    const sync = await client.query('show synchronous_commit');
    return {
      adminUrl,
      version: rows[0].server_version,
      synchronousCommit: sync.rows[0].synchronous_commit,
      benchUrl: withDatabase(adminUrl, BENCH_DATABASE),
    };
  } catch (err) {
    const why = explicit
      ? `AIRLOCK_BENCH_POSTGRES_URL (${displayUrl(adminUrl)}) does not answer: ${err.message}`
      : `AIRLOCK_BENCH_POSTGRES_URL is unset and the default ${DEFAULT_POSTGRES_URL} does not answer: ${err.message}`;
    return { skip: why };
  } finally {
    await client.end().catch(() => {});
  }
}

function withDatabase(url, database) {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Drops and recreates the bench database (empty, so every run starts from the same state). */
export async function recreateBenchDatabase(adminUrl) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${BENCH_DATABASE} with (force)`);
    await client.query(`create database ${BENCH_DATABASE}`);
    // Flush what earlier runs left dirty, so background writes of one run do not land in the next.
    await client.query('checkpoint');
  } finally {
    await client.end();
  }
}

export async function dropBenchDatabase(adminUrl) {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${BENCH_DATABASE} with (force)`);
    await client.query('checkpoint');
  } finally {
    await client.end();
  }
}
