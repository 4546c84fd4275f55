import { describe, expect, it } from 'vitest';
import { seededRandom } from './metrics.js';
import {
  estimatedAccuracy,
  type LabelledRow,
  measurePolicy,
  nextRefitAt,
  refitDueAt,
  refitRoutingPolicy,
  stratifiedAccuracy,
  withinAutoApplyBounds,
} from './refit.js';
import { clopperPearsonUpper, hoeffdingBentkusUpperBound } from './threshold.js';

const DAY = 86_400_000;
const goLive = Date.parse('2026-01-01T00:00:00Z');

/** n rows from a model whose accuracy at confidence c is accuracy(c); confidence uniform on [lo, 1). */
function rows(n: number, seed: number, source: LabelledRow['source'], accuracy: (c: number) => number, lo = 0.5): LabelledRow[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const c = lo + (1 - lo) * random();
    const right = random() < accuracy(c);
    return { source, label: right ? 'spam' : 'ham', predicted: 'spam', rawConfidence: c };
  });
}

describe('the refit schedule', () => {
  it('is weekly for the first 60 days after go-live, then every cadence after the last weekly refit', () => {
    const cadence = 30 * DAY;
    expect(refitDueAt(goLive, goLive + 6.9 * DAY, cadence)).toBeNull();
    expect(refitDueAt(goLive, goLive + 7 * DAY, cadence)).toBe(goLive + 7 * DAY);
    expect(refitDueAt(goLive, goLive + 20 * DAY, cadence)).toBe(goLive + 14 * DAY);
    expect(refitDueAt(goLive, goLive + 59 * DAY, cadence)).toBe(goLive + 56 * DAY);
    expect(refitDueAt(goLive, goLive + 85 * DAY, cadence)).toBe(goLive + 56 * DAY);
    expect(refitDueAt(goLive, goLive + 86 * DAY, cadence)).toBe(goLive + 86 * DAY);
    expect(refitDueAt(goLive, goLive + 200 * DAY, cadence)).toBe(goLive + 176 * DAY);
    expect(nextRefitAt(goLive, goLive, cadence)).toBe(goLive + 7 * DAY);
    expect(nextRefitAt(goLive, goLive + 50 * DAY, cadence)).toBe(goLive + 56 * DAY);
    expect(nextRefitAt(goLive, goLive + 57 * DAY, cadence)).toBe(goLive + 86 * DAY);
  });
});

describe('measuring a policy', () => {
  it('counts coverage and error among accepted rows, with the method’s upper bound', () => {
    const confidence = [0.99, 0.95, 0.9, 0.85, 0.8, 0.7];
    const correct = [true, true, false, true, true, false];
    const hb = measurePolicy(confidence, correct, 0.85, 0.1, 'ltt-hb');
    expect(hb).toMatchObject({ n: 6, accepted: 4, coverage: 4 / 6, error: 1 / 4 });
    expect(hb.error_upper_bound).toBe(hoeffdingBentkusUpperBound(1, 4, 0.1));
    const cp = measurePolicy(confidence, correct, 0.85, 0.1, 'sgr-cp');
    expect(cp.error_upper_bound).toBe(clopperPearsonUpper(1, 4, 0.1));
    expect(measurePolicy(confidence, correct, 1.5, 0.1, 'ltt-hb')).toMatchObject({
      accepted: 0,
      coverage: 0,
      error: null,
      error_upper_bound: 1,
    });
  });
});

