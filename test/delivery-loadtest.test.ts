import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { parseRate } from '../src/config/units.js';
import { startVendorSimulator } from '../src/delivery/simulator.js';
import { createLogger } from '../src/runtime/logger.js';
import { createServer } from '../src/server/app.js';
import { runAirlock } from './support/cli.js';
import { type Backend, backends, createTestDatabase } from './support/databases.js';
import { ensureBuilt } from './support/serve.js';
import { startModelServer } from './support/servers.js';

/**
 * `airlock loadtest` against a running server and the Zendesk simulator: an open-model load with a burst, reported as
 * k6 does, lost and duplicate effects counted from outside (the simulator's keys), stored as evidence, and a failing
 * threshold exits 99.
 */
async function scenario(backend: Backend) {
  ensureBuilt();
  const database = await createTestDatabase(backend);
  const model = await startModelServer();
  const sim = await startVendorSimulator({ preset: 'zendesk-enterprise', limit: parseRate('150/s'), window: 'bucket' });
  const dir = mkdtempSync(path.join(tmpdir(), 'airlock-loadtest-'));
  const file = path.join(dir, 'airlock.yaml');
  writeFileSync(
    file,
    `
database: "${database.url}"
server: { auth: off }
worker: { poll_interval: 20ms }
logging: { level: warn }
pipelines:
  tickets:
    model: { type: http, url: "${model.url}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      helpdesk: { type: zendesk, plan: enterprise, url: "${sim.url}/api/v2/tickets.json", rate_limit: 150/s, concurrency: 8 }
`,
  );
  const server = await createServer(loadConfig(file), { logger: createLogger('warn') });
  try {
    const url = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
    const run = await runAirlock(
      [
        'loadtest',
        '--config',
        file,
        '--pipeline',
        'tickets',
        '--url',
        url,
        '--rate',
        '100/s',
        '--duration',
        '4s',
        '--burst',
        '300',
        '--simulator',
        sim.url,
        '--threshold',
        'lost==0',
        'duplicates==0',
        'p99<30s',
        '--json',
      ],
      { cwd: dir, timeoutMs: 90_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r).toMatchObject({ acknowledged: 700, refused: 0, lost: 0, duplicates: 0, drained: true, passed: true });
    expect(r.by_status).toEqual({ delivered: 700 });
    expect(r.latency_s.p50).toBeGreaterThan(0);
    expect(r.latency_s.p99).toBeGreaterThanOrEqual(r.latency_s.p50);
    expect(r.thresholds.map((t: { passed: boolean }) => t.passed)).toEqual([true, true, true]);
    expect(r.evidence_id).toBeGreaterThan(0);
    const ev = await server.airlock.runtime.store.db.selectFrom('evidence').selectAll().where('kind', '=', 'loadtest').execute();
    expect(ev.length).toBe(1);

    const failing = await runAirlock(
      ['loadtest', '--config', file, '--pipeline', 'tickets', '--url', url, '--rate', '20/s', '--duration', '1s', '--threshold', 'p99<1ms'],
      { cwd: dir, timeoutMs: 60_000 },
    );
    expect(failing.code, failing.stderr).toBe(99);
    expect(failing.stdout).toMatch(/✗ p99<1ms/);
    console.info(
      `[loadtest ${backend}] ${r.acknowledged} records (${r.offered.rate_per_second}/s for ${r.offered.duration_s}s + burst ${r.offered.burst}): ` +
        `p50 ${r.latency_s.p50}s p95 ${r.latency_s.p95}s p99 ${r.latency_s.p99}s, delivered at ${r.delivered_rate}/s, drained in ${r.drain_s}s, ` +
        `429s ${r.throttled}, lost ${r.lost}, duplicates ${r.duplicates}`,
    );
  } finally {
    await server.close();
    await sim.close();
    await model.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.concurrent('airlock loadtest', () => {
  for (const backend of backends) {
    it(`reports a run through the whole path and gates on thresholds (${backend})`, { timeout: 120_000 }, async () => {
      await scenario(backend);
    });
  }
});
