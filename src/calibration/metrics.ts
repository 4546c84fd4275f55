/**
 * Calibration metrics: how far a model's confidence is from its accuracy. Pure functions over arrays.
 *
 * Top-label metrics take, per prediction, `confidence` (the probability the model gave the label it
 * predicted, in [0, 1]) and `correct` (whether that label was right), and optionally `weight` (>= 0).
 * Multi-class metrics take `probs` (one row of class probabilities per prediction) and `labels` (the index
 * of the true class). For binary problems pass P(positive) as `confidence` and "is positive" as `correct`.
 *
 * Conventions (test/reference/calibration_reference.py computes the expected values with the same ones):
 * - Bins are (lo, hi]: a confidence on an edge belongs to the bin below it; confidence 0 to the first bin.
 * - Equal-width bins: `bins` bins of width 1/bins (15 by default, as Guo et al. 2017).
 * - Equal-mass bins: sort the confidences and cut the sorted list into `bins` runs as numpy.array_split does
 *   (the first n mod bins runs hold one row more than the others). The last confidence of each run is an
 *   upper edge, and a prediction belongs to the first edge >= its confidence. So ties never straddle two
 *   bins: a run of equal confidences cut by a boundary goes whole to the lower bin, and bins left empty by
 *   that are dropped. Rows are counted, not weighted, when cutting. (Kumar et al.'s uncertainty-calibration
 *   library cuts runs of ⌈n/bins⌉ rows instead, which can yield fewer bins than asked; within a bin the
 *   debiased estimator is the same.)
 * - Distinct bins: one bin per distinct confidence value (Murphy's original grouping).
 * - `gap` is mean confidence minus accuracy: positive means overconfident.
 * - Weights multiply each prediction's share wherever the matching scikit-learn function takes
 *   `sample_weight`; the debiased estimator is unweighted.
 */

export type Vector = ArrayLike<number>;
export type Outcomes = ArrayLike<boolean>;
export type ProbabilityRows = ArrayLike<ArrayLike<number>>;

/** How predictions are grouped by confidence. */
export type Binning = 'equal-width' | 'equal-mass' | 'distinct';

export interface BinningOptions {
  /** Number of bins (ignored for 'distinct'). Default 15. */
  bins?: number;
  /** Default 'equal-width'. */
  binning?: Binning;
  weight?: Vector;
}

/** Where each prediction falls: bin `b` covers (lo[b], hi[b]]. */
export interface BinLayout {
  lo: number[];
  hi: number[];
  /** Bin index of each prediction. */
  binOf: Int32Array;
}

/** One bar of a reliability diagram. Empty bins (equal-width only) have null means. */
export interface ReliabilityBin {
  lo: number;
  hi: number;
  /** Predictions in the bin. */
  count: number;
  /** Sum of their weights (= count when unweighted). */
  weight: number;
  meanConfidence: number | null;
  accuracy: number | null;
  /** meanConfidence − accuracy. */
  gap: number | null;
}

export interface DebiasedCalibrationError {
  /** Unbiased estimate of the squared L2 calibration error; may be negative on a well-calibrated sample. */
  squared: number;
  /** sqrt(max(squared, 0)). */
  root: number;
}

/** Brier score = reliability − resolution + uncertainty + withinBinVariance − withinBinCovariance. */
export interface BrierDecomposition {
  brier: number;
  /** Σ_b (W_b/W)(f̄_b − ō_b)²: the calibration term (lower is better). */
  reliability: number;
  /** Σ_b (W_b/W)(ō_b − ō)²: how far the bins' outcome rates spread from the base rate (higher is better). */
  resolution: number;
  /** ō(1 − ō): the Brier score of always forecasting the base rate. */
  uncertainty: number;
  /** (1/W) Σ_i w_i (f_i − f̄_b(i))²: zero when every bin holds a single forecast value. */
  withinBinVariance: number;
  /** (2/W) Σ_i w_i (f_i − f̄_b(i))(o_i − ō_b(i)): zero when every bin holds a single forecast value. */
  withinBinCovariance: number;
}

