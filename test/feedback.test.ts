import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { seededRandom } from '../src/calibration/metrics.js';
import { parsePredictions } from '../src/calibration/predictions.js';
import { calibrationReport } from '../src/calibration/report.js';
import { loadConfig } from '../src/config/load.js';
import { RefitStage } from '../src/pipeline/refit.js';
import { storeCalibration } from '../src/pipeline/routing-versions.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { runAirlock } from './support/cli.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { ensureBuilt } from './support/serve.js';
import { waitFor } from './support/servers.js';

const DAY = 86_400_000;

/**
 * The calibration set: in region "eu" the model is calibrated (right with probability = confidence); in "us" it is
 * right half the time whatever it says, so no threshold can carry the guarantee there.
 */
function calibrationSet(n: number, seed: number) {
  const random = seededRandom(seed);
  const rows: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const segment = i % 10 === 0 ? 'us' : 'eu';
    const confidence = 0.5 + random() / 2;
    const right = random() < (segment === 'us' ? 0.5 : confidence);
    rows.push({ label: right ? 'spam' : 'ham', predicted: 'spam', confidence, segment });
  }
  return parsePredictions(rows).predictions;
}

describe.each(backends)('the feedback loop on %s', (backend) => {
  let db: TestDatabase;
  let dir: string;
  let file: string;
  let server: AirlockServer;
  let base: string;
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const goLive = new Date(Date.now() - DAY).toISOString().slice(0, 10);
  const post = (p: string, body: unknown) =>
    fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const settled = (id: string) =>
    waitFor(
      async () => {
        const r = await json(fetch(`${base}/v1/pipelines/mail/records/${id}`));
        return ['delivered', 'in_review'].includes(r.status) ? r : undefined;
      },
      15_000,
      `${id} to be decided or in review`,
    );
  const routedOf = (r: { events: { kind: string; detail: Record<string, unknown> }[] }) =>
    r.events.find((e) => e.kind === 'routed')?.detail;

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase(backend);
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-feedback-'));
    writeFileSync(
      path.join(dir, 'model.mjs'),
      'export function predict(r) { return { label: r.predicted ?? "spam", confidence: r.c }; }\n',
    );
    file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        server: { auth: 'off' },
        worker: { poll_interval: '20ms' },
        logging: { level: 'silent' },
        pipelines: {
          mail: {
            model: { type: 'module', path: './model.mjs' },
            routing: {
              auto_accept_at: 0.9,
              audit_rate: 0.5,
              segment_by: 'region',
              refit: { min_labels: 200, auto_apply: { max_threshold_change: 0.5, max_coverage_drop: 1 } },
            },
            launch: { go_live: goLive },
          },
        },
      }),
    );
    server = await createServer(loadConfig(file), { logger: createLogger('silent'), clock });
    base = (await server.listen({ port: 0 })) as string;
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('routes each segment on its own threshold: the overall one where calibration did not see it, review where none carries the guarantee', async () => {
    const predictions = calibrationSet(4000, 11);
    const report = calibrationReport(predictions, { method: 'platt', targetAccuracy: 0.85, delta: 0.05, thresholdMethod: 'sgr-cp' });
    const t = report.threshold;
    if (!t.feasible || !t.segments) throw new Error(`expected an overall threshold with segments: ${JSON.stringify(t).slice(0, 600)}`);
    expect(t.segments.eu.feasible).toBe(true);
    expect(t.segments.us.feasible).toBe(false);
    const stored = await storeCalibration(server.airlock.runtime.store, loadConfig(file), 'mail', report, {
      apply: true,
      by: 'test',
      source: 'calibration.jsonl',
      now: clock.now(),
      predictions,
    });
    expect(stored).toMatchObject({ version: 1, status: 'active' });
    const versions = await json(fetch(`${base}/v1/pipelines/mail/thresholds`));
    expect(versions.versions[0].threshold.segments.us).toMatchObject({ feasible: false });
    await new Promise((r) => setTimeout(r, 5100)); // routing versions reach running workers within 5 s

    await post('/v1/pipelines/mail/records', [
      { id: 'eu-1', region: 'eu', c: 0.995 },
      { id: 'us-1', region: 'us', c: 0.995, predicted: 'spam' },
      { id: 'apac-1', region: 'apac', c: 0.995 },
    ]);
    const eu = await settled('eu-1');
    const us = await settled('us-1');
    const apac = await settled('apac-1');
    expect(routedOf(eu)).toMatchObject({ to: 'auto', segment: 'eu', segment_threshold: 'own', routing_version: 1 });
    expect(routedOf(us)).toMatchObject({ to: 'review', segment: 'us', segment_threshold: 'none' });
    expect(us.status).toBe('in_review');
    expect(routedOf(apac)).toMatchObject({ to: 'auto', segment: 'apac', segment_threshold: 'overall' });
    expect(eu.prediction.segment).toBe('eu');
  });

  it('turns review and audit verdicts into labels, lists the misclassifications and shows estimated beside realised accuracy', async () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ id: `m-${i}`, region: 'eu', c: i % 2 ? 0.999 : 0.6 }));
    await post('/v1/pipelines/mail/records', records);
    for (const r of records) await settled(r.id);
    const cases = await json(fetch(`${base}/v1/review/cases?pipeline=mail&status=open&limit=500`));
    const open = (cases.cases ?? cases.items ?? cases) as { id: number; type: string; record_id: string }[];
    const audits = open.filter((c) => c.type === 'audit_sample');
    const reviews = open.filter((c) => c.type === 'low_confidence');
    expect(audits.length).toBeGreaterThan(3);
    expect(reviews.length).toBeGreaterThan(3);
    // Reviewers say: the first audit sample and the first two low-confidence records were not spam.
    for (const [i, c] of audits.entries()) {
      expect((await post(`/v1/review/cases/${c.id}/decision`, { label: i === 0 ? 'ham' : 'spam', by: 'ann' })).status).toBe(200);
    }
    for (const [i, c] of reviews.entries()) {
      expect((await post(`/v1/review/cases/${c.id}/decision`, { label: i < 2 ? 'ham' : 'spam', by: 'ann' })).status).toBe(200);
    }
    const wrong = await json(fetch(`${base}/v1/pipelines/mail/misclassifications?days=7`));
    expect(wrong.misclassifications).toHaveLength(3);
    expect(wrong.misclassifications.map((m: { source: string }) => m.source).sort()).toEqual(['audit', 'review', 'review']);
    expect(wrong.misclassifications[0]).toMatchObject({ predicted: 'spam', verdict: 'ham' });

    const acc = await json(fetch(`${base}/v1/pipelines/mail/accuracy?window=1d&windows=2`));
    const today = acc.windows[1];
    const scored = (
      await Promise.all(
        [...records, { id: 'eu-1' }, { id: 'us-1' }, { id: 'apac-1' }].map((r) => json(fetch(`${base}/v1/pipelines/mail/records/${r.id}`))),
      )
    ).map((r) => r.prediction.calibrated_confidence as number);
    expect(today.scored).toBe(43);
    expect(today.estimated_accuracy).toBeCloseTo(scored.reduce((a, b) => a + b, 0) / scored.length, 10);
    expect(today.audit_labels).toBe(audits.length);
    expect(today.review_labels).toBe(reviews.length);
    expect(today.realised_accuracy_auto).toBeCloseTo((audits.length - 1) / audits.length, 12);
    expect(today.realised_accuracy_review).toBeCloseTo((reviews.length - 2) / reviews.length, 12);
  });

  it('refits once per due time across processes, a week after go-live, and applies the result within its bounds', async () => {
    const rt = server.airlock.runtime;
    // Before the first week is over, nothing is due.
    expect((await new RefitStage(rt).runOnce()).done).toBe(0);
    offset = 7 * DAY;
    const [a, b] = await Promise.all([new RefitStage(rt).runOnce(), new RefitStage(rt).runOnce()]);
    expect(a.done + b.done).toBe(1);
    expect((await new RefitStage(rt).runOnce()).done).toBe(0);
    const schedule = await json(fetch(`${base}/v1/pipelines/mail/refits`));
    expect(schedule.refits).toHaveLength(1);
    expect(schedule.refits[0]).toMatchObject({ due_at: new Date(Date.parse(goLive) + 7 * DAY).toISOString(), outcome: 'ok', version: 2 });
    expect(Date.parse(schedule.next_at)).toBe(Date.parse(goLive) + 14 * DAY);
    const versions = await json(fetch(`${base}/v1/pipelines/mail/thresholds`));
    expect(versions.effective).toMatchObject({ source: 'version', version: 2 });
    expect(versions.versions[1]).toMatchObject({ status: 'active', created_by: 'airlock (scheduled refit)' });
  });

  it('refits on demand from the CLI and lists the misclassifications for the weekly review', async () => {
    const refit = await runAirlock(['thresholds', 'refit', '--pipeline', 'mail', '--config', file, '--by', 'lead', '--json'], { cwd: dir });
    expect(refit.stderr).toBe('');
    const run = JSON.parse(refit.stdout);
    // The misclassifications counted are those since the version in force, which took effect after the verdicts.
    expect(run).toMatchObject({ status: 'ran', outcome: 'ok', version: 3, version_status: 'active', misclassified: 0 });
    expect(run.rows.calibration).toBe(4000);
    expect(run.before.threshold).toBeGreaterThan(0);
    const listed = await runAirlock(['thresholds', 'misclassified', '--pipeline', 'mail', '--config', file], { cwd: dir });
    expect(listed.stdout.trim().split('\n')).toHaveLength(3);
    expect(listed.stdout).toContain('model said spam');
    const bad = await runAirlock(['thresholds', 'accuracy', '--pipeline', 'mail', '--config', file, '--window', 'often'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--window must be a duration');
  });
});
