import { beforeAll, describe, expect, test } from 'vitest';
import syntheticJson from '../../test/fixtures/calibration/synthetic.json' with { type: 'json' };
import { applyCalibrator, splitForCalibration } from './calibrators.js';
import { calibrationReportHtml } from './html.js';
import { expectedCalibrationError, type ReliabilityBin } from './metrics.js';
import { type LabelledPredictions, parsePredictions, subsetPredictions } from './predictions.js';
import { type CalibrationOptions, type CalibrationReport, calibrationReport } from './report.js';
import { clopperPearsonUpper, hoeffdingBentkusPValue, hoeffdingBentkusUpperBound, selectionSteps } from './threshold.js';

// Reference values: test/fixtures/calibration/synthetic.json, made by test/reference/calibration_reference.py
// (scikit-learn, SciPy, NumPy). 2,000 rows, 4 classes, logits 2.5× too large: an overconfident model.

interface TopLabelReference {
  accuracy: number;
  ece: number;
  eceEqualMass: number;
  mce: number;
  auroc: number;
  reliability: ReliabilityBin[];
  murphy: Record<string, number>;
}

const fixture = syntheticJson as unknown as {
  inputs: { probs: number[][]; logits: number[][]; labels: number[]; weight: number[]; confidence: number[]; correct: boolean[] };
  metrics: {
    unweighted: TopLabelReference;
    weighted: TopLabelReference;
    debiased: { root: number };
    multiclass: { brier: number; nll: number };
    multiclassWeighted: { brier: number; nll: number };
    bootstrap: { options: { resamples: number; seed: number }; ece: { lower: number; upper: number } };
  };
  calibrators: { temperatureProbs: { temperature: number } };
};
const { inputs, metrics: ref } = fixture;
const CLASSES = ['c0', 'c1', 'c2', 'c3'];