export interface BootstrapOptions {
  /** Number of resamples. Default 1000. */
  resamples?: number;
  /** Coverage of the interval. Default 0.95. */
  level?: number;
  /** Seed of the resampling stream. Default 0. */
  seed?: number;
}

export interface BootstrapInterval {
  /** The statistic on the full data. */
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  resamples: number;
  seed: number;
}

export interface TopLabelPredictions {
  confidence: number[];
  predicted: number[];
  /** Present when labels were given. */
  correct?: boolean[];
}

/** Probabilities are kept in [PROBABILITY_FLOOR, 1 − PROBABILITY_FLOOR] before a logarithm (sklearn's former log_loss eps). */
export const PROBABILITY_FLOOR = 1e-15;

const DEFAULT_BINS = 15;

// ------------------------------------------------------------------------------------------ metrics

/** Share of correct predictions: Σ w·correct / Σ w (= sklearn.metrics.accuracy_score with sample_weight). */
export function accuracy(correct: Outcomes, weight?: Vector): number {
  const n = checkRows(correct.length);
  return weightedMean(n, checkWeights(weight, n), (i) => (correct[i] ? 1 : 0));
}

/** Expected calibration error Σ_b (|B_b|/n)·|acc(B_b) − conf(B_b)| (Guo et al. 2017, eq. 3); 15 equal-width (lo, hi] bins by default. */
export function expectedCalibrationError(confidence: Vector, correct: Outcomes, options: BinningOptions = {}): number {
  const bins = reliabilityDiagram(confidence, correct, options);
  let total = 0;
  let sum = 0;
  for (const bin of bins) {
    if (bin.gap === null) continue;
    total += bin.weight;
    sum += bin.weight * Math.abs(bin.gap);
  }
  return sum / total;
}

/** Expected calibration error over equal-mass bins (Guo et al. 2017, eq. 3, on the module's equal-mass bins instead of equal-width ones). */
export function equalMassCalibrationError(confidence: Vector, correct: Outcomes, options: Omit<BinningOptions, 'binning'> = {}): number {
  return expectedCalibrationError(confidence, correct, { ...options, binning: 'equal-mass' });
}

/** Maximum calibration error max_b |acc(B_b) − conf(B_b)| over non-empty bins (Guo et al. 2017, eq. 5). */
export function maximumCalibrationError(confidence: Vector, correct: Outcomes, options: BinningOptions = {}): number {
  let worst = 0;
  for (const bin of reliabilityDiagram(confidence, correct, options)) {
    if (bin.gap !== null) worst = Math.max(worst, Math.abs(bin.gap));
  }
  return worst;
}

/** Debiased L2 calibration error over 15 equal-mass bins: Ê² = Σ_j (n_j/n)[(s̄_j − ȳ_j)² − ȳ_j(1 − ȳ_j)/(n_j − 1)], bins with n_j < 2 adding 0 (Kumar, Liang & Ma 2019, §5, the debiased estimator; per bin as unbiased_square_ce in their uncertainty-calibration library). */
export function debiasedCalibrationError(
  confidence: Vector,
  correct: Outcomes,
  options: { bins?: number; binning?: Binning } = {},
): DebiasedCalibrationError {
  const n = checkTopLabel(confidence, correct);
  const layout = assignBins(confidence, { bins: options.bins, binning: options.binning ?? 'equal-mass' });
  const nb = layout.hi.length;
  const count = new Float64Array(nb);
  const sumConfidence = new Float64Array(nb);
  const sumCorrect = new Float64Array(nb);
  for (let i = 0; i < n; i++) {
    const b = layout.binOf[i];
    count[b]++;
    sumConfidence[b] += confidence[i];
    if (correct[i]) sumCorrect[b]++;
  }
  let squared = 0;
  for (let b = 0; b < nb; b++) {
    const nj = count[b];
    if (nj < 2) continue;
    const meanConfidence = sumConfidence[b] / nj;
    const meanCorrect = sumCorrect[b] / nj;
    squared += (nj / n) * ((meanConfidence - meanCorrect) ** 2 - (meanCorrect * (1 - meanCorrect)) / (nj - 1));
  }
  return { squared, root: Math.sqrt(Math.max(squared, 0)) };
}

