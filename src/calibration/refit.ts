/**
 * The feedback loop's arithmetic: refit a calibrator and an auto-accept threshold from the labels a pipeline has
 * gathered, and measure the policy in force and the new one on the same held-out rows (the evidence of a proposal).
 *
 * Bias. Review verdicts exist only below the threshold in force (people see what the model was unsure of), so they
 * are not a sample of the records a threshold would accept: they feed the calibrator's lower range, never the
 * guarantee. The guarantee is chosen and measured only on labels that are unbiased there — the pre-launch
 * calibration set and the random audit sample of automatic decisions.
 */
import { applyCalibrator, type CalibrationMethod, type Calibrator, fitCalibrator, splitForCalibration } from './calibrators.js';
import { type LabelledPredictions, parsePredictions, subsetPredictions } from './predictions.js';
import {
  chooseAutoAcceptThreshold,
  clopperPearsonUpper,
  hoeffdingBentkusUpperBound,
  type ThresholdMethod,
  type ThresholdReport,
} from './threshold.js';

export type LabelOrigin = 'calibration' | 'review' | 'audit';

export interface LabelledRow {
  source: LabelOrigin;
  label: string;
  predicted: string;
  /** The model's own confidence, before any calibrator. */
  rawConfidence: number;
  probs?: Record<string, number> | null;
  segment?: string | null;
}

/** The routing policy in force, as a refit compares against it. */
export interface PolicyInForce {
  calibrator: Calibrator | null;
  threshold: number;
}

export interface RefitOptions {
  method: CalibrationMethod;
  alpha: number;
  delta: number;
  thresholdMethod: ThresholdMethod;
  /** Fewer unbiased labels than this: no refit. */
  minLabels: number;
  /** Per-segment thresholds (rows carry `segment`). */
  segments?: boolean;
  seed?: number;
}

/** A policy measured on held-out unbiased labels: what share it accepts, its error there, and the error's upper bound at 1 − δ. */
export interface PolicyMeasure {
  threshold: number;
  /** Labelled held-out rows. */
  n: number;
  accepted: number;
  coverage: number;
  error: number | null;
  /** One-sided upper confidence bound on the error among accepted rows (HB for ltt-hb, Clopper–Pearson for sgr-cp). */
  error_upper_bound: number;
}

export type RefitOutcome = 'ok' | 'insufficient' | 'infeasible';

export interface RefitResult {
  outcome: RefitOutcome;
  /** One sentence for people. */
  reason: string;
  rows: { calibration: number; audit: number; review: number };
  method: CalibrationMethod;
  calibrator: Calibrator | null;
  /** The new threshold on the held-out unbiased rows' calibrated confidence (absent when insufficient). */
  threshold: ThresholdReport | null;
  before: PolicyMeasure | null;
  after: PolicyMeasure | null;
}

/** Rows → the normalised form the calibrators take (class probabilities only when every row has them). */
function toPredictions(rows: readonly LabelledRow[]): LabelledPredictions {
  const withProbs = rows.length > 0 && rows.every((r) => r.probs && Object.hasOwn(r.probs, r.label));
  const raw = rows.map((r) => ({
    label: r.label,
    ...(withProbs ? { probs: r.probs } : { confidence: r.rawConfidence, predicted: r.predicted }),
    ...(r.segment != null ? { segment: r.segment } : {}),
  }));
  const { predictions, errors } = parsePredictions(raw);
  if (errors.length > 0) throw new RangeError(`unusable label row ${errors[0].row}: ${errors[0].message}`);
  return predictions;
}

/** Coverage, error and its upper bound of "accept when confidence ≥ threshold" on labelled rows. */
export function measurePolicy(
  confidence: readonly number[],
  correct: readonly boolean[],
  threshold: number,
  delta: number,
  method: ThresholdMethod,
): PolicyMeasure {
  let accepted = 0;
  let errors = 0;
  confidence.forEach((c, i) => {
    if (c >= threshold) {
      accepted++;
      if (!correct[i]) errors++;
    }
  });
  const n = confidence.length;
  return {
    threshold,
    n,
    accepted,
    coverage: n === 0 ? 0 : accepted / n,
    error: accepted === 0 ? null : errors / accepted,
    error_upper_bound:
      method === 'sgr-cp' ? clopperPearsonUpper(errors, accepted, delta) : hoeffdingBentkusUpperBound(errors, accepted, delta),
  };
}

/**
 * Refits: the calibrator on half of the unbiased labels plus every review verdict; the threshold (LTT or SGR, with its
 * guarantee) and both measures on the other half of the unbiased labels. Temperature scaling needs class
 * probabilities on every row; without them the method falls back to isotonic, and the result says so.
 */
