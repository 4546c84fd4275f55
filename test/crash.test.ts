import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { idempotencyKey } from '../src/delivery/outbox.js';
import { openStore, type Store } from '../src/store/db.js';
import { countRecordsByStatus } from '../src/store/records.js';
import type { RecordStatus } from '../src/store/tables.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { ensureBuilt, freePort, postUntilAcknowledged, type ServeProcess, startServe } from './support/serve.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from './support/servers.js';

/**
 * Crash safety of the record path: `airlock serve` is SIGKILLed while records stream in and again while they are
 * being delivered, then restarted. Every acknowledged record must end where it belongs, exactly once, with exactly
 * one effect at the destination.
 */

const PIPELINE = 'orders';
const DESTINATION = 'crm';
const TOTAL = 10_000;
const BATCH = 100;
const SENDERS = 4;

type Expected = 'delivered' | 'quarantined' | 'in_review';

interface TestRecord {
  body: Record<string, unknown>;
  expected: Expected;
  label: string;
}

/** ~3.4% violate the contract (text is a number), ~1% are below the auto-accept threshold, the rest are delivered. */
function makeRecord(i: number): TestRecord {
  const id = `ord-${String(i).padStart(5, '0')}`;
  const label = i % 2 === 0 ? 'refund' : 'question';
  if (i % 29 === 7) return { body: { id, text: 40_000 + i, expected: label }, expected: 'quarantined', label };
  if (i % 97 === 3) return { body: { id, text: `order ${i}`, expected: label, confidence: 0.3 }, expected: 'in_review', label };
  return { body: { id, text: `order ${i}`, expected: label, confidence: 0.9 }, expected: 'delivered', label };
}

