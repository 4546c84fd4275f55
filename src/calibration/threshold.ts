/**
 * Auto-accept threshold with a statistical guarantee.
 *
 * A record is auto-accepted when its confidence is at least the threshold t. For a threshold t:
 *   coverage(t) = share of records accepted,
 *   R(t)        = P(wrong | confidence ≥ t), the error among auto-accepted records (the selective risk).
 * Given labelled records, we choose t so that R(t) ≤ α holds with probability at least 1 − δ over the
 * draw of those records, with the largest coverage we can certify. With nothing accepted there is no
 * error to speak of: a threshold that accepts no labelled record is never chosen, and its p-value is 1.
 *
 * Formulation (conditional risk, n = number accepted). For a threshold t fixed before the labels are
 * seen, the labelled records with confidence ≥ t are, given their number n_t, an i.i.d. sample of the
 * accepted population, so their error count is Binomial(n_t, R(t)). Any valid p-value for
 * "Binomial mean > α" computed with n = n_t is therefore valid for H_t: R(t) > α, conditionally on n_t
 * and so unconditionally (LTT's bounded-loss setting with the loss 1{wrong} on the accepted records).
 *
 * Method 'ltt-hb' (default): Learn then Test (Angelopoulos, Bates, Candès, Jordan & Lei 2021,
 * arXiv:2110.01052) with the Hoeffding–Bentkus p-value and fixed-sequence testing: thresholds from the
 * most conservative (highest) to the lowest, reject H_t while p_t ≤ δ, stop at the first failure; the
 * chosen threshold is the lowest rejected one. The candidate thresholds are the distinct confidence values
 * (at most `maxThresholds`, else that many thresholds evenly spaced by rank), or a grid the caller fixes.
 * Thresholds accepting fewer than n_min records, where even zero errors could not give p ≤ δ
 * (n_min = min{n : (1−α)^n ≤ δ}), are skipped rather than counted as the first failure — otherwise the
 * sequence would always stop at the top, where a handful of records are accepted.
 *   Why this is valid. Fixed-sequence testing controls the family-wise error at δ when the order is fixed
 *   in advance (LTT, fixed-sequence procedure). Here the order is by confidence (fixed), but the candidate
 *   values and the first tested one depend on the confidences of the calibration records. That is harmless
 *   under one assumption, stated here because the guarantee rests on it: P(wrong | confidence = c) does not
 *   increase with c (more confident is never more error-prone; true of any calibrated score). Then the
 *   null thresholds {t : R(t) > α} form a lower interval; the first null in the sequence accepts a set of
 *   records whose errors, given how many there are, stochastically dominate Binomial(n, α) — those records
 *   are the records above a boundary, plus (for a rank grid or a late start) records just below it, whose
 *   error probability is at least the boundary's — so the first null is rejected with probability ≤ δ, and
 *   with fixed-sequence testing no null is rejected unless the first one is. (Without the assumption, LTT's
 *   own guarantee covers a grid fixed in advance tested from its top; skipping by counts is what needs it.)
 *
 * Method 'sgr-cp': Selection with Guaranteed Risk (Geifman & El-Yaniv 2017, "Selective Classification for
 * Deep Neural Networks", Algorithm 1): binary search over the sorted confidences for ⌈log2 m⌉ steps, each
 * candidate tested with the Clopper–Pearson (binomial tail inversion) bound at level δ/⌈log2 m⌉ (their
 * eq. (4)); by the union bound every tested candidate's bound holds simultaneously with probability ≥ 1−δ.
 * Algorithm 1 outputs the last tested candidate with its bound, which may exceed the target; here the
 * output is the tested candidate with the largest coverage whose bound is below α, or infeasible.
 *
 * Segments: each segment gets its own threshold and report, each at level 1 − δ (not simultaneous: to hold
 * for all S segments at once with probability 1 − δ, pass δ/S).
 *
 * Pure: data in, data out.
 */
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import { AirlockError } from '../errors.js';

export type ThresholdMethod = 'ltt-hb' | 'sgr-cp';

