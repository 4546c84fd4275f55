import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './serve.js';

/**
 * A private PostgreSQL cluster for the suites that stop and start the database: made with `initdb` in a temp
 * folder, listening on its own free port on 127.0.0.1, so the shared test server (and every other suite on it)
 * is never touched. PostgreSQL refuses to run as root: when the tests run as root the cluster belongs to the
 * `postgres` system user and its commands run through `runuser`.
 */
export interface PgCluster {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  url: string;
  port: number;
  /** `pg_ctl start -w`: resolves when the server accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: open connections are terminated, the server is down when it resolves. */
  stop(): Promise<void>;
  /** Stops the server (if running) and removes its data folder. Safe to call twice, and after a failed start. */
  destroy(): Promise<void>;
  /** The server's log (for failure messages). */
  log(): string;
}

/** The folder holding initdb and pg_ctl (the newest installed major version), or undefined when there is none. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? path.join(root, versions[0], 'bin') : undefined;
}

/** Why a private cluster cannot be made here, or undefined when it can. */
export function privateClusterUnavailable(): string | undefined {
  const bin = findPostgresBin();
  if (!bin) return 'no PostgreSQL binaries under /usr/lib/postgresql/*/bin (initdb, pg_ctl)';
  if (userInfo().uid !== 0) return undefined;
  try {
    execFileSync('runuser', ['-u', 'postgres', '--', 'true'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'the tests run as root, and initdb refuses root: `runuser -u postgres` is not available';
  }
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = findPostgresBin();
  const why = privateClusterUnavailable();
  if (!bin || why) throw new Error(`cannot start a private PostgreSQL cluster: ${why}`);
  const asRoot = userInfo().uid === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'airlock-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  /** Runs a PostgreSQL program as the cluster's owner. */
  const run = (program: string, args: string[], timeoutMs = 60_000) => {
    const file = path.join(bin, program);
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    try {
      return execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs }).toString();
    } catch (err) {
      const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
      throw new Error(`${program} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  };
  const port = await freePort();
  let running = false;
  let destroyed = false;
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      // -k: the socket lives in the cluster's own folder (not /var/run/postgresql, which belongs to the shared server).
      // fsync off: this cluster only exists for one suite; a fast shutdown still writes everything out.
      const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
      run('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop() {
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
      running = false;
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      if (running || existsSync(path.join(data, 'postmaster.pid'))) {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop']);
        } catch {
          // Already stopped; the folder goes anyway.
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
  try {
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    await cluster.start();
    // Answering queries, not only accepting connections.
    const client = new pg.Client({ connectionString: cluster.url, connectionTimeoutMillis: 5000 });
    await client.connect();
    await client.query('select 1');
    await client.end();
  } catch (err) {
    await cluster.destroy();
    throw err;
  }
  return cluster;
}