/** Reliability diagram bins: count, mean confidence, accuracy and gap per (lo, hi] bin (accuracy and mean confidence equal sklearn.calibration.calibration_curve(strategy='uniform') on the non-empty equal-width bins). */
export function reliabilityDiagram(confidence: Vector, correct: Outcomes, options: BinningOptions = {}): ReliabilityBin[] {
  const n = checkTopLabel(confidence, correct);
  const w = checkWeights(options.weight, n);
  const layout = assignBins(confidence, options);
  const nb = layout.hi.length;
  const count = new Float64Array(nb);
  const sumWeight = new Float64Array(nb);
  const sumConfidence = new Float64Array(nb);
  const sumCorrect = new Float64Array(nb);
  for (let i = 0; i < n; i++) {
    const b = layout.binOf[i];
    const wi = w ? w[i] : 1;
    count[b]++;
    sumWeight[b] += wi;
    sumConfidence[b] += wi * confidence[i];
    if (correct[i]) sumCorrect[b] += wi;
  }
  const bins: ReliabilityBin[] = [];
  for (let b = 0; b < nb; b++) {
    const bin: ReliabilityBin = {
      lo: layout.lo[b],
      hi: layout.hi[b],
      count: count[b],
      weight: sumWeight[b],
      meanConfidence: null,
      accuracy: null,
      gap: null,
    };
    if (sumWeight[b] > 0) {
      bin.meanConfidence = sumConfidence[b] / sumWeight[b];
      bin.accuracy = sumCorrect[b] / sumWeight[b];
      bin.gap = bin.meanConfidence - bin.accuracy;
    }
    bins.push(bin);
  }
  return bins;
}

/** Binary Brier score: mean (p − y)² (Brier 1950 for one event; = sklearn.metrics.brier_score_loss with sample_weight). For top-label pass confidence and correct. */
export function brierScore(probability: Vector, outcome: Outcomes, weight?: Vector): number {
  const n = checkTopLabel(probability, outcome);
  return weightedMean(n, checkWeights(weight, n), (i) => (probability[i] - (outcome[i] ? 1 : 0)) ** 2);
}

/** Multi-class Brier score: mean over rows of Σ_k (p_k − y_k)², in [0, 2] (Brier 1950, the original score; = Σ_k of sklearn's one-vs-rest brier_score_loss, which is binary only). */
export function multiclassBrierScore(probs: ProbabilityRows, labels: Vector, weight?: Vector): number {
  const n = checkMulticlass(probs, labels);
  return weightedMean(n, checkWeights(weight, n), (i) => {
    const row = probs[i];
    let rowScore = 0;
    for (let k = 0; k < row.length; k++) rowScore += (row[k] - (k === labels[i] ? 1 : 0)) ** 2;
    return rowScore;
  });
}

/** Murphy's decomposition of the binary Brier score over bins, REL − RES + UNC (Murphy 1973), plus the two within-bin terms that make it exact (Stephenson, Coelho & Jolliffe 2008). */
export function brierDecomposition(probability: Vector, outcome: Outcomes, options: BinningOptions = {}): BrierDecomposition {
  const n = checkTopLabel(probability, outcome);
  const w = checkWeights(options.weight, n);
  const layout = assignBins(probability, options);
  const nb = layout.hi.length;
  const sumWeight = new Float64Array(nb);
  const sumForecast = new Float64Array(nb);
  const sumOutcome = new Float64Array(nb);
  let total = 0;
  let totalOutcome = 0;
  let brier = 0;
  for (let i = 0; i < n; i++) {
    const b = layout.binOf[i];
    const wi = w ? w[i] : 1;
    const o = outcome[i] ? 1 : 0;
    sumWeight[b] += wi;
    sumForecast[b] += wi * probability[i];
    sumOutcome[b] += wi * o;
    total += wi;
    totalOutcome += wi * o;
    brier += wi * (probability[i] - o) ** 2;
  }
  const baseRate = totalOutcome / total;
  const meanForecast = new Float64Array(nb);
  const meanOutcome = new Float64Array(nb);
  let reliability = 0;
  let resolution = 0;
  for (let b = 0; b < nb; b++) {
    if (sumWeight[b] === 0) continue;
    meanForecast[b] = sumForecast[b] / sumWeight[b];
    meanOutcome[b] = sumOutcome[b] / sumWeight[b];
    reliability += sumWeight[b] * (meanForecast[b] - meanOutcome[b]) ** 2;
    resolution += sumWeight[b] * (meanOutcome[b] - baseRate) ** 2;
  }
  let withinBinVariance = 0;
  let withinBinCovariance = 0;
  for (let i = 0; i < n; i++) {
    const b = layout.binOf[i];
    const wi = w ? w[i] : 1;
    const df = probability[i] - meanForecast[b];
    withinBinVariance += wi * df * df;
    withinBinCovariance += wi * df * ((outcome[i] ? 1 : 0) - meanOutcome[b]);
  }
  return {
    brier: brier / total,
    reliability: reliability / total,
    resolution: resolution / total,
    uncertainty: baseRate * (1 - baseRate),
    withinBinVariance: withinBinVariance / total,
    withinBinCovariance: (2 * withinBinCovariance) / total,
  };
}

