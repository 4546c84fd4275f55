import { describe, expect, test } from 'vitest';
import edgeCasesJson from '../../test/fixtures/calibration/edge-cases.json' with { type: 'json' };
import syntheticJson from '../../test/fixtures/calibration/synthetic.json' with { type: 'json' };
import {
  accuracy,
  assignBins,
  type BootstrapInterval,
  type BrierDecomposition,
  binaryNegativeLogLikelihood,
  brierDecomposition,
  brierScore,
  brierScoreInterval,
  confidenceAuroc,
  debiasedCalibrationError,
  equalMassCalibrationError,
  expectedCalibrationError,
  expectedCalibrationErrorInterval,
  maximumCalibrationError,
  multiclassBrierScore,
  negativeLogLikelihood,
  type ReliabilityBin,
  reliabilityDiagram,
  seededRandom,
  topLabel,
} from './metrics.js';

// Expected values come from test/reference/calibration_reference.py (scikit-learn, SciPy, NumPy).

interface TopLabelMetrics {
  accuracy: number;
  ece: number;
  eceEqualMass: number;
  mce: number;
  mceEqualMass: number;
  brier: number;
  binaryNll: number;
  auroc: number;
  reliability: ReliabilityBin[];
  reliabilityEqualMass: ReliabilityBin[];
  murphy: BrierDecomposition;
  murphyDistinct: BrierDecomposition;
}

interface Fixture {
  inputs: { confidence: number[]; correct: boolean[]; probs: number[][]; labels: number[]; weight?: number[] };
  metrics: {
    unweighted: TopLabelMetrics;
    weighted?: TopLabelMetrics;
    debiased: { squared: number; root: number };
    multiclass: { brier: number; nll: number };
    multiclassWeighted?: { brier: number; nll: number };
    topLabel?: { confidence: number[]; predicted: number[]; correct: boolean[] };
    bootstrap?: {
      options: { resamples: number; level: number; seed: number };
      ece: BootstrapInterval;
      brier: BootstrapInterval;
      eceWeighted: BootstrapInterval;
    };
  };
}

const synthetic = syntheticJson as unknown as Fixture;
const edgeCases = edgeCasesJson as unknown as Fixture;

/** Closed-form metrics must agree with the reference to 1e−9 (absolute). */
function expectClose(actual: number, expected: number, tolerance = 1e-9): void {
  expect(Math.abs(actual - expected), `${actual} vs reference ${expected}`).toBeLessThanOrEqual(tolerance);
}

function expectBinsClose(actual: ReliabilityBin[], expected: ReliabilityBin[]): void {
  expect(actual.map((b) => b.count)).toEqual(expected.map((b) => b.count));
  actual.forEach((bin, b) => {
    const ref = expected[b];
    expectClose(bin.lo, ref.lo, 0);
    expectClose(bin.hi, ref.hi, 0);
    expectClose(bin.weight, ref.weight);
    for (const key of ['meanConfidence', 'accuracy', 'gap'] as const) {
      if (ref[key] === null) expect(bin[key]).toBeNull();
      else expectClose(bin[key]!, ref[key]);
    }
  });
}

function expectDecompositionClose(actual: BrierDecomposition, expected: BrierDecomposition): void {
  for (const key of Object.keys(expected) as (keyof BrierDecomposition)[]) expectClose(actual[key], expected[key]);
}

describe.each([
  ['the synthetic 2,000-row set', synthetic, 15],
  ['the hand-checkable edge cases', edgeCases, 5],
])('top-label metrics on %s equal the reference', (_name, fixture, equalMassBins) => {
  const { confidence, correct } = fixture.inputs;
  const ref = fixture.metrics.unweighted;

  test('accuracy (sklearn accuracy_score)', () => expectClose(accuracy(correct), ref.accuracy));
  test('ECE, 15 equal-width bins', () => expectClose(expectedCalibrationError(confidence, correct), ref.ece));
  test('ECE, equal-mass bins', () =>
    expectClose(equalMassCalibrationError(confidence, correct, { bins: equalMassBins }), ref.eceEqualMass));
  test('MCE, both binnings', () => {
    expectClose(maximumCalibrationError(confidence, correct), ref.mce);
    expectClose(maximumCalibrationError(confidence, correct, { binning: 'equal-mass', bins: equalMassBins }), ref.mceEqualMass);
  });
  test('debiased L2 calibration error (Kumar et al. 2019)', () => {
    const debiased = debiasedCalibrationError(confidence, correct, { bins: equalMassBins });
    expectClose(debiased.squared, fixture.metrics.debiased.squared);
    expectClose(debiased.root, fixture.metrics.debiased.root);
  });
  test('binary Brier score (sklearn brier_score_loss)', () => expectClose(brierScore(confidence, correct), ref.brier));
  test('binary NLL (sklearn log_loss, eps 1e-15)', () => expectClose(binaryNegativeLogLikelihood(confidence, correct), ref.binaryNll));
  test('AUROC of confidence (sklearn roc_auc_score)', () => expectClose(confidenceAuroc(confidence, correct), ref.auroc));
  test('reliability bins (sklearn calibration_curve on the non-empty ones)', () => {
    expectBinsClose(reliabilityDiagram(confidence, correct), ref.reliability);
    expectBinsClose(reliabilityDiagram(confidence, correct, { binning: 'equal-mass', bins: equalMassBins }), ref.reliabilityEqualMass);
  });
  test("Murphy's decomposition over the ECE bins and over distinct forecasts", () => {
    expectDecompositionClose(brierDecomposition(confidence, correct), ref.murphy);
    expectDecompositionClose(brierDecomposition(confidence, correct, { binning: 'distinct' }), ref.murphyDistinct);
  });
  test('multi-class Brier score and NLL (sklearn log_loss)', () => {
    const { probs, labels } = fixture.inputs;
    expectClose(multiclassBrierScore(probs, labels), fixture.metrics.multiclass.brier);
    expectClose(negativeLogLikelihood(probs, labels), fixture.metrics.multiclass.nll);
  });
});

