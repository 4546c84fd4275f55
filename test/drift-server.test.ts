import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/accounts/tokens.js';
import { addUser } from '../src/accounts/users.js';
import type { AirlockConfig } from '../src/config/airlock-config.js';
import { parseConfig } from '../src/config/load.js';
import { monitoredRow, windowReport } from '../src/drift/monitor.js';
import { mulberry32, normalSample } from '../src/drift/random.js';
import { DriftSummary, type FieldSummaryJson } from '../src/drift/summary.js';
import { createAirlock } from '../src/pipeline/airlock.js';
import { buildReference, DriftStage, driftOptions, loadReference, mergeParts, scoredRecordOf } from '../src/pipeline/drift-stage.js';
import type { Clock } from '../src/runtime/context.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { activeReference, driftDb, insertReference, windowParts } from '../src/store/drift.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from './support/servers.js';

const HOUR = 3_600_000;

interface Order {
  id: string;
  amount: number;
  channel: string;
  expected: string;
  confidence: number;
}

/** n orders: amount ≈ N(100 + shift, 15²) (Irwin–Hall), channel web/app/store 50/30/20, label approve/decline 70/30. */
function orders(prefix: string, n: number, seed: number, shift = 0): Order[] {
  const amounts = normalSample(seed, n, { shift: 100 + shift, scale: 15 });
  const r = mulberry32(seed + 7919);
  return [...amounts].map((a, i) => {
    const u = r();
    return {
      id: `${prefix}-${i}`,
      amount: Math.round(a * 100) / 100,
      channel: u < 0.5 ? 'web' : u < 0.8 ? 'app' : 'store',
      expected: r() < 0.7 ? 'approve' : 'decline',
      confidence: Math.round((0.6 + 0.39 * r()) * 1000) / 1000,
    };
  });
}

interface AlertBody {
  key: string;
  title: string;
  text: string;
  severity: string;
  fields: Record<string, string | number>;
}

