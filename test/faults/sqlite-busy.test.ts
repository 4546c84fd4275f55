import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { idempotencyKey } from '../../src/delivery/outbox.js';
import { openStore, type Store } from '../../src/store/db.js';
import { countRecordsByStatus } from '../../src/store/records.js';
import { runAirlock } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { ensureBuilt, freePort, type ServeProcess, startServe } from '../support/serve.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from '../support/servers.js';

/**
 * Time budget: 2 minutes (about 40 s on 2 idle cores).
 *
 * One SQLite file, two kinds of writers: a real `airlock serve` under a steady ingest load (its workers score and
 * deliver at the same time), and admin commands run as separate CLI processes on the same file, concurrently and
 * over and over — `users add`, `users set-role`, `quarantine discard`, `quarantine release --edit` and `reference`.
 * No command may fail with SQLITE_BUSY ("database is locked"), no ingest request may get a 5xx, and every record
 * the server acknowledged ends where it belongs, with one effect at the destination per delivered record.
 */

const PIPELINE = 'orders';
const DESTINATION = 'crm';
/** The ingest load: batches of 20 from two senders, four a second each, until 2,000 records; then a trickle. */
const BATCH = 20;
const SENDERS = 2;
const LOAD = 2_000;
/** CLI commands in flight at once (each is a process opening the database, migrating and writing). */
const LANES = 2;
const COMMANDS_PER_LANE = 8;

/** Every tenth record violates the contract (text is a number) and is quarantined. */
function makeRecord(i: number): Record<string, unknown> {
  const id = `ord-${String(i).padStart(5, '0')}`;
  return i % 10 === 3 ? { id, text: 40_000 + i, confidence: 0.9 } : { id, text: `order ${i}`, confidence: 0.9 };
}

function configYaml(database: string, modelUrl: string, receiverUrl: string): string {
  return `
database: "${database}"
server: { auth: off }
worker: { poll_interval: 20ms, lease: 3s }
logging: { level: warn }
pipelines:
  ${PIPELINE}:
    contract:
      type: object
      required: [id, text]
      properties:
        id: { type: string }
        text: { type: string }
        confidence: { type: number }
    gate: { policies: { type_mismatch: quarantine } }
    model: { type: http, url: "${modelUrl}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      ${DESTINATION}:
        type: webhook
        url: "${receiverUrl}"
        rate_limit: 2000/s
        concurrency: 8
        timeout: 2s
        retry: { base: 50ms, cap: 1s }
`;
}

const LOCKED = /SQLITE_BUSY|database is locked|SQLITE_LOCKED/i;