export interface ThresholdOptions {
  /** Target error among auto-accepted records, 0 < α < 1 (target accuracy 0.99 → α = 0.01). */
  alpha: number;
  /** Allowed probability that the guarantee fails, 0 < δ < 1. */
  delta: number;
  /** 'ltt-hb' (default) or 'sgr-cp'. */
  method?: ThresholdMethod;
  /** Candidate thresholds fixed in advance ('ltt-hb' only); default: the distinct confidence values. */
  grid?: readonly number[];
  /** Most candidate thresholds taken from the data before switching to a grid evenly spaced by rank. */
  maxThresholds?: number;
}

export interface ThresholdInput {
  /** Confidence of each prediction (calibrated or raw); any finite number, higher = more confident. */
  confidence: readonly number[];
  /** Whether each prediction was right. */
  correct: readonly boolean[];
  /** Optional segment of each prediction; each segment then gets its own threshold. */
  segment?: readonly string[];
}

interface ThresholdReportBase {
  method: ThresholdMethod;
  alpha: number;
  delta: number;
  /** Labelled records the threshold was chosen on. */
  n: number;
  /** Per segment, when segments were given. */
  segments?: Record<string, ThresholdReport>;
}

export interface FeasibleThreshold extends ThresholdReportBase {
  feasible: true;
  /** Auto-accept when confidence ≥ value. */
  value: number;
  /** Share of the labelled records auto-accepted at this threshold. */
  coverage: number;
  /** Empirical error among the accepted labelled records. */
  error: number;
  /** Upper confidence bound on the error among accepted records ('ltt-hb': HB at δ; 'sgr-cp': CP at δ/⌈log2 m⌉). */
  error_upper_bound: number;
  /** Labelled records accepted at this threshold. */
  accepted: number;
}

export interface InfeasibleThreshold extends ThresholdReportBase {
  feasible: false;
  value: null;
  coverage: null;
  error: null;
  error_upper_bound: null;
  accepted: 0;
  /** One sentence: why no threshold carries the guarantee. */
  reason: string;
  /**
   * Labelled records that would be needed, assuming the error rate r̂ and coverage c observed at a threshold stay the
   * same: for each threshold more labels could reach with r̂ < α, the smallest accepted count n* above today's whose
   * test passes with ⌈n*·r̂⌉ errors, as a total n* ÷ c; the fewest over those thresholds. Reachable: for 'ltt-hb' the
   * thresholds at or above the first failed test (all, when none was tested); for 'sgr-cp' the thresholds its search
   * tried. Always more than n. null when no reachable threshold has r̂ < α: more labels at these rates would not help.
   * With no records at all: the count needed if none were wrong.
   */
  labelsNeeded: number | null;
}

export type ThresholdReport = FeasibleThreshold | InfeasibleThreshold;

const DEFAULT_MAX_THRESHOLDS = 10_000;
/** Candidate thresholds examined for labelsNeeded (evenly spaced over the grid). */
const LABELS_NEEDED_CANDIDATES = 1_000;
/** Past this many records labelsNeeded stops searching (the target is out of reach at that threshold). */
const LABELS_SEARCH_LIMIT = 2 ** 40;

// ---------------------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------------------

/** h1(a, b) = a·log(a/b) + (1−a)·log((1−a)/(1−b)), Bernoulli KL divergence in the Hoeffding term: Bates et al. 2021 (RCPS), Hoeffding–Bentkus bound; LTT p^HB. */
export function bernoulliKlDivergence(a: number, b: number): number {
  const first = a === 0 ? 0 : a * Math.log(a / b);
  const second = a === 1 ? 0 : (1 - a) * Math.log((1 - a) / (1 - b));
  return first + second;
}

/** p^HB = min(exp(−n·h1(R̂∧α, α)), e·P(Binom(n, α) ≤ ⌈n·R̂⌉)) for H: risk > α, R̂ = errors/n: LTT (Angelopoulos et al. 2021) Hoeffding–Bentkus p-value. */
export function hoeffdingBentkusPValue(errors: number, n: number, alpha: number): number {
  if (n === 0) return 1;
  const riskHat = errors / n;
  const hoeffding = Math.exp(-n * bernoulliKlDivergence(Math.min(riskHat, alpha), alpha));
  // ⌈n·R̂⌉ is the error count itself; using the integer avoids n·(k/n) rounding to k + 1 ulp.
  const bentkus = Math.E * binomialCdf(errors, n, alpha);
  return Math.min(hoeffding, bentkus);
}

