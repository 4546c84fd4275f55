import { applyCalibrator, type CalibrationMethod, type Calibrator, fitCalibrator, splitForCalibration } from './calibrators.js';
import {
  accuracy,
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
  multiclassBrierScoreInterval,
  negativeLogLikelihood,
  type ReliabilityBin,
  reliabilityDiagram,
} from './metrics.js';
import { type LabelledPredictions, subsetPredictions } from './predictions.js';
import { chooseAutoAcceptThreshold, type ThresholdMethod, type ThresholdReport } from './threshold.js';

export interface CalibrationOptions {
  method?: CalibrationMethod;
  /** Target accuracy among auto-accepted records (α = 1 − target). Default 0.99. */
  targetAccuracy?: number;
  /** Risk that the guarantee fails. Default 0.05. */
  delta?: number;
  thresholdMethod?: ThresholdMethod;
  /** Share of rows the calibrator is fitted on; the rest evaluate it and choose the threshold. Default 0.5. */
  fitFraction?: number;
  seed?: number;
  /** Bootstrap resamples for the intervals. Default 500. */
  resamples?: number;
  /** Most "wrong but confident" rows listed. Default 20. */
  topErrors?: number;
}

/** The metrics of one set of confidences against outcomes (the `--json` field names of `airlock calibrate`). */
export interface CalibrationMetrics {
  rows: number;
  accuracy: number;
  /** Top-label ECE, 15 equal-width (lo, hi] bins (Guo et al. 2017, eq. 3). */
  ece: number;
  ece_interval: [number, number];
  /** ECE on 15 equal-mass bins. */
  ece_equal_mass: number;
  /** Debiased L2 calibration error, root of the unbiased squared estimate (Kumar et al. 2019). */
  ece_debiased: number;
  mce: number;
  /** Multi-class Brier (Brier 1950) when class probabilities are known, else binary Brier of the top-label confidence. */
  brier: number;
  brier_kind: 'multiclass' | 'top-label';
  brier_interval: [number, number];
  /** Murphy's decomposition of the top-label Brier score on the 15 bins. */
  brier_decomposition: BrierDecomposition;
  /** Negative log-likelihood: multi-class with probabilities, else binary on the top label. */
  nll: number;
  /** AUROC of confidence for separating right from wrong (null when all are right or all wrong). */
  auroc: number | null;
  reliability: ReliabilityBin[];
  confidence_histogram: { lo: number; hi: number; count: number }[];
  /** Accuracy and coverage when auto-accepting at each confidence quantile. */
  coverage_accuracy: { threshold: number; coverage: number; accuracy: number }[];
}

export interface CalibrationReport extends CalibrationMetrics {
  wrong_but_confident: { row: number; label: string; predicted: string; confidence: number }[];
  /** The calibrator, fitted on the fit split and evaluated on the evaluation split. */
  calibrated:
    | (CalibrationMetrics & {
        method: CalibrationMethod;
        calibrator: Calibrator;
        fit_rows: number;
        /** The raw metrics on the same evaluation split, for comparison. */
        raw_on_evaluation: Pick<CalibrationMetrics, 'ece' | 'brier' | 'nll' | 'accuracy'>;
      })
    | null;
  /** The auto-accept threshold on calibrated confidence (raw when no calibrator could be fitted), chosen on the evaluation split. */
  threshold: ThresholdReport & { confidence: 'calibrated' | 'raw' };
  notes: string[];
}

const interval = (i: BootstrapInterval): [number, number] => [i.lower, i.upper];

/** Every metric of `airlock calibrate` for the given confidences (calibrated or raw) of the predictions. */
export function calibrationMetrics(
  p: LabelledPredictions,
  confidence: number[],
  options: { resamples?: number; seed?: number; useProbs: boolean },
): CalibrationMetrics {
  const { correct, weight } = p;
  const resamples = options.resamples ?? 500;
  const seed = options.seed ?? 0;
  const multiclass = options.useProbs && p.probs && p.labelIndex;
  const brier = multiclass ? multiclassBrierScore(p.probs!, p.labelIndex!, weight) : brierScore(confidence, correct, weight);
  const brierCi = multiclass
    ? multiclassBrierScoreInterval(p.probs!, p.labelIndex!, { weight, resamples, seed })
    : brierScoreInterval(confidence, correct, { weight, resamples, seed });
  const nll = multiclass
    ? negativeLogLikelihood(p.probs!, p.labelIndex!, weight)
    : binaryNegativeLogLikelihood(confidence, correct, weight);
  const auroc = confidenceAuroc(confidence, correct, weight);
  return {
    rows: p.n,
    accuracy: accuracy(correct, weight),
    ece: expectedCalibrationError(confidence, correct, { weight }),
    ece_interval: interval(expectedCalibrationErrorInterval(confidence, correct, { weight, resamples, seed })),
    ece_equal_mass: equalMassCalibrationError(confidence, correct, { weight }),
    ece_debiased: debiasedCalibrationError(confidence, correct).root,
    mce: maximumCalibrationError(confidence, correct, { weight }),
    brier,
    brier_kind: multiclass ? 'multiclass' : 'top-label',
    brier_interval: interval(brierCi),
    brier_decomposition: brierDecomposition(confidence, correct, { weight }),
    nll,
    auroc: Number.isFinite(auroc) ? auroc : null,
    reliability: reliabilityDiagram(confidence, correct, { weight }),
    confidence_histogram: histogram(confidence, 20),
    coverage_accuracy: coverageAccuracy(confidence, correct),
  };
}