/** Multi-class negative log-likelihood: mean −log p(true class), rows clipped to [1e−15, 1 − 1e−15] and renormalised (= sklearn.metrics.log_loss(eps=1e-15) with sample_weight). */
export function negativeLogLikelihood(probs: ProbabilityRows, labels: Vector, weight?: Vector): number {
  const n = checkMulticlass(probs, labels);
  return weightedMean(n, checkWeights(weight, n), (i) => {
    const row = probs[i];
    let rowSum = 0;
    for (let k = 0; k < row.length; k++) rowSum += clipProbability(row[k]);
    return -Math.log(clipProbability(row[labels[i]]) / rowSum);
  });
}

/** Binary negative log-likelihood: mean −[y log p + (1 − y) log(1 − p)], p clipped to [1e−15, 1 − 1e−15] (= sklearn.metrics.log_loss(eps=1e-15) on a 1-D p). */
export function binaryNegativeLogLikelihood(probability: Vector, outcome: Outcomes, weight?: Vector): number {
  const n = checkTopLabel(probability, outcome);
  return weightedMean(n, checkWeights(weight, n), (i) => {
    const p = clipProbability(probability[i]);
    return -Math.log(outcome[i] ? p : 1 - p);
  });
}

/** Area under the ROC curve of confidence for telling right from wrong: the Mann–Whitney U / (n₊n₋), ties counted ½ (= sklearn.metrics.roc_auc_score(correct, confidence) with sample_weight); NaN when all are right or all wrong. */
export function confidenceAuroc(confidence: Vector, correct: Outcomes, weight?: Vector): number {
  const n = checkTopLabel(confidence, correct);
  const w = checkWeights(weight, n);
  const order = sortedIndices(confidence);
  let positives = 0;
  let negatives = 0;
  let negativesBelow = 0;
  let area = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    let groupPositives = 0;
    let groupNegatives = 0;
    while (end < n && confidence[order[end]] === confidence[order[start]]) {
      const i = order[end];
      const wi = w ? w[i] : 1;
      if (correct[i]) groupPositives += wi;
      else groupNegatives += wi;
      end++;
    }
    area += groupPositives * (negativesBelow + groupNegatives / 2);
    negativesBelow += groupNegatives;
    positives += groupPositives;
    negatives += groupNegatives;
    start = end;
  }
  return positives > 0 && negatives > 0 ? area / (positives * negatives) : Number.NaN;
}

/** Top label of each row: its probability, its class index (ties: the lowest index, as numpy.argmax) and, given labels, whether it is right. */
export function topLabel(probs: ProbabilityRows, labels?: Vector): TopLabelPredictions {
  const n = labels ? checkMulticlass(probs, labels) : checkRows(probs.length);
  const confidence: number[] = new Array(n);
  const predicted: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = probs[i];
    let best = 0;
    for (let k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
    confidence[i] = row[best];
    predicted[i] = best;
  }
  const result: TopLabelPredictions = { confidence, predicted };
  if (labels) result.correct = predicted.map((p, i) => p === labels[i]);
  return result;
}