/** p^HB ≤ δ, without computing the binomial tail when the Hoeffding term already rejects (same decision, faster). */
function hoeffdingBentkusRejects(errors: number, n: number, alpha: number, delta: number): boolean {
  if (n === 0) return false;
  if (Math.exp(-n * bernoulliKlDivergence(Math.min(errors / n, alpha), alpha)) <= delta) return true;
  return Math.E * binomialCdf(errors, n, alpha) <= delta;
}

/** R̂⁺_HB = sup{R : p^HB(R̂; n, R) > δ}, the Hoeffding–Bentkus upper confidence bound: Bates et al. 2021 (RCPS), Hoeffding–Bentkus bound. */
export function hoeffdingBentkusUpperBound(errors: number, n: number, delta: number): number {
  if (n === 0 || errors >= n) return 1;
  // p^HB(R) is continuous and decreasing in R on [R̂, 1]: p(R̂) = 1 > δ and p(1) = 0 < δ; bisect.
  let low = errors / n;
  let high = 1;
  for (let i = 0; i < 200 && high - low > 1e-15; i++) {
    const mid = (low + high) / 2;
    if (hoeffdingBentkusPValue(errors, n, mid) > delta) low = mid;
    else high = mid;
  }
  return high;
}

/** B*(k, n, δ) = sup{b : P(Binom(n, b) ≤ k) ≥ δ} = Beta⁻¹(1−δ; k+1, n−k), one-sided Clopper–Pearson upper bound: Geifman & El-Yaniv 2017 eq. (4); Clopper & Pearson 1934. */
export function clopperPearsonUpper(errors: number, n: number, delta: number): number {
  if (n === 0 || errors >= n) return 1;
  return betaQuantile(1 - delta, errors + 1, n - errors);
}

/** n_min = min{n : p^HB(0 errors; n, α) ≤ δ} = ⌈ln δ / ln(1−α)⌉: the fewest accepted records that can show risk ≤ α (LTT p^HB at R̂ = 0). */
export function minimumTestableCount(alpha: number, delta: number): number {
  let n = Math.max(1, Math.floor(Math.log(delta) / Math.log1p(-alpha)) - 1);
  while (hoeffdingBentkusPValue(0, n, alpha) > delta) n++;
  while (n > 1 && hoeffdingBentkusPValue(0, n - 1, alpha) <= delta) n--;
  return n;
}

// ---------------------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------------------

/** The auto-accept threshold for the whole set, and per segment when segments are given. */
export function chooseAutoAcceptThreshold(input: ThresholdInput, options: ThresholdOptions): ThresholdReport {
  validateInput(input);
  validateOptions(options);
  const overall = thresholdFor(input.confidence, input.correct, options);
  if (!input.segment) return overall;
  const members = new Map<string, number[]>();
  input.segment.forEach((name, i) => {
    const list = members.get(name);
    if (list) list.push(i);
    else members.set(name, [i]);
  });
  // Object.fromEntries defines own properties, so any segment name (even "__proto__") is a plain key.
  const segments: Record<string, ThresholdReport> = Object.fromEntries(
    [...members.keys()].sort().map((name) => {
      const indices = members.get(name)!;
      const report = thresholdFor(
        indices.map((i) => input.confidence[i]),
        indices.map((i) => input.correct[i]),
        options,
      );
      return [name, report];
    }),
  );
  return { ...overall, segments };
}

/** Learn then Test with Hoeffding–Bentkus p-values and fixed-sequence testing (see the file comment). */
export function learnThenTestThreshold(
  confidence: readonly number[],
  correct: readonly boolean[],
  options: Omit<ThresholdOptions, 'method'>,
): ThresholdReport {
  validateInput({ confidence, correct });
  validateOptions(options);
  return thresholdFor(confidence, correct, { ...options, method: 'ltt-hb' });
}

