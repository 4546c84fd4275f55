import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRate } from '../src/config/units.js';
import { startVendorSimulator, type VendorSimulator } from '../src/delivery/simulator.js';
import { openStore, type Store } from '../src/store/db.js';
import { createTestDatabase, postgresUrl, type TestDatabase } from './support/databases.js';
import { ensureBuilt, freePort, postUntilAcknowledged, type ServeProcess, startServe } from './support/serve.js';
import { type ModelServer, startModelServer, waitFor } from './support/servers.js';

/**
 * Two worker processes on one PostgreSQL deliver to one destination: together they stay within its one limit (the
 * token bucket is one row both lease from), and they share one circuit breaker: when the destination fails, the
 * circuit opens for both, and while it is open neither sends more than the half-open probes.
 */

const LIMIT = 100;
const FIRST = 1_500;

function configYaml(modelUrl: string, simUrl: string, worker: string): string {
  return `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: warn }
pipelines:
  tickets:
    model: { type: http, url: "${modelUrl}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      helpdesk:
        type: webhook
        url: "${simUrl}/tickets"
        rate_limit: ${LIMIT}/s
        concurrency: 8
        timeout: 2s
        headers: { x-worker: "${worker}" }
        retry: { base: 100ms, cap: 1s, max_attempts: 1000 }
        circuit_breaker: { failure_rate: 0.5, minimum_calls: 10, window: 2s, open_for: 3s, half_open_probes: 2 }
`;
}

describe.skipIf(!postgresUrl)('two worker processes on PostgreSQL and one destination', () => {
  let database: TestDatabase;
  let model: ModelServer;
  let sim: VendorSimulator;
  let dir: string;
  let store: Store | undefined;
  const processes: ServeProcess[] = [];

  beforeAll(async () => {
    ensureBuilt();
    database = await createTestDatabase('postgres');
    model = await startModelServer();
    sim = await startVendorSimulator({ preset: 'generic', limit: parseRate(`${LIMIT}/s`), window: 'bucket', countHeader: 'x-worker' });
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-delivery-workers-'));
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) await p.kill('SIGKILL');
    await store?.close();
    await Promise.all([model?.close(), sim?.close()]);
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('share one rate limit and one circuit breaker', { timeout: 150_000 }, async () => {
    for (const w of ['api', 'a', 'b']) writeFileSync(path.join(dir, `${w}.yaml`), configYaml(model.url, sim.url, w));
    const port = await freePort();
    const api = await startServe({ config: path.join(dir, 'api.yaml'), database: database.url, role: 'api', port });
    processes.push(api);
    processes.push(await startServe({ config: path.join(dir, 'a.yaml'), database: database.url, role: 'worker' }));
    processes.push(await startServe({ config: path.join(dir, 'b.yaml'), database: database.url, role: 'worker' }));
    store = openStore(database.url);
    const s = store;
    const delivered = async () =>
      Number(
        (
          await s.db
            .selectFrom('deliveries')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('status', '=', 'delivered')
            .executeTakeFirstOrThrow()
        ).n,
      );

    // 1. One limit: two processes together at most LIMIT/s, and the destination (LIMIT/s itself) almost never says 429.
    const records = Array.from({ length: FIRST }, (_, i) => ({ id: `t-${i}`, text: 'x', confidence: 0.99 }));
    for (let i = 0; i < FIRST; i += 500) await postUntilAcknowledged(api.url as string, 'tickets', records.slice(i, i + 500));
    await waitFor(async () => (await delivered()) === FIRST, 60_000, 'the first batch delivered', 250);
    const one = sim.stats();
    const seconds = (Date.parse(one.last_request_at as string) - Date.parse(one.first_request_at as string)) / 1000;
    const rate = one.accepted / seconds;
    expect(one.by_header.a).toBeGreaterThan(FIRST * 0.15);
    expect(one.by_header.b).toBeGreaterThan(FIRST * 0.15);
    expect(rate).toBeLessThanOrEqual(LIMIT * 1.05);
    // The point is the upper bound; the lower one only says they were not idle (a busy machine slows them).
    expect(rate).toBeGreaterThanOrEqual(LIMIT * 0.5);
    expect(one.throttled_429 / one.requests).toBeLessThan(0.01);
    expect(one.duplicate_effects).toBe(0);

    // 2. One breaker: the destination fails everything; the circuit opens (one row), and while it is open both
    //    processes together send at most the half-open probes.
    sim.setFaults({ error503: 1 });
    const more = Array.from({ length: 300 }, (_, i) => ({ id: `u-${i}`, text: 'x', confidence: 0.99 }));
    await postUntilAcknowledged(api.url as string, 'tickets', more);
    const breaker = async () => s.db.selectFrom('delivery_breakers').selectAll().where('destination', '=', 'helpdesk').executeTakeFirst();
    await waitFor(async () => (await breaker())?.state === 'open', 30_000, 'the circuit to open', 50);
    const openedAt = Date.now();
    const before = sim.stats().requests;
    const openings = Number((await breaker())?.openings);
    // Watch two open periods (3 s each) and the half-open probes between them.
    await new Promise((r) => setTimeout(r, 6_500));
    const during = sim.stats().requests - before;
    const cycles = Number((await breaker())?.openings) - openings + 1;
    expect(during).toBeLessThanOrEqual(2 * cycles + 16);
    console.info(
      `[delivery-workers] ${one.accepted} delivered in ${seconds.toFixed(1)} s = ${rate.toFixed(1)}/s for a limit of ${LIMIT}/s ` +
        `(worker a ${one.by_header.a}, worker b ${one.by_header.b}); 429s ${one.throttled_429}; ` +
        `while open ${((Date.now() - openedAt) / 1000).toFixed(1)} s: ${during} requests over ${cycles} open periods`,
    );

    // 3. The destination recovers: probes succeed, the circuit closes, everything is delivered once.
    sim.setFaults({});
    await waitFor(async () => (await delivered()) === FIRST + more.length, 40_000, 'everything delivered after recovery', 250);
    expect((await breaker())?.state).toBe('closed');
    expect(sim.stats().duplicate_effects).toBe(0);
    for (const p of processes) expect(p.child.exitCode, p.output()).toBeNull();
  });
});