function histogram(values: number[], bins: number): { lo: number; hi: number; count: number }[] {
  const out = Array.from({ length: bins }, (_, b) => ({ lo: b / bins, hi: (b + 1) / bins, count: 0 }));
  for (const v of values) out[Math.min(bins - 1, Math.max(0, Math.ceil(v * bins) - 1))].count++;
  return out;
}

/** Coverage and accuracy when accepting confidence ≥ t, at 50 quantiles of the confidences. */
function coverageAccuracy(confidence: number[], correct: boolean[]): { threshold: number; coverage: number; accuracy: number }[] {
  const order = confidence.map((_, i) => i).sort((a, b) => confidence[b] - confidence[a]);
  const out: { threshold: number; coverage: number; accuracy: number }[] = [];
  const steps = Math.min(50, order.length);
  let right = 0;
  let k = 0;
  for (let s = 1; s <= steps; s++) {
    const upto = Math.round((s / steps) * order.length);
    while (k < upto) {
      if (correct[order[k]]) right++;
      k++;
    }
    // Include every row tied with the last one accepted.
    const t = confidence[order[k - 1]];
    while (k < order.length && confidence[order[k]] === t) {
      if (correct[order[k]]) right++;
      k++;
    }
    if (out.length && out[out.length - 1].threshold === t) continue;
    out.push({ threshold: t, coverage: k / order.length, accuracy: right / k });
  }
  return out;
}

/**
 * The whole calibration report: raw metrics on every row; a calibrator fitted on one split and evaluated on the
 * other; the auto-accept threshold with its guarantee chosen on the evaluation split's calibrated confidences.
 */
export function calibrationReport(p: LabelledPredictions, options: CalibrationOptions = {}): CalibrationReport {
  const notes: string[] = [];
  const seed = options.seed ?? 1;
  const target = options.targetAccuracy ?? 0.99;
  const delta = options.delta ?? 0.05;
  const raw = calibrationMetrics(p, p.confidence, { resamples: options.resamples, seed, useProbs: true });
  const wrong = p.confidence
    .map((c, i) => ({ row: i + 1, label: p.label[i], predicted: p.predicted[i], confidence: c, correct: p.correct[i] }))
    .filter((r) => !r.correct)
    .sort((a, b) => b.confidence - a.confidence)
    .slice(0, options.topErrors ?? 20)
    .map(({ correct: _c, ...r }) => r);

  // Temperature scaling needs the true class of each row among the scores' classes: rows with "probs" give it.
  const canScaleTemperature = Boolean(p.labelIndex && (p.logits || p.probs));
  const method: CalibrationMethod = options.method ?? (canScaleTemperature ? 'temperature' : 'platt');
  let calibrated: CalibrationReport['calibrated'] = null;
  let thresholdConfidence = p.confidence;
  let thresholdCorrect = p.correct;
  let thresholdSegments = p.segment;
  let confidenceKind: 'calibrated' | 'raw' = 'raw';
  if (p.n >= 20) {
    const split = splitForCalibration(p.n, options.fitFraction ?? 0.5, seed);
    const fit = subsetPredictions(p, split.fit);
    const evaluation = subsetPredictions(p, split.evaluate);
    if (method === 'temperature' && !canScaleTemperature) {
      throw new RangeError(
        'temperature scaling needs class probabilities ("probs", optionally with "logits"); use --method platt, isotonic or histogram',
      );
    }
    const calibrator = fitCalibrator(method, {
      confidence: fit.confidence,
      correct: fit.correct,
      probs: fit.probs,
      logits: fit.logits,
      labels: fit.labelIndex,
    });
    const calibratedConfidence = applyCalibrator(calibrator, {
      confidence: evaluation.confidence,
      probs: evaluation.probs,
      logits: evaluation.logits,
    });
    const metrics = calibrationMetrics(evaluation, calibratedConfidence, { resamples: options.resamples, seed, useProbs: false });
    const rawEval = calibrationMetrics(evaluation, evaluation.confidence, { resamples: 1, seed, useProbs: false });
    calibrated = {
      ...metrics,
      method,
      calibrator,
      fit_rows: fit.n,
      raw_on_evaluation: { ece: rawEval.ece, brier: rawEval.brier, nll: rawEval.nll, accuracy: rawEval.accuracy },
    };
    thresholdConfidence = calibratedConfidence;
    thresholdCorrect = evaluation.correct;
    thresholdSegments = evaluation.segment;
    confidenceKind = 'calibrated';
  } else {
    notes.push(`only ${p.n} rows: too few to fit and evaluate a calibrator (at least 20); the threshold uses raw confidence`);
  }
  const threshold = chooseAutoAcceptThreshold(
    { confidence: thresholdConfidence, correct: thresholdCorrect, segment: thresholdSegments },
    { alpha: 1 - target, delta, method: options.thresholdMethod },
  );
  if (p.weight) notes.push('row weights are used by the metrics; calibrator fits and the threshold guarantee count every row once');
  return { ...raw, wrong_but_confident: wrong, calibrated, threshold: { ...threshold, confidence: confidenceKind }, notes };
}
