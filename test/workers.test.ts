import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idempotencyKey } from '../src/delivery/outbox.js';
import { openStore, type Store } from '../src/store/db.js';
import { countRecordsByStatus } from '../src/store/records.js';
import { createTestDatabase, postgresUrl, type TestDatabase } from './support/databases.js';
import { ensureBuilt, freePort, postUntilAcknowledged, type ServeProcess, startServe } from './support/serve.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from './support/servers.js';

/**
 * Scaling out on PostgreSQL: one `serve --role api` and two `serve --role worker` processes share one database.
 * Each worker has its own model server, so the model calls tell which process scored which record.
 */

const PIPELINE = 'tickets';
const DESTINATION = 'helpdesk';
const TOTAL = 10_000;
const BATCH = 100;
const SENDERS = 4;

function makeRecord(i: number) {
  const id = `tkt-${String(i).padStart(5, '0')}`;
  const label = ['billing', 'bug', 'other'][i % 3];
  // ~1% below the threshold: scored once, then a review case instead of a delivery.
  const confidence = i % 101 === 5 ? 0.2 : 0.95;
  return { id, text: `ticket ${i}`, expected: label, confidence };
}

function configYaml(modelUrl: string, receiverUrl: string): string {
  return `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: warn }
pipelines:
  ${PIPELINE}:
    model: { type: http, url: "${modelUrl}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      ${DESTINATION}:
        type: webhook
        url: "${receiverUrl}"
        rate_limit: 2000/s
        concurrency: 16
        timeout: 2s
        retry: { base: 50ms, cap: 1s }
`;
}

describe.skipIf(!postgresUrl)('two worker processes and one API process on one PostgreSQL', () => {
  let database: TestDatabase;
  let modelA: ModelServer;
  let modelB: ModelServer;
  let modelApi: ModelServer;
  let receiver: Receiver;
  let dir: string;
  let store: Store | undefined;
  const processes: ServeProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    database = await createTestDatabase('postgres');
    [modelA, modelB, modelApi] = await Promise.all([startModelServer(), startModelServer(), startModelServer()]);
    receiver = await startReceiver();
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-workers-'));
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    await store?.close();
    await Promise.all([modelA?.close(), modelB?.close(), modelApi?.close(), receiver?.close()]);
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scores and delivers every record exactly once, with both workers sharing the work', { timeout: 150_000 }, async () => {
    const deadline = Date.now() + 140_000;
    const configs = {
      api: path.join(dir, 'api.yaml'),
      a: path.join(dir, 'worker-a.yaml'),
      b: path.join(dir, 'worker-b.yaml'),
    };
    writeFileSync(configs.api, configYaml(modelApi.url, receiver.url));
    writeFileSync(configs.a, configYaml(modelA.url, receiver.url));
    writeFileSync(configs.b, configYaml(modelB.url, receiver.url));

    const port = await freePort();
    // The API process migrates first; the workers then start against the migrated database.
    const api = await startServe({ config: configs.api, database: database.url, role: 'api', port });
    processes.push(api);
    processes.push(await startServe({ config: configs.a, database: database.url, role: 'worker' }));
    processes.push(await startServe({ config: configs.b, database: database.url, role: 'worker' }));

    const records = Array.from({ length: TOTAL }, (_, i) => makeRecord(i));
    const acknowledged = new Set<string>();
    let nextBatch = 0;
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        for (;;) {
          const b = nextBatch++;
          if (b * BATCH >= TOTAL) return;
          const ids = await postUntilAcknowledged(api.url as string, PIPELINE, records.slice(b * BATCH, (b + 1) * BATCH));
          for (const id of ids) acknowledged.add(id);
        }
      }),
    );
    expect(acknowledged.size).toBe(TOTAL);

    store = openStore(database.url);
    const s = store;
    await waitFor(
      async () => {
        const row = await s.db
          .selectFrom('records')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('pipeline', '=', PIPELINE)
          .where('status', 'in', ['received', 'scoring', 'decided'])
          .executeTakeFirstOrThrow();
        return Number(row.n) === 0;
      },
      Math.max(1_000, deadline - Date.now()),
      'every record scored and delivered',
      250,
    ).catch(async (err) => {
      const counts = await countRecordsByStatus(s.db);
      const tails = processes.map((p, i) => `--- process ${i} ---\n${p.output().slice(-2000)}`).join('\n');
      throw new Error(`${(err as Error).message}\nrecords by status: ${JSON.stringify(counts)}\n${tails}`);
    });
    for (const p of processes) expect(p.child.exitCode, p.output()).toBeNull();

    // None missed: every record is where it belongs.
    const rows = await s.db.selectFrom('records').select(['id', 'status']).where('pipeline', '=', PIPELINE).execute();
    expect(rows.length).toBe(TOTAL);
    const status = new Map(rows.map((r) => [r.id, r.status]));
    const wrong = records
      .filter((r) => status.get(r.id) !== (r.confidence < 0.5 ? 'in_review' : 'delivered'))
      .map((r) => `${r.id}: ${status.get(r.id)}`);
    expect(wrong.slice(0, 20), `${wrong.length} records in the wrong state`).toEqual([]);
    const cases = await s.db.selectFrom('review_cases').select(['record_id', 'type']).where('pipeline', '=', PIPELINE).execute();
    expect(cases.length).toBe(records.filter((r) => r.confidence < 0.5).length);
    expect(new Set(cases.map((c) => c.type))).toEqual(new Set(['low_confidence']));

    // Scored exactly once: one model call per record, across both workers; the API process scores nothing.
    const calledTwice: string[] = [];
    const neverCalled: string[] = [];
    for (const r of records) {
      const n = (modelA.calls.get(r.id) ?? 0) + (modelB.calls.get(r.id) ?? 0);
      if (n === 0) neverCalled.push(r.id);
      if (n > 1) calledTwice.push(`${r.id}×${n}`);
    }
    expect(calledTwice.slice(0, 20), `${calledTwice.length} records scored more than once`).toEqual([]);
    expect(neverCalled.slice(0, 20), `${neverCalled.length} records never scored`).toEqual([]);
    expect(modelApi.calls.size).toBe(0);

    // Both workers did a real share of the work.
    const byA = [...modelA.calls.values()].reduce((a, b) => a + b, 0);
    const byB = [...modelB.calls.values()].reduce((a, b) => a + b, 0);
    expect(byA + byB).toBe(TOTAL);
    expect(byA).toBeGreaterThan(TOTAL * 0.1);
    expect(byB).toBeGreaterThan(TOTAL * 0.1);

    // Delivered exactly once: one request per idempotency key, one key per delivered record.
    const delivered = records.filter((r) => r.confidence >= 0.5);
    const twice = [...receiver.seen].filter(([, n]) => n !== 1);
    expect(twice.slice(0, 20), `${twice.length} keys sent more than once`).toEqual([]);
    expect(receiver.requests.length).toBe(delivered.length);
    expect(new Set(receiver.requests.map((q) => q.key))).toEqual(
      new Set(delivered.map((r) => idempotencyKey(PIPELINE, r.id, DESTINATION))),
    );

    console.info(`[workers] worker A scored ${byA}, worker B scored ${byB}; ${receiver.requests.length} deliveries`);
  });
});
