import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { mulberry32 } from '../drift/random.js';
import { AirlockError } from '../errors.js';
import {
  chooseAutoAcceptThreshold,
  clopperPearsonUpper,
  hoeffdingBentkusPValue,
  hoeffdingBentkusUpperBound,
  learnThenTestThreshold,
  minimumTestableCount,
  selectionSteps,
  selectionWithGuaranteedRisk,
  type ThresholdOptions,
  type ThresholdReport,
} from './threshold.js';

// Reference values: test/reference/threshold_reference.py (numpy/scipy) writes these fixtures.
function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/threshold/${name}`, import.meta.url), 'utf8')) as T;
}

interface BoundsFixture {
  n_min: { alpha: number; delta: number; n_min: number }[];
  sgr_steps: { m: number; steps: number }[];
  rows: {
    errors: number;
    n: number;
    hb_p_value: Record<string, number>;
    hb_upper: Record<string, number>;
    cp_upper: Record<string, number>;
  }[];
}

interface ReportCase {
  name?: string;
  confidence: number[];
  correct: boolean[];
  segment?: string[];
  options: ThresholdOptions;
  expected: ExpectedReport;
}

type ExpectedReport = Omit<ThresholdReport, 'segments' | 'reason'> & { labelsNeeded?: number; segments?: Record<string, ExpectedReport> };

interface SyntheticFixture {
  confidence: number[];
  correct: boolean[];
  segment: string[];
  cases: { options: ThresholdOptions; expected: ExpectedReport }[];
  per_threshold: {
    threshold: number;
    accepted: number;
    errors: number;
    'hb_p_value_alpha_0.05': number;
    'hb_upper_delta_0.05': number;
    'cp_upper_delta_0.05': number;
  }[];
}

/** |actual − expected| ≤ 1e−9 relative (absolute below 1e−300, where both libraries underflow differently). */
function expectClose(actual: number, expected: number, what: string): void {
  const scale = Math.max(Math.abs(expected), 1e-300);
  expect(Math.abs(actual - expected) / scale, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9);
}

function expectReport(actual: ThresholdReport, expected: ExpectedReport, where: string): void {
  expect(actual.feasible, `${where} feasible`).toBe(expected.feasible);
  expect(actual.method).toBe(expected.method);
  expect(actual.alpha).toBe(expected.alpha);
  expect(actual.delta).toBe(expected.delta);
  expect(actual.n, `${where} n`).toBe(expected.n);
  expect(actual.value, `${where} threshold`).toBe(expected.value);
  expect(actual.accepted, `${where} accepted`).toBe(expected.accepted);
  if (actual.feasible) {
    expect(actual.coverage).toBe(expected.coverage);
    expect(actual.error).toBe(expected.error);
    expectClose(actual.error_upper_bound, expected.error_upper_bound as number, `${where} error_upper_bound`);
    expect(actual.error_upper_bound).toBeLessThan(actual.alpha);
  } else {
    expect(actual.labelsNeeded, `${where} labelsNeeded`).toBe(expected.labelsNeeded);
    expect(actual.reason.length).toBeGreaterThan(20);
    expect(actual.coverage).toBeNull();
    expect(actual.error_upper_bound).toBeNull();
  }
  expect(Object.keys(actual.segments ?? {})).toEqual(Object.keys(expected.segments ?? {}));
  for (const [name, segment] of Object.entries(expected.segments ?? {})) {
    expectReport(actual.segments![name], segment, `${where} / ${name}`);
  }
}

describe('bounds and p-values against scipy', () => {
  const bounds = fixture<BoundsFixture>('bounds.json');

  test('Hoeffding–Bentkus p-values', () => {
    let checked = 0;
    for (const row of bounds.rows) {
      for (const [alpha, p] of Object.entries(row.hb_p_value)) {
        expectClose(hoeffdingBentkusPValue(row.errors, row.n, Number(alpha)), p, `p^HB(${row.errors}/${row.n}, α=${alpha})`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  test('Hoeffding–Bentkus and Clopper–Pearson upper bounds', () => {
    for (const row of bounds.rows) {
      for (const [delta, bound] of Object.entries(row.hb_upper)) {
        expectClose(hoeffdingBentkusUpperBound(row.errors, row.n, Number(delta)), bound, `HB upper(${row.errors}/${row.n}, δ=${delta})`);
      }
      for (const [delta, bound] of Object.entries(row.cp_upper)) {
        expectClose(clopperPearsonUpper(row.errors, row.n, Number(delta)), bound, `CP upper(${row.errors}/${row.n}, δ=${delta})`);
      }
    }
  });

  test('the fewest accepted records that can pass, and the number of SGR steps', () => {
    for (const { alpha, delta, n_min } of bounds.n_min) expect(minimumTestableCount(alpha, delta)).toBe(n_min);
    for (const { m, steps } of bounds.sgr_steps) expect(selectionSteps(m)).toBe(steps);
  });

  test('with no errors, a bound below 1% at 95% needs ln(1/0.05)/ln(1/0.99) ≈ 299 records', () => {
    expect(minimumTestableCount(0.01, 0.05)).toBe(299);
    expect(clopperPearsonUpper(0, 299, 0.05)).toBeLessThan(0.01);
    expect(clopperPearsonUpper(0, 298, 0.05)).toBeGreaterThan(0.01);
  });
});

describe('thresholds on 5,000 synthetic predictions, against the reference', () => {
  const synthetic = fixture<SyntheticFixture>('synthetic.json');

  test('per-threshold counts, p-values and bounds', () => {
    for (const row of synthetic.per_threshold) {
      let accepted = 0;
      let errors = 0;
      synthetic.confidence.forEach((c, i) => {
        if (c >= row.threshold) {
          accepted++;
          if (!synthetic.correct[i]) errors++;
        }
      });
      expect([accepted, errors]).toEqual([row.accepted, row.errors]);
      expectClose(hoeffdingBentkusPValue(errors, accepted, 0.05), row['hb_p_value_alpha_0.05'], `p^HB at ${row.threshold}`);
      expectClose(hoeffdingBentkusUpperBound(errors, accepted, 0.05), row['hb_upper_delta_0.05'], `HB upper at ${row.threshold}`);
      expectClose(clopperPearsonUpper(errors, accepted, 0.05), row['cp_upper_delta_0.05'], `CP upper at ${row.threshold}`);
    }
  });

  test.each(synthetic.cases.map((c) => [JSON.stringify(c.options).slice(0, 80), c] as const))('%s', (_name, { options, expected }) => {
    const report = chooseAutoAcceptThreshold(
      { confidence: synthetic.confidence, correct: synthetic.correct, segment: synthetic.segment },
      options,
    );
    expectReport(report, expected, JSON.stringify(options).slice(0, 60));
  });
});

describe('edge cases, against the reference', () => {
  const { cases } = fixture<{ cases: ReportCase[] }>('edge_cases.json');

  test.each(cases.map((c) => [`${c.name} (${c.options.method ?? 'ltt-hb'})`, c] as const))('%s', (name, c) => {
    const report = chooseAutoAcceptThreshold({ confidence: c.confidence, correct: c.correct, segment: c.segment }, c.options);
    expectReport(report, c.expected, name);
  });

  test('all correct but only 50 records: infeasible, 299 labels needed at α = 1%, δ = 5%', () => {
    const report = learnThenTestThreshold(
      Array.from({ length: 50 }, (_, i) => 0.5 + i / 100),
      Array(50).fill(true),
      { alpha: 0.01, delta: 0.05 },
    );
    expect(report).toMatchObject({ feasible: false, value: null, labelsNeeded: 299 });
    expect(report.feasible === false && report.reason).toContain('at least 299');
  });

  test('all wrong: no threshold, and more labels would not help', () => {
    const report = selectionWithGuaranteedRisk(
      Array.from({ length: 200 }, (_, i) => i / 200),
      Array(200).fill(false),
      { alpha: 0.05, delta: 0.05 },
    );
    expect(report).toMatchObject({ feasible: false, value: null, labelsNeeded: null });
  });

  test('no records: the labels needed if none were wrong, ⌈ln δ / ln(1 − α)⌉ for LTT', () => {
    const report = learnThenTestThreshold([], [], { alpha: 0.01, delta: 0.05 });
    expect(report).toMatchObject({ feasible: false, n: 0, labelsNeeded: 299 });
  });

  test('labels needed are always more than the labels at hand, or null when more would not help', () => {
    const infeasible = cases.filter((c) => !c.expected.feasible);
    expect(infeasible.length).toBeGreaterThan(5);
    for (const c of infeasible) {
      const report = chooseAutoAcceptThreshold(c, c.options);
      if (report.feasible) throw new Error(`${c.name} should be infeasible`);
      if (report.labelsNeeded === null) expect(report.reason).toContain('would not help');
      else expect(report.labelsNeeded).toBeGreaterThan(c.confidence.length);
    }
  });

  test('errors among the most confident records: more labels would not help, and the reason says so', () => {
    const confidence = Array.from({ length: 1010 }, (_, i) => 1 - i / 2000);
    const correct = confidence.map((_, i) => i >= 10);
    const report = learnThenTestThreshold(confidence, correct, { alpha: 0.02, delta: 0.05 });
    expect(report).toMatchObject({ feasible: false, labelsNeeded: null });
    expect(report.feasible === false && report.reason).toMatch(/the 149 most confident records .* have 10 errors/);
  });
});

describe('invalid input', () => {
  const data = { confidence: [0.9, 0.8], correct: [true, false] };

  test.each([
    [{ alpha: 0, delta: 0.05 }, 'alpha'],
    [{ alpha: 1, delta: 0.05 }, 'alpha'],
    [{ alpha: Number.NaN, delta: 0.05 }, 'alpha'],
    [{ alpha: 0.01, delta: 0 }, 'delta'],
    [{ alpha: 0.01, delta: 1.5 }, 'delta'],
    [{ alpha: 0.01, delta: 0.05, maxThresholds: 0 }, 'maxThresholds'],
    [{ alpha: 0.01, delta: 0.05, grid: [] }, 'grid'],
    [{ alpha: 0.01, delta: 0.05, method: 'sgr-cp', grid: [0.5] }, 'grid'],
  ] as [ThresholdOptions, string][])('%j is refused, naming %s', (options, field) => {
    expect(() => chooseAutoAcceptThreshold(data, options)).toThrow(AirlockError);
    expect(() => chooseAutoAcceptThreshold(data, options)).toThrow(field);
  });

  test('mismatched lengths and non-finite confidences are refused', () => {
    expect(() => chooseAutoAcceptThreshold({ confidence: [0.9], correct: [true, false] }, { alpha: 0.1, delta: 0.1 })).toThrow(
      'correct has 2',
    );
    expect(() => chooseAutoAcceptThreshold({ confidence: [0.9, Number.NaN], correct: [true, false] }, { alpha: 0.1, delta: 0.1 })).toThrow(
      'confidence[1]',
    );
    expect(() => chooseAutoAcceptThreshold({ ...data, segment: ['a'] }, { alpha: 0.1, delta: 0.1 })).toThrow('segment has 1');
  });

  test('the error is a usage error (exit code 2, HTTP 400)', () => {
    try {
      chooseAutoAcceptThreshold(data, { alpha: 0, delta: 0.05 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(AirlockError);
      expect((error as AirlockError).code).toBe('USAGE');
    }
  });
});

// -----------------------------------------------------------------------------------------------------------
// Simulation: the guarantee holds over random calibration sets
// -----------------------------------------------------------------------------------------------------------

/**
 * A miscalibrated (overconfident) classifier: confidence ~ Beta(a, 1), P(correct | c) = c^γ.
 * Its true selective risk has a closed form: R(t) = 1 − (a/(a+γ))·(1 − t^(a+γ))/(1 − t^a).
 */
const POPULATION = { a: 8, gamma: 2 };

function drawPredictions(random: () => number, n: number): { confidence: number[]; correct: boolean[] } {
  const confidence: number[] = [];
  const correct: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const c = random() ** (1 / POPULATION.a);
    confidence.push(c);
    correct.push(random() < c ** POPULATION.gamma);
  }
  return { confidence, correct };
}

function trueSelectiveRisk(t: number): number {
  const { a, gamma } = POPULATION;
  if (t <= 0) return 1 - a / (a + gamma);
  return 1 - (a / (a + gamma)) * ((1 - t ** (a + gamma)) / (1 - t ** a));
}

/** The naive rule with no guarantee: the lowest threshold whose empirical error is at most α. */
function naiveThreshold(confidence: readonly number[], correct: readonly boolean[], alpha: number): number {
  const order = confidence.map((_, i) => i).sort((i, j) => confidence[j] - confidence[i]);
  let errors = 0;
  let best = Number.POSITIVE_INFINITY;
  order.forEach((i, rank) => {
    if (!correct[i]) errors++;
    if (errors / (rank + 1) <= alpha) best = confidence[i];
  });
  return best;
}

describe('simulation: the realised error exceeds α in at most δ + 3σ of random calibration sets', () => {
  const alpha = 0.05;
  const delta = 0.1;
  const splits = 1000;
  const tolerance = delta + 3 * Math.sqrt((delta * (1 - delta)) / splits);

  test('LTT and SGR over 1,000 random halves of a 10,000-prediction fixture (test half: realised error among accepted)', () => {
    const random = mulberry32(20240611);
    const data = drawPredictions(random, 10_000);
    const indices = data.confidence.map((_, i) => i);
    const exceed = { 'ltt-hb': 0, 'sgr-cp': 0 };
    const chosen = { 'ltt-hb': 0, 'sgr-cp': 0 };
    let coverageSum = 0;
    for (let split = 0; split < splits; split++) {
      for (let i = indices.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [indices[i], indices[j]] = [indices[j], indices[i]];
      }
      const calibration = indices.slice(0, 5_000);
      const holdout = indices.slice(5_000);
      const confidence = calibration.map((i) => data.confidence[i]);
      const correct = calibration.map((i) => data.correct[i]);
      for (const method of ['ltt-hb', 'sgr-cp'] as const) {
        const report = chooseAutoAcceptThreshold({ confidence, correct }, { alpha, delta, method });
        if (!report.feasible) continue;
        chosen[method]++;
        if (method === 'ltt-hb') coverageSum += report.coverage;
        let accepted = 0;
        let errors = 0;
        for (const i of holdout) {
          if (data.confidence[i] >= report.value) {
            accepted++;
            if (!data.correct[i]) errors++;
          }
        }
        if (accepted > 0 && errors / accepted > alpha) exceed[method]++;
      }
    }
    // Most splits yield a threshold (the rest stop at the first test: an error among the 45 most confident records).
    expect(chosen['ltt-hb']).toBeGreaterThan(800);
    expect(coverageSum / chosen['ltt-hb']).toBeGreaterThan(0.1);
    expect(exceed['ltt-hb'] / splits).toBeLessThanOrEqual(tolerance);
    expect(exceed['sgr-cp'] / splits).toBeLessThanOrEqual(tolerance);
  });

  test('LTT over 1,000 fresh calibration sets: the true error among accepted exceeds α in at most δ + 3σ; the naive rule fails', () => {
    const random = mulberry32(7);
    let exceedLtt = 0;
    let exceedNaive = 0;
    for (let run = 0; run < splits; run++) {
      const { confidence, correct } = drawPredictions(random, 5_000);
      const report = learnThenTestThreshold(confidence, correct, { alpha, delta });
      if (report.feasible && trueSelectiveRisk(report.value) > alpha) exceedLtt++;
      if (trueSelectiveRisk(naiveThreshold(confidence, correct, alpha)) > alpha) exceedNaive++;
    }
    expect(exceedLtt / splits).toBeLessThanOrEqual(tolerance);
    // The same check catches a rule without a guarantee, so passing it means something.
    expect(exceedNaive / splits).toBeGreaterThan(tolerance);
  });
});