describe('SQLite under a serve process and concurrent CLI writers', () => {
  let database: TestDatabase;
  let model: ModelServer;
  let receiver: Receiver;
  let dir: string;
  let server: ServeProcess | undefined;
  let store: Store | undefined;

  beforeAll(async () => {
    ensureBuilt();
    database = await createTestDatabase('sqlite');
    model = await startModelServer();
    receiver = await startReceiver();
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-busy-'));
  });

  afterAll(async () => {
    await server?.kill('SIGKILL');
    await store?.close();
    await model?.close();
    await receiver?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('never answers "database is locked", never 5xx on ingest, and loses nothing', { timeout: 120_000 }, async () => {
    const deadline = Date.now() + 110_000;
    const left = () => Math.max(1_000, deadline - Date.now());
    const stop = new AbortController();
    onTestFinished(() => stop.abort());
    const configFile = path.join(dir, 'airlock.yaml');
    writeFileSync(configFile, configYaml(database.url, model.url, receiver.url));
    const sample = path.join(dir, 'pilot.jsonl');
    writeFileSync(sample, Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: `p-${i}`, text: `pilot ${i}` })).join('\n'));
    const fixed = path.join(dir, 'fixed');
    const port = await freePort();
    server = await startServe({ config: configFile, database: database.url, port, role: 'all' });
    const baseUrl = server.url as string;
    store = openStore(database.url);
    const db = store.db;

    // The ingest load runs until the CLI lanes are done. Every answer is kept.
    const acknowledged = new Set<string>();
    const failedPosts: string[] = [];
    let next = 0;
    let requests = 0;
    let cliDone = false;
    const senders = Array.from({ length: SENDERS }, async () => {
      while (!cliDone && !stop.signal.aborted) {
        const batch = Array.from({ length: next < LOAD ? BATCH : 2 }, () => makeRecord(next++));
        requests++;
        try {
          const res = await fetch(`${baseUrl}/v1/pipelines/${PIPELINE}/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body: `${batch.map((r) => JSON.stringify(r)).join('\n')}\n`,
            signal: AbortSignal.timeout(20_000),
          });
          const text = await res.text();
          if (res.status === 202 || res.status === 207) for (const id of (JSON.parse(text) as { ids: string[] }).ids) acknowledged.add(id);
          else failedPosts.push(`status ${res.status}: ${text.slice(0, 200)}`);
        } catch (err) {
          failedPosts.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    });

    // The admin lanes: each command is a process of its own writing to the same file while the server writes.
    const commands: { args: string[]; code: number | null; stderr: string; ms: number }[] = [];
    const released = new Set<string>();
    const discarded = new Set<string>();
    const takeQuarantined = async (): Promise<string | undefined> => {
      const rows = await db
        .selectFrom('records')
        .select('id')
        .where('pipeline', '=', PIPELINE)
        .where('status', '=', 'quarantined')
        .orderBy('id')
        .limit(50)
        .execute();
      return rows.map((r) => r.id).find((id) => !released.has(id) && !discarded.has(id));
    };
    const run = async (args: string[]) => {
      const started = Date.now();
      const r = await runAirlock([...args, '--config', configFile], { cwd: dir, timeoutMs: Math.min(60_000, left()) });
      commands.push({ args, code: r.code, stderr: `${r.stderr}${r.stdout}`.slice(0, 500), ms: Date.now() - started });
      return r;
    };
    const lanes = Array.from({ length: LANES }, async (_, lane) => {
      for (let k = 0; k < COMMANDS_PER_LANE; k++) {
        const user = `user-${lane}-${k}`;
        switch (k % 4) {
          case 0:
            await run(['users', 'add', user, '--role', 'reviewer', '--no-password', '--json']);
            await run(['users', 'set-role', user, 'lead']);
            break;
          case 1: {
            const id = await takeQuarantined();
            if (!id) break;
            discarded.add(id);
            await run(['quarantine', 'discard', id, '--pipeline', PIPELINE, '--reason', 'test order, not a customer', '--by', 'ops']);
            break;
          }
          case 2: {
            const id = await takeQuarantined();
            if (!id) break;
            released.add(id);
            const file = `${fixed}-${id}.json`;
            writeFileSync(file, JSON.stringify({ id, text: 'corrected by ops', confidence: 0.9 }));
            await run(['quarantine', 'release', id, '--pipeline', PIPELINE, '--edit', file, '--by', 'ops', '--json']);
            break;
          }
          default:
            await run(['reference', sample, '--pipeline', PIPELINE, '--note', `lane ${lane} run ${k}`, '--json']);
        }
      }
    });
    await Promise.all(lanes);
    cliDone = true;
    await Promise.all(senders);

    // Every command succeeded; none saw the database locked.
    const locked = commands.filter((c) => LOCKED.test(c.stderr));
    expect(locked.map((c) => `${c.args.join(' ')}: ${c.stderr}`)).toEqual([]);
    const failed = commands.filter((c) => c.code !== 0);
    expect(failed.map((c) => `${c.args.join(' ')} exited ${c.code}: ${c.stderr}`)).toEqual([]);
    expect(commands.length).toBeGreaterThanOrEqual(LANES * COMMANDS_PER_LANE);
    expect(released.size).toBeGreaterThan(0);
    expect(discarded.size).toBeGreaterThan(0);
    // No ingest request failed (no 5xx, no timeout) while the CLI wrote.
    expect(failedPosts.slice(0, 5)).toEqual([]);
    expect(server.output()).not.toMatch(LOCKED);

    // Everything acknowledged ends where it belongs: discarded or delivered after a release, quarantined when
    // nobody touched it, delivered otherwise.
    const expected = (id: string): string => {
      if (discarded.has(id)) return 'discarded';
      if (released.has(id)) return 'delivered';
      return Number(id.slice(4)) % 10 === 3 ? 'quarantined' : 'delivered';
    };
    const settled = async () =>
      Number(
        (
          await db
            .selectFrom('records')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('status', 'in', ['received', 'scoring', 'decided'])
            .executeTakeFirstOrThrow()
        ).n,
      ) === 0;
    await waitFor(settled, left(), 'every record past the system’s stages', 250).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await countRecordsByStatus(db))}\n${server?.output().slice(-3000)}`);
    });
    const rows = await db.selectFrom('records').select(['id', 'status']).where('pipeline', '=', PIPELINE).execute();
    const status = new Map(rows.map((r) => [r.id, r.status as string]));
    expect(
      [...acknowledged].filter((id) => !status.has(id)),
      'acknowledged but missing',
    ).toEqual([]);
    const wrong = [...acknowledged]
      .filter((id) => status.get(id) !== expected(id))
      .map((id) => `${id}: ${status.get(id)} (want ${expected(id)})`);
    expect(wrong.slice(0, 10)).toEqual([]);
    const delivered = [...acknowledged].filter((id) => expected(id) === 'delivered');
    expect(new Set(receiver.applied.keys())).toEqual(new Set(delivered.map((id) => idempotencyKey(PIPELINE, id, DESTINATION))));
    // The released records went out with the corrected body.
    for (const id of released)
      expect(receiver.applied.get(idempotencyKey(PIPELINE, id, DESTINATION))?.body.record.text).toBe('corrected by ops');
    const users = await db.selectFrom('users').select(['name', 'role']).where('name', 'like', 'user-%').execute();
    expect(users.length).toBe(LANES * Math.ceil(COMMANDS_PER_LANE / 4));
    expect(users.every((u) => u.role === 'lead')).toBe(true);
    const versions = (await sql<{ version: number }>`select version from drift_references where pipeline = ${PIPELINE}`.execute(db)).rows;
    expect(versions.length).toBe(LANES * Math.floor(COMMANDS_PER_LANE / 4));

    const slowest = Math.max(...commands.map((c) => c.ms));
    console.info(
      `[sqlite-busy] ${commands.length} CLI writes (${LANES} at a time) beside ${acknowledged.size} records ingested in ` +
        `${requests} requests; locked: ${locked.length}, failed commands: ${failed.length}, ` +
        `failed ingest requests: ${failedPosts.length}, lost: ${[...acknowledged].filter((id) => !status.has(id)).length}; ` +
        `slowest command ${(slowest / 1000).toFixed(1)} s`,
    );
  });
});