describe('refitting calibrator and threshold', () => {
  const options = { method: 'platt' as const, alpha: 0.1, delta: 0.05, thresholdMethod: 'sgr-cp' as const, minLabels: 100 };
  // Pilot: calibrated (right with probability = confidence). Production: twice the errors at every confidence.
  const pilot = rows(3000, 1, 'calibration', (c) => c);
  const audit = rows(3000, 2, 'audit', (c) => 1 - 2 * (1 - c), 0.85);

  it('raises the threshold when audit samples show production got less accurate above it, and the new policy carries the guarantee', () => {
    const result = refitRoutingPolicy([...pilot, ...audit], { calibrator: null, threshold: 0.85 }, options);
    expect(result.outcome).toBe('ok');
    expect(result.rows).toEqual({ calibration: 3000, audit: 3000, review: 0 });
    if (!result.before || !result.after || !result.threshold?.feasible) throw new Error('expected a feasible refit');
    // The policy in force breaks its promise on today's labels; the refit keeps it.
    expect(result.before.error_upper_bound).toBeGreaterThan(options.alpha);
    expect(result.after.error_upper_bound).toBeLessThanOrEqual(options.alpha);
    expect(result.after.n).toBe(3000);
    expect(result.after.threshold).toBeGreaterThan(result.before.threshold);
  });

  it('uses review verdicts for the calibrator only: the guarantee is measured on the unbiased labels alone', () => {
    // Below the threshold reviewers found the model mostly wrong.
    const review = rows(5000, 5, 'review', () => 0.2, 0.5).map((r) => ({ ...r, rawConfidence: r.rawConfidence * 0.7 }));
    const without = refitRoutingPolicy([...pilot, ...audit], { calibrator: null, threshold: 0.85 }, options);
    const withReview = refitRoutingPolicy([...pilot, ...audit, ...review], { calibrator: null, threshold: 0.85 }, options);
    expect(withReview.rows.review).toBe(5000);
    expect(withReview.calibrator).not.toEqual(without.calibrator);
    // Same held-out unbiased rows (same split), so the policy in force measures the same with or without verdicts.
    expect(withReview.before).toEqual(without.before);
    expect(withReview.after?.n).toBe(without.after?.n);
    expect(withReview.after?.n).toBe(3000);
  });

  it('says how many labels it has and refuses to refit on too few', () => {
    const r = refitRoutingPolicy(
      rows(50, 6, 'calibration', (c) => c),
      null,
      options,
    );
    expect(r.outcome).toBe('insufficient');
    expect(r.reason).toContain('50 unbiased labels');
    expect(r.calibrator).toBeNull();
  });

  it('falls back to isotonic when temperature scaling has no class probabilities', () => {
    const r = refitRoutingPolicy(
      rows(600, 7, 'calibration', (c) => c),
      null,
      { ...options, method: 'temperature' },
    );
    expect(r.method).toBe('isotonic');
    expect(r.reason).toContain('isotonic used instead');
  });

  it('applies itself only within the configured bounds', () => {
    const result = refitRoutingPolicy([...pilot, ...audit], { calibrator: null, threshold: 0.85 }, options);
    expect(result.outcome).toBe('ok');
    const move = Math.abs((result.after?.threshold ?? 0) - 0.85);
    expect(withinAutoApplyBounds(result, { maxThresholdChange: move + 0.001, maxCoverageDrop: 1 }).ok).toBe(true);
    const tight = withinAutoApplyBounds(result, { maxThresholdChange: move / 2, maxCoverageDrop: 1 });
    expect(tight.ok).toBe(false);
    expect(tight.why).toContain('max_threshold_change');
    expect(withinAutoApplyBounds({ ...result, before: null }, { maxThresholdChange: 1, maxCoverageDrop: 1 }).ok).toBe(false);
  });
});

describe('accuracy without labels and with them', () => {
  it('estimates accuracy as the mean calibrated confidence (CBPE) and realises it per stratum', () => {
    expect(estimatedAccuracy([0.9, 0.8, 0.7])).toBeCloseTo(0.8, 12);
    expect(estimatedAccuracy([])).toBeNull();
    // 80% auto (audit: 95 of 100 right), 20% review (verdicts: 30 of 50 right): 0.8·0.95 + 0.2·0.6 = 0.88.
    expect(
      stratifiedAccuracy([
        { share: 0.8, correct: 95, labelled: 100 },
        { share: 0.2, correct: 30, labelled: 50 },
      ]),
    ).toBeCloseTo(0.88, 12);
    expect(stratifiedAccuracy([{ share: 1, correct: 0, labelled: 0 }])).toBeNull();
  });
});
