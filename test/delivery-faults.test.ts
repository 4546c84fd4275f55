import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { parseRate } from '../src/config/units.js';
import { idempotencyKey } from '../src/delivery/outbox.js';
import { startVendorSimulator } from '../src/delivery/simulator.js';
import { createLogger } from '../src/runtime/logger.js';
import { createServer } from '../src/server/app.js';
import { type Backend, backends, createTestDatabase } from './support/databases.js';
import { startModelServer, waitFor } from './support/servers.js';

/**
 * A destination that fails a lot: 30% 503s, 2% 500s (dead-lettered at once by `dead_letter_on`), 3% connection
 * resets, 2% requests that apply their effect and then hang past the client's timeout, and a 10-second outage.
 * Everything ends delivered or dead-lettered with a reason, the breaker opens during the outage, no effect is applied
 * twice, and once the destination is healthy a replay delivers the dead letters (one is discarded instead).
 */

const TOTAL = 2_000;

async function faultScenario(backend: Backend) {
  const database = await createTestDatabase(backend);
  const model = await startModelServer();
  const sim = await startVendorSimulator({
    preset: 'generic',
    limit: parseRate('400/s'),
    window: 'bucket',
    faults: { error503: 0.3, error500: 0.02, reset: 0.03, hang: 0.02, latencyMs: 2, outage: { startMs: 3_000, durationMs: 10_000 } },
    seed: backend === 'sqlite' ? 7 : 11,
  });
  const yaml = `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: error }
pipelines:
  orders:
    model: { type: http, url: "${model.url}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      ledger:
        type: webhook
        url: "${sim.url}/v1/orders"
        rate_limit: 300/s
        concurrency: 16
        timeout: 1s
        dead_letter_on: [500]
        retry: { base: 100ms, cap: 2s, max_attempts: 30, budget: { percent: 20, min_per_second: 100, window: 5s } }
        circuit_breaker: { failure_rate: 0.6, minimum_calls: 20, window: 2s, open_for: 2s, half_open_probes: 2 }
`;
  const config = parseConfig(yaml, { database: database.url });
  const server = await createServer(config, { logger: createLogger('error') });
  try {
    const base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> & { [k: string]: unknown } };
    };
    const ids = Array.from({ length: TOTAL }, (_, i) => `o-${String(i).padStart(5, '0')}`);
    const r = await server.airlock.ingestor.ingest(
      'orders',
      ids.map((id) => ({ id, amount: 1, confidence: 0.99 })),
    );
    expect(r.accepted.length).toBe(TOTAL);
    const started = Date.now();
    const { db } = server.airlock.runtime.store;
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
    await waitFor(
      async () => {
        const c = await counts();
        return (c.delivered ?? 0) + (c.dead_lettered ?? 0) === TOTAL;
      },
      100_000,
      `[${backend}] every record delivered or dead-lettered`,
      250,
    );
    const afterFaults = await counts();
    const faultSeconds = (Date.now() - started) / 1000;
    const dead = await db.selectFrom('deliveries').selectAll().where('status', '=', 'dead_lettered').execute();
    // Every dead letter says why, and keeps the response that refused it.
    for (const d of dead) expect(d.last_error, `dead letter ${d.seq}`).toMatch(/destination answered 500|gave up/);
    expect(dead.length).toBeGreaterThan(0);
    const status = await api('GET', '/v1/destinations');
    expect(status.status, JSON.stringify(status.body)).toBe(200);
    const dest = (status.body.destinations as { breaker: { openings: number }; deliveries: Record<string, number> }[])[0];
    expect(dest.breaker.openings).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/airlock_delivery_breaker_openings\{pipeline="orders",destination="ledger"\} [1-9]/);
    expect(metrics).toMatch(/airlock_dead_letters\{pipeline="orders",destination="ledger"\} [1-9]/);
    const faultStats = sim.stats();

    // Inspect one, discard it with a reason; the rest are replayed once the destination is healthy.
    const list = await api('GET', '/v1/dead-letters?pipeline=orders');
    expect(list.body.total).toBe(dead.length);
    const first = (list.body.dead_letters as { id: number; record_id: string; case_id: number | null }[])[0];
    expect(first.case_id).not.toBeNull();
    const shown = await api('GET', `/v1/dead-letters/${first.id}`);
    expect(shown.body).toMatchObject({
      id: first.id,
      status: 'dead_lettered',
      request: { method: 'POST', url: `${sim.url}/v1/orders`, body: { record: { id: first.record_id } } },
      response: { status: 500 },
    });
    expect((shown.body.attempt_log as unknown[]).length).toBeGreaterThanOrEqual(1);
    expect((await api('POST', `/v1/dead-letters/${first.id}/discard`, {})).status).toBe(400);
    const discarded = await api('POST', `/v1/dead-letters/${first.id}/discard`, {
      reason: 'duplicate order, cancelled by finance',
      by: 'ops',
    });
    expect(discarded.body).toMatchObject({ status: 'discarded', case_id: null });

    sim.setFaults({});
    const replay = await api('POST', '/v1/dead-letters/replay', { all: true, by: 'ops', note: 'ledger is back' });
    expect((replay.body.replayed as number[]).length).toBe(dead.length - 1);
    await waitFor(
      async () => ((await counts()).delivered ?? 0) === TOTAL - 1,
      30_000,
      `[${backend}] the replayed dead letters delivered`,
      250,
    );
    const final = await counts();
    expect(final).toEqual({ delivered: TOTAL - 1, dead_lettered: 1 });
    const openCases = await db
      .selectFrom('review_cases')
      .selectAll()
      .where('type', '=', 'dead_letter')
      .where('status', '=', 'open')
      .execute();
    expect(openCases).toEqual([]);
    const replayedRecord = await api(
      'GET',
      `/v1/pipelines/orders/records/${(dead.find((d) => Number(d.seq) !== first.id) as { record_id: string }).record_id}`,
    );
    const kinds = (replayedRecord.body.events as { kind: string }[]).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['delivery_dead_lettered', 'delivery_replayed', 'delivery_succeeded', 'delivered']));

    // One effect per record: never a second effect for a key, whatever was retried.
    const end = sim.stats();
    expect(end.duplicate_effects).toBe(0);
    const delivered = ids.filter((id) => id !== first.record_id);
    for (const id of delivered) expect(sim.effects.get(idempotencyKey('orders', id, 'ledger')), id).toBe(1);
    console.info(
      `[delivery-faults ${backend}] ${faultStats.requests} requests during faults (${JSON.stringify(faultStats.faults)}); ` +
        `in ${faultSeconds.toFixed(1)} s ${afterFaults.delivered} delivered and ${afterFaults.dead_lettered} dead-lettered; breaker opened ${dest.breaker.openings}×; ` +
        `${end.replays} repeated keys answered from the idempotency cache; replay delivered ${(replay.body.replayed as number[]).length}`,
    );
  } finally {
    await server.close();
    await sim.close();
    await model.close();
    await database.drop();
  }
}

describe.concurrent('a destination with faults and an outage', () => {
  for (const backend of backends) {
    it(`ends with every record delivered or dead-lettered with a reason, and replay delivers the rest (${backend})`, {
      timeout: 150_000,
    }, async () => {
      await faultScenario(backend);
    });
  }
});