// ------------------------------------------------------------------------------------------ bins

/** Assigns each confidence to a (lo, hi] bin under the module's binning conventions (see the module comment). */
export function assignBins(confidence: Vector, options: { bins?: number; binning?: Binning } = {}): BinLayout {
  const n = checkRows(confidence.length);
  for (let i = 0; i < n; i++) checkProbability(confidence[i], 'confidence', i);
  const binning = options.binning ?? 'equal-width';
  const bins = options.bins ?? DEFAULT_BINS;
  if (binning !== 'distinct' && (!Number.isInteger(bins) || bins < 1)) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const binOf = new Int32Array(n);
  if (binning === 'equal-width') {
    const lo: number[] = [];
    const hi: number[] = [];
    for (let b = 0; b < bins; b++) {
      lo.push(b / bins);
      hi.push((b + 1) / bins);
    }
    for (let i = 0; i < n; i++) binOf[i] = equalWidthBin(confidence[i], bins);
    return { lo, hi, binOf };
  }
  const sorted = Float64Array.from(confidence).sort();
  const edges: number[] = [];
  if (binning === 'equal-mass') {
    // numpy.array_split: the first n mod bins runs get one extra row.
    const base = Math.floor(n / bins);
    const extra = n % bins;
    let end = 0;
    for (let b = 0; b < bins; b++) {
      end += base + (b < extra ? 1 : 0);
      if (end > 0) pushDistinct(edges, sorted[end - 1]);
    }
  } else if (binning === 'distinct') {
    for (const value of sorted) pushDistinct(edges, value);
  } else {
    throw new RangeError(`unknown binning '${binning as string}'`);
  }
  for (let i = 0; i < n; i++) binOf[i] = firstEdgeAtLeast(edges, confidence[i]);
  return { lo: [0, ...edges.slice(0, -1)], hi: edges, binOf };
}

/** Index of the (lo, hi] bin of width 1/bins that holds `confidence`; 0 goes to the first bin. Edges are b/bins exactly. */
function equalWidthBin(confidence: number, bins: number): number {
  let b = Math.min(bins - 1, Math.max(0, Math.ceil(confidence * bins) - 1));
  // confidence * bins can round across an edge: settle it against the edges themselves.
  while (b > 0 && confidence <= b / bins) b--;
  while (b < bins - 1 && confidence > (b + 1) / bins) b++;
  return b;
}

/** Index of the first edge >= value (edges ascending); values above the last edge go to the last. */
export function firstEdgeAtLeast(edges: ArrayLike<number>, value: number): number {
  let lo = 0;
  let hi = edges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] >= value) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function pushDistinct(edges: number[], value: number): void {
  if (edges.length === 0 || edges[edges.length - 1] !== value) edges.push(value);
}

// ------------------------------------------------------------------------------------------ bootstrap

