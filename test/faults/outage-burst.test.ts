import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { parseRate } from '../../src/config/units.js';
import { idempotencyKey } from '../../src/delivery/outbox.js';
import { startVendorSimulator } from '../../src/delivery/simulator.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createServer } from '../../src/server/app.js';
import { type Backend, backends, createTestDatabase } from '../support/databases.js';
import { waitFor } from '../support/servers.js';

/**
 * Time budget: 3 minutes (both backends at once; about 60 s on 2 idle cores).
 *
 * A burst of 2,000 records over HTTP while the model and the destination both misbehave: the model answers 500,
 * answers slower than its timeout, resets connections and has a 2-second outage; the destination (the vendor
 * simulator) answers 503, resets, hangs past the delivery timeout after applying the effect, and has an outage (30 requests refused).
 * The config makes the outcome predictable: one record in 50 is refused by the model (422: a review case of type
 * model_failure, as the pipeline routes model failures), every other record fails at most once per record at the
 * model (fewer than the three failures that make a case) and is retried at the destination until delivered (no fault
 * here is final). After the faults stop every record is in exactly that state, none is lost, and the destination
 * applied one effect per idempotency key.
 */

const TOTAL = 2_000;
const PIPELINE = 'orders';
const DESTINATION = 'ledger';

/** Refused by the model (422) on every call. */
const refused = (i: number) => i % 50 === 5;

interface FaultyModel {
  url: string;
  faults: { error500: number; slow: number; reset: number; outage: number; refused: number };
  calls: Map<string, number>;
  active: boolean;
  outageUntil: number;
  close(): Promise<void>;
}

/**
 * A model on loopback whose first call for a record fails by the record's number: 500 (i % 10 = 1), an answer after
 * 1.5 s, past the 500 ms timeout (i % 10 = 2), a reset connection (i % 10 = 3). Later calls answer, unless an outage
 * is on (every call 503). While `active` is false it answers everything.
 */
