import { describe, expect, test } from 'vitest';
import edgeCasesJson from '../../test/fixtures/calibration/edge-cases.json' with { type: 'json' };
import syntheticJson from '../../test/fixtures/calibration/synthetic.json' with { type: 'json' };
import {
  applyCalibrator,
  applyHistogramBinning,
  applyIsotonicRegression,
  applyPlattScaling,
  applyTemperatureScaling,
  type Calibrator,
  crossFit,
  crossFitFolds,
  fitCalibrator,
  fitHistogramBinning,
  fitIsotonicRegression,
  fitPlattScaling,
  fitTemperatureScaling,
  parseCalibrator,
  splitForCalibration,
} from './calibrators.js';
import { expectedCalibrationError, negativeLogLikelihood } from './metrics.js';

// Expected values come from test/reference/calibration_reference.py (scikit-learn, SciPy, NumPy).

interface Histogram {
  bins: number;
  upperEdges: number[];
  values: number[];
  counts: number[];
  predictions: number[];
}

interface Temperature {
  temperature: number;
  nll: number;
  nllAtOne: number;
  calibratedConfidence: number[];
}

interface Fixture {
  inputs: { confidence: number[]; correct: boolean[]; probs: number[][]; labels: number[]; logits?: number[][] };
  calibrators: {
    platt: { smoothed: { slope: number; intercept: number }; unsmoothed: { slope: number; intercept: number } };
    isotonic: { x: number[]; y: number[]; probes: number[]; predictions: number[] };
    histogramEqualMass: Histogram;
    histogramEqualWidth: Histogram;
    temperatureLogits?: Temperature;
    temperatureProbs: Temperature;
  };
}

const synthetic = syntheticJson as unknown as Fixture;
const edgeCases = edgeCasesJson as unknown as Fixture;

function expectClose(actual: number, expected: number, tolerance: number): void {
  expect(Math.abs(actual - expected), `${actual} vs reference ${expected}`).toBeLessThanOrEqual(tolerance);
}

function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expectClose(actual[i], expected[i], tolerance);
}

function rows<T>(values: ArrayLike<T>, indices: number[]): T[] {
  return indices.map((i) => values[i]);
}

/** Fitted parameters agree with the reference optimiser to 1e−6; closed forms (isotonic, histogram) to 1e−9. */
describe.each([
  ['the synthetic 2,000-row set', synthetic],
  ['the hand-checkable edge cases', edgeCases],
])('calibrators on %s equal the reference', (_name, fixture) => {
  const { confidence, correct, probs, labels } = fixture.inputs;
  const ref = fixture.calibrators;

  test('Platt scaling with target smoothing (scipy trust-exact; sklearn _sigmoid_calibration agrees to 1e-3)', () => {
    const model = fitPlattScaling(confidence, correct);
    expectClose(model.params.slope, ref.platt.smoothed.slope, 1e-6);
    expectClose(model.params.intercept, ref.platt.smoothed.intercept, 1e-6);
    expect(model.params).toMatchObject({ input: 'logit', targetSmoothing: true });
  });

  test('Platt scaling without smoothing (sklearn LogisticRegression, no penalty)', () => {
    const model = fitPlattScaling(confidence, correct, { targetSmoothing: false });
    expectClose(model.params.slope, ref.platt.unsmoothed.slope, 1e-6);
    expectClose(model.params.intercept, ref.platt.unsmoothed.intercept, 1e-6);
  });

  test('isotonic regression (sklearn IsotonicRegression, out_of_bounds=clip): knots and predictions', () => {
    const model = fitIsotonicRegression(confidence, correct);
    expectAllClose(model.params.x, ref.isotonic.x, 0);
    expectAllClose(model.params.y, ref.isotonic.y, 1e-9);
    expectAllClose(applyIsotonicRegression(model, ref.isotonic.probes), ref.isotonic.predictions, 1e-9);
  });

  test('histogram binning, equal-mass and equal-width bins', () => {
    for (const [binning, expected] of [
      ['equal-mass', ref.histogramEqualMass],
      ['equal-width', ref.histogramEqualWidth],
    ] as const) {
      const model = fitHistogramBinning(confidence, correct, { binning, bins: expected.bins });
      expectAllClose(model.params.upperEdges, expected.upperEdges, 0);
      expectAllClose(model.params.values, expected.values, 1e-12);
      expect(model.params.counts).toEqual(expected.counts);
      const probes = ref.isotonic.probes;
      expectAllClose(applyHistogramBinning(model, probes), expected.predictions, 1e-12);
    }
  });

  test('temperature scaling on log-probabilities (scipy minimize_scalar, bounded)', () => {
    const model = fitTemperatureScaling({ probs }, labels);
    expectClose(model.params.temperature / ref.temperatureProbs.temperature, 1, 1e-6);
    expectClose(negativeLogLikelihood(applyTemperatureScaling(model, probs), labels), ref.temperatureProbs.nll, 1e-9);
    expectAllClose(applyCalibrator(model, { probs }), ref.temperatureProbs.calibratedConfidence, 1e-6);
  });
});