/** Geifman & El-Yaniv's Selection with Guaranteed Risk with Clopper–Pearson bounds (see the file comment). */
export function selectionWithGuaranteedRisk(
  confidence: readonly number[],
  correct: readonly boolean[],
  options: Omit<ThresholdOptions, 'method' | 'grid'>,
): ThresholdReport {
  validateInput({ confidence, correct });
  validateOptions(options);
  return thresholdFor(confidence, correct, { ...options, method: 'sgr-cp' });
}

function thresholdFor(confidence: readonly number[], correct: readonly boolean[], options: ThresholdOptions): ThresholdReport {
  const table = new ConfidenceTable(confidence, correct);
  return options.method === 'sgr-cp' ? runSelectionWithGuaranteedRisk(table, options) : runLearnThenTest(table, options);
}

// ---------------------------------------------------------------------------------------------------------
// Sorted confidences: how many records, and how many wrong ones, a threshold accepts
// ---------------------------------------------------------------------------------------------------------

interface Candidate {
  threshold: number;
  accepted: number;
  errors: number;
}

class ConfidenceTable {
  readonly n: number;
  /** All confidences, ascending. */
  readonly ascending: Float64Array;
  /** Confidences of the wrong predictions, ascending. */
  private readonly wrongAscending: Float64Array;

  constructor(confidence: readonly number[], correct: readonly boolean[]) {
    this.n = confidence.length;
    this.ascending = Float64Array.from(confidence).sort();
    const wrong: number[] = [];
    for (let i = 0; i < confidence.length; i++) if (!correct[i]) wrong.push(confidence[i]);
    this.wrongAscending = Float64Array.from(wrong).sort();
  }

  /** Records with confidence ≥ threshold, and the wrong ones among them. */
  at(threshold: number): Candidate {
    return {
      threshold,
      accepted: this.n - lowerBound(this.ascending, threshold),
      errors: this.wrongAscending.length - lowerBound(this.wrongAscending, threshold),
    };
  }

  /**
   * Candidate thresholds from the most conservative to the least: the distinct confidence values, or — past
   * maxThresholds of them — the r_j-th largest confidence for r_j = ⌈j·n/maxThresholds⌉, j = 1…maxThresholds.
   */
  candidates(maxThresholds: number): Candidate[] {
    const { ascending, n } = this;
    let distinct = 0;
    for (let i = 0; i < n; i++) if (i === 0 || ascending[i] !== ascending[i - 1]) distinct++;
    if (distinct > maxThresholds) {
      const values: number[] = [];
      for (let j = 1; j <= maxThresholds; j++) {
        const value = ascending[n - Math.ceil((j * n) / maxThresholds)];
        if (values.length === 0 || values[values.length - 1] !== value) values.push(value);
      }
      return values.map((value) => this.at(value));
    }
    // One sweep from the top: each distinct value with the records (and wrong ones) at or above it.
    const result: Candidate[] = [];
    const wrong = this.wrongAscending;
    let wrongBelow = wrong.length;
    for (let i = n - 1; i >= 0; ) {
      const value = ascending[i];
      let lowest = i;
      while (lowest > 0 && ascending[lowest - 1] === value) lowest--;
      while (wrongBelow > 0 && wrong[wrongBelow - 1] >= value) wrongBelow--;
      result.push({ threshold: value, accepted: n - lowest, errors: wrong.length - wrongBelow });
      i = lowest - 1;
    }
    return result;
  }
}