async function startFaultyModel(): Promise<FaultyModel> {
  const sockets = new Set<Socket>();
  const m: FaultyModel = {
    url: '',
    faults: { error500: 0, slow: 0, reset: 0, outage: 0, refused: 0 },
    calls: new Map(),
    active: true,
    outageUntil: 0,
    close: async () => {},
  };
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      const rec = JSON.parse(text) as { id: string; n: number };
      const answer = (status: number, body: unknown) => {
        if (res.destroyed) return;
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (refused(rec.n)) {
        m.faults.refused++;
        return answer(422, { error: 'unsupported record' });
      }
      if (m.active && Date.now() < m.outageUntil) {
        m.faults.outage++;
        return answer(503, { error: 'overloaded' });
      }
      // Calls are counted outside the outage: each record meets its own fault once.
      const call = (m.calls.get(rec.id) ?? 0) + 1;
      m.calls.set(rec.id, call);
      if (m.active && call === 1) {
        switch (rec.n % 10) {
          case 1:
            m.faults.error500++;
            return answer(500, { error: 'internal' });
          case 2:
            m.faults.slow++;
            setTimeout(() => answer(200, { label: 'ok', confidence: 0.99 }), 1_500);
            return;
          case 3:
            m.faults.reset++;
            req.socket.destroy();
            return;
        }
      }
      answer(200, { label: 'ok', confidence: 0.99 });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  m.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/predict`;
  m.close = () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return m;
}

const destinationFaults = { error503: 0.15, reset: 0.05, hang: 0.03, latencyMs: 2 };

async function scenario(backend: Backend): Promise<void> {
  const database = await createTestDatabase(backend);
  const model = await startFaultyModel();
  const sim = await startVendorSimulator({
    preset: 'generic',
    limit: parseRate('1000/s'),
    window: 'bucket',
    faults: destinationFaults,
    seed: backend === 'sqlite' ? 3 : 5,
  });
  // Model failures go to review (the default); max_attempts is far beyond what the faults can use up.
  const yaml = `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: silent }
pipelines:
  ${PIPELINE}:
    model: { type: http, url: "${model.url}", timeout: 500ms, retries: 0, concurrency: 16 }
    routing: { auto_accept_at: 0.5 }
    destinations:
      ${DESTINATION}:
        type: webhook
        url: "${sim.url}/v1/orders"
        rate_limit: 400/s
        concurrency: 16
        timeout: 1s
        retry: { base: 100ms, cap: 1s, max_attempts: 1000, budget: { percent: 50, min_per_second: 200, window: 5s } }
        circuit_breaker: { failure_rate: 0.8, minimum_calls: 50, window: 2s, open_for: 1s, half_open_probes: 3 }
`;
  const server = await createServer(parseConfig(yaml, { database: database.url }), { logger: createLogger('silent') });
  try {
    const base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
    const { db } = server.airlock.runtime.store;
    const ids = Array.from({ length: TOTAL }, (_, i) => `o-${String(i).padStart(5, '0')}`);

    // The burst: 20 requests of 100 records, 5 in flight; the model's outage starts with it.
    model.outageUntil = Date.now() + 2_000;
    const failedPosts: string[] = [];
    const acknowledged = new Set<string>();
    let nextBatch = 0;
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (let b = nextBatch++; b * 100 < TOTAL; b = nextBatch++) {
          const body = ids
            .slice(b * 100, (b + 1) * 100)
            .map((id) => JSON.stringify({ id, n: Number(id.slice(2)), amount: 1 }))
            .join('\n');
          const res = await fetch(`${base}/v1/pipelines/${PIPELINE}/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body,
            signal: AbortSignal.timeout(30_000),
          });
          const out = (await res.json()) as { ids?: string[] };
          if (res.status === 202) for (const id of out.ids ?? []) acknowledged.add(id);
          else failedPosts.push(`${res.status} ${JSON.stringify(out).slice(0, 200)}`);
        }
      }),
    );
    expect(failedPosts).toEqual([]);
    expect(acknowledged.size).toBe(TOTAL);

    const counts = async () =>
      Object.fromEntries(
        (
          await db
            .selectFrom('records')
            .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
            .groupBy('status')
            .execute()
        ).map((x) => [x.status, Number(x.n)]),
      ) as Record<string, number>;
    // The faults stay on until every record has met the model's fault for it and the destination has seen as many
    // requests as there are records (scoring pauses with backoff after the model's outage, so this is not a fixed time).
    const refusedCount = ids.filter((_, i) => refused(i)).length;
    // The destination's outage starts at its first delivery request and lasts until it has refused 30 requests.
    await waitFor(() => sim.stats().requests > 0, 60_000, `[${backend}] the first delivery request`, 20);
    const since = Date.now() - Date.parse(sim.stats().started_at);
    sim.setFaults({ ...destinationFaults, outage: { startMs: since, durationMs: 600_000 } });
    await waitFor(() => sim.stats().faults.outage >= 30, 60_000, `[${backend}] 30 requests refused by the outage`, 20);
    sim.setFaults(destinationFaults);
    await waitFor(
      async () => model.calls.size >= TOTAL - refusedCount && sim.stats().requests >= TOTAL,
      100_000,
      `[${backend}] the faulty period (model calls ${model.calls.size}, destination requests ${sim.stats().requests})`,
      200,
    );
    const simFaults = sim.stats().faults;
    const modelFaults = { ...model.faults };
    model.active = false;
    sim.setFaults({});
    const expectedReview = ids.filter((_, i) => refused(i));
    await waitFor(
      async () => {
        const c = await counts();
        return (c.delivered ?? 0) === TOTAL - expectedReview.length && (c.in_review ?? 0) === expectedReview.length;
      },
      120_000,
      `[${backend}] every record delivered or in review`,
      250,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await counts())}`);
    });

    // Exactly the refused records are in review, each with one model_failure case; the rest delivered; none lost.
    const rows = await db.selectFrom('records').select(['id', 'status']).where('pipeline', '=', PIPELINE).execute();
    const status = new Map(rows.map((r) => [r.id, r.status as string]));
    const lost = ids.filter((id) => !status.has(id));
    expect(lost).toEqual([]);
    const wrong = ids
      .filter((id, i) => status.get(id) !== (refused(i) ? 'in_review' : 'delivered'))
      .map((id) => `${id}: ${status.get(id)}`);
    expect(wrong.slice(0, 10)).toEqual([]);
    const cases = await db.selectFrom('review_cases').select(['record_id', 'type']).where('pipeline', '=', PIPELINE).execute();
    expect(cases.map((c) => `${c.record_id}:${c.type}`).sort()).toEqual(expectedReview.map((id) => `${id}:model_failure`));
    const dead = await db.selectFrom('deliveries').select('record_id').where('status', '=', 'dead_lettered').execute();
    expect(dead).toEqual([]);

    // One effect per idempotency key, for exactly the delivered records.
    const delivered = ids.filter((_, i) => !refused(i));
    const stats = sim.stats();
    expect(stats.duplicate_effects).toBe(0);
    const duplicates = delivered.filter((id) => sim.effects.get(idempotencyKey(PIPELINE, id, DESTINATION)) !== 1);
    expect(duplicates).toEqual([]);
    expect(sim.effects.size).toBe(delivered.length);
    // The faults did happen, of every kind.
    for (const [kind, n] of Object.entries(modelFaults)) expect(n, `model ${kind} in ${JSON.stringify(modelFaults)}`).toBeGreaterThan(0);
    for (const kind of ['error503', 'reset', 'hang', 'outage'] as const) expect(simFaults[kind], `destination ${kind}`).toBeGreaterThan(0);
    const injected =
      Object.values(modelFaults).reduce((a, b) => a + b, 0) - modelFaults.refused + Object.values(simFaults).reduce((a, b) => a + b, 0);
    console.info(
      `[outage-burst ${backend}] ${TOTAL} records in a burst; faults injected: ${injected} — model ${JSON.stringify(modelFaults)}, ` +
        `destination ${JSON.stringify(simFaults)}; ${delivered.length} delivered, ${expectedReview.length} in review (model_failure), ` +
        `lost ${lost.length}, duplicate effects ${stats.duplicate_effects + duplicates.length}; ${stats.replays} repeated keys answered from the idempotency cache`,
    );
  } finally {
    await server.close();
    await sim.close();
    await model.close();
    await database.drop();
  }
}

describe.concurrent('a burst while the model and the destination fail, time out and reset', () => {
  for (const backend of backends) {
    it(`ends with every record delivered or in review, none lost, one effect per key (${backend})`, { timeout: 170_000 }, async () => {
      await scenario(backend);
    });
  }
});