describe('weighted metrics equal sklearn with sample_weight', () => {
  const { confidence, correct, probs, labels } = synthetic.inputs;
  const weight = synthetic.inputs.weight!;
  const ref = synthetic.metrics.weighted!;

  test('accuracy, ECE, MCE, Brier, NLL, AUROC', () => {
    expectClose(accuracy(correct, weight), ref.accuracy);
    expectClose(expectedCalibrationError(confidence, correct, { weight }), ref.ece);
    expectClose(equalMassCalibrationError(confidence, correct, { weight }), ref.eceEqualMass);
    expectClose(maximumCalibrationError(confidence, correct, { weight }), ref.mce);
    expectClose(brierScore(confidence, correct, weight), ref.brier);
    expectClose(binaryNegativeLogLikelihood(confidence, correct, weight), ref.binaryNll);
    expectClose(confidenceAuroc(confidence, correct, weight), ref.auroc);
    expectClose(multiclassBrierScore(probs, labels, weight), synthetic.metrics.multiclassWeighted!.brier);
    expectClose(negativeLogLikelihood(probs, labels, weight), synthetic.metrics.multiclassWeighted!.nll);
  });
  test('reliability bins and decomposition', () => {
    expectBinsClose(reliabilityDiagram(confidence, correct, { weight }), ref.reliability);
    expectDecompositionClose(brierDecomposition(confidence, correct, { weight }), ref.murphy);
  });
});

describe('the hand-checkable edge cases, by hand', () => {
  const { confidence, correct, probs, labels } = edgeCases.inputs;

  test('confidence 0.4 sits on an edge and belongs to the bin (1/3, 0.4]; 0 to the first bin; 1 to the last', () => {
    const bins = reliabilityDiagram(confidence, correct);
    expect(bins).toHaveLength(15);
    expect(bins[5]).toMatchObject({ lo: 5 / 15, hi: 0.4, count: 3 });
    expectClose(bins[5].meanConfidence!, 0.4, 1e-15);
    expectClose(bins[5].accuracy!, 1 / 3, 1e-15);
    expect(bins[0]).toMatchObject({ count: 1, meanConfidence: 0, accuracy: 0, gap: 0 });
    expect(bins[14]).toMatchObject({ count: 2, meanConfidence: 0.975, accuracy: 1 });
    expect(bins[1]).toMatchObject({ count: 0, meanConfidence: null, accuracy: null, gap: null });
  });

  test('ECE = (0 + 0.2 + 3·(1/15) + 0.45 + 2·0.3 + 2·0.025) / 10 = 0.15 and MCE = 0.45', () => {
    expectClose(expectedCalibrationError(confidence, correct), 0.15, 1e-15);
    expectClose(maximumCalibrationError(confidence, correct), 0.45, 1e-15);
  });

  test('equal-mass bins keep the three tied 0.4s together in one bin', () => {
    // Five runs of two rows: [0, .2 | .4, .4 | .4, .55 | .8, .8 | .95, 1]; the cut inside the 0.4s moves up.
    const bins = reliabilityDiagram(confidence, correct, { binning: 'equal-mass', bins: 5 });
    expect(bins.map((b) => [b.lo, b.hi, b.count])).toEqual([
      [0, 0.2, 2],
      [0.2, 0.4, 3],
      [0.4, 0.55, 1],
      [0.55, 0.8, 2],
      [0.8, 1, 2],
    ]);
  });

  test('the debiased estimate can go below zero; its root is then 0', () => {
    // (2·0.01 + 3·((1/15)² − (2/9)/2) + 0 + 2·(0.09 − 0.25) + 2·0.000625) / 10
    const debiased = debiasedCalibrationError(confidence, correct, { bins: 5 });
    expectClose(debiased.squared, -0.061875, 1e-15);
    expect(debiased.root).toBe(0);
  });

  test('Brier scores: binary 1.605/10; multi-class 4.77/10 (a sure wrong row scores 2)', () => {
    expectClose(brierScore(confidence, correct), 0.1605, 1e-15);
    expectClose(multiclassBrierScore(probs, labels), 0.477, 1e-15);
  });

  test('a true class given probability 0 costs −log(1e−15) in the NLL, not infinity', () => {
    expect(Number.isFinite(negativeLogLikelihood(probs, labels))).toBe(true);
    expectClose(negativeLogLikelihood([[0, 1]], [0]), -Math.log(1e-15), 1e-9);
  });

  test('the top label of tied probabilities is the lowest class index, as numpy.argmax', () => {
    expect(topLabel(probs, labels)).toEqual(edgeCases.metrics.topLabel);
  });
});