/** First index i with sorted[i] ≥ value (sorted.length when none). */
function lowerBound(sorted: Float64Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

// ---------------------------------------------------------------------------------------------------------
// Method 1: Learn then Test, Hoeffding–Bentkus p-values, fixed-sequence testing
// ---------------------------------------------------------------------------------------------------------

function runLearnThenTest(table: ConfidenceTable, options: ThresholdOptions): ThresholdReport {
  const { alpha, delta } = options;
  const candidates = options.grid
    ? [...new Set(options.grid)].sort((a, b) => b - a).map((t) => table.at(t))
    : table.candidates(options.maxThresholds ?? DEFAULT_MAX_THRESHOLDS);
  const nMin = minimumTestableCount(alpha, delta);

  let chosen: Candidate | undefined;
  let firstFailure: Candidate | undefined;
  for (const candidate of candidates) {
    if (candidate.accepted < nMin) continue;
    if (hoeffdingBentkusRejects(candidate.errors, candidate.accepted, alpha, delta)) chosen = candidate;
    else {
      firstFailure = candidate;
      break;
    }
  }

  if (chosen) {
    return feasible('ltt-hb', options, table.n, chosen, hoeffdingBentkusUpperBound(chosen.errors, chosen.accepted, delta));
  }
  if (table.n === 0) return noRecords('ltt-hb', options);
  // With more labels the sequence would start higher: the thresholds at or above the first failure are the reachable ones.
  const reachable = firstFailure ? candidates.filter((c) => c.threshold >= firstFailure.threshold) : candidates;
  const needed = labelsNeeded(table, reachable, options, 'ltt-hb');
  let reason: string;
  if (table.n < nMin) {
    reason = `Only ${table.n} labelled records: even with no errors, at least ${nMin} auto-accepted records are needed to bound the error at ${percent(alpha)} with probability ${percent(1 - delta)}.`;
  } else if (firstFailure) {
    const bound = hoeffdingBentkusUpperBound(firstFailure.errors, firstFailure.accepted, delta);
    reason = `No threshold meets the target: the ${firstFailure.accepted} most confident records (confidence ≥ ${firstFailure.threshold}) have ${firstFailure.errors} errors (${percent(firstFailure.errors / firstFailure.accepted)}), an error bound of ${percent(bound)} above the target ${percent(alpha)}.`;
  } else {
    reason = `No candidate threshold accepts the ${nMin} records needed to bound the error at ${percent(alpha)} with probability ${percent(1 - delta)}.`;
  }
  return infeasible('ltt-hb', options, table.n, withLabelsAdvice(reason, needed), needed);
}

// ---------------------------------------------------------------------------------------------------------
// Method 2: Selection with Guaranteed Risk (Geifman & El-Yaniv 2017, Algorithm 1), Clopper–Pearson bounds
// ---------------------------------------------------------------------------------------------------------

/** ⌈log2 m⌉, at least 1: the number of binary-search steps, each tested at δ/steps (Geifman & El-Yaniv 2017, Algorithm 1). */
export function selectionSteps(m: number): number {
  let steps = 0;
  while (2 ** steps < m) steps++;
  return Math.max(1, steps);
}

function runSelectionWithGuaranteedRisk(table: ConfidenceTable, options: ThresholdOptions): ThresholdReport {
  const { alpha, delta } = options;
  const m = table.n;
  if (m === 0) return noRecords('sgr-cp', options);
  const steps = selectionSteps(m);
  const stepDelta = delta / steps;
  // Confidences sorted ascending, positions z = 1…m; candidate z accepts every record with confidence ≥ κ(x_z).
  let zMin = 1;
  let zMax = m;
  let best: { candidate: Candidate; bound: number } | undefined;
  const tried: { candidate: Candidate; bound: number }[] = [];
  for (let step = 0; step < steps; step++) {
    const z = Math.ceil((zMin + zMax) / 2);
    const candidate = table.at(table.ascending[z - 1]);
    const bound = clopperPearsonUpper(candidate.errors, candidate.accepted, stepDelta);
    tried.push({ candidate, bound });
    if (bound < alpha) {
      zMax = z;
      // The search only moves down after a success, so this candidate has the largest coverage so far.
      best = { candidate, bound };
    } else {
      zMin = z;
    }
  }
  if (best) return feasible('sgr-cp', options, m, best.candidate, best.bound);
  // Every step failed, so the search climbed: coverage about 1/2, 1/4, …; with more labels it would try the same shares.
  const needed = labelsNeeded(
    table,
    tried.map((t) => t.candidate),
    options,
    'sgr-cp',
  );
  const tightest = tried.reduce((a, b) => (b.bound < a.bound ? b : a));
  const reason = `None of the ${steps} thresholds tried has a Clopper–Pearson error bound below ${percent(alpha)}: the tightest is ${percent(tightest.bound)} for the ${tightest.candidate.accepted} records with confidence ≥ ${tightest.candidate.threshold} (${tightest.candidate.errors} errors).`;
  return infeasible('sgr-cp', options, m, withLabelsAdvice(reason, needed), needed);
}

// ---------------------------------------------------------------------------------------------------------
// labelsNeeded: how many labelled records would make the target reachable
// ---------------------------------------------------------------------------------------------------------

/** Whether `accepted` records with `errors` errors pass the method's test; `total` is the labelled set size it implies. */
function passes(method: ThresholdMethod, errors: number, accepted: number, total: number, alpha: number, delta: number): boolean {
  if (method === 'ltt-hb') return hoeffdingBentkusPValue(errors, accepted, alpha) <= delta;
  return clopperPearsonUpper(errors, accepted, delta / selectionSteps(total)) < alpha;
}

/**
 * For a threshold that accepted `accepted` of `total` records with `errors` wrong: the smallest total N' = ⌈n'·total/accepted⌉
 * over accepted counts n' > `from` at which n' records with ⌈n'·errors/accepted⌉ errors pass — found by doubling, then
 * bisection (passing is monotone in n' up to that rounding). Infinity past LABELS_SEARCH_LIMIT.
 */
function labelsNeededAt(
  method: ThresholdMethod,
  errors: number,
  accepted: number,
  total: number,
  from: number,
  alpha: number,
  delta: number,
): number {
  const totalFor = (n: number) => Math.ceil((n * total) / accepted);
  const passAt = (n: number) => passes(method, Math.ceil((n * errors) / accepted), n, totalFor(n), alpha, delta);
  let low = from;
  let high = from + 1;
  while (!passAt(high)) {
    low = high;
    high *= 2;
    if (high > LABELS_SEARCH_LIMIT) return Number.POSITIVE_INFINITY;
  }
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (passAt(mid)) high = mid;
    else low = mid;
  }
  return totalFor(high);
}