describe('temperature scaling on logits', () => {
  const { logits, labels } = synthetic.inputs;
  const ref = synthetic.calibrators.temperatureLogits!;

  test('finds the reference temperature, near the 2.5 the fixture was made overconfident by', () => {
    const model = fitTemperatureScaling({ logits: logits! }, labels);
    expectClose(model.params.temperature / ref.temperature, 1, 1e-6);
    expect(model.params.temperature).toBeGreaterThan(2);
    expect(model.params.temperature).toBeLessThan(3);
    expectAllClose(applyCalibrator(model, { logits }), ref.calibratedConfidence, 1e-6);
  });

  test('fitted on one split, it lowers the ECE and NLL of the other split and keeps every predicted label', () => {
    const { confidence, correct, probs } = synthetic.inputs;
    const split = splitForCalibration(labels.length, 0.5, 11);
    const model = fitTemperatureScaling({ logits: rows(logits!, split.fit) }, rows(labels, split.fit));
    const evalLogits = rows(logits!, split.evaluate);
    const evalLabels = rows(labels, split.evaluate);
    const evalCorrect = rows(correct, split.evaluate);
    const before = expectedCalibrationError(rows(confidence, split.evaluate), evalCorrect);
    const after = expectedCalibrationError(applyCalibrator(model, { logits: evalLogits }), evalCorrect);
    expect(before).toBeGreaterThan(0.15);
    expect(after).toBeLessThan(before / 3);
    const calibrated = applyTemperatureScaling(model, evalLogits);
    expect(negativeLogLikelihood(calibrated, evalLabels)).toBeLessThan(negativeLogLikelihood(rows(probs, split.evaluate), evalLabels));
    const argmax = (row: number[]) => row.indexOf(Math.max(...row));
    expect(calibrated.map(argmax)).toEqual(rows(probs, split.evaluate).map(argmax));
  });
});

