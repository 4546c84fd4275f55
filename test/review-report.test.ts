import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { normalSample } from '../src/drift/random.js';
import type { Clock } from '../src/runtime/context.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { runAirlock } from './support/cli.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { ensureBuilt } from './support/serve.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from './support/servers.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The model: "high" at or above 100, else "low"; confidence 0.70 + (amount mod 10)/40, in [0.70, 0.95). */
const label = (amount: number) => (amount >= 100 ? 'high' : 'low');
const confidence = (amount: number) => 0.7 + (((amount % 10) + 10) % 10) / 40;

function orders(prefix: string, n: number, seed: number, shift = 0) {
  const amounts = normalSample(seed, n, { shift: 100 + shift, scale: 15 });
  // Channel: exactly 60 % web, 40 % app in every batch (a category that does not move).
  return [...amounts].map((a, i) => ({
    id: `${prefix}-${i}`,
    amount: Math.round(a * 100) / 100,
    channel: i % 5 < 3 ? 'web' : 'app',
  }));
}

describe.each(backends)('airlock review-report on %s', (backend) => {
  let db: TestDatabase;
  let dir: string;
  let model: ModelServer;
  let hook: Receiver;
  let server: AirlockServer;
  let url: string;
  let configFile: string;
  // Four days ending today (real time: the command reports the 30 days ending today), 08:00 UTC.
  const today = Math.floor(Date.now() / DAY) * DAY;
  const t0 = today - 3 * DAY + 8 * HOUR;
  // A clock set to a moment of the test's story that then runs at real speed (deliveries wait on it for their backoff).
  let offset = t0 - Date.now();
  const clock: Clock = { now: () => Date.now() + offset };
  const setClock = (t: number) => {
    offset = t - Date.now();
  };
  const decided: { agree: number; verdicts: number; met: number; resolved: number } = { agree: 0, verdicts: 0, met: 0, resolved: 0 };
  let received = 0;
  const deadIds: string[] = [];
  let throttledId = '';
  /** Requests the destination answered for the throttled record (429 while statusFor holds it). */
  const throttledSeen = () =>
    server.airlock.runtime.store.db
      .selectFrom('events')
      .select('detail')
      .where('record_id', '=', throttledId)
      .where('kind', '=', 'delivery_retry_scheduled')
      .execute()
      .then((rows) => rows.length);

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase(backend);
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-review-report-'));
    model = await startModelServer((rec) => ({
      body: { label: label(Number(rec.amount)), confidence: confidence(Number(rec.amount)) },
    }));
    hook = await startReceiver();
    // Three auto-decided records of day 0 are refused for good (dead letters); one of day 3 is throttled (429) before it goes through.
    const auto = orders('d0', 120, 100).filter((o) => confidence(o.amount) >= 0.8);
    deadIds.push(...auto.slice(0, 3).map((o) => o.id));
    throttledId = (orders('d3', 120, 103).find((o) => confidence(o.amount) >= 0.8) as { id: string }).id;
    for (const id of deadIds) hook.statusFor.set(id, 422);
    hook.statusFor.set(throttledId, 429);
    const yaml = `database: ${db.url}
logging: { level: silent }
server: { auth: off }
worker: { poll_interval: 20ms }
pipelines:
  orders:
    contract:
      type: object
      additionalProperties: false
      required: [id, amount, channel]
      properties:
        id: { type: string }
        amount: { type: number }
        channel: { type: string }
    gate: { policies: { type_mismatch: quarantine } }
    model: { type: http, url: "${model.url}" }
    routing: { auto_accept_at: 0.8 }
    review:
      case_types:
        low_confidence: { sla: 4h }
    destinations:
      crm: { type: webhook, url: "${hook.url}", retry: { base: 10ms, cap: 20ms } }
    drift: { window: hourly, min_rows: 20 }
`;
    configFile = path.join(dir, 'airlock.yaml');
    writeFileSync(configFile, yaml);
    // The pilot sample, with the model's answers in two columns.
    const pilot = orders('pilot', 600, 11).map((o) => ({ ...o, model_label: label(o.amount), model_confidence: confidence(o.amount) }));
    writeFileSync(path.join(dir, 'pilot.jsonl'), pilot.map((o) => JSON.stringify(o)).join('\n'));
    server = await createServer(parseConfig(yaml, { dir }), { clock, logger: createLogger('silent') });
    url = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await Promise.all([model?.close(), hook?.close()]);
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runAirlock(['--config', configFile, ...args], { cwd: dir, timeoutMs: 60_000 });

  async function post(batch: unknown[]): Promise<void> {
    const res = await fetch(`${url}/v1/pipelines/orders/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    expect([202, 207]).toContain(res.status);
    await res.text();
  }

  it('loads the pilot sample as the reference, with the model outputs from its columns', async () => {
    const r = await cli([
      'reference',
      '--pipeline',
      'orders',
      'pilot.jsonl',
      '--prediction-field',
      'model_label',
      '--confidence-field',
      'model_confidence',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      pipeline: 'orders',
      version: 1,
      rows: 600,
      fields: ['@model.confidence', '@model.label', 'amount', 'channel'],
      text_fields: [],
      model_outputs: true,
    });
    const bad = await cli(['reference', '--pipeline', 'nope', 'pilot.jsonl']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('airlock: pipeline "nope" is not in the config\n');
  }, 60_000);

  it('streams four days, the third shifted, with reviews, quarantine, dead letters and a throttled delivery', async () => {
    const shifts = [0, 0, 40, 0];
    for (let d = 0; d < 4; d++) {
      setClock(t0 + d * DAY);
      const batch = orders(`d${d}`, 120, 100 + d, shifts[d]);
      received += batch.length;
      await post(batch);
      if (d === 0) {
        // Two records that break the contract (amount is not a number): quarantined.
        await post([
          { id: 'bad-1', amount: 'n/a', channel: 'web' },
          { id: 'bad-2', amount: 'n/a', channel: 'app' },
        ]);
        received += 2;
      }
      await waitFor(
        async () => {
          const o = await json(fetch(`${url}/v1/pipelines/orders/drift`));
          return o.rows === 120;
        },
        30_000,
        `day ${d} summarised`,
      );
    }
    // The throttled record is answered 429 at least once before the destination lets it through.
    await waitFor(async () => (await throttledSeen()) > 0, 30_000, 'a 429 answer');
    hook.statusFor.delete(throttledId);
    // Reviewers decide the low-confidence cases of day 0: every other one against the model; half within the 4 h SLA.
    const cases = await json(fetch(`${url}/v1/review/cases?status=open&type=low_confidence&limit=500`));
    const open = (cases.cases ?? cases.items ?? cases) as { id: number; record_id: string }[];
    const day0 = open.filter((c) => c.record_id.startsWith('d0-')).slice(0, 10);
    expect(day0.length).toBe(10);
    for (const [i, c] of day0.entries()) {
      setClock(t0 + 3 * DAY + (i < 5 ? 0 : 5 * HOUR));
      const rec = await json(fetch(`${url}/v1/pipelines/orders/records/${c.record_id}`));
      const modelLabel = rec.prediction.label as string;
      const verdict = i % 2 === 0 ? modelLabel : modelLabel === 'high' ? 'low' : 'high';
      const res = await fetch(`${url}/v1/review/cases/${c.id}/decision`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ label: verdict, by: 'ana' }),
      });
      expect(res.status).toBe(200);
      await res.text();
      decided.verdicts++;
      if (verdict === modelLabel) decided.agree++;
      decided.resolved++;
    }
    // Cases made on day 0 (08:00) with a 4 h SLA, resolved on day 3: none met it.
    decided.met = 0;
    setClock(t0 + 3 * DAY + 6 * HOUR);
    await waitFor(
      async () => {
        const rows = await server.airlock.runtime.store.db
          .selectFrom('deliveries')
          .select(['record_id', 'status'])
          .where('record_id', 'in', [...deadIds, throttledId])
          .execute();
        return (
          rows.filter((r) => r.status === 'dead_lettered').length === 3 &&
          rows.some((r) => r.record_id === throttledId && r.status === 'delivered')
        );
      },
      30_000,
      'dead letters and the throttled delivery',
      100,
    );
  }, 180_000);

  it('reports drift per field over time, quarantine, accuracy, SLA attainment, delivery health and backed actions', async () => {
    const md = path.join(dir, 'review.md');
    const html = path.join(dir, 'review.html');
    const r = await cli(['review-report', '--pipeline', 'orders', '--days', '30', '--json', '--md', md, '--html', html]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.period.days).toBe(30);
    expect(rep.reference).toMatchObject({ version: 1, source: 'sample', rows: 600 });
    // Drift per day: only the third day moved amount (by 40, 2.7 reference standard deviations).
    expect(rep.drift.days.map((d: { rows: number }) => d.rows)).toEqual([120, 120, 120, 120]);
    const amount = rep.drift.fields.find((f: { name: string }) => f.name === 'amount');
    expect(amount).toMatchObject({ test: 'ks', days_tested: 4, days_drifted: 1 });
    expect(amount.series.map((s: { drift: boolean }) => s.drift)).toEqual([false, false, true, false]);
    expect(rep.drift.fields.find((f: { name: string }) => f.name === 'channel')).toMatchObject({ days_drifted: 0 });
    // Quarantine: the two records that broke the contract.
    expect(rep.schema).toMatchObject({ records_received: received, quarantined: 2 });
    // Accuracy: realised on the reviewed records = the verdicts that agreed with the model.
    expect(rep.model.totals.verdicts).toBe(decided.verdicts);
    expect(rep.model.totals.realised_accuracy).toBeCloseTo(decided.agree / decided.verdicts, 12);
    expect(rep.model.totals.records).toBe(480);
    expect(rep.model.totals.estimated_accuracy).toBeGreaterThan(0.7);
    expect(rep.model.days).toHaveLength(4);
    // Review SLA: resolved low_confidence cases, none within 4 h.
    const lc = rep.review.by_type.find((t: { type: string }) => t.type === 'low_confidence');
    expect(lc.sla_attainment).toEqual({ share: 0, met: decided.met, n: decided.resolved });
    // Delivery health: three dead letters, at least one 429.
    const crm = rep.delivery.destinations.find((d: { destination: string }) => d.destination === 'crm');
    expect(crm.dead_lettered).toBe(3);
    expect(crm.throttled).toBeGreaterThanOrEqual(1);
    // Recommended actions, each with its figure.
    const because = rep.recommendations.map((a: { because: string }) => a.because);
    expect(because).toContain(
      `0.0 % of low_confidence cases met their SLA (0 of ${decided.resolved}); ${lc.breached_open} open cases are past it`,
    );
    expect(because).toContain('3 deliveries to crm were refused for good');
    for (const a of rep.recommendations) expect(a.because).toMatch(/\d/);

    const text = readFileSync(md, 'utf8');
    expect(text).toContain('# orders: 30-day monitoring review');
    expect(text).toMatch(/\| amount \| ks \| 1 \/ 4 \| [\d.]+ \| ··▲· \|/);
    expect(text).toContain('## Delivery health');
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<h2>Review SLA attainment</h2>');
    expect(page).toContain('<td>amount</td>');
  }, 60_000);

  it('gives a clear usage error for a bad --days', async () => {
    const r = await cli(['review-report', '--pipeline', 'orders', '--days', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--days must be a whole number from 1 to 366');
  }, 60_000);
});