function expectClose(actual: number | null | undefined, expected: number, tolerance = 1e-9): void {
  expect(actual).not.toBeNull();
  expect(actual).toBeDefined();
  expect(Math.abs((actual as number) - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

/** The fixture as the rows `airlock calibrate` reads: `{ label, probs }` with probs an array over CLASSES. */
function syntheticRows(extra: (i: number) => Record<string, unknown> = () => ({})): Record<string, unknown>[] {
  return inputs.probs.map((probs, i) => ({ label: CLASSES[inputs.labels[i]], probs, ...extra(i) }));
}

function parsed(rows: unknown[]): LabelledPredictions {
  const { predictions, errors } = parsePredictions(rows, { classes: CLASSES });
  expect(errors).toEqual([]);
  return predictions;
}

/** Softmax(log p / T), as temperature scaling on probabilities is defined (Guo et al. 2017, §4.2). */
function temperatureScaled(probs: number[], temperature: number): number[] {
  const z = probs.map((p) => Math.log(Math.max(p, 1e-15)) / temperature);
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

/** Mean multiclass NLL of the rows' labels under temperature T. */
function nllAt(p: LabelledPredictions, temperature: number): number {
  let total = 0;
  for (let i = 0; i < p.n; i++) total -= Math.log(temperatureScaled(p.probs![i], temperature)[p.labelIndex![i]]);
  return total / p.n;
}

/** Coverage, error and counts when accepting every row with confidence ≥ t. */
function acceptedAt(confidence: number[], correct: boolean[], t: number) {
  let accepted = 0;
  let errors = 0;
  confidence.forEach((c, i) => {
    if (c >= t) {
      accepted++;
      if (!correct[i]) errors++;
    }
  });
  return { accepted, errors, coverage: accepted / confidence.length, error: errors / accepted };
}

/** The evaluation split of calibrationReport, recomputed: same seed and fraction, the report's calibrator applied to it. */
function evaluationSplit(p: LabelledPredictions, report: CalibrationReport, options: { seed: number; fitFraction?: number }) {
  const split = splitForCalibration(p.n, options.fitFraction ?? 0.5, options.seed);
  const fit = subsetPredictions(p, split.fit);
  const evaluation = subsetPredictions(p, split.evaluate);
  const calibrator = report.calibrated!.calibrator;
  const calibrated = applyCalibrator(calibrator, { confidence: evaluation.confidence, probs: evaluation.probs, logits: evaluation.logits });
  return { fit, evaluation, calibrated };
}

let synthetic: LabelledPredictions;
/** seed 7 and 200 resamples: the fixture's bootstrap settings. */
const mainOptions = { seed: 7, resamples: 200, targetAccuracy: 0.7 } satisfies CalibrationOptions;
let main: CalibrationReport;

beforeAll(() => {
  synthetic = parsed(syntheticRows());
  main = calibrationReport(synthetic, mainOptions);
});

describe('raw metrics on every row equal the scikit-learn/SciPy reference', () => {
  test('the parsed rows are the fixture: same predicted class and correctness', () => {
    expect(synthetic.n).toBe(2000);
    expect(synthetic.confidence).toEqual(inputs.confidence);
    expect(synthetic.correct).toEqual(inputs.correct);
  });

  test('accuracy, ECE, equal-mass ECE, debiased error, MCE, multiclass Brier, NLL, AUROC', () => {
    expect(main.rows).toBe(2000);
    expectClose(main.accuracy, ref.unweighted.accuracy);
    expectClose(main.ece, ref.unweighted.ece);
    expectClose(main.ece_equal_mass, ref.unweighted.eceEqualMass);
    expectClose(main.ece_debiased, ref.debiased.root);
    expectClose(main.mce, ref.unweighted.mce);
    expect(main.brier_kind).toBe('multiclass');
    expectClose(main.brier, ref.multiclass.brier);
    expectClose(main.nll, ref.multiclass.nll);
    expectClose(main.auroc, ref.unweighted.auroc);
  });

  test('reliability bins and Murphy decomposition', () => {
    expect(main.reliability).toHaveLength(15);
    main.reliability.forEach((bin, b) => {
      const r = ref.unweighted.reliability[b];
      expect(bin.count).toBe(r.count);
      expectClose(bin.lo, r.lo, 1e-12);
      expectClose(bin.hi, r.hi, 1e-12);
      if (r.accuracy === null) expect(bin.accuracy).toBeNull();
      else {
        expectClose(bin.accuracy, r.accuracy);
        expectClose(bin.meanConfidence, r.meanConfidence as number);
      }
    });
    for (const key of ['brier', 'reliability', 'resolution', 'uncertainty'] as const) {
      expectClose(main.brier_decomposition[key], ref.unweighted.murphy[key]);
    }
  });

  test('the ECE bootstrap interval with the same seed and resamples', () => {
    expect(ref.bootstrap.options).toMatchObject({ resamples: 200, seed: 7 });
    expectClose(main.ece_interval[0], ref.bootstrap.ece.lower);
    expectClose(main.ece_interval[1], ref.bootstrap.ece.upper);
  });

  test('with row weights: the weighted references, and a note that the guarantee counts rows', () => {
    const weighted = calibrationReport(parsed(syntheticRows((i) => ({ weight: inputs.weight[i] }))), { resamples: 20 });
    expectClose(weighted.accuracy, ref.weighted.accuracy);
    expectClose(weighted.ece, ref.weighted.ece);
    expectClose(weighted.ece_equal_mass, ref.weighted.eceEqualMass);
    expectClose(weighted.mce, ref.weighted.mce);
    expectClose(weighted.brier, ref.multiclassWeighted.brier);
    expectClose(weighted.nll, ref.multiclassWeighted.nll);
    expectClose(weighted.auroc, ref.weighted.auroc);
    expect(weighted.notes.join(' ')).toMatch(/weights/);
  });

  test('wrong but confident: the wrong rows with the highest confidence, 1-based, most confident first', () => {
    const expected = inputs.confidence
      .map((c, i) => ({ c, i }))
      .filter(({ i }) => !inputs.correct[i])
      .sort((a, b) => b.c - a.c)
      .slice(0, 20);
    expect(main.wrong_but_confident.map((w) => w.row)).toEqual(expected.map(({ i }) => i + 1));
    for (const w of main.wrong_but_confident) {
      expect(w.label).toBe(CLASSES[inputs.labels[w.row - 1]]);
      expect(w.predicted).not.toBe(w.label);
      expect(w.confidence).toBe(inputs.confidence[w.row - 1]);
    }
  });
});

describe('the calibrator, fitted on one split and evaluated on the other', () => {
  test('with probs the default is temperature scaling; T minimises NLL on the fit split and is near the true 2.5', () => {
    const c = main.calibrated!;
    expect(c.method).toBe('temperature');
    expect(c.calibrator.method).toBe('temperature');
    expect(c.fit_rows).toBe(1000);
    expect(c.rows).toBe(1000);
    const { fit } = evaluationSplit(synthetic, main, mainOptions);
    const t = (c.calibrator as { params: { temperature: number } }).params.temperature;
    // The minimiser: NLL at T is below NLL a little either side of it.
    expect(nllAt(fit, t)).toBeLessThan(nllAt(fit, t * 0.99));
    expect(nllAt(fit, t)).toBeLessThan(nllAt(fit, t * 1.01));
    expect(Math.abs(t - fixture.calibrators.temperatureProbs.temperature)).toBeLessThan(0.4);
  });

  test('calibrated metrics are those of softmax(log p / T) on the evaluation split', () => {
    const c = main.calibrated!;
    const { evaluation, calibrated } = evaluationSplit(synthetic, main, mainOptions);
    const t = (c.calibrator as { params: { temperature: number } }).params.temperature;
    evaluation.probs!.forEach((probs, i) => {
      expectClose(calibrated[i], Math.max(...temperatureScaled(probs, t)), 1e-12);
    });
    expectClose(c.ece, expectedCalibrationError(calibrated, evaluation.correct));
    expectClose(c.accuracy, evaluation.correct.filter(Boolean).length / evaluation.n);
    // Top-label Brier of the calibrated confidence.
    const brier = calibrated.reduce((s, p, i) => s + (p - (evaluation.correct[i] ? 1 : 0)) ** 2, 0) / evaluation.n;
    expectClose(c.brier, brier);
    expectClose(c.raw_on_evaluation.ece, expectedCalibrationError(evaluation.confidence, evaluation.correct));
    expectClose(c.raw_on_evaluation.accuracy, c.accuracy);
  });

  test('on this overconfident set the calibrated ECE is far below the raw ECE on the same split', () => {
    const c = main.calibrated!;
    expect(c.raw_on_evaluation.ece).toBeGreaterThan(0.1);
    expect(c.ece).toBeLessThan(c.raw_on_evaluation.ece / 3);
    expect(c.brier).toBeLessThan(c.raw_on_evaluation.brier);
    expect(c.nll).toBeLessThan(c.raw_on_evaluation.nll);
  });

  test('Platt scaling on top-label confidence also fixes it', () => {
    const platt = calibrationReport(synthetic, { method: 'platt', resamples: 20 });
    expect(platt.calibrated!.method).toBe('platt');
    expect(platt.calibrated!.ece).toBeLessThan(platt.calibrated!.raw_on_evaluation.ece / 3);
  });

  test('rows of confidence + predicted default to Platt scaling, even when they carry logits', () => {
    const rows = inputs.confidence.slice(0, 200).map((confidence, i) => ({
      label: CLASSES[inputs.labels[i]],
      confidence,
      predicted: CLASSES[inputs.probs[i].indexOf(confidence)],
      logits: inputs.logits[i],
    }));
    const { predictions, errors } = parsePredictions(rows);
    expect(errors).toEqual([]);
    expect(predictions.logits).toHaveLength(200);
    const report = calibrationReport(predictions, { resamples: 20 });
    expect(report.calibrated!.method).toBe('platt');
    expect(report.brier_kind).toBe('top-label');
  });

  test('temperature scaling without class probabilities is a RangeError saying what to use instead', () => {
    const rows = inputs.confidence
      .slice(0, 40)
      .map((confidence, i) => ({ label: 'a', confidence, predicted: inputs.correct[i] ? 'a' : 'b' }));
    const { predictions } = parsePredictions(rows);
    expect(() => calibrationReport(predictions, { method: 'temperature' })).toThrow(RangeError);
    expect(() => calibrationReport(predictions, { method: 'temperature' })).toThrow(
      /temperature scaling needs class probabilities.*--method platt/,
    );
  });

  test('fewer than 20 rows: no calibrator, a note, and the threshold on raw confidence', () => {
    const small = subsetPredictions(
      synthetic,
      Array.from({ length: 19 }, (_, i) => i),
    );
    const report = calibrationReport(small, { resamples: 20 });
    expect(report.rows).toBe(19);
    expect(report.calibrated).toBeNull();
    expect(report.notes.join(' ')).toMatch(/only 19 rows.*at least 20.*raw confidence/);
    expect(report.threshold.confidence).toBe('raw');
    expect(report.threshold.n).toBe(19);

    const twenty = calibrationReport(
      subsetPredictions(
        synthetic,
        Array.from({ length: 20 }, (_, i) => i),
      ),
      { resamples: 20 },
    );
    expect(twenty.calibrated?.fit_rows).toBe(10);
    expect(twenty.threshold.confidence).toBe('calibrated');
    expect(twenty.threshold.n).toBe(10);
  });
});

describe('the auto-accept threshold, chosen on the evaluation split', () => {
  test('LTT: coverage and error are those of the calibrated evaluation confidences; the bound holds at α', () => {
    const t = main.threshold;
    expect(t.feasible).toBe(true);
    if (!t.feasible) return;
    expect(t.method).toBe('ltt-hb');
    expect(t.confidence).toBe('calibrated');
    expectClose(t.alpha, 0.3, 1e-12);
    expect(t.delta).toBe(0.05);
    const { evaluation, calibrated } = evaluationSplit(synthetic, main, mainOptions);
    expect(t.n).toBe(evaluation.n);
    const at = acceptedAt(calibrated, evaluation.correct, t.value);
    expect(t.accepted).toBe(at.accepted);
    expectClose(t.coverage, at.coverage, 1e-12);
    expectClose(t.error, at.error, 1e-12);
    expect(t.error).toBeLessThan(t.alpha);
    expect(t.error_upper_bound).toBeLessThanOrEqual(t.alpha);
    expectClose(t.error_upper_bound, hoeffdingBentkusUpperBound(at.errors, at.accepted, t.delta), 1e-9);
    expect(hoeffdingBentkusPValue(at.errors, at.accepted, t.alpha)).toBeLessThanOrEqual(t.delta);
  });

  test('SGR (Clopper–Pearson) on the same split', () => {
    const options = { seed: 3, targetAccuracy: 0.8, thresholdMethod: 'sgr-cp', resamples: 20 } satisfies CalibrationOptions;
    const report = calibrationReport(synthetic, options);
    const t = report.threshold;
    expect(t.feasible).toBe(true);
    if (!t.feasible) return;
    expect(t.method).toBe('sgr-cp');
    const { evaluation, calibrated } = evaluationSplit(synthetic, report, options);
    const at = acceptedAt(calibrated, evaluation.correct, t.value);
    expectClose(t.coverage, at.coverage, 1e-12);
    expectClose(t.error, at.error, 1e-12);
    expect(t.error_upper_bound).toBeLessThanOrEqual(t.alpha);
    expectClose(t.error_upper_bound, clopperPearsonUpper(at.errors, at.accepted, t.delta / selectionSteps(evaluation.n)), 1e-9);
  });

  test('a different fit fraction and seed move the split, and the threshold follows it', () => {
    const options = { seed: 11, fitFraction: 0.3, targetAccuracy: 0.7, resamples: 20 } satisfies CalibrationOptions;
    const report = calibrationReport(synthetic, options);
    expect(report.calibrated!.fit_rows).toBe(600);
    expect(report.threshold.n).toBe(1400);
    const t = report.threshold;
    if (!t.feasible) throw new Error('expected a feasible threshold');
    const { evaluation, calibrated } = evaluationSplit(synthetic, report, options);
    expectClose(t.coverage, acceptedAt(calibrated, evaluation.correct, t.value).coverage, 1e-12);
  });

  test('a target out of reach: no threshold, a reason, and how many labels would be needed', () => {
    const report = calibrationReport(synthetic, { targetAccuracy: 0.999, resamples: 20 });
    const t = report.threshold;
    expect(t.feasible).toBe(false);
    if (t.feasible) return;
    expect(t.value).toBeNull();
    expect(t.coverage).toBeNull();
    expect(t.error_upper_bound).toBeNull();
    expectClose(t.alpha, 0.001, 1e-12);
    expect(t.reason).toMatch(/1000 labelled records/);
    expect(t.labelsNeeded).toBeGreaterThan(1000);
  });

  test('segments get their own thresholds, on their evaluation rows', () => {
    const options = { targetAccuracy: 0.6, resamples: 20 } satisfies CalibrationOptions;
    const report = calibrationReport(parsed(syntheticRows((i) => ({ segment: i % 3 === 0 ? 'EU' : 'US' }))), options);
    const segments = report.threshold.segments!;
    expect(Object.keys(segments)).toEqual(['EU', 'US']);
    const evaluate = splitForCalibration(2000, 0.5, 1).evaluate;
    expect(segments.EU.n).toBe(evaluate.filter((i) => i % 3 === 0).length);
    expect(segments.US.n).toBe(evaluate.filter((i) => i % 3 !== 0).length);
  });
});

describe('the report as JSON', () => {
  test('has the field names of `airlock calibrate --json`', () => {
    const feasible = JSON.parse(JSON.stringify(main));
    const infeasible = JSON.parse(JSON.stringify(calibrationReport(synthetic, { targetAccuracy: 0.999, resamples: 20 })));
    const fields = ['rows', 'accuracy', 'ece', 'ece_equal_mass', 'ece_debiased', 'mce', 'brier', 'nll', 'auroc', 'reliability'];
    for (const json of [feasible, infeasible]) {
      for (const key of [...fields, 'calibrated', 'threshold']) expect(json, key).toHaveProperty([key]);
      for (const key of fields) expect(json.calibrated, `calibrated.${key}`).toHaveProperty([key]);
      for (const key of ['value', 'coverage', 'error', 'error_upper_bound', 'alpha', 'delta', 'method']) {
        expect(json.threshold, `threshold.${key}`).toHaveProperty([key]);
      }
      expect(typeof json.ece).toBe('number');
      expect(json.reliability).toHaveLength(15);
    }
    expect(typeof feasible.threshold.value).toBe('number');
    expect(infeasible.threshold.value).toBeNull();
  });
});

describe('the HTML page', () => {
  const nasty = '<b>&"';
  /** 30 confidence rows: the most confident is wrong and labelled `<b>&"`; a segment with markup in its name. */
  function nastyReport(): CalibrationReport {
    const rows = Array.from({ length: 30 }, (_, i) => ({
      label: i === 0 ? nasty : 'ok',
      predicted: 'ok',
      confidence: i === 0 ? 0.99 : 0.5 + (i % 10) / 25,
      segment: i % 2 ? "<i>'seg'</i>" : 'plain',
    }));
    const { predictions, errors } = parsePredictions(rows);
    expect(errors).toEqual([]);
    return calibrationReport(predictions, { resamples: 20 });
  }
  const page = (r: CalibrationReport, targetAccuracy = 0.99) =>
    calibrationReportHtml(r, { source: 'preds<1>.jsonl', generatedAt: '2025-01-01T00:00:00Z', targetAccuracy });

  test('is self-contained: no script, nothing loaded from elsewhere; charts as inline SVG', () => {
    const html = page(main);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href)\s*=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toMatch(/<svg/);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(4);
    expect(html).toContain(main.ece.toFixed(4));
    expect(html).toContain(main.calibrated!.ece.toFixed(4));
  });

  test('escapes labels, segment names and the source name', () => {
    const report = nastyReport();
    expect(report.wrong_but_confident[0].label).toBe(nasty);
    const html = page(report);
    expect(html).not.toContain(nasty);
    expect(html).toContain('&lt;b&gt;&amp;&quot;');
    expect(html).not.toContain("<i>'seg'</i>");
    expect(html).toContain('&lt;i&gt;&#39;seg&#39;&lt;/i&gt;');
    expect(html).toContain('preds&lt;1&gt;.jsonl');
  });

  test('says when no threshold carries the guarantee, with the labels needed said once', () => {
    const report = calibrationReport(synthetic, { targetAccuracy: 0.999, resamples: 20 });
    const html = page(report, 0.999);
    expect(html).toContain('No threshold carries the guarantee');
    expect(html.match(/labelled records would be needed/g)).toHaveLength(1);
  });

  test('names the confidence the threshold applies to: raw when there is no calibrator', () => {
    // 19 right answers: with α = 0.2 and δ = 0.05, 14 accepted without an error already carry the guarantee.
    const rows = Array.from({ length: 19 }, (_, i) => ({ label: 'a', predicted: 'a', confidence: 0.6 + i / 50 }));
    const small = calibrationReport(parsePredictions(rows).predictions, { targetAccuracy: 0.8, resamples: 20 });
    expect(small.threshold.feasible).toBe(true);
    expect(page(small, 0.8)).toContain('Auto-accept at raw confidence ≥');
    expect(page(main, 0.7)).toContain('Auto-accept at calibrated confidence ≥');
  });
});