describe('behaviour', () => {
  const { confidence, correct, probs, labels } = synthetic.inputs;

  test('isotonic output never decreases as confidence grows, stays in [0, 1], and clips outside the fitted range', () => {
    const model = fitIsotonicRegression(confidence, correct);
    const grid = Array.from({ length: 1001 }, (_, i) => i / 1000);
    const out = applyIsotonicRegression(model, grid);
    for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThanOrEqual(out[i - 1]);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...out)).toBeLessThanOrEqual(1);
    const { x, y } = model.params;
    expect(applyIsotonicRegression(model, [-5, 5])).toEqual([y[0], y[x.length - 1]]);
  });

  test('every calibrator lowers the ECE of the held-out split', () => {
    const split = splitForCalibration(labels.length, 0.5, 3);
    const fitData = {
      confidence: rows(confidence, split.fit),
      correct: rows(correct, split.fit),
      probs: rows(probs, split.fit),
      labels: rows(labels, split.fit),
    };
    const evalCorrect = rows(correct, split.evaluate);
    const before = expectedCalibrationError(rows(confidence, split.evaluate), evalCorrect);
    for (const method of ['temperature', 'platt', 'isotonic', 'histogram'] as const) {
      const model = fitCalibrator(method, fitData);
      const calibrated = applyCalibrator(model, { confidence: rows(confidence, split.evaluate), probs: rows(probs, split.evaluate) });
      expect(expectedCalibrationError(calibrated, evalCorrect), method).toBeLessThan(before / 2);
    }
  });

  test('a fitted calibrator survives JSON.stringify / JSON.parse and applies identically', () => {
    const data = { confidence, correct, probs, labels, logits: synthetic.inputs.logits };
    const models: Calibrator[] = [
      fitCalibrator('temperature', data),
      fitTemperatureScaling({ probs }, labels),
      fitCalibrator('platt', data),
      fitPlattScaling(confidence, correct, { targetSmoothing: false }),
      fitCalibrator('isotonic', data),
      fitCalibrator('histogram', data),
      fitHistogramBinning(confidence, correct, { binning: 'equal-width', bins: 15 }),
    ];
    for (const model of models) {
      const stored = parseCalibrator(JSON.parse(JSON.stringify(model)));
      expect(stored).toEqual(model);
      expect(stored.version).toBe(1);
      expect(applyCalibrator(stored, data)).toEqual(applyCalibrator(model, data));
    }
  });

  test('a stored calibrator that is not one is refused', () => {
    expect(() => parseCalibrator(null)).toThrow('expected an object');
    expect(() => parseCalibrator({ method: 'platt', version: 2, params: {} })).toThrow('unsupported version 2');
    expect(() => parseCalibrator({ method: 'temperature', version: 1, params: { temperature: -1, input: 'logits' } })).toThrow('positive');
    expect(() => parseCalibrator({ method: 'magic', version: 1, params: {} })).toThrow('unknown method "magic"');
    expect(() => parseCalibrator({ method: 'isotonic', version: 1, params: { x: [0, 1], y: [0] } })).toThrow('same length');
  });

  test('a temperature calibrator fitted on logits says so when given only probabilities', () => {
    const model = fitTemperatureScaling({ logits: synthetic.inputs.logits! }, labels);
    expect(() => applyCalibrator(model, { probs })).toThrow('fitted on logits');
  });

  test('Platt smoothing keeps the fit finite when the outcomes separate perfectly', () => {
    const model = fitPlattScaling([0.1, 0.2, 0.8, 0.9], [false, false, true, true]);
    expect(Number.isFinite(model.params.slope) && Number.isFinite(model.params.intercept)).toBe(true);
    const [low, , , high] = applyPlattScaling(model, [0.1, 0.2, 0.8, 0.9]);
    // Platt's targets for 2 positives and 2 negatives are 3/4 and 1/4: the fit cannot go beyond them by much.
    expect(low).toBeGreaterThan(0.1);
    expect(high).toBeLessThan(0.9);
    // Without smoothing the maximum-likelihood slope is infinite: the fit stops after its iteration budget, steep but finite.
    const unsmoothed = fitPlattScaling([0.1, 0.2, 0.8, 0.9], [false, false, true, true], { targetSmoothing: false });
    expect(Number.isFinite(unsmoothed.params.slope)).toBe(true);
    expect(unsmoothed.params.slope).toBeGreaterThan(model.params.slope);
  });
});

describe('splits', () => {
  test('splitForCalibration: disjoint, covering, sized by the fraction, repeatable by seed', () => {
    const split = splitForCalibration(1000, 0.3, 5);
    expect(split.fit).toHaveLength(300);
    expect(split.evaluate).toHaveLength(700);
    expect(new Set([...split.fit, ...split.evaluate]).size).toBe(1000);
    expect(split.fit).toEqual([...split.fit].sort((a, b) => a - b));
    expect(splitForCalibration(1000, 0.3, 5)).toEqual(split);
    expect(splitForCalibration(1000, 0.3, 6).fit).not.toEqual(split.fit);
    expect(splitForCalibration(2, 0.01, 1).fit).toHaveLength(1);
    expect(() => splitForCalibration(1, 0.5, 1)).toThrow('at least 2 rows');
  });

  test('crossFitFolds: each row is evaluated in exactly one fold and never fitted on there', () => {
    const folds = crossFitFolds(103, 5, 9);
    expect(folds.map((f) => f.evaluate.length)).toEqual([21, 21, 21, 20, 20]);
    const evaluated = folds.flatMap((f) => f.evaluate).sort((a, b) => a - b);
    expect(evaluated).toEqual(Array.from({ length: 103 }, (_, i) => i));
    for (const fold of folds) {
      expect(fold.fit.length + fold.evaluate.length).toBe(103);
      expect(fold.fit.some((row) => fold.evaluate.includes(row))).toBe(false);
    }
  });

  test('crossFit gives every row an out-of-fold calibrated value that beats the raw confidence', () => {
    const { confidence, correct } = synthetic.inputs;
    const { predictions, models } = crossFit(
      confidence.length,
      5,
      1,
      (fitRows) => fitIsotonicRegression(rows(confidence, fitRows), rows(correct, fitRows)),
      (model, evalRows) => applyIsotonicRegression(model, rows(confidence, evalRows)),
    );
    expect(models).toHaveLength(5);
    expect(predictions.every(Number.isFinite)).toBe(true);
    expect(expectedCalibrationError(predictions, correct)).toBeLessThan(expectedCalibrationError(confidence, correct) / 2);
  });
});