export function refitRoutingPolicy(rows: readonly LabelledRow[], current: PolicyInForce | null, options: RefitOptions): RefitResult {
  const unbiased = rows.filter((r) => r.source !== 'review');
  const review = rows.filter((r) => r.source === 'review');
  const counts = {
    calibration: rows.filter((r) => r.source === 'calibration').length,
    audit: rows.filter((r) => r.source === 'audit').length,
    review: review.length,
  };
  const base = { rows: counts, method: options.method, calibrator: null, threshold: null, before: null, after: null };
  const needed = Math.max(options.minLabels, 20);
  if (unbiased.length < needed) {
    return {
      ...base,
      outcome: 'insufficient',
      reason: `${unbiased.length} unbiased labels (calibration set and audit samples); a refit needs at least ${needed}`,
    };
  }
  const all = toPredictions([...unbiased, ...review]);
  let method = options.method;
  let note = '';
  if (method === 'temperature' && !all.probs) {
    method = 'isotonic';
    note = '; temperature scaling needs class probabilities on every label, isotonic used instead';
  }
  const split = splitForCalibration(unbiased.length, 0.5, options.seed ?? 1);
  const reviewRows = review.map((_, i) => unbiased.length + i);
  const fit = subsetPredictions(all, [...split.fit, ...reviewRows]);
  const evaluation = subsetPredictions(all, split.evaluate);
  const calibrator = fitCalibrator(method, {
    confidence: fit.confidence,
    correct: fit.correct,
    probs: fit.probs,
    labels: fit.labelIndex,
  });
  const calibrated = applyCalibrator(calibrator, { confidence: evaluation.confidence, probs: evaluation.probs });
  const threshold = chooseAutoAcceptThreshold(
    {
      confidence: calibrated,
      correct: evaluation.correct,
      ...(options.segments && evaluation.segment ? { segment: evaluation.segment } : {}),
    },
    { alpha: options.alpha, delta: options.delta, method: options.thresholdMethod },
  );
  let before: PolicyMeasure | null = null;
  if (current) {
    let inForce = evaluation.confidence;
    if (current.calibrator) {
      try {
        inForce = applyCalibrator(current.calibrator, { confidence: evaluation.confidence, probs: evaluation.probs });
      } catch {
        inForce = evaluation.confidence;
      }
    }
    before = measurePolicy(inForce, evaluation.correct, current.threshold, options.delta, options.thresholdMethod);
  }
  if (!threshold.feasible) {
    return {
      ...base,
      method,
      calibrator,
      threshold,
      before,
      outcome: 'infeasible',
      reason: `no threshold carries the guarantee on ${evaluation.n} held-out labels: ${threshold.reason}${note}`,
    };
  }
  const after = measurePolicy(calibrated, evaluation.correct, threshold.value, options.delta, options.thresholdMethod);
  return {
    ...base,
    method,
    calibrator,
    threshold,
    before,
    after,
    outcome: 'ok',
    reason: `refitted ${method} on ${fit.n} labels (${counts.review} review verdicts among them); threshold chosen on ${evaluation.n} held-out unbiased labels${note}`,
  };
}

/** Whether a refit may apply itself: the threshold moves at most `maxThresholdChange` and coverage drops at most `maxCoverageDrop`. */
export function withinAutoApplyBounds(
  result: RefitResult,
  bounds: { maxThresholdChange: number; maxCoverageDrop: number },
): { ok: boolean; why: string } {
  if (result.outcome !== 'ok' || !result.after) return { ok: false, why: result.reason };
  if (!result.before) return { ok: false, why: 'no routing version in force to compare with: the first version needs a person' };
  const move = Math.abs(result.after.threshold - result.before.threshold);
  if (move > bounds.maxThresholdChange) {
    return { ok: false, why: `threshold moves by ${move.toFixed(4)}, more than max_threshold_change ${bounds.maxThresholdChange}` };
  }
  const drop = result.before.coverage - result.after.coverage;
  if (drop > bounds.maxCoverageDrop) {
    return { ok: false, why: `coverage drops by ${drop.toFixed(4)}, more than max_coverage_drop ${bounds.maxCoverageDrop}` };
  }
  return { ok: true, why: `threshold moves by ${move.toFixed(4)} and coverage by ${(-drop).toFixed(4)}, within the bounds` };
}

const DAY = 86_400_000;

/**
 * The refit due at `now`: weekly from go-live for the first 60 days (days 7, 14, …, 56), then every `cadenceMs` after
 * the last weekly one; the latest due time not after `now`, or null before the first. Missed refits are not replayed:
 * only the latest one runs.
 */
export function refitDueAt(goLive: number, now: number, cadenceMs: number): number | null {
  const elapsed = now - goLive;
  if (elapsed < 7 * DAY) return null;
  const weekly = Math.floor(elapsed / (7 * DAY));
  if (weekly <= 8) return goLive + weekly * 7 * DAY;
  const lastWeekly = goLive + 56 * DAY;
  return lastWeekly + Math.floor((now - lastWeekly) / cadenceMs) * cadenceMs;
}

/** The next refit after `now` (for people: "next refit on …"). */
export function nextRefitAt(goLive: number, now: number, cadenceMs: number): number {
  const due = refitDueAt(goLive, now, cadenceMs);
  if (due === null) return goLive + 7 * DAY;
  const step = due - goLive < 56 * DAY ? 7 * DAY : cadenceMs;
  return due + step;
}

/** Estimated accuracy without labels: the mean calibrated top-label confidence (NannyML CBPE; equals expected accuracy when calibrated). */
export function estimatedAccuracy(calibratedConfidence: readonly number[]): number | null {
  if (calibratedConfidence.length === 0) return null;
  let s = 0;
  for (const c of calibratedConfidence) s += c;
  return s / calibratedConfidence.length;
}

/**
 * Realised accuracy of a window from unbiased labels, stratified: accuracy of automatic decisions from the audit
 * sample weighted by their share, plus accuracy of the rest from review verdicts weighted by theirs (a stratified
 * estimator, Cochran 1977 §5.1). Null when a stratum that has records has no labels.
 */
export function stratifiedAccuracy(strata: readonly { share: number; correct: number; labelled: number }[]): number | null {
  let total = 0;
  for (const s of strata) {
    if (s.share === 0) continue;
    if (s.labelled === 0) return null;
    total += s.share * (s.correct / s.labelled);
  }
  return total;
}