describe.each(backends)('drift monitoring in the server on %s', (backend) => {
  let db: TestDatabase;
  let model: ModelServer;
  let alerts: Receiver;
  let server: AirlockServer;
  let config: AirlockConfig;
  let url: string;
  let ingestToken: string;
  let viewerToken: string;
  // Monday 30 November 2026, 10:00 UTC: windows are whole UTC hours.
  const t0 = Date.UTC(2026, 10, 30, 10);
  const clock: Clock & { t: number } = { t: t0, now: () => clock.t };
  const sent: Record<string, Order[]> = {};
  let closed = false;
  let worker2: AirlockServer | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    model = await startModelServer();
    alerts = await startReceiver();
    config = parseConfig(`database: ${db.url}
logging: { level: silent }
server: { public_url: "https://airlock.example.com/" }
worker: { poll_interval: 20ms }
alerts: [{ type: webhook, url: "${alerts.url}", format: json }]
pipelines:
  orders:
    model: { type: http, url: "${model.url}" }
    routing: { auto_accept_at: 0.5 }
    drift:
      window: hourly
      min_rows: 50
      alert: { after: 1, resolve_after: 1, cooldown: 6h }
`);
    server = await createServer(config, { clock, logger: createLogger('silent') });
    const sdb = server.airlock.runtime.store.db;
    await addUser(sdb, 'crm', 'ingest', null, t0);
    await addUser(sdb, 'vera', 'viewer', null, t0);
    ingestToken = (await createToken(sdb, 'crm', 'crm', t0)).token;
    viewerToken = (await createToken(sdb, 'vera', 'vera', t0)).token;
    url = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
    if (backend === 'postgres') {
      // A second process (workers only) on the same database: it counts records and evaluates windows too, so the
      // window parts, the evaluations and the alerts below are shared work. (On SQLite two writers in one test
      // process would block each other's thread; the merge test below covers two processes there.)
      worker2 = await createServer(config, { clock, role: 'worker', logger: createLogger('silent') });
      await worker2.listen();
    }

    // The pilot's reference: 500 orders with the model's answers (as `airlock reference --prediction-field` loads them).
    const pilot = orders('pilot', 500, 1).map((o) => ({ ...o, '@model': { label: o.expected, confidence: o.confidence, route: 'auto' } }));
    const built = buildReference(config.pipelines.orders.drift, pilot, {
      records: 500,
      scored: 500,
      auto: 500,
      review: 0,
      model_failure: 0,
      confidence_sum: pilot.reduce((s, o) => s + o.confidence, 0),
    });
    await insertReference(sdb, {
      pipeline: 'orders',
      source: 'sample',
      spec: JSON.stringify(built.spec),
      summary: JSON.stringify(built.summary.toJSON()),
      outputs: JSON.stringify(built.outputs),
      rows: 500,
      created_at: t0,
      created_by: 'test',
      note: null,
    });
  });

  afterAll(async () => {
    if (!closed) await Promise.all([server?.close(), worker2?.close()]);
    await Promise.all([model?.close(), alerts?.close()]);
    await db?.drop();
  });

  const get = (path: string, token = viewerToken) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });

  async function sendWindow(name: string, hour: number, batch: Order[]): Promise<void> {
    clock.t = t0 + hour * HOUR + 5 * 60_000;
    sent[name] = batch;
    for (let i = 0; i < batch.length; i += 100) {
      const res = await fetch(`${url}/v1/pipelines/orders/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ingestToken}` },
        body: JSON.stringify(batch.slice(i, i + 100)),
      });
      expect(res.status).toBe(202);
      await res.text();
    }
    await waitFor(
      async () => {
        const d = await json(get('/v1/pipelines/orders/drift'));
        return d.window?.start === new Date(t0 + hour * HOUR).toISOString() && d.rows === batch.length;
      },
      20_000,
      `window ${name} summarised`,
    );
  }

  const driftAlerts = () => alerts.requests.map((r) => r.body as unknown as AlertBody).filter((b) => String(b.key).startsWith('drift:'));

  it('answers 404 problems before a reference or for an unknown pipeline or field, and requires sign-in', async () => {
    const unknown = await get('/v1/pipelines/nope/drift');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    await unknown.text();
    expect((await json(get('/v1/pipelines/orders/drift/no_such_field/series'))).status).toBe(404);
    expect((await json(fetch(`${url}/v1/pipelines/orders/drift`))).status).toBe(401);
    expect((await json(get('/v1/pipelines/orders/drift/amount/series?windows=0'))).status).toBe(400);
    // Both routes are in the OpenAPI document, as the server registers them.
    const doc = await json(fetch(`${url}/openapi.json`));
    const drift = server.routes.filter((r) => r.includes('/v1/') && r.includes('/drift')).map((r) => r.split(' ') as [string, string]);
    expect(drift.map(([m, u]) => `${m} ${u}`).sort()).toEqual([
      'GET /v1/pipelines/:pipeline/drift',
      'GET /v1/pipelines/:pipeline/drift/:field/series',
    ]);
    for (const [m, u] of drift) expect(doc.paths[u.replace(/:(\w+)/g, '{$1}')]?.[m.toLowerCase()]).toBeDefined();
  }, 60_000);

  it('shows a window like the reference as no drift, with the model outputs and the estimated accuracy', async () => {
    await sendWindow('w1', 0, orders('w1', 200, 2));
    const d = await json(get('/v1/pipelines/orders/drift'));
    expect(d.reference).toMatchObject({ version: 1, rows: 500, source: 'sample' });
    expect(d.window).toMatchObject({ size: 'hourly', complete: false });
    expect(d.fields.filter((f: { drift: boolean }) => f.drift).map((f: { name: string }) => f.name)).toEqual([]);
    expect(d.dataset_drift).toBe(false);
    // Inputs only in the dataset share: amount, channel, confidence, expected.
    expect(d.tested_fields).toBe(4);
    const amount = d.fields.find((f: { name: string }) => f.name === 'amount');
    // Reference of 500 ≤ 1,000 values: the KS test (Evidently's choice), Benjamini–Hochberg adjusted.
    expect(amount).toMatchObject({
      test: 'ks',
      drift: false,
      threshold: 0.05,
      link: 'https://airlock.example.com/pipelines/orders/drift/amount',
    });
    expect(d.fields.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['@model.label', '@model.confidence']));
    // Estimated accuracy = mean calibrated confidence (CBPE); no calibrator here, so the model's confidence.
    const mean = sent.w1.reduce((s, o) => s + o.confidence, 0) / sent.w1.length;
    expect(d.outputs.estimated_accuracy).toBeCloseTo(mean, 10);
    expect(d.outputs).toMatchObject({ records: 200, auto_share: 1, review_share: 0, verdicts: 0, realised_accuracy: null });
  }, 60_000);

  it('shows a shifted field as drifted, ranked first, with its series and distributions for charts', async () => {
    await sendWindow('w2', 1, orders('w2', 200, 3, 60));
    const d = await json(get('/v1/pipelines/orders/drift'));
    expect(d.fields[0]).toMatchObject({ name: 'amount', drift: true, test: 'ks' });
    expect(d.fields[0].p_value_adjusted).toBeLessThan(1e-10);
    expect(d.fields[0].severity).toBeGreaterThan(1);
    expect(d.fields.filter((f: { drift: boolean }) => f.drift).map((f: { name: string }) => f.name)).toEqual(['amount']);
    expect(d.current_rows ?? d.rows).toBe(200);
    // The mean moved by 60 (4 reference standard deviations).
    expect(d.fields[0].current.mean - d.fields[0].reference.mean).toBeGreaterThan(55);

    const s = await json(get('/v1/pipelines/orders/drift/amount/series?windows=24'));
    expect(s.series.map((w: { start: string; drift: boolean; rows: number }) => [w.start, w.drift, w.rows])).toEqual([
      [new Date(t0).toISOString(), false, 200],
      [new Date(t0 + HOUR).toISOString(), true, 200],
    ]);
    expect(s.distribution.labels).toHaveLength(10);
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    expect(sum(s.distribution.reference)).toBeCloseTo(1, 12);
    expect(sum(s.distribution.current_counts)).toBe(200);
    // Reference deciles: each bin holds a tenth of the reference; the shifted window piles into the top bin.
    expect(s.distribution.reference_counts).toEqual(Array(10).fill(50));
    expect(s.distribution.current[9]).toBeGreaterThan(0.9);
    // Drift is read by people (a machine's token reads none: its distributions show record values).
    expect((await get(`/v1/pipelines/orders/drift/${encodeURIComponent('@model.label')}/series`, ingestToken)).status).toBe(403);
    const label = await json(get(`/v1/pipelines/orders/drift/${encodeURIComponent('@model.label')}/series`));
    expect(label.distribution.labels).toEqual(expect.arrayContaining(['approve', 'decline']));
  }, 60_000);

  it('raises one alert when the drift episode starts and one resolve message when it ends, linking to the field', async () => {
    // Window 2 ends: its evaluation opens the episode.
    await sendWindow('w3', 2, orders('w3', 200, 4));
    await waitFor(() => driftAlerts().length >= 1, 20_000, 'the drift alert');
    // Window 3 (like the reference) ends: with resolve_after 1, the episode ends.
    clock.t = t0 + 3 * HOUR + 5 * 60_000;
    await waitFor(() => driftAlerts().length >= 2, 20_000, 'the resolve message');
    // Nothing else comes: two more idle evaluations of the workers' loops.
    await new Promise((r) => setTimeout(r, 300));
    const got = driftAlerts();
    expect(got.map((a) => [a.title, a.severity])).toEqual([
      ['Drift on orders: amount', 'warning'],
      ['Drift on orders: amount resolved', 'info'],
    ]);
    expect(got[0].fields).toMatchObject({ field: 'amount', test: 'ks', window_start: new Date(t0 + HOUR).toISOString(), records: 200 });
    expect(got[0].text).toContain('https://airlock.example.com/pipelines/orders/drift/amount');
    // Field names, tests and figures only: no record value or id reaches the alert.
    const text = JSON.stringify(got);
    expect(text).not.toContain('w2-');
    for (const o of sent.w2.slice(0, 50)) expect(text).not.toContain(String(o.amount));

    const ep = await driftDb(server.airlock.runtime.store.db).selectFrom('drift_episodes').selectAll().execute();
    expect(ep.map((e) => [e.field, e.state, Number(e.episodes)])).toEqual([['amount', 'clear', 1]]);
  }, 60_000);

  it('merges the parts two processes counted into exactly the summary one process makes of the same records', async () => {
    await Promise.all([server.close(), worker2?.close()]);
    closed = true;
    // The same records counted again from scratch, now by two processes.
    const fresh = await createAirlock(config, { clock, logger: createLogger('silent') });
    const fdb = driftDb(fresh.runtime.store.db);
    await fdb.deleteFrom('drift_windows').execute();
    await sql`update records set drift_at = null`.execute(fresh.runtime.store.db);
    const second = await createAirlock(config, { clock, logger: createLogger('silent') });
    const a = new DriftStage(fresh.runtime, config.pipelines.orders, 'process-a', { batch: 37 });
    const b = new DriftStage(second.runtime, config.pipelines.orders, 'process-b', { batch: 37 });
    const refRow = await activeReference(fresh.runtime.store.db, 'orders');
    const ref = loadReference(fresh.runtime, refRow as NonNullable<typeof refRow>);
    try {
      if (backend === 'postgres') {
        // Concurrent claims: FOR UPDATE SKIP LOCKED keeps them apart.
        const drain = async (s: DriftStage) => {
          let n = 0;
          for (;;) {
            const k = await s.summariseBatch(ref);
            n += k;
            if (k === 0) return n;
          }
        };
        const [na, nb] = await Promise.all([drain(a), drain(b)]);
        expect(na + nb).toBe(600);
      } else {
        // One SQLite file, two connections in one test process: take turns (a real second process would wait on the lock).
        let total = 0;
        for (;;) {
          const k = (await a.summariseBatch(ref)) + (await b.summariseBatch(ref));
          total += k;
          if (k === 0) break;
        }
        expect(total).toBe(600);
      }
      const parts = await windowParts(fresh.runtime.store.db, 'orders', 1, t0, t0 + 3 * HOUR);
      expect(new Set(parts.map((p) => p.process))).toEqual(new Set(['process-a', 'process-b']));
      expect(parts.reduce((s, p) => s + p.rows, 0)).toBe(600);
      for (let h = 0; h < 3; h++) {
        const w = t0 + h * HOUR;
        const merged = mergeParts(
          ref,
          parts.filter((p) => p.window_start === w),
        ).summary;
        const rows = await fresh.runtime.store.db
          .selectFrom('records')
          .select(['body', 'prediction', 'decision', 'status'])
          .where('pipeline', '=', 'orders')
          .where('created_at', '>=', w)
          .where('created_at', '<', w + HOUR)
          .orderBy('seq')
          .execute();
        const single = new DriftSummary(ref.spec).addAll(rows.map((r) => monitoredRow(scoredRecordOf(r))));
        expect(merged.rows).toBe(200);
        expect([...merged.fields.keys()].sort()).toEqual([...single.fields.keys()].sort());
        for (const name of single.fields.keys()) {
          expect(canonical((merged.fields.get(name) as NonNullable<ReturnType<typeof merged.fields.get>>).toJSON()), name).toEqual(
            canonical((single.fields.get(name) as NonNullable<ReturnType<typeof single.fields.get>>).toJSON()),
          );
        }
        const rm = windowReport(ref.summary, merged, driftOptions(config.pipelines.orders.drift));
        const rs = windowReport(ref.summary, single, driftOptions(config.pipelines.orders.drift));
        expect(rm.fields.map((f) => [f.name, f.drift])).toEqual(rs.fields.map((f) => [f.name, f.drift]));
        rm.fields.forEach((f, i) => {
          if (f.statistic !== null) expect(f.statistic).toBeCloseTo(rs.fields[i].statistic as number, 10);
          if (f.p_value !== null) expect(f.p_value).toBeCloseTo(rs.fields[i].p_value as number, 10);
        });
      }
    } finally {
      await fresh.close();
      await second.close();
    }
  }, 60_000);
});