function configYaml(modelUrl: string, receiverUrl: string): string {
  return `
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
        expected: { type: string }
        confidence: { type: number }
    # Malformed records are quarantined one by one here (the halt on a schema change has its own suite).
    gate: { policies: { type_mismatch: quarantine } }
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

const WAITING_ON_SYSTEM: RecordStatus[] = ['received', 'scoring', 'decided'];

describe.each(backends)('a SIGKILLed serve process (%s)', (backend) => {
  let database: TestDatabase;
  let model: ModelServer;
  let receiver: Receiver;
  let dir: string;
  let store: Store | undefined;
  const processes: ServeProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    database = await createTestDatabase(backend);
    model = await startModelServer();
    receiver = await startReceiver();
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-crash-'));
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    await store?.close();
    await model?.close();
    await receiver?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing, duplicates nothing and applies one effect per record and destination', { timeout: 150_000 }, async () => {
    // One budget for the whole run (the machine may be shared): each wait gets what is left of it.
    const deadline = Date.now() + 140_000;
    // Stops the senders when the test ends early, so no request outlives it.
    const stop = new AbortController();
    onTestFinished(() => stop.abort());
    const left = () => Math.max(1_000, deadline - Date.now());
    const configFile = path.join(dir, 'airlock.yaml');
    writeFileSync(configFile, configYaml(model.url, receiver.url));
    const port = await freePort();
    const start = async () => {
      const p = await startServe({ config: configFile, database: database.url, port, role: 'all' });
      processes.push(p);
      return p;
    };
    const acknowledged = new Set<string>();
    let server = await start();
    const baseUrl = server.url as string;
    store = openStore(database.url);
    const s = store;

    // What a failed wait reports: where the records are, what the receiver has, what the process said.
    const explain = async (err: unknown): Promise<never> => {
      const counts = await countRecordsByStatus(s.db).catch((e) => (e as Error).message);
      throw new Error(
        `${(err as Error).message}\nrecords by status: ${JSON.stringify(counts)}; acknowledged ${acknowledged.size}; ` +
          `applied ${receiver.applied.size}\n--- serve output (tail) ---\n${server.output().slice(-4000)}`,
      );
    };

    const records = Array.from({ length: TOTAL }, (_, i) => makeRecord(i));
    const byId = new Map(records.map((r) => [String(r.body.id), r]));
    const expectedDelivered = records.filter((r) => r.expected === 'delivered').length;

    // The sender: batches of 100 as NDJSON, a few in flight; only what the server acknowledged counts as sent.
    let nextBatch = 0;
    const senders = Array.from({ length: SENDERS }, async () => {
      for (;;) {
        const b = nextBatch++;
        if (b * BATCH >= TOTAL) return;
        const batch = records.slice(b * BATCH, (b + 1) * BATCH).map((r) => r.body);
        const ids = await postUntilAcknowledged(baseUrl, PIPELINE, batch, { deadlineMs: left(), signal: stop.signal });
        for (const id of ids) acknowledged.add(id);
      }
    });

    const crashAndRestart = async () => {
      await server.kill('SIGKILL');
      server = await start();
    };

    // Crash 1 mid-stream; crash 2 while deliveries are in flight (the receiver has part, not all, of them).
    let appliedAtSecondCrash = -1;
    const crashes = (async () => {
      await waitFor(() => acknowledged.size >= 4_000, left(), '4,000 acknowledged records', 5).catch(explain);
      await crashAndRestart();
      await waitFor(() => receiver.applied.size >= Math.floor(expectedDelivered * 0.7), left(), '70% of the deliveries', 5).catch(explain);
      appliedAtSecondCrash = receiver.applied.size;
      await crashAndRestart();
    })();

    await Promise.all([...senders, crashes]);
    expect(acknowledged.size).toBe(TOTAL);
    expect(appliedAtSecondCrash).toBeLessThan(expectedDelivered);

    // Nothing may be left waiting on the system.
    const countWaiting = async () => {
      const rows = await s.db
        .selectFrom('records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('pipeline', '=', PIPELINE)
        .where('status', 'in', WAITING_ON_SYSTEM)
        .executeTakeFirstOrThrow();
      return Number(rows.n);
    };
    await waitFor(async () => (await countWaiting()) === 0, left(), 'no record left in received/scoring/decided', 250).catch(explain);

    const rows = await s.db.selectFrom('records').select(['id', 'status', 'decision']).where('pipeline', '=', PIPELINE).execute();
    const cases = await s.db.selectFrom('review_cases').select(['record_id', 'type', 'status']).where('pipeline', '=', PIPELINE).execute();
    const deliveries = await s.db
      .selectFrom('deliveries')
      .select(['record_id', 'destination', 'status', 'idempotency_key'])
      .where('pipeline', '=', PIPELINE)
      .execute();

    // Every acknowledged record is stored once, in the state it belongs in; no record the sender did not send.
    const status = new Map(rows.map((r) => [r.id, r.status]));
    expect(rows.length).toBe(status.size);
    const missing = [...acknowledged].filter((id) => !status.has(id));
    expect(missing, 'acknowledged records missing from the database').toEqual([]);
    expect([...status.keys()].filter((id) => !acknowledged.has(id))).toEqual([]);
    const wrong = [...acknowledged]
      .filter((id) => status.get(id) !== byId.get(id)?.expected)
      .map((id) => `${id}: ${status.get(id)} (expected ${byId.get(id)?.expected})`);
    expect(wrong.slice(0, 20), `${wrong.length} records in the wrong state`).toEqual([]);

    // People's work: one open case per quarantined or low-confidence record, of the right type; no model failures.
    const casesByRecord = new Map<string, string[]>();
    for (const c of cases) casesByRecord.set(c.record_id, [...(casesByRecord.get(c.record_id) ?? []), `${c.type}:${c.status}`]);
    const caseProblems: string[] = [];
    for (const r of records) {
      const id = String(r.body.id);
      const want = r.expected === 'quarantined' ? ['quarantine:open'] : r.expected === 'in_review' ? ['low_confidence:open'] : [];
      const got = casesByRecord.get(id) ?? [];
      if (JSON.stringify(got) !== JSON.stringify(want)) caseProblems.push(`${id}: ${JSON.stringify(got)}`);
    }
    expect(caseProblems.slice(0, 20), `${caseProblems.length} records with the wrong review cases`).toEqual([]);

    // The outbox: one delivered row per delivered record, carrying the derived idempotency key.
    const deliveredIds = new Set([...status].filter(([, st]) => st === 'delivered').map(([id]) => id));
    expect(deliveredIds.size).toBe(expectedDelivered);
    expect(deliveries.length).toBe(expectedDelivered);
    for (const d of deliveries) {
      expect(d.status).toBe('delivered');
      expect(deliveredIds.has(d.record_id)).toBe(true);
      expect(d.idempotency_key).toBe(idempotencyKey(PIPELINE, d.record_id, DESTINATION));
    }

    // The receiver: exactly the delivered records were applied, one effect each, under the derived key.
    const appliedIds = new Set([...receiver.applied.values()].map((a) => a.recordId));
    expect(receiver.applied.size).toBe(deliveredIds.size);
    expect([...appliedIds].filter((id) => !deliveredIds.has(id))).toEqual([]);
    expect([...deliveredIds].filter((id) => !appliedIds.has(id))).toEqual([]);
    for (const [key, a] of receiver.applied) expect(key).toBe(idempotencyKey(PIPELINE, a.recordId, DESTINATION));
    const keysByRecord = new Map<string, Set<string>>();
    for (const req of receiver.requests) keysByRecord.set(req.recordId, (keysByRecord.get(req.recordId) ?? new Set()).add(req.key));
    expect([...keysByRecord].filter(([, keys]) => keys.size !== 1).map(([id]) => id)).toEqual([]);
    for (const a of receiver.applied.values()) {
      const want = byId.get(a.recordId) as TestRecord;
      expect(a.body.record).toEqual(want.body);
      expect(a.body.decision).toMatchObject({ label: want.label, source: 'auto' });
    }

    // The canonical API agrees with the database for a sample of records of each kind.
    const sample = [...records.filter((r) => r.expected !== 'delivered').slice(0, 10), ...records.filter((_, i) => i % 1000 === 1)];
    for (const r of sample) {
      const res = await fetch(`${server.url}/v1/pipelines/${PIPELINE}/records/${String(r.body.id)}`);
      expect(res.status).toBe(200);
      const view = (await res.json()) as { status: string; deliveries: { destination: string; status: string; idempotency_key: string }[] };
      expect(view.status).toBe(r.expected);
      if (r.expected === 'delivered') {
        expect(view.deliveries).toEqual([
          expect.objectContaining({
            destination: DESTINATION,
            status: 'delivered',
            idempotency_key: idempotencyKey(PIPELINE, String(r.body.id), DESTINATION),
          }),
        ]);
      } else {
        expect(view.deliveries).toEqual([]);
      }
    }

    const redelivered = [...receiver.seen.values()].filter((n) => n > 1).length;
    console.info(
      `[crash ${backend}] ${acknowledged.size} acknowledged; ${deliveredIds.size} delivered, ${appliedAtSecondCrash} applied at the second crash; ` +
        `${redelivered} keys sent more than once (applied once); ${[...model.calls.values()].filter((n) => n > 1).length} records scored more than once`,
    );
  });
});
