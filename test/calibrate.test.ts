import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parsePredictions } from '../src/calibration/predictions.js';
import { type CalibrationOptions, calibrationReport } from '../src/calibration/report.js';
import syntheticJson from './fixtures/calibration/synthetic.json' with { type: 'json' };
import { type RunResult, runAirlock } from './support/cli.js';
import { ensureBuilt } from './support/serve.js';

// `airlock calibrate` end to end: files in a temp dir, `node bin/airlock calibrate …` (dist/, so build first),
// its output checked against calibrationReport run in this process on the same rows.

const _root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLASSES = ['c0', 'c1', 'c2', 'c3'];
const { inputs } = syntheticJson as unknown as {
  inputs: { probs: number[][]; labels: number[]; confidence: number[]; correct: boolean[] };
};

/** The synthetic fixture (2,000 rows, 4 classes, overconfident) with probs as objects… */
const objectRows = inputs.probs.map((probs, i) => ({
  label: CLASSES[inputs.labels[i]],
  probs: Object.fromEntries(CLASSES.map((c, k) => [c, probs[k]])),
}));
/** …and as arrays, which need --classes. */
const arrayRows = inputs.probs.map((probs, i) => ({ label: CLASSES[inputs.labels[i]], probs }));

function airlock(args: string[]): Promise<RunResult> {
  return runAirlock(args, { cwd: work });
}

/** calibrationReport in this process, as JSON would carry it. */
function inProcess(rows: unknown[], options: CalibrationOptions, classes?: string[]) {
  const { predictions, errors } = parsePredictions(rows, { classes });
  expect(errors).toEqual([]);
  return JSON.parse(JSON.stringify(calibrationReport(predictions, options)));
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s{4}at /m);

let work: string;
/** Every run starts in beforeAll, so they overlap; each test awaits its own. */
const runs: Record<string, Promise<RunResult>> = {};
const file = (name: string) => path.join(work, name);

