// The full Zendesk-plan run the issue asks for (test/delivery-load.test.ts runs the same path scaled to 200/s):
// `airlock loadtest` through a real server into the simulator of Zendesk Enterprise — 700 requests per minute in
// fixed one-minute windows, X-Rate-Limit headers, 429 + Retry-After — and reports adherence to the limit.
//   node bench/delivery-zendesk.mjs            (after npm run build; BENCH_ZENDESK_MINUTES, default 5)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { runLoadtest } from '../dist/cli/loadtest.js';
import { loadConfig } from '../dist/config/load.js';
import { startVendorSimulator } from '../dist/delivery/simulator.js';
import { createLogger } from '../dist/runtime/logger.js';
import { createServer } from '../dist/server/app.js';

const minutes = Number(process.env.BENCH_ZENDESK_MINUTES ?? 5);
const dir = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-zendesk-'));
// A model that answers at once, so the run measures delivery.
const model = createHttpServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"label":"ok","confidence":0.99}');
  });
});
await new Promise((r) => model.listen(0, '127.0.0.1', r));
const sim = await startVendorSimulator({ preset: 'zendesk-enterprise', idempotency: false });
const file = path.join(dir, 'airlock.yaml');
writeFileSync(
  file,
  `
database: sqlite:./airlock.db
server: { auth: off }
logging: { level: warn }
pipelines:
  tickets:
    model: { type: http, url: "http://127.0.0.1:${model.address().port}/predict" }
    routing: { auto_accept_at: 0.5 }
    destinations:
      zendesk: { type: zendesk, plan: enterprise, url: "${sim.url}/api/v2/tickets.json", concurrency: 8 }
`,
);
const server = await createServer(loadConfig(file), { logger: createLogger('warn') });
const url = await server.listen({ port: 0, host: '127.0.0.1' });
try {
  // Offer more than the plan allows (12/s against 700/min ≈ 11.67/s) plus a burst, so the limit is what paces.
  const report = await runLoadtest(
    {
      pipeline: 'tickets',
      url,
      rate: '12/s',
      duration: `${minutes}m`,
      burst: 500,
      simulator: [sim.url],
      threshold: ['lost==0', 'duplicates==0'],
      drainTimeout: '10m',
      batch: 500,
    },
    file,
  );
  const s = sim.stats();
  const seconds = (Date.parse(s.last_request_at) - Date.parse(s.first_request_at)) / 1000;
  console.log(
    JSON.stringify(
      {
        plan: 'zendesk-enterprise (700/min, fixed 1-minute windows)',
        requests: s.requests,
        accepted: s.accepted,
        throttled_429: s.throttled_429,
        share_429: s.throttled_429 / s.requests,
        accepted_per_minute: (s.accepted / seconds) * 60,
        adherence: ((s.accepted / seconds) * 60) / 700,
        peak_per_window: s.peak_per_window,
        duplicate_effects: s.duplicate_effects,
        loadtest: {
          lost: report.lost,
          duplicates: report.duplicates,
          p50: report.latency_s.p50,
          p99: report.latency_s.p99,
          drain_s: report.drain_s,
        },
      },
      null,
      2,
    ),
  );
} finally {
  await server.close();
  await sim.close();
  model.close();
  rmSync(dir, { recursive: true, force: true });
}