describe("Murphy's decomposition", () => {
  const { confidence, correct } = synthetic.inputs;

  test('adds up: reliability − resolution + uncertainty + within-bin terms = Brier score', () => {
    for (const options of [{}, { binning: 'equal-mass' as const }, { bins: 5 }, { weight: synthetic.inputs.weight }]) {
      const d = brierDecomposition(confidence, correct, options);
      expectClose(d.reliability - d.resolution + d.uncertainty + d.withinBinVariance - d.withinBinCovariance, d.brier, 1e-12);
      expectClose(d.brier, brierScore(confidence, correct, options.weight), 1e-12);
    }
  });

  test("is Murphy's exact three-term identity when each bin holds one forecast value", () => {
    const d = brierDecomposition(edgeCases.inputs.confidence, edgeCases.inputs.correct, { binning: 'distinct' });
    expect(Math.abs(d.withinBinVariance)).toBeLessThan(1e-30);
    expect(Math.abs(d.withinBinCovariance)).toBeLessThan(1e-30);
    expectClose(d.reliability - d.resolution + d.uncertainty, d.brier, 1e-15);
  });
});

describe('bootstrap intervals', () => {
  const { confidence, correct } = synthetic.inputs;
  const boot = synthetic.metrics.bootstrap!;

  test('equal the reference resampling with the same seeded stream (mulberry32, percentile)', () => {
    for (const [actual, expected] of [
      [expectedCalibrationErrorInterval(confidence, correct, boot.options), boot.ece],
      [brierScoreInterval(confidence, correct, boot.options), boot.brier],
      [expectedCalibrationErrorInterval(confidence, correct, { ...boot.options, weight: synthetic.inputs.weight }), boot.eceWeighted],
    ] as const) {
      expectClose(actual.estimate, expected.estimate);
      expectClose(actual.lower, expected.lower);
      expectClose(actual.upper, expected.upper);
      expect(actual).toMatchObject({ level: 0.95, resamples: 200, seed: 7 });
    }
  });

  test('bracket the estimate, repeat with a seed, and change with another', () => {
    const a = expectedCalibrationErrorInterval(confidence, correct, { resamples: 100, seed: 1 });
    expect(a.lower).toBeLessThan(a.estimate);
    expect(a.upper).toBeGreaterThan(a.estimate);
    expect(expectedCalibrationErrorInterval(confidence, correct, { resamples: 100, seed: 1 })).toEqual(a);
    expect(expectedCalibrationErrorInterval(confidence, correct, { resamples: 100, seed: 2 }).lower).not.toBe(a.lower);
  });

  test('the seeded generator keeps a 32-bit state, so it does not degrade after 2^53 / 0x6d2b79f5 ≈ 4.9 million draws', () => {
    // Draw k + 1 comes from state seed + (k + 1)·0x6d2b79f5 mod 2^32, which a fresh generator reaches in one draw.
    const seed = 42;
    const k = 20_000_000;
    const random = seededRandom(seed);
    let sum = 0;
    for (let i = 0; i < k; i++) sum += random();
    const jumped = Number((BigInt(seed) + BigInt(k) * 0x6d2b79f5n) % 2n ** 32n);
    expect(random()).toBe(seededRandom(jumped)());
    expect(Math.abs(sum / k - 0.5)).toBeLessThan(0.001);
  });
});

describe('bad input is refused with a clear error', () => {
  test('a confidence outside [0, 1]', () => {
    expect(() => expectedCalibrationError([0.5, 1.2], [true, false])).toThrow(
      'confidence at row 1 must be a probability in [0, 1], got 1.2',
    );
    expect(() => brierScore([Number.NaN], [true])).toThrow(/row 0/);
  });
  test('arrays of different lengths, no rows, bad weights, bad labels', () => {
    expect(() => accuracy([])).toThrow('at least one prediction');
    expect(() => expectedCalibrationError([0.5], [true, false])).toThrow('1 rows but the outcomes have 2');
    expect(() => brierScore([0.5, 0.6], [true, false], [1, -1])).toThrow('weight at row 1');
    expect(() => brierScore([0.5], [true], [0])).toThrow('sum to zero');
    expect(() => negativeLogLikelihood([[0.5, 0.5]], [2])).toThrow('class index in [0, 2)');
    expect(() => assignBins([0.5], { bins: 0 })).toThrow('positive integer');
  });
  test('AUROC is NaN when every prediction is right (sklearn raises)', () => {
    expect(confidenceAuroc([0.9, 0.8], [true, true])).toBeNaN();
  });
});
