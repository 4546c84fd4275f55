import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRate } from '../src/config/units.js';
import { retriesAllowed, SharedQuotas, SharedRetryBudget } from '../src/delivery/shared-budget.js';
import { openStore } from '../src/store/db.js';
import { backends, createTestDatabase, postgresUrl } from './support/databases.js';
import { ensureBuilt, freePort, postUntilAcknowledged, type ServeProcess, startServe } from './support/serve.js';
import { startModelServer, waitFor } from './support/servers.js';

/**
 * Two worker processes on one PostgreSQL share one retry budget and one daily cap per destination:
 * - `flaky` always answers 503; its budget (percent 0, 2 retries/s, 5 s window) allows about 2 retries a second for
 *   both processes together — two budgets of their own would allow twice that;
 * - `crm` (HubSpot preset) has a daily cap of 40: both processes together send exactly 40, never more.
 */

const RECORDS = 200;
const CAP = 40;

interface Tally {
  url: string;
  /** Requests per path: first attempts and retries, per worker. */
  first: Map<string, number>;
  retries: { at: number; worker: string }[];
  crm: { worker: string; key: string }[];
  close(): Promise<void>;
}

async function startTally(): Promise<Tally> {
  const t: Tally = { url: '', first: new Map(), retries: [], crm: [], close: async () => {} };
  const server = createHttpServer(async (req, res) => {
    for await (const _ of req);
    const worker = String(req.headers['x-worker'] ?? '');
    if (req.url === '/crm') {
      t.crm.push({ worker, key: String(req.headers['idempotency-key'] ?? '') });
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"1"}');
      return;
    }
    if (Number(req.headers['x-airlock-attempt']) > 1) t.retries.push({ at: Date.now(), worker });
    else t.first.set(worker, (t.first.get(worker) ?? 0) + 1);
    res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  t.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return t;
}

const yaml = (modelUrl: string, url: string, worker: string) => `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: warn }
pipelines:
  leads:
    model: { type: http, url: "${modelUrl}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      flaky:
        type: webhook
        url: "${url}/flaky"
        rate_limit: 1000/s
        concurrency: 8
        timeout: 2s
        headers: { x-worker: "${worker}" }
        retry: { base: 50ms, cap: 100ms, max_attempts: 100000, budget: { percent: 0, min_per_second: 2, window: 5s } }
        circuit_breaker: { minimum_calls: 1000000 }
      crm:
        type: hubspot
        url: "${url}/crm"
        rate_limit: 20/s
        quotas: [${CAP}/day]
        headers: { x-worker: "${worker}" }
`;

describe.skipIf(!postgresUrl)('two worker processes on PostgreSQL, one retry budget and one daily cap', () => {
  it('retry no more than one budget allows and send exactly the daily cap', { timeout: 120_000 }, async () => {
    ensureBuilt();
    const database = await createTestDatabase('postgres');
    const model = await startModelServer();
    const tally = await startTally();
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-shared-budget-'));
    const processes: ServeProcess[] = [];
    const store = openStore(database.url);
    try {
      for (const w of ['api', 'a', 'b']) writeFileSync(path.join(dir, `${w}.yaml`), yaml(model.url, tally.url, w));
      const port = await freePort();
      const api = await startServe({ config: path.join(dir, 'api.yaml'), database: database.url, role: 'api', port });
      processes.push(api);
      processes.push(await startServe({ config: path.join(dir, 'a.yaml'), database: database.url, role: 'worker' }));
      processes.push(await startServe({ config: path.join(dir, 'b.yaml'), database: database.url, role: 'worker' }));
      const records = Array.from({ length: RECORDS }, (_, i) => ({ id: `l-${i}`, confidence: 0.99 }));
      await postUntilAcknowledged(api.url as string, 'leads', records);

      // The daily cap: exactly CAP effects, from both processes, and no more however long we wait.
      await waitFor(() => tally.crm.length >= CAP, 30_000, 'the daily cap reached', 50).catch(async (err) => {
        const tried = await store.db
          .selectFrom('deliveries')
          .select(['record_id', 'status', 'attempts', 'last_status', 'last_error'])
          .where('destination', '=', 'crm')
          .where('attempts', '>', 0)
          .execute();
        const budgets = await store.db
          .selectFrom('delivery_budgets' as never)
          .selectAll()
          .execute()
          .catch(() => []);
        throw new Error(
          `${(err as Error).message}: ${tally.crm.length} sent; attempted in the database: ${JSON.stringify(tried.filter((d) => d.status !== 'delivered'))} (${tried.length} attempted); budgets ${JSON.stringify(budgets)}\n${processes.map((p) => p.output()).join('\n')}`,
        );
      });
      const firsts = () => [...tally.first.values()].reduce((a, b) => a + b, 0);
      await waitFor(() => firsts() >= RECORDS, 30_000, 'every first attempt to flaky made', 50);

      // The retry budget: watch 10 s of retries from both processes.
      const WATCH_MS = 10_000;
      const from = Date.now();
      await new Promise((r) => setTimeout(r, WATCH_MS));
      const watched = tally.retries.filter((x) => x.at >= from && x.at < from + WATCH_MS);
      const byWorker = (w: string) => watched.filter((x) => x.worker === w).length;
      // Finagle's rule: retries in any 5 s window ≤ 0% of requests + 2/s × 5 s = 10; over 10 s at most 10 + 2 × 10
      // (the window's one-second buckets let the first one overlap). Two budgets of their own would allow twice that.
      expect(watched.length).toBeLessThanOrEqual(10 + 2 * 10 + 2);
      expect(watched.length).toBeGreaterThanOrEqual(10);
      expect(byWorker('a') + byWorker('b')).toBe(watched.length);
      // Both processes were sending to flaky (which of them wins each retry is a matter of timing).
      expect(tally.first.get('a') ?? 0).toBeGreaterThan(0);
      expect(tally.first.get('b') ?? 0).toBeGreaterThan(0);

      expect(tally.crm.length).toBe(CAP);
      expect(new Set(tally.crm.map((x) => x.key)).size).toBe(CAP);
      expect(tally.crm.filter((x) => x.worker === 'a').length).toBeGreaterThan(0);
      expect(tally.crm.filter((x) => x.worker === 'b').length).toBeGreaterThan(0);
      const status = (await (await fetch(`${api.url}/v1/destinations`)).json()) as {
        destinations: { destination: string; quotas: { quota: string; limit: number; used: number }[]; deliveries: { pending: number } }[];
      };
      const crm = status.destinations.find((d) => d.destination === 'crm');
      expect(crm?.quotas).toEqual([expect.objectContaining({ quota: `${CAP}/day`, limit: CAP, used: CAP })]);
      expect(crm?.deliveries.pending).toBe(RECORDS - CAP);
      console.info(
        `[delivery-shared-budget] retries in ${WATCH_MS / 1000} s: ${watched.length} (worker a ${byWorker('a')}, b ${byWorker('b')}) for a shared budget of 2/s; ` +
          `daily cap ${CAP}: sent ${tally.crm.length} (a ${tally.crm.filter((x) => x.worker === 'a').length}, b ${tally.crm.filter((x) => x.worker === 'b').length})`,
      );
      for (const p of processes) expect(p.child.exitCode, p.output()).toBeNull();
    } finally {
      for (const p of processes) await p.kill('SIGKILL');
      await store.close();
      await tally.close();
      await model.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.concurrent('quotas and the retry budget kept in the database', () => {
  for (const backend of backends) {
    it(`a daily cap holds over a restart and resets at UTC midnight; a budget counts every instance (${backend})`, async () => {
      const database = await createTestDatabase(backend);
      const store = openStore(database.url);
      try {
        await store.migrate();
        let t = Date.UTC(2026, 10, 30, 23, 0, 0);
        const now = () => t;
        const cap = [parseRate('25/day')];
        const take = async (q: SharedQuotas, n: number) => {
          let got = 0;
          for (let i = 0; i < n; i++) if ((await q.take(40)) === 0) got++;
          return got;
        };
        // Two instances (a process and the same process after a restart) share the day's 25.
        const first = new SharedQuotas(cap, store.db, store.kind, 'p', 'crm', now);
        expect(await take(first, 15)).toBe(15);
        const restarted = new SharedQuotas(cap, store.db, store.kind, 'p', 'crm', now);
        const second = await take(restarted, 30);
        // The first instance's leased block is counted as used: together never more than the cap.
        const leftInFirst = await take(first, 30);
        expect(15 + second + leftInFirst).toBe(25);
        expect(await restarted.take(40)).toBe(Date.UTC(2026, 11, 1) - t);
        // The next UTC day starts from nothing.
        t = Date.UTC(2026, 11, 1, 0, 0, 1);
        expect(await take(restarted, 30)).toBe(25);

        // Finagle's rule, 20% of requests + 1/s over 10 s: 100 first attempts allow 20 + 10 = 30 retries.
        expect(retriesAllowed(100, 20, 1, 10_000)).toBe(30);
        const a = new SharedRetryBudget(20, 1, 10_000, store.db, store.kind, 'p', 'flaky', now);
        const b = new SharedRetryBudget(20, 1, 10_000, store.db, store.kind, 'p', 'flaky', now);
        for (let i = 0; i < 60; i++) a.recordRequest();
        for (let i = 0; i < 40; i++) b.recordRequest();
        expect(await a.grant(25)).toBe(22); // 0.2 × 60 + 10 (b's 40 not written yet)
        expect(await b.grant(25)).toBe(8); // b writes its 40: 30 allowed in all, 22 taken
        // A retry b took but did not send goes back to every process's budget.
        b.cancel();
        expect(await b.grant(0)).toBe(0);
        expect(await a.grant(5)).toBe(1);
        // The window slides: 11 s later nothing of it counts, only the floor of 10.
        t += 11_000;
        expect(await b.grant(50)).toBe(10);
      } finally {
        await store.close();
        await database.drop();
      }
    });
  }
});
