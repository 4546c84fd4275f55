import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { idempotencyKey } from '../src/delivery/outbox.js';
import { createLogger } from '../src/runtime/logger.js';
import { createServer } from '../src/server/app.js';
import { type Backend, backends, createTestDatabase } from './support/databases.js';
import { startModelServer, waitFor } from './support/servers.js';
import { startSimulatorProcess } from './support/simulator.js';

/**
 * 10,000 deliveries to the Zendesk simulator at a known limit: the Enterprise plan (700/min) scaled to 200/s so the
 * suite keeps its time budget (the full-plan run is bench/). Everything delivered, at ≥ 95% of the limit, with
 * fewer than 1% of requests answered 429, one effect per record, and the API token never in the logs.
 */

const TOTAL = 10_000;
const LIMIT = 200;
const TOKEN = 'zd-secret-token-4f1e9a';

async function loadScenario(backend: Backend) {
  const database = await createTestDatabase(backend);
  const model = await startModelServer();
  // The vendor runs in its own process (`airlock simulate-vendor`), as a remote API would, without idempotency so a
  // second delivery of a record would show as a duplicate effect.
  const sim = await startSimulatorProcess([
    '--preset',
    'zendesk-enterprise',
    '--limit',
    `${LIMIT}/s`,
    '--window',
    'bucket',
    '--no-idempotency',
  ]);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const yaml = `
worker: { poll_interval: 20ms }
logging: { level: info }
pipelines:
  tickets:
    model: { type: http, url: "${model.url}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      helpdesk:
        type: zendesk
        plan: enterprise
        url: "${sim.url}/api/v2/tickets.json"
        rate_limit: ${LIMIT}/s
        concurrency: 32
        timeout: 5s
        email: bot@example.com
        token: \${ZENDESK_TOKEN}
`;
  const config = parseConfig(yaml, { database: database.url, env: { ZENDESK_TOKEN: TOKEN } });
  const server = await createServer(config, { logger: createLogger('info', sink) });
  try {
    await server.listen({ port: 0, host: '127.0.0.1' });
    const ids: string[] = [];
    for (let b = 0; b < TOTAL; b += 1000) {
      const batch = Array.from({ length: 1000 }, (_, i) => ({
        id: `z-${String(b + i).padStart(5, '0')}`,
        text: 'hello',
        confidence: 0.97,
      }));
      const r = await server.airlock.ingestor.ingest('tickets', batch);
      ids.push(...r.accepted.map((a) => a.id));
    }
    expect(ids.length).toBe(TOTAL);
    const { db } = server.airlock.runtime.store;
    await waitFor(
      async () => {
        const row = await db
          .selectFrom('records')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('status', '=', 'delivered')
          .executeTakeFirstOrThrow();
        return Number(row.n) === TOTAL;
      },
      120_000,
      `[${backend}] all ${TOTAL} delivered`,
      250,
    );
    const stats = await sim.stats();
    const seconds = (Date.parse(stats.last_request_at as string) - Date.parse(stats.first_request_at as string)) / 1000;
    const rate = stats.accepted / seconds;
    const share429 = stats.throttled_429 / stats.requests;
    console.info(
      `[delivery-load ${backend}] ${stats.accepted} accepted of ${stats.requests} requests in ${seconds.toFixed(1)} s = ${rate.toFixed(1)}/s ` +
        `(${((rate / LIMIT) * 100).toFixed(1)}% of ${LIMIT}/s); 429: ${stats.throttled_429} (${(share429 * 100).toFixed(2)}%); ` +
        `peak per second ${stats.peak_per_window}; duplicate effects ${stats.duplicate_effects}; repeated keys ${stats.replays}`,
    );
    expect(stats.effects).toBe(TOTAL);
    expect(stats.duplicate_effects).toBe(0);
    expect(new Set(Object.keys(await sim.keys()))).toEqual(new Set(ids.map((id) => idempotencyKey('tickets', id, 'helpdesk'))));
    expect(rate).toBeGreaterThanOrEqual(0.95 * LIMIT);
    expect(share429).toBeLessThan(0.01);
    // The credential went in the Authorization header and never into a log line.
    expect(logs.join('')).not.toContain(TOKEN);
    expect(logs.join('')).not.toContain(Buffer.from(`bot@example.com/token:${TOKEN}`).toString('base64'));
  } finally {
    await server.close();
    await sim.close();
    await model.close();
    await database.drop();
  }
}

describe('10,000 deliveries to a rate-limited vendor', () => {
  for (const backend of backends) {
    it(`delivers everything at the limit without tripping it (${backend})`, { timeout: 150_000 }, async () => {
      await loadScenario(backend);
    });
  }
});
