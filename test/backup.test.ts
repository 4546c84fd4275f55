// Time budget: 60 s for the file (about 20 s on 2 loaded cores).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openStore } from '../src/store/db.js';
import { insertRecords } from '../src/store/records.js';
import { runAirlock } from './support/cli.js';
import { ensureBuilt, freePort, postUntilAcknowledged, type ServeProcess, startServe } from './support/serve.js';

/** Records already in the database before the server starts: about 12 MB, so the copy takes many steps. */
const FILLER = 20_000;

describe('airlock backup of a SQLite database while the server writes to it', () => {
  let dir: string;
  let file: string;
  let dbFile: string;
  const servers: ServeProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-backup-'));
    dbFile = path.join(dir, 'data', 'airlock.db');
    writeFileSync(path.join(dir, 'model.mjs'), 'export function predict() { return { label: "ok", confidence: 0.99 }; }\n');
    file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: `sqlite:${dbFile}`,
        server: { auth: 'off' },
        worker: { poll_interval: '20ms' },
        logging: { level: 'silent' },
        pipelines: { mail: { model: { type: 'module', path: './model.mjs' }, routing: { auto_accept_at: 0.9 } } },
      }),
    );
    const store = openStore(`sqlite:${dbFile}`);
    await store.migrate();
    const now = Date.now();
    const pad = 'x'.repeat(500);
    await insertRecords(
      store.db,
      Array.from({ length: FILLER }, (_, i) => ({
        pipeline: 'mail',
        id: `filler-${i}`,
        body: JSON.stringify({ id: `filler-${i}`, text: pad }),
        body_hash: `h${i}`,
        status: 'delivered' as const,
        score_attempts: 0,
        available_at: now,
        created_at: now,
        updated_at: now,
      })),
      store.kind,
    );
    await store.close();
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await s.kill();
  });

  it('copies the live database: the copy passes integrity_check, holds every record acknowledged before, and serves', async () => {
    const serve = await startServe({ config: file, database: `sqlite:${dbFile}`, port: await freePort() });
    servers.push(serve);
    const acknowledged: string[] = [];
    const stop = new AbortController();
    let n = 0;
    // Ingest without pause, in batches of 20, until the backup is done.
    const ingesting = (async () => {
      while (!stop.signal.aborted) {
        const batch = Array.from({ length: 20 }, () => ({ id: `live-${n++}`, text: 'hello' }));
        const ids = await postUntilAcknowledged(serve.url as string, 'mail', batch, { signal: stop.signal }).catch(() => []);
        acknowledged.push(...ids);
      }
    })();
    while (acknowledged.length < 200) await new Promise((r) => setTimeout(r, 20));
    const before = [...acknowledged];
    const dest = path.join(dir, 'backups', 'copy.db');
    const out = await runAirlock(['backup', dest, '--json', '--config', file], { cwd: dir, timeoutMs: 40_000 });
    const during = acknowledged.length - before.length;
    stop.abort();
    await ingesting;
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const report = JSON.parse(out.stdout);
    expect(report).toMatchObject({ backup: dest, check: 'ok' });
    // The server kept acknowledging records while the copy was made.
    expect(during).toBeGreaterThan(0);
    console.info(
      `backup: ${report.pages} pages, ${report.records} records, ${report.restarts} restart(s), ${report.seconds}s; ${during} records acknowledged during the copy`,
    );

    const copy = new BetterSqlite3(dest, { readonly: true });
    try {
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const ids = new Set((copy.prepare("select id from records where pipeline = 'mail'").all() as { id: string }[]).map((r) => r.id));
      expect(before.filter((id) => !ids.has(id))).toEqual([]);
      expect(ids.size).toBeGreaterThanOrEqual(FILLER + before.length);
      expect(report.records).toBe(ids.size);
    } finally {
      copy.close();
    }

    // The copy is a working Airlock database.
    const restored = await startServe({ config: file, database: `sqlite:${dest}`, port: await freePort() });
    servers.push(restored);
    const last = before[before.length - 1];
    const res = await fetch(`${restored.url}/v1/pipelines/mail/records/${last}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { record: unknown }).record).toEqual({ id: last, text: 'hello' });
  });

  it('refuses to overwrite a file, and for PostgreSQL prints the pg_dump and pg_restore commands instead', async () => {
    const dest = path.join(dir, 'backups', 'copy.db');
    const again = await runAirlock(['backup', dest, '--config', file], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists (use --force to replace it)');
    const pg = await runAirlock(
      ['backup', path.join(dir, 'pg.db'), '--database', 'postgres://ops:s3cret@db.internal:5432/airlock', '--config', file],
      {
        cwd: dir,
      },
    );
    expect(pg.code).toBe(2);
    expect(pg.stderr).toContain('pg_dump --format=custom');
    expect(pg.stderr).toContain('pg_restore --clean');
    expect(pg.stderr).not.toContain('s3cret');
  });
});