/**
 * labelsNeeded over the thresholds more labels could reach: the fewest N' > n among those with an observed error rate
 * below α, keeping that rate and the threshold's coverage (see InfeasibleThreshold.labelsNeeded); null when none has a
 * rate below α, since more labels at these rates would not help.
 */
function labelsNeeded(
  table: ConfidenceTable,
  reachable: readonly Candidate[],
  options: ThresholdOptions,
  method: ThresholdMethod,
): number | null {
  const { alpha, delta } = options;
  let spaced: readonly Candidate[] = reachable;
  if (reachable.length > LABELS_NEEDED_CANDIDATES) {
    spaced = Array.from(
      { length: LABELS_NEEDED_CANDIDATES },
      (_, j) => reachable[Math.ceil(((j + 1) * reachable.length) / LABELS_NEEDED_CANDIDATES) - 1],
    );
  }
  // A lower bound on any candidate's count, to skip hopeless ones: zero errors need nMin accepted records.
  const zeroErrorFloor = minimumTestableCount(alpha, delta);
  let best = Number.POSITIVE_INFINITY;
  for (const c of spaced) {
    if (c.accepted === 0 || c.errors / c.accepted >= alpha) continue;
    if (Math.ceil((zeroErrorFloor * table.n) / c.accepted) >= best) continue;
    best = Math.min(best, labelsNeededAt(method, c.errors, c.accepted, table.n, c.accepted, alpha, delta));
  }
  return Number.isFinite(best) ? best : null;
}

/** No labelled records at all: the count needed if none of them were wrong (all accepted). */
function noRecords(method: ThresholdMethod, options: ThresholdOptions): InfeasibleThreshold {
  const needed = labelsNeededAt(method, 0, 1, 1, 0, options.alpha, options.delta);
  const reason = `No labelled records: at least ${needed} are needed to bound the error at ${percent(options.alpha)} with probability ${percent(1 - options.delta)}, even if none were wrong.`;
  return infeasible(method, options, 0, reason, needed);
}

