import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { applyCalibrator } from '../src/calibration/calibrators.js';
import { seededRandom } from '../src/calibration/metrics.js';
import { parsePredictions } from '../src/calibration/predictions.js';
import { calibrationReport } from '../src/calibration/report.js';
import { loadConfig } from '../src/config/load.js';
import { storeCalibration } from '../src/pipeline/routing-versions.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { ensureBuilt } from './support/serve.js';
import { waitFor } from './support/servers.js';

/** Labelled predictions of an overconfident model: right with probability confidence³. */
function overconfidentRows(n: number, seed: number): string {
  const random = seededRandom(seed);
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const confidence = 0.5 + random() / 2;
    const correct = random() < confidence ** 3;
    rows.push(JSON.stringify({ label: correct ? 'refund' : 'other', predicted: 'refund', confidence }));
  }
  return `${rows.join('\n')}\n`;
}

describe.each(backends)('routing with calibrator and threshold versions on %s', (backend) => {
  let db: TestDatabase;
  let dir: string;
  let file: string;
  let server: AirlockServer;
  let base: string;
  const post = (p: string, body: unknown) =>
    fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const settled = (id: string, states: string[]) =>
    waitFor(
      async () => {
        const r = await json(fetch(`${base}/v1/pipelines/claims/records/${id}`));
        return states.includes(r.status) ? r : undefined;
      },
      15_000,
      `${id} to reach ${states.join('|')}`,
    );

  beforeAll(async () => {
    await ensureBuilt();
    db = await createTestDatabase(backend);
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-routing-'));
    // The model answers the confidence and label the record carries, so each test chooses what the router sees.
    writeFileSync(path.join(dir, 'model.mjs'), 'export function predict(r) { return { label: r.label ?? "refund", confidence: r.c }; }\n');
    file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        server: { auth: 'off' },
        worker: { poll_interval: '20ms' },
        logging: { level: 'silent' },
        pipelines: {
          claims: {
            model: { type: 'module', path: './model.mjs' },
            routing: {
              auto_accept_at: 0.9,
              never_auto: ['fraud'],
              review_when: [{ field: 'order.amount', above: 500 }],
              audit_rate: 0.25,
            },
            review: { case_types: { audit_sample: { owner: 'qa', sla: '1d' } } },
          },
        },
      }),
    );
    server = await createServer(loadConfig(file), { logger: createLogger('silent') });
    base = (await server.listen({ port: 0 })) as string;
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('routes on the config threshold until a version exists, then on calibrated confidence against the version', async () => {
    await post('/v1/pipelines/claims/records', { id: 'before', c: 0.95 });
    const before = await settled('before', ['delivered', 'in_review']);
    expect(before.decision).toMatchObject({ source: 'auto', routing_version: null, confidence: 0.95 });

    const { predictions } = parsePredictions(
      overconfidentRows(4000, 3)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    );
    const report = calibrationReport(predictions, { method: 'platt', targetAccuracy: 0.85, delta: 0.05, seed: 1 });
    expect(report.threshold.feasible).toBe(true);
    const config = loadConfig(file);
    const stored = await storeCalibration(server.airlock.runtime.store, config, 'claims', report, {
      apply: false,
      by: 'test',
      source: 'rows.jsonl',
      now: Date.now(),
    });
    expect(stored).toMatchObject({ version: 1, status: 'proposed' });
    const listed = await json(fetch(`${base}/v1/pipelines/claims/thresholds`));
    expect(listed.effective).toMatchObject({ source: 'config', threshold: 0.9 });
    expect(listed.versions[0]).toMatchObject({ version: 1, status: 'proposed', calibrator: { method: 'platt' } });

    const approved = await post('/v1/pipelines/claims/thresholds/1/approve', { by: 'lead' });
    expect(approved.status).toBe(200);
    expect(await json(approved)).toMatchObject({ version: 1, status: 'active', activated_by: 'lead' });

    const calibrator = report.calibrated?.calibrator;
    if (!calibrator || !report.threshold.feasible) throw new Error('expected a calibrator and a feasible threshold');
    const threshold = report.threshold.value;
    // Two raw confidences the raw threshold would both accept; the calibrated one decides.
    for (const [id, c] of [
      ['after-hi', 0.999],
      ['after-lo', 0.92],
    ] as const) {
      await post('/v1/pipelines/claims/records', { id, c });
      const rec = await settled(id, ['delivered', 'in_review']);
      const calibrated = applyCalibrator(calibrator, { confidence: [c] })[0];
      expect(rec.prediction).toMatchObject({ confidence: c, calibrated_confidence: calibrated, routing_version: 1 });
      if (calibrated >= threshold) {
        expect(rec.decision).toMatchObject({ source: 'auto', routing_version: 1, raw_confidence: c, confidence: calibrated });
      } else {
        expect(rec.status).toBe('in_review');
        expect(rec.cases[0]).toMatchObject({ type: 'low_confidence', reason: { raw_confidence: c, threshold } });
      }
    }
    // The overconfident model's 0.92 is far from 0.92 accurate: calibrated, it falls below the guaranteed threshold.
    expect(applyCalibrator(calibrator, { confidence: [0.92] })[0]).toBeLessThan(threshold);
  });

  it('sends never_auto labels and records matching a review rule to a person, whatever the confidence', async () => {
    await post('/v1/pipelines/claims/records', [
      { id: 'fraud-1', c: 0.999, label: 'fraud' },
      { id: 'big-1', c: 0.999, order: { amount: 900 } },
      { id: 'small-1', c: 0.999, order: { amount: 20 } },
    ]);
    const fraud = await settled('fraud-1', ['in_review']);
    expect(fraud.cases[0]).toMatchObject({ type: 'policy_review', reason: { reason: 'never_auto' } });
    const big = await settled('big-1', ['in_review']);
    expect(big.cases[0]).toMatchObject({ type: 'policy_review', reason: { reason: 'rule', rule: { field: 'order.amount', above: 500 } } });
    await settled('small-1', ['delivered']);
  });

  it('samples a share of automatic decisions for audit; the verdict is recorded and the decision stands', async () => {
    const ids = Array.from({ length: 80 }, (_, i) => `audit-${i}`);
    await post(
      '/v1/pipelines/claims/records',
      ids.map((id) => ({ id, c: 0.9999 })),
    );
    for (const id of ids) await settled(id, ['delivered']);
    const cases = (await json(fetch(`${base}/v1/review/cases?pipeline=claims&type=audit_sample&limit=1000`))).cases.filter(
      (c: { record_id: string }) => c.record_id.startsWith('audit-'),
    );
    // 25% of 80, drawn from the ids: not all, not none.
    expect(cases.length).toBeGreaterThan(5);
    expect(cases.length).toBeLessThan(40);
    expect(cases[0]).toMatchObject({ owner: 'qa', status: 'open' });
    const res = await post(`/v1/review/cases/${cases[0].id}/decision`, { label: 'other', by: 'qa-1' });
    expect(res.status).toBe(200);
    const rec = await json(res);
    expect(rec.status).toBe('delivered');
    expect(rec.decision.label).toBe('refund');
    expect(rec.events.find((e: { kind: string }) => e.kind === 'audit_verdict').detail).toMatchObject({ label: 'other', agrees: false });
  });

  it('calibrate --pipeline --apply, thresholds history and rollback work from the CLI on the same database', () => {
    const rows = path.join(dir, 'rows.jsonl');
    writeFileSync(rows, overconfidentRows(3000, 9));
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/airlock', '--config', file, ...args], { encoding: 'utf8' });
    const cal = cli(
      'calibrate',
      rows,
      '--method',
      'isotonic',
      '--target-accuracy',
      '0.85',
      '--pipeline',
      'claims',
      '--apply',
      '--by',
      'ml-eng',
    );
    expect(cal.stderr).toBe('');
    expect(cal.status).toBe(0);
    expect(cal.stdout).toMatch(/routing version 2 of claims is now active/);
    const history = cli('thresholds', 'history', '--pipeline', 'claims', '--json');
    const versions = JSON.parse(history.stdout).versions;
    expect(versions.map((v: { version: number; status: string }) => [v.version, v.status])).toEqual([
      [1, 'retired'],
      [2, 'active'],
    ]);
    expect(versions[1]).toMatchObject({ created_by: 'ml-eng', calibrator: { method: 'isotonic' } });
    const back = cli('thresholds', 'rollback', '--pipeline', 'claims', '--to', '1');
    expect(back.status).toBe(0);
    const again = JSON.parse(cli('thresholds', 'history', '--pipeline', 'claims', '--json').stdout).versions;
    expect(again.map((v: { status: string }) => v.status)).toEqual(['active', 'retired']);
    const none = cli('thresholds', 'approve', '--pipeline', 'claims');
    expect(none.status).not.toBe(0);
    expect(none.stderr).toContain('no proposed routing version');
  }, 60_000);
});