/** A field summary as a value to compare: sketch buckets and reservoir in sorted order, moments to 12 digits. */
function canonical(j: FieldSummaryJson) {
  const out: Record<string, unknown> = { ...j };
  if (j.moments) {
    out.moments = {
      n: j.moments.n,
      min: j.moments.min,
      max: j.moments.max,
      mean: Number(j.moments.mean.toPrecision(12)),
      m2: Number(j.moments.m2.toPrecision(10)),
    };
  }
  if (j.sketch) out.sketch = j.sketch.keys.map((k, i) => [k, j.sketch?.counts[i]]).sort((x, y) => (x[0] as number) - (y[0] as number));
  if (j.reservoir) out.reservoir = { seen: j.reservoir.seen, values: [...j.reservoir.values].sort((x, y) => x - y) };
  return out;
}

describe.each(backends)('the go-live reference on %s', (backend) => {
  let db: TestDatabase;
  let model: ModelServer;
  let server: AirlockServer;
  let url: string;
  const goLive = Date.UTC(2026, 11, 1);
  const clock: Clock & { t: number } = { t: goLive + 9 * HOUR, now: () => clock.t };

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    model = await startModelServer();
    const config = parseConfig(`database: ${db.url}
logging: { level: silent }
server: { auth: off }
worker: { poll_interval: 20ms }
pipelines:
  orders:
    model: { type: http, url: "${model.url}" }
    launch: { go_live: 2026-12-01 }
    drift: { window: daily, reference_days: 1 }
`);
    server = await createServer(config, { clock, logger: createLogger('silent') });
    url = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
  });

  afterAll(async () => {
    await server?.close();
    await model?.close();
    await db?.drop();
  }, 120_000);

  it('is built from the records of the first days after go-live, once those days are over, and compares what follows', async () => {
    const post = async (batch: Order[]) => {
      const res = await fetch(`${url}/v1/pipelines/orders/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      });
      expect(res.status).toBe(202);
      // Every answer is read to its end, so no connection is left busy when the server closes.
      await res.text();
    };
    await post(orders('day1', 300, 21));
    // Day 1 is not over: no reference yet.
    await new Promise((r) => setTimeout(r, 300));
    const early = await fetch(`${url}/v1/pipelines/orders/drift`);
    expect(early.status).toBe(404);
    expect((await json(early)).detail).toContain('has no drift reference yet');
    clock.t = goLive + DAY_MS + HOUR;
    await post(orders('day2', 300, 22, 30));
    const d = await waitFor(
      async () => {
        const r = await json(fetch(`${url}/v1/pipelines/orders/drift`));
        return r.rows === 300 ? r : null;
      },
      20_000,
      'the go-live reference and the second day summarised',
    );
    expect(d.reference).toMatchObject({ version: 1, source: 'go_live', rows: 300 });
    expect(d.window.start).toBe(new Date(goLive + DAY_MS).toISOString());
    // 300 reference values ≤ 1,000: KS; the amount moved by 2 standard deviations.
    expect(d.fields[0]).toMatchObject({ name: 'amount', drift: true, test: 'ks' });
  }, 60_000);
});

const DAY_MS = 24 * HOUR;