function withLabelsAdvice(reason: string, needed: number | null): string {
  return needed === null
    ? `${reason} More labelled records would not help while the error rate among the most confident records stays this high.`
    : `${reason} About ${needed} labelled records would be needed at the error rates observed.`;
}

// ---------------------------------------------------------------------------------------------------------
// Reports and validation
// ---------------------------------------------------------------------------------------------------------

function feasible(method: ThresholdMethod, options: ThresholdOptions, n: number, chosen: Candidate, bound: number): FeasibleThreshold {
  return {
    method,
    alpha: options.alpha,
    delta: options.delta,
    feasible: true,
    value: chosen.threshold,
    coverage: chosen.accepted / n,
    error: chosen.errors / chosen.accepted,
    error_upper_bound: bound,
    accepted: chosen.accepted,
    n,
  };
}

function infeasible(
  method: ThresholdMethod,
  options: ThresholdOptions,
  n: number,
  reason: string,
  needed: number | null,
): InfeasibleThreshold {
  return {
    method,
    alpha: options.alpha,
    delta: options.delta,
    feasible: false,
    value: null,
    coverage: null,
    error: null,
    error_upper_bound: null,
    accepted: 0,
    n,
    reason,
    labelsNeeded: needed,
  };
}

function percent(x: number): string {
  return `${Number((x * 100).toPrecision(3))}%`;
}

function validateInput(input: ThresholdInput): void {
  const { confidence, correct, segment } = input;
  if (!Array.isArray(confidence) || !Array.isArray(correct)) {
    throw new AirlockError('USAGE', 'confidence and correct must be arrays.');
  }
  if (confidence.length !== correct.length) {
    throw new AirlockError('USAGE', `confidence has ${confidence.length} values but correct has ${correct.length}.`);
  }
  if (segment && segment.length !== confidence.length) {
    throw new AirlockError('USAGE', `segment has ${segment.length} values but confidence has ${confidence.length}.`);
  }
  for (let i = 0; i < confidence.length; i++) {
    if (typeof confidence[i] !== 'number' || !Number.isFinite(confidence[i])) {
      throw new AirlockError('USAGE', `confidence[${i}] is ${String(confidence[i])}; expected a finite number.`);
    }
    if (typeof correct[i] !== 'boolean') {
      throw new AirlockError('USAGE', `correct[${i}] is ${String(correct[i])}; expected true or false.`);
    }
    if (segment && typeof segment[i] !== 'string') {
      throw new AirlockError('USAGE', `segment[${i}] is ${String(segment[i])}; expected a string.`);
    }
  }
}

function validateOptions(options: ThresholdOptions): void {
  const { alpha, delta, method, grid, maxThresholds } = options;
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) {
    throw new AirlockError('USAGE', `alpha (target error) must be between 0 and 1, exclusive; got ${String(alpha)}.`);
  }
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) {
    throw new AirlockError('USAGE', `delta (risk) must be between 0 and 1, exclusive; got ${String(delta)}.`);
  }
  if (method !== undefined && method !== 'ltt-hb' && method !== 'sgr-cp') {
    throw new AirlockError('USAGE', `method must be 'ltt-hb' or 'sgr-cp'; got ${String(method)}.`);
  }
  if (grid !== undefined) {
    if (method === 'sgr-cp') throw new AirlockError('USAGE', "a threshold grid applies to 'ltt-hb' only; SGR searches the data.");
    if (!Array.isArray(grid) || grid.length === 0 || grid.some((t) => typeof t !== 'number' || !Number.isFinite(t))) {
      throw new AirlockError('USAGE', 'grid must be a non-empty array of finite numbers.');
    }
  }
  if (maxThresholds !== undefined && !(Number.isInteger(maxThresholds) && maxThresholds >= 1)) {
    throw new AirlockError('USAGE', `maxThresholds must be a positive integer; got ${String(maxThresholds)}.`);
  }
}