beforeAll(() => {
  ensureBuilt();
  work = mkdtempSync(path.join(tmpdir(), 'airlock-calibrate-'));
  writeFileSync(file('synthetic.jsonl'), `${objectRows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(file('synthetic.json'), JSON.stringify(arrayRows));
  writeFileSync(
    file('malformed.jsonl'),
    [
      JSON.stringify({ label: 'a', probs: { a: 0.9, b: 0.1 } }),
      '{"label": "a", "probs": ',
      '',
      JSON.stringify({ probs: { a: 0.9, b: 0.1 } }),
      JSON.stringify({ label: 'b', probs: { a: 0.5, b: 0.3 } }),
      JSON.stringify({ label: 'b', probs: { a: 0.2, b: 0.8 } }),
    ].join('\n'),
  );
  writeFileSync(file('broken.json'), '[{"label": "a", ');
  writeFileSync(file('empty.jsonl'), '\n');
  const confidenceRows = inputs.confidence
    .slice(0, 60)
    .map((confidence, i) => JSON.stringify({ label: 'a', confidence, predicted: inputs.correct[i] ? 'a' : 'b' }));
  writeFileSync(file('confidence.jsonl'), confidenceRows.join('\n'));
  writeFileSync(file('small.jsonl'), confidenceRows.slice(0, 12).join('\n'));

  const calibrate = (...args: string[]) => airlock(['calibrate', ...args]);
  runs.jsonDefault = calibrate(file('synthetic.jsonl'), '--json');
  runs.jsonOptions = calibrate(
    file('synthetic.json'),
    '--classes',
    CLASSES.join(','),
    '--method',
    'platt',
    '--threshold-method',
    'sgr',
    '--fit-fraction',
    '0.3',
    '--seed',
    '9',
    '--delta',
    '0.1',
    '--target-accuracy',
    '0.8',
    '--json',
  );
  runs.unreachable = calibrate(file('synthetic.jsonl'), '--target-accuracy', '0.999');
  runs.reachable = calibrate(file('synthetic.jsonl'), '--target-accuracy', '0.6', '--html', file('report.html'));
  runs.small = calibrate(file('small.jsonl'), '--target-accuracy', '0.6');
  runs.malformed = calibrate(file('malformed.jsonl'));
  runs.broken = calibrate(file('broken.json'));
  runs.empty = calibrate(file('empty.jsonl'));
  runs.temperature = calibrate(file('confidence.jsonl'), '--method', 'temperature');
  runs.help = calibrate('--help');
  runs.badTarget = calibrate(file('synthetic.jsonl'), '--target-accuracy', '1.5');
  runs.badSeed = calibrate(file('synthetic.jsonl'), '--seed', 'abc');
});

afterAll(async () => {
  await Promise.allSettled(Object.values(runs));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('airlock calibrate --json', () => {
  test('is the report calibrationReport makes in-process on the same rows (defaults)', async () => {
    const run = await runs.jsonDefault;
    const expected = inProcess(objectRows, { targetAccuracy: 0.99, delta: 0.05, thresholdMethod: 'ltt-hb', fitFraction: 0.5, seed: 1 });
    const json = JSON.parse(run.stdout);
    expect(json).toEqual(expected);
    expect(json.rows).toBe(2000);
    expect(json.calibrated.method).toBe('temperature');
    // The default target (accuracy 0.99) is out of reach on this set: exit 1.
    expect(json.threshold.feasible).toBe(false);
    expect(run.code).toBe(1);
  });

  test('passes every option through (array probs with --classes, platt, sgr, fit fraction, seed, delta, target)', async () => {
    const run = await runs.jsonOptions;
    const expected = inProcess(
      arrayRows,
      { method: 'platt', thresholdMethod: 'sgr-cp', fitFraction: 0.3, seed: 9, delta: 0.1, targetAccuracy: 0.8 },
      CLASSES,
    );
    const json = JSON.parse(run.stdout);
    expect(json).toEqual(expected);
    expect(json.calibrated.method).toBe('platt');
    expect(json.calibrated.fit_rows).toBe(600);
    expect(json.threshold).toMatchObject({ method: 'sgr-cp', delta: 0.1, n: 1400 });
    expect(json.threshold.alpha).toBeCloseTo(0.2, 12);
    expect(run.code).toBe(json.threshold.feasible ? 0 : 1);
  });
});

describe('airlock calibrate, readable output and exit codes', () => {
  test('a target out of reach: ECE, calibrated and threshold lines, "none meets", exit 1', async () => {
    const run = await runs.unreachable;
    expect(run.code).toBe(1);
    const report = inProcess(objectRows, { targetAccuracy: 0.999 });
    expect(run.stdout).toContain('2000 predictions, accuracy 0.6340');
    expect(run.stdout).toMatch(new RegExp(`^raw: +ECE ${report.ece.toFixed(4)} `, 'm'));
    expect(run.stdout).toMatch(
      new RegExp(
        `^calibrated: temperature fitted on 1000 rows.* ECE ${report.calibrated.raw_on_evaluation.ece.toFixed(4)} → ${report.calibrated.ece.toFixed(4)}`,
        'm',
      ),
    );
    expect(run.stdout).toMatch(/^threshold: +none meets accuracy 0\.999 with probability ≥ 0\.95: /m);
    expect(run.stdout).toContain(`About ${report.threshold.labelsNeeded} labelled records would be needed`);
    expect(run.stdout.match(/labelled records would be needed/g)).toHaveLength(1);
    expect(run.stdout).toMatch(/^most confident errors: row \d+ /m);
    expect(run.stderr).toBe('');
  });

  test('a reachable target: the threshold line carries the guarantee, exit 0, and --html writes the page', async () => {
    const report = inProcess(objectRows, { targetAccuracy: 0.6 });
    expect(report.threshold.feasible).toBe(true);
    const run = await runs.reachable;
    expect(run.code).toBe(0);
    const t = report.threshold;
    expect(run.stdout).toContain(
      `threshold:  auto-accept at calibrated confidence ≥ ${t.value.toFixed(4)} — coverage ${(t.coverage * 100).toFixed(1)}%, error ${(t.error * 100).toFixed(2)}%, at most ${(t.error_upper_bound * 100).toFixed(2)}% with probability ≥ 0.95 (ltt-hb)`,
    );
    expect(run.stdout).toContain(`report: ${file('report.html')}`);
    const html = readFileSync(file('report.html'), 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|\b(src|href)\s*=/i);
    expect(html).toContain(t.value.toFixed(4));
  });

  test('too few rows for a calibrator: said plainly, and the threshold is on raw confidence', async () => {
    const run = await runs.small;
    expect(run.stdout).toContain('calibrated: (too few rows to fit and evaluate a calibrator)');
    expect(run.stdout).toMatch(/^note: only 12 rows/m);
    expect(run.stdout).not.toMatch(/at calibrated confidence/);
    expect([0, 1]).toContain(run.code);
  });

  test('a malformed file exits 2 naming each unusable row by its line', async () => {
    const run = await runs.malformed;
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('malformed.jsonl has 3 unusable row(s)');
    expect(run.stderr).toMatch(/row 2: not valid JSON/);
    expect(run.stderr).toMatch(/row 4: "label" is missing/);
    expect(run.stderr).toMatch(/row 5: probs sum to 0\.8000, not 1/);
    noStackTrace(run.stderr);
  });

  test('a file that is not JSON at all, or holds nothing, exits 2', async () => {
    const broken = await runs.broken;
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.json is not valid JSON/);
    noStackTrace(broken.stderr);
    const empty = await runs.empty;
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/holds no predictions/);
  });

  test('--method temperature on rows without class probabilities exits 2 with what to use instead', async () => {
    const run = await runs.temperature;
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^airlock: temperature scaling needs class probabilities.*--method platt/m);
    noStackTrace(run.stderr);
  });

  test('--help lists every option', async () => {
    const run = await runs.help;
    expect(run.code).toBe(0);
    for (const option of [
      '--method',
      'temperature',
      'platt',
      'isotonic',
      'histogram',
      '--target-accuracy',
      '--delta',
      '--threshold-method',
      'ltt',
      'sgr',
      '--fit-fraction',
      '--seed',
      '--classes',
      '--json',
      '--html',
    ]) {
      expect(run.stdout).toContain(option);
    }
  });

  test('--target-accuracy 1.5 and --seed abc are usage errors: exit 2, one sentence naming the option', async () => {
    const target = await runs.badTarget;
    expect(target.code).toBe(2);
    expect(target.stdout).toBe('');
    expect(target.stderr).toMatch(/--target-accuracy must be a number between 0 and 1.*"1\.5"/);
    noStackTrace(target.stderr);
    const seed = await runs.badSeed;
    expect(seed.code).toBe(2);
    expect(seed.stdout).toBe('');
    expect(seed.stderr).toMatch(/--seed must be a non-negative integer, got "abc"/);
  });
});
