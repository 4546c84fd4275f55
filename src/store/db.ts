import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import pg from 'pg';
import { AirlockError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import type { DatabaseKind, Tables } from './tables.js';

/**
 * SQLite transactions take the write lock when they begin (BEGIN IMMEDIATE), waiting for it under the busy timeout.
 * Kysely begins them DEFERRED: such a transaction reads under a snapshot and, when another process (an admin command
 * beside a running server) commits before its first write, fails at once with SQLITE_BUSY ("database is locked") —
 * the busy timeout does not apply to that upgrade. Within one process the driver already runs one transaction at a time.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

/** The database of one Airlock installation: a Kysely instance over SQLite or PostgreSQL. */
export interface Store {
  db: Kysely<Tables>;
  kind: DatabaseKind;
  /** The URL it was opened with, secrets removed (for logs). */
  displayUrl: string;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** SQLite busy timeout in ms (default 5000). */
  busyTimeoutMs?: number;
}

/** Opens `sqlite:PATH`, `sqlite::memory:` or `postgres://…`. SQLite runs in WAL mode with a full sync on commit. */
export function openStore(url: string, options: OpenStoreOptions = {}): Store {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    const database = new BetterSqlite3(file === ':memory:' ? ':memory:' : file);
    database.pragma('journal_mode = WAL');
    // FULL: a commit is synced to disk before it returns, so an acknowledged record survives a power cut.
    database.pragma('synchronous = FULL');
    database.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    // Kysely prepares every statement it runs; keep the prepared statements of recent texts for reuse.
    const prepared = new Map<string, BetterSqlite3.Statement>();
    const cached = {
      close: () => database.close(),
      prepare: (text: string) => {
        let stmt = prepared.get(text);
        if (!stmt) {
          stmt = database.prepare(text);
          if (prepared.size >= 500) prepared.delete(prepared.keys().next().value as string);
          prepared.set(text, stmt);
        }
        return stmt;
      },
    };
    const db = new Kysely<Tables>({ dialect: new ImmediateSqliteDialect({ database: cached as unknown as BetterSqlite3.Database }) });
    return {
      db,
      kind: 'sqlite',
      displayUrl: url,
      async ping() {
        await sql`select 1`.execute(db);
      },
      async migrate() {
        return (await migrateToLatest(db as Kysely<unknown>, 'sqlite')).applied;
      },
      async close() {
        await db.destroy();
      },
    };
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 5000,
      // int8 columns hold epoch milliseconds: read them as numbers.
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client losing its connection must not crash the process; the next query reports it.
    pool.on('error', () => {});
    // Nor may a checked-out one (the pool listens only while a client is idle): when the database restarts while a
    // transaction waits between statements, the client emits 'error' with no query to fail. Its next query fails
    // ("not queryable") and the pool drops it on release, so the listener only has to keep the process alive.
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      kind: 'postgres',
      displayUrl: url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@'),
      async ping() {
        await sql`select 1`.execute(db);
      },
      async migrate() {
        // Kysely's migrator takes a PostgreSQL advisory lock, so several serve processes may start at once.
        return (await migrateToLatest(db as Kysely<unknown>, 'postgres')).applied;
      },
      async close() {
        await db.destroy();
      },
    };
  }
  // A wrong --database / AIRLOCK_DATABASE is a usage error: exit 2 (docs/design.md).
  throw new AirlockError('USAGE', `unsupported database URL "${url}" (expected sqlite:PATH or postgres://…)`);
}
