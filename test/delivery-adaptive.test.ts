import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { parseRate } from '../src/config/units.js';
import { startVendorSimulator } from '../src/delivery/simulator.js';
import { createLogger } from '../src/runtime/logger.js';
import { createServer } from '../src/server/app.js';
import { type Backend, backends, createTestDatabase } from './support/databases.js';
import { startModelServer, waitFor } from './support/servers.js';

/**
 * Destinations whose limit is not in the config: one states it in IETF RateLimit-Policy headers (used at once, no
 * 429), one says nothing but 429 (Stripe's test mode, 25/s): AIMD finds it, and both say what they found.
 */
async function scenario(backend: Backend) {
  const database = await createTestDatabase(backend);
  const model = await startModelServer();
  const stated = await startVendorSimulator({ preset: 'generic', limit: parseRate('50/s'), window: 'bucket' });
  const silent = await startVendorSimulator({ preset: 'stripe-test', window: 'bucket' });
  const yaml = `
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: error }
pipelines:
  p:
    model: { type: http, url: "${model.url}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      stated: { type: webhook, url: "${stated.url}/x", concurrency: 8, retry: { base: 100ms, cap: 1s } }
      silent: { type: webhook, url: "${silent.url}/x", concurrency: 8, retry: { base: 100ms, cap: 1s } }
`;
  const server = await createServer(parseConfig(yaml, { database: database.url }), { logger: createLogger('error') });
  try {
    const base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
    const N = 600;
    await server.airlock.ingestor.ingest(
      'p',
      Array.from({ length: N }, (_, i) => ({ id: `a-${i}`, confidence: 0.99 })),
    );
    const { db } = server.airlock.runtime.store;
    await waitFor(
      async () =>
        Number(
          (
            await db
              .selectFrom('records')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('status', '=', 'delivered')
              .executeTakeFirstOrThrow()
          ).n,
        ) === N,
      90_000,
      `[${backend}] all delivered to both`,
      250,
    );
    // The found limits are saved at most once a second: wait for the last save.
    await new Promise((r) => setTimeout(r, 1_200));
    const status = (await (await fetch(`${base}/v1/destinations`)).json()) as {
      destinations: { destination: string; found_limit: { per_second: number; source: string } | null; rate_limit: unknown }[];
    };
    const by = Object.fromEntries(status.destinations.map((d) => [d.destination, d]));
    expect(by.stated.rate_limit).toBeNull();
    expect(by.stated.found_limit).toEqual({ per_second: 50, source: 'header' });
    expect(by.silent.found_limit?.source).toBe('aimd');
    expect(by.silent.found_limit?.per_second).toBeGreaterThan(15);
    expect(by.silent.found_limit?.per_second).toBeLessThanOrEqual(27.5);
    const s1 = stated.stats();
    const s2 = silent.stats();
    expect(s1.throttled_429 / s1.requests).toBeLessThan(0.01);
    expect(s1.duplicate_effects + s2.duplicate_effects).toBe(0);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/airlock_delivery_found_limit_per_second\{pipeline="p",destination="silent",source="aimd"\} \d/);
    console.info(
      `[delivery-adaptive ${backend}] stated by headers: found ${by.stated.found_limit?.per_second}/s, 429s ${s1.throttled_429} of ${s1.requests}; ` +
        `silent (25/s): AIMD found ${by.silent.found_limit?.per_second.toFixed(1)}/s, 429s ${s2.throttled_429} of ${s2.requests} ` +
        `(${((s2.throttled_429 / s2.requests) * 100).toFixed(1)}%)`,
    );
  } finally {
    await server.close();
    await stated.close();
    await silent.close();
    await model.close();
    await database.drop();
  }
}

describe.concurrent('destinations without a configured limit', () => {
  for (const backend of backends) {
    it(`use the limit the destination states, or find it by AIMD, and report it (${backend})`, { timeout: 120_000 }, async () => {
      await scenario(backend);
    });
  }
});