/** Seeded uniform generator on [0, 1): mulberry32 (Tommy Ettinger, public domain) with its state kept to 32 bits. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13): n rows drawn with replacement (row = ⌊u·n⌋, u from seededRandom(seed)) per resample, quantiles (1 ∓ level)/2 interpolated linearly as numpy.quantile. */
export function bootstrapInterval(n: number, statistic: (rows: Uint32Array) => number, options: BootstrapOptions = {}): BootstrapInterval {
  checkRows(n);
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${level}`);
  const random = seededRandom(seed);
  const rows = new Uint32Array(n);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) rows[i] = Math.floor(random() * n);
    stats[r] = statistic(rows);
  }
  stats.sort();
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  const alpha = 1 - level;
  return { estimate: statistic(all), lower: quantile(stats, alpha / 2), upper: quantile(stats, 1 - alpha / 2), level, resamples, seed };
}

/** Bootstrap interval of the expected calibration error (percentile bootstrap of Guo et al. 2017, eq. 3). */
export function expectedCalibrationErrorInterval(
  confidence: Vector,
  correct: Outcomes,
  options: BinningOptions & BootstrapOptions = {},
): BootstrapInterval {
  const n = checkTopLabel(confidence, correct);
  const weight = checkWeights(options.weight, n);
  return bootstrapInterval(
    n,
    (rows) => expectedCalibrationError(pick(confidence, rows), pick(correct, rows), { ...options, weight: weight && pick(weight, rows) }),
    options,
  );
}

/** Bootstrap interval of the binary Brier score (percentile bootstrap of sklearn.metrics.brier_score_loss). */
export function brierScoreInterval(
  probability: Vector,
  outcome: Outcomes,
  options: BootstrapOptions & { weight?: Vector } = {},
): BootstrapInterval {
  const n = checkTopLabel(probability, outcome);
  const weight = checkWeights(options.weight, n);
  return bootstrapInterval(n, (rows) => brierScore(pick(probability, rows), pick(outcome, rows), weight && pick(weight, rows)), options);
}

/** Bootstrap interval of the multi-class Brier score (percentile bootstrap of the Brier 1950 score). */
export function multiclassBrierScoreInterval(
  probs: ProbabilityRows,
  labels: Vector,
  options: BootstrapOptions & { weight?: Vector } = {},
): BootstrapInterval {
  const n = checkMulticlass(probs, labels);
  const weight = checkWeights(options.weight, n);
  return bootstrapInterval(n, (rows) => multiclassBrierScore(pick(probs, rows), pick(labels, rows), weight && pick(weight, rows)), options);
}

function quantile(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const below = Math.floor(h);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (h - below) * (sorted[above] - sorted[below]);
}

function pick<T>(values: ArrayLike<T>, rows: Uint32Array): T[] {
  const out: T[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]];
  return out;
}

// ------------------------------------------------------------------------------------------ checks

/** Σ w_i·f(i) / Σ w_i over rows 0..n−1 (every w_i = 1 without weights): the mean every per-row metric takes. */
function weightedMean(n: number, w: Vector | undefined, perRow: (i: number) => number): number {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const wi = w ? w[i] : 1;
    total += wi;
    sum += wi * perRow(i);
  }
  return sum / total;
}

/** p kept in [1e−15, 1 − 1e−15] before a logarithm. */
export function clipProbability(p: number): number {
  return Math.min(Math.max(p, PROBABILITY_FLOOR), 1 - PROBABILITY_FLOOR);
}

/** Row indices ordered by value, ascending. */
function sortedIndices(values: Vector): Uint32Array {
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => values[a] - values[b]);
}

function checkRows(n: number): number {
  if (n < 1) throw new RangeError('calibration metrics need at least one prediction');
  return n;
}

function checkProbability(value: number, name: string, row: number): void {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} at row ${row} must be a probability in [0, 1], got ${value}`);
}

function checkTopLabel(confidence: Vector, correct: Outcomes): number {
  const n = checkRows(confidence.length);
  if (correct.length !== n) throw new RangeError(`confidence has ${n} rows but the outcomes have ${correct.length}`);
  for (let i = 0; i < n; i++) checkProbability(confidence[i], 'confidence', i);
  return n;
}

function checkMulticlass(probs: ProbabilityRows, labels: Vector): number {
  const n = checkRows(probs.length);
  if (labels.length !== n) throw new RangeError(`probs has ${n} rows but labels has ${labels.length}`);
  for (let i = 0; i < n; i++) {
    const row = probs[i];
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= row.length) {
      throw new RangeError(`label at row ${i} must be a class index in [0, ${row.length}), got ${labels[i]}`);
    }
    for (let k = 0; k < row.length; k++) checkProbability(row[k], 'probs', i);
  }
  return n;
}

function checkWeights(weight: Vector | undefined, n: number): Vector | undefined {
  if (weight === undefined) return undefined;
  if (weight.length !== n) throw new RangeError(`weight has ${weight.length} rows, expected ${n}`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    if (!(weight[i] >= 0 && Number.isFinite(weight[i])))
      throw new RangeError(`weight at row ${i} must be a finite number >= 0, got ${weight[i]}`);
    total += weight[i];
  }
  if (!(total > 0)) throw new RangeError('the weights sum to zero');
  return weight;
}
