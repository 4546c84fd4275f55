import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/runtime/logger.js';
import { createServer } from '../src/server/app.js';
import { openStore } from '../src/store/db.js';
import { type Backend, backends, createTestDatabase, postgresUrl } from './support/databases.js';
import { ensureBuilt, freePort, postUntilAcknowledged, type ServeProcess, startServe } from './support/serve.js';
import { startModelServer, waitFor } from './support/servers.js';

/**
 * Ordering per key (`order_by: customer_id`): deliveries of one customer go out one at a time in the order the records
 * arrived, even when an earlier one is retried for a while; a dead-lettered one does not block its customer; other
 * customers go on meanwhile. On PostgreSQL the same holds with two worker processes sharing the outbox.
 */

interface OrderReceiver {
  url: string;
  /** Record ids applied (2xx), per customer, in the order they arrived. */
  applied: Map<string, string[]>;
  /** Most requests of one customer in flight at once. */
  maxInFlight: number;
  byWorker: Map<string, number>;
  /** Fail a record this many times with 503 before accepting it. */
  failTimes: Map<string, number>;
  /** Refuse a record for good (422). */
  refuse: Set<string>;
  close(): Promise<void>;
}

async function startOrderReceiver(delayMs: number): Promise<OrderReceiver> {
  const inFlight = new Map<string, number>();
  const r: OrderReceiver = {
    url: '',
    applied: new Map(),
    maxInFlight: 0,
    byWorker: new Map(),
    failTimes: new Map(),
    refuse: new Set(),
    close: async () => {},
  };
  const server = createHttpServer(async (req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    for await (const c of req) text += c;
    const body = JSON.parse(text) as { record: { id: string; customer_id: string } };
    const { id, customer_id: customer } = body.record;
    const n = (inFlight.get(customer) ?? 0) + 1;
    inFlight.set(customer, n);
    r.maxInFlight = Math.max(r.maxInFlight, n);
    const worker = String(req.headers['x-worker'] ?? '');
    r.byWorker.set(worker, (r.byWorker.get(worker) ?? 0) + 1);
    await new Promise((x) => setTimeout(x, delayMs));
    inFlight.set(customer, (inFlight.get(customer) ?? 1) - 1);
    const fails = r.failTimes.get(id) ?? 0;
    if (r.refuse.has(id)) {
      res.writeHead(422, { 'content-type': 'application/json' }).end('{"error":"invalid requester"}');
    } else if (fails > 0) {
      r.failTimes.set(id, fails - 1);
      res.writeHead(503).end();
    } else {
      const list = r.applied.get(customer) ?? [];
      if (!list.includes(id)) list.push(id);
      r.applied.set(customer, list);
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
  r.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return r;
}

const CUSTOMERS = 6;
const PER_CUSTOMER = 30;

/** Records interleaved across customers, in arrival order. */
function recordsInArrivalOrder(prefix: string) {
  const out: { id: string; customer_id: string; confidence: number }[] = [];
  for (let i = 0; i < PER_CUSTOMER; i++)
    for (let c = 0; c < CUSTOMERS; c++)
      out.push({ id: `${prefix}${c}-${String(i).padStart(3, '0')}`, customer_id: `c${c}`, confidence: 0.99 });
  return out;
}

const destinationYaml = (url: string, worker: string) => `
      orders:
        type: webhook
        url: "${url}"
        order_by: customer_id
        rate_limit: 1000/s
        concurrency: 8
        timeout: 2s
        headers: { x-worker: "${worker}" }
        retry: { base: 100ms, cap: 300ms, max_attempts: 50 }
        circuit_breaker: { minimum_calls: 100000 }`;

function expectArrivalOrder(receiver: OrderReceiver, records: { id: string; customer_id: string }[], refused: Set<string>) {
  for (let c = 0; c < CUSTOMERS; c++) {
    const expected = records.filter((r) => r.customer_id === `c${c}` && !refused.has(r.id)).map((r) => r.id);
    expect(receiver.applied.get(`c${c}`), `customer c${c}`).toEqual(expected);
  }
  expect(receiver.maxInFlight).toBe(1);
}

async function inProcess(backend: Backend) {
  const database = await createTestDatabase(backend);
  const model = await startModelServer();
  const receiver = await startOrderReceiver(3);
  const yaml = `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: error }
pipelines:
  shop:
    model: { type: http, url: "${model.url}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:${destinationYaml(receiver.url, 'one')}
`;
  // An earlier record retried four times: its customer's later records wait for it. One refused for good: its
  // customer's later records go on once it is dead-lettered.
  receiver.failTimes.set('o0-002', 4);
  receiver.failTimes.set('o2-000', 2);
  receiver.refuse.add('o1-005');
  const server = await createServer(parseConfig(yaml, { database: database.url }), { logger: createLogger('error') });
  try {
    await server.listen({ port: 0, host: '127.0.0.1' });
    const records = recordsInArrivalOrder('o');
    const r = await server.airlock.ingestor.ingest('shop', records);
    expect(r.accepted.length).toBe(records.length);
    const { db } = server.airlock.runtime.store;
    await waitFor(
      async () =>
        (await db.selectFrom('deliveries').select('status').execute()).filter((x) => x.status !== 'pending').length === records.length,
      60_000,
      `[${backend}] every delivery final`,
      100,
    );
    expectArrivalOrder(receiver, records, receiver.refuse);
    const dead = await db.selectFrom('deliveries').select(['record_id', 'last_status']).where('status', '=', 'dead_lettered').execute();
    expect(dead).toEqual([{ record_id: 'o1-005', last_status: 422 }]);
  } finally {
    await server.close();
    await receiver.close();
    await model.close();
    await database.drop();
  }
}

describe.concurrent('ordering per key', () => {
  for (const backend of backends) {
    it(`delivers each customer's records one at a time in arrival order, past retries and a dead letter (${backend})`, {
      timeout: 90_000,
    }, async () => {
      await inProcess(backend);
    });
  }
});

describe.skipIf(!postgresUrl)('ordering per key with two worker processes on PostgreSQL', () => {
  it('keeps each customer in arrival order and one at a time across processes', { timeout: 120_000 }, async () => {
    ensureBuilt();
    const database = await createTestDatabase('postgres');
    const model = await startModelServer();
    const receiver = await startOrderReceiver(5);
    receiver.failTimes.set('p3-001', 3);
    receiver.failTimes.set('p4-010', 2);
    const dir = mkdtempSync(path.join(tmpdir(), 'airlock-delivery-order-'));
    const processes: ServeProcess[] = [];
    const store = openStore(database.url);
    try {
      for (const w of ['api', 'a', 'b']) {
        writeFileSync(
          path.join(dir, `${w}.yaml`),
          `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: warn }
pipelines:
  shop:
    model: { type: http, url: "${model.url}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:${destinationYaml(receiver.url, w)}
`,
        );
      }
      const port = await freePort();
      const api = await startServe({ config: path.join(dir, 'api.yaml'), database: database.url, role: 'api', port });
      processes.push(api);
      processes.push(await startServe({ config: path.join(dir, 'a.yaml'), database: database.url, role: 'worker' }));
      processes.push(await startServe({ config: path.join(dir, 'b.yaml'), database: database.url, role: 'worker' }));
      const records = recordsInArrivalOrder('p');
      // Several batches, so both processes score (and commit decisions) while earlier deliveries are going out.
      for (let i = 0; i < records.length; i += 30) await postUntilAcknowledged(api.url as string, 'shop', records.slice(i, i + 30));
      await waitFor(
        async () =>
          (await store.db.selectFrom('deliveries').select('status').where('status', '=', 'delivered').execute()).length === records.length,
        90_000,
        'every delivery delivered',
        200,
      );
      expectArrivalOrder(receiver, records, new Set());
      // Both processes did the work.
      expect(receiver.byWorker.get('a') ?? 0).toBeGreaterThan(records.length * 0.1);
      expect(receiver.byWorker.get('b') ?? 0).toBeGreaterThan(records.length * 0.1);
      for (const p of processes) expect(p.child.exitCode, p.output()).toBeNull();
    } finally {
      for (const p of processes) await p.kill('SIGKILL');
      await store.close();
      await receiver.close();
      await model.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
