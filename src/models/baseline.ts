/**
 * The built-in baseline text classifier: hashed word n-grams, and multinomial naive Bayes or multinomial
 * logistic regression on them. Pure: it takes texts and labels and returns a JSON-serialisable model, and
 * scores a text with that model; reading and writing files is the caller's business.
 *
 * Featuriser (the same for training and prediction, fixed by the model's `version`):
 * - Text → Unicode NFKC → lower case (`String.prototype.toLowerCase`, the locale-independent Unicode default
 *   full case mapping, final sigma included — as Python's `str.lower`).
 * - Tokens: the maximal runs of letters, marks, numbers and connector punctuation (general categories L, M,
 *   N and Pc — so `foo_bar` and `naïve` are one token each, `don't` is `don` + `t`, emoji and symbols split).
 * - Features: the word n-grams for n = 1 … `ngrams` (default 2: unigrams and bigrams), n tokens joined by
 *   one space (a token never holds a space, so an n-gram never collides with a token by construction).
 * - Feature hashing (Weinberger et al. 2009, without the sign hash, as sklearn's
 *   `HashingVectorizer(alternate_sign=False)`): bucket = FNV-1a 32-bit (offset basis 2166136261, prime
 *   16777619; Fowler, Noll & Vo) of the feature's UTF-8 bytes, modulo `buckets` (default 2^18 = 262,144).
 *   A document is the vector x of its bucket counts.
 *
 * Multinomial naive Bayes (Manning, Raghavan & Schütze 2008, Introduction to Information Retrieval, §13.2):
 *   P̂(c) = N_c / N (eq. 13.5), P̂(t | c) = (T_ct + α) / (Σ_t' T_ct' + α·B) (eq. 13.7 with Lidstone smoothing α;
 *   α = 1 is Laplace), where T_ct is the count of bucket t in the training documents of class c and B the
 *   number of buckets (the vocabulary is the whole hash space, so a bucket unseen in training still costs
 *   log(α / (Σ_t' T_ct' + α·B)) per occurrence, as in sklearn). The class scores ("logits") are the joint
 *   log-likelihoods log P̂(c) + Σ_t x_t log P̂(t | c) and the posterior is their softmax (eq. 13.3) — exactly
 *   sklearn's `MultinomialNB(alpha=α, fit_prior=True)` fitted on the same count matrix (tested to 1e−9).
 *   Stored as the counts T_ct, so a saved model reproduces the fit bit for bit.
 *
 * Multinomial logistic regression (softmax regression; e.g. Murphy 2012, Machine Learning, §8.3.7) on the
 *   count vectors scaled to unit Euclidean length, x̃ = x / ‖x‖₂ (0 for an empty document):
 *   P(c | x) = softmax(W x̃ + b)_c, with W (k × B) and b (k) minimising
 *     J(W, b) = (1/n) Σ_i −log P(y_i | x_i) + (λ/2)·‖W‖²_F          (λ = `l2`, default 1e−4; b unpenalised)
 *   = sklearn's `LogisticRegression(multi_class='multinomial', C=1/(λ·n))` on normalize(X) (which minimises
 *   n·J); for λ > 0 the optimum is unique (tested to 1e−5 on probabilities). Fitted by full-batch L-BFGS
 *   (Nocedal & Wright 2006, Algorithm 7.4 with the two-loop recursion 7.5, memory 10, backtracking Armijo
 *   line search, c₁ = 1e−4) with a diagonal initial matrix H₀ = γ·D — D the inverse of J's Hessian diagonal
 *   at the start, 1 / (λ + ((k−1)/k²)·(1/n)·Σ_i x̃_ij²), γ = sᵀy / yᵀDy (a preconditioner; it halves the
 *   iterations on text, where feature frequencies span orders of magnitude) — from zero, until
 *   ‖∇J‖∞ ≤ `tolerance` (default 1e−6, which leaves probabilities within ~1e−4 of the optimum) or after
 *   `epochs` iterations (default 300; an iteration evaluates J and its gradient once, or a few times when the
 *   line search backtracks). No randomness: the same data give the same model. Only the buckets seen in
 *   training are optimised and stored (the others stay 0 at the optimum: their gradient is λ·w). Weights are
 *   stored as integer multiples of 1e−6. With λ = 0 and separable classes there is no optimum, and the fit
 *   stops at `epochs`.
 *
 * Model file (`kind: 'airlock-baseline'`, `version: 1`, JSON): the classes (sorted), the featuriser's `ngrams`
 * and `buckets`, and `params` with the active buckets (ascending, delta-encoded) and per class one number per
 * active bucket — so its size grows with the distinct features of the training set, not with `buckets`.
 * Measured: 1,200 generated mails of ~35 words, 3 classes: 6,400 active buckets, 60 KB (naive Bayes) and
 * 150 KB (logistic regression); 10,000 documents of ~100 words from a 50,000-word Zipf vocabulary, 3 classes:
 * 244,000 active buckets, 2.0 MB and 4.6 MB. Loading a model allocates one 4-byte slot per bucket (1 MB at
 * 2^18) plus 8 bytes per class and active bucket.
 */

import { seededRandom } from '../calibration/metrics.js';

export type BaselineAlgorithm = 'naive_bayes' | 'logistic_regression';

export const BASELINE_ALGORITHMS: readonly BaselineAlgorithm[] = ['naive_bayes', 'logistic_regression'];

/** Featuriser and fitting settings; every one has a default (see BASELINE_DEFAULTS). */
export interface BaselineTrainingOptions {
  algorithm?: BaselineAlgorithm;
  /** Word n-grams for n = 1 … ngrams. */
  ngrams?: number;
  /** Number of hash buckets (the hashed vocabulary's size). */
  buckets?: number;
  /** Naive Bayes: Lidstone smoothing α > 0 (1 = Laplace). */
  alpha?: number;
  /** Logistic regression: L2 penalty λ ≥ 0 on the mean cross-entropy (sklearn's C = 1 / (λ·n)). */
  l2?: number;
  /** Logistic regression: the most L-BFGS iterations (each evaluates J and its gradient once, or a few times). */
  epochs?: number;
  /** Logistic regression: stop when the largest gradient component is at most this. */
  tolerance?: number;
  /** Called while training, for a progress display. */
  onProgress?: (progress: TrainingProgress) => void;
}

export type TrainingProgress =
  | { stage: 'featurising'; done: number; total: number }
  | { stage: 'fitting'; iteration: number; maxIterations: number; loss: number };

export const BASELINE_DEFAULTS = {
  algorithm: 'naive_bayes' as BaselineAlgorithm,
  ngrams: 2,
  buckets: 2 ** 18,
  alpha: 1,
  l2: 1e-4,
  epochs: 300,
  tolerance: 1e-6,
} as const;

/** Limits of the settings a model may carry. */
export const BASELINE_LIMITS = { maxNgrams: 5, maxBuckets: 2 ** 24 } as const;

export interface TrainingDocument {
  text: string;
  label: string;
}

interface BaselineModelCommon {
  kind: 'airlock-baseline';
  version: 1;
  /** Class names, sorted; every per-class array follows this order. */
  classes: string[];
  ngrams: number;
  buckets: number;
  /** Free-form facts about the training run (documents, fields, held-out accuracy …), not used to predict. */
  metadata?: Record<string, unknown>;
}

export interface NaiveBayesModel extends BaselineModelCommon {
  algorithm: 'naive_bayes';
  params: {
    alpha: number;
    /** N_c: training documents per class. */
    classDocuments: number[];
    /** The buckets with a non-zero count in some class, ascending, delta-encoded (see decodeBuckets). */
    bucketDeltas: number[];
    /** counts[c][j] = T_ct for t = the j-th active bucket. */
    counts: number[][];
  };
}

export interface LogisticRegressionModel extends BaselineModelCommon {
  algorithm: 'logistic_regression';
  params: {
    l2: number;
    /** b: one intercept per class. */
    intercepts: number[];
    /** The buckets seen in training, ascending, delta-encoded (see decodeBuckets); all other weights are 0. */
    bucketDeltas: number[];
    /** W_ct = weights[c][j] · weightScale for t = the j-th active bucket: integers, so a weight is off by ≤ weightScale / 2. */
    weights: number[][];
    /** 1e−6: a logit is then off by at most 5e−7·‖x̃‖₁ ≤ 5e−7·√(distinct features of the text). */
    weightScale: number;
    /** L-BFGS iterations run, and whether ‖∇J‖∞ reached the tolerance. */
    iterations: number;
    converged: boolean;
    /** J(W, b) at the solution. */
    loss: number;
  };
}

export type BaselineModel = NaiveBayesModel | LogisticRegressionModel;

export interface BaselinePrediction {
  label: string;
  /** probs[label]. */
  confidence: number;
  probs: Record<string, number>;
  /** Class scores whose softmax is `probs`, in `classes` order: joint log-likelihoods (naive Bayes) or W x̃ + b. */
  logits: number[];
}

// ------------------------------------------------------------------------------------------ featuriser

const WORD = /[\p{L}\p{M}\p{N}\p{Pc}]+/gu;

/** Lower-cased Unicode word tokens of a text (module comment). */
export function tokenize(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** The word n-grams for n = 1 … ngrams, each the n tokens joined by one space: unigrams first, then bigrams … */
export function ngramFeatures(tokens: readonly string[], ngrams: number): string[] {
  const out: string[] = [];
  for (let n = 1; n <= ngrams; n++) {
    for (let i = 0; i + n <= tokens.length; i++) out.push(n === 1 ? tokens[i] : tokens.slice(i, i + n).join(' '));
  }
  return out;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32-bit, of the UTF-8 bytes of `text` (lone surrogates encode as U+FFFD, as TextEncoder does). */
export function fnv1a32(text: string): number {
  let h = FNV_OFFSET_BASIS;
  const byte = (b: number) => {
    h = Math.imul(h ^ b, FNV_PRIME);
  };
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else {
        cp = 0xfffd;
      }
    }
    if (cp < 0x80) {
      byte(cp);
    } else if (cp < 0x800) {
      byte(0xc0 | (cp >> 6));
      byte(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      byte(0xe0 | (cp >> 12));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    } else {
      byte(0xf0 | (cp >> 18));
      byte(0x80 | ((cp >> 12) & 0x3f));
      byte(0x80 | ((cp >> 6) & 0x3f));
      byte(0x80 | (cp & 0x3f));
    }
  }
  return h >>> 0;
}

/** A document's hashed feature counts: distinct buckets ascending, and their counts. */
export interface HashedCounts {
  buckets: Int32Array;
  counts: Float64Array;
}

/** The bucket counts of a text: its n-gram features hashed into `buckets` buckets (module comment). */
export function hashedCounts(text: string, ngrams: number, buckets: number): HashedCounts {
  const features = ngramFeatures(tokenize(text), ngrams);
  const hashed = new Int32Array(features.length);
  for (let i = 0; i < features.length; i++) hashed[i] = fnv1a32(features[i]) % buckets;
  hashed.sort();
  let distinct = 0;
  for (let i = 0; i < hashed.length; i++) if (i === 0 || hashed[i] !== hashed[i - 1]) distinct++;
  const out: HashedCounts = { buckets: new Int32Array(distinct), counts: new Float64Array(distinct) };
  let j = -1;
  for (let i = 0; i < hashed.length; i++) {
    if (i === 0 || hashed[i] !== hashed[i - 1]) out.buckets[++j] = hashed[i];
    out.counts[j]++;
  }
  return out;
}

/** Training documents as a sparse matrix over the buckets that occur in them (compressed sparse rows). */
interface TrainingMatrix {
  /** columnBucket[j] = the bucket of column j, ascending. */
  columnBucket: Int32Array;
  rowStart: Int32Array;
  column: Int32Array;
  count: Float64Array;
}

function trainingMatrix(
  docs: readonly TrainingDocument[],
  ngrams: number,
  buckets: number,
  onProgress?: (done: number) => void,
): TrainingMatrix {
  const rows: HashedCounts[] = [];
  let nonZeros = 0;
  for (let i = 0; i < docs.length; i++) {
    const row = hashedCounts(docs[i].text, ngrams, buckets);
    nonZeros += row.buckets.length;
    rows.push(row);
    if (onProgress && (i & 255) === 255) onProgress(i + 1);
  }
  onProgress?.(docs.length);
  const seen = new Uint8Array(buckets);
  for (const row of rows) for (const b of row.buckets) seen[b] = 1;
  const slot = new Int32Array(buckets).fill(-1);
  const active: number[] = [];
  for (let b = 0; b < buckets; b++) {
    if (seen[b]) {
      slot[b] = active.length;
      active.push(b);
    }
  }
  const columnBucket = Int32Array.from(active);
  const rowStart = new Int32Array(docs.length + 1);
  const column = new Int32Array(nonZeros);
  const count = new Float64Array(nonZeros);
  let p = 0;
  for (let i = 0; i < rows.length; i++) {
    rowStart[i] = p;
    const row = rows[i];
    for (let q = 0; q < row.buckets.length; q++, p++) {
      column[p] = slot[row.buckets[q]];
      count[p] = row.counts[q];
    }
  }
  rowStart[rows.length] = p;
  return { columnBucket, rowStart, column, count };
}

/** The matrix with every row scaled to unit Euclidean length, stored by columns (compressed sparse columns). */
function unitLengthColumns(matrix: TrainingMatrix): { columnStart: Int32Array; row: Int32Array; value: Float64Array } {
  const { rowStart, column, count } = matrix;
  const n = rowStart.length - 1;
  const d = matrix.columnBucket.length;
  const columnStart = new Int32Array(d + 1);
  for (let p = 0; p < column.length; p++) columnStart[column[p] + 1]++;
  for (let j = 0; j < d; j++) columnStart[j + 1] += columnStart[j];
  const next = columnStart.slice(0, d);
  const row = new Int32Array(column.length);
  const value = new Float64Array(column.length);
  for (let i = 0; i < n; i++) {
    let squares = 0;
    for (let p = rowStart[i]; p < rowStart[i + 1]; p++) squares += count[p] * count[p];
    const norm = Math.sqrt(squares);
    for (let p = rowStart[i]; p < rowStart[i + 1]; p++) {
      const q = next[column[p]]++;
      row[q] = i;
      value[q] = count[p] / norm;
    }
  }
  return { columnStart, row, value };
}

// ------------------------------------------------------------------------------------------ training

/** Trains a naive Bayes or logistic regression baseline on labelled texts (module comment for the definitions). */
export function trainBaseline(docs: readonly TrainingDocument[], options: BaselineTrainingOptions = {}): BaselineModel {
  const settings = resolveOptions(options);
  if (docs.length === 0) throw new RangeError('no training documents');
  const classes = [...new Set(docs.map((d) => d.label))].sort();
  if (classes.length < 2) throw new RangeError(`training needs at least 2 classes; every document is labelled "${classes[0]}"`);
  const classIndex = new Map(classes.map((c, k) => [c, k]));
  const labels = Int32Array.from(docs, (d) => classIndex.get(d.label) as number);
  const matrix = trainingMatrix(docs, settings.ngrams, settings.buckets, (done) =>
    options.onProgress?.({ stage: 'featurising', done, total: docs.length }),
  );
  const common = { kind: 'airlock-baseline', version: 1, classes, ngrams: settings.ngrams, buckets: settings.buckets } as const;
  if (settings.algorithm === 'naive_bayes') {
    return { ...common, algorithm: 'naive_bayes', params: fitNaiveBayes(matrix, labels, classes.length, settings.alpha) };
  }
  return {
    ...common,
    algorithm: 'logistic_regression',
    params: fitLogisticRegression(matrix, labels, classes.length, settings, options.onProgress),
  };
}

function resolveOptions(options: BaselineTrainingOptions) {
  const s = {
    algorithm: options.algorithm ?? BASELINE_DEFAULTS.algorithm,
    ngrams: options.ngrams ?? BASELINE_DEFAULTS.ngrams,
    buckets: options.buckets ?? BASELINE_DEFAULTS.buckets,
    alpha: options.alpha ?? BASELINE_DEFAULTS.alpha,
    l2: options.l2 ?? BASELINE_DEFAULTS.l2,
    epochs: options.epochs ?? BASELINE_DEFAULTS.epochs,
    tolerance: options.tolerance ?? BASELINE_DEFAULTS.tolerance,
  };
  if (!BASELINE_ALGORITHMS.includes(s.algorithm))
    throw new RangeError(`algorithm must be ${BASELINE_ALGORITHMS.join(' or ')}, got "${s.algorithm}"`);
  const problem = settingProblem(s);
  if (problem) throw new RangeError(problem);
  if (!(Number.isInteger(s.epochs) && s.epochs >= 1)) throw new RangeError(`epochs must be a positive integer, got ${s.epochs}`);
  if (!(s.tolerance >= 0 && Number.isFinite(s.tolerance))) throw new RangeError(`tolerance must be a number ≥ 0, got ${s.tolerance}`);
  return s;
}

/** What is wrong with a featuriser or smoothing setting, or undefined. Shared by training and model validation. */
function settingProblem(s: { ngrams?: unknown; buckets?: unknown; alpha?: unknown; l2?: unknown }): string | undefined {
  const isInt = (v: unknown, lo: number, hi: number) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  if (s.ngrams !== undefined && !isInt(s.ngrams, 1, BASELINE_LIMITS.maxNgrams)) {
    return `ngrams must be an integer from 1 to ${BASELINE_LIMITS.maxNgrams}, got ${JSON.stringify(s.ngrams)}`;
  }
  if (s.buckets !== undefined && !isInt(s.buckets, 1, BASELINE_LIMITS.maxBuckets)) {
    return `buckets must be an integer from 1 to ${BASELINE_LIMITS.maxBuckets} (2^24), got ${JSON.stringify(s.buckets)}`;
  }
  if (s.alpha !== undefined && !(typeof s.alpha === 'number' && s.alpha > 0 && Number.isFinite(s.alpha))) {
    return `alpha must be a number > 0, got ${JSON.stringify(s.alpha)}`;
  }
  if (s.l2 !== undefined && !(typeof s.l2 === 'number' && s.l2 >= 0 && Number.isFinite(s.l2))) {
    return `l2 must be a number ≥ 0, got ${JSON.stringify(s.l2)}`;
  }
  return undefined;
}

function fitNaiveBayes(matrix: TrainingMatrix, labels: Int32Array, k: number, alpha: number): NaiveBayesModel['params'] {
  const d = matrix.columnBucket.length;
  const counts = Array.from({ length: k }, () => new Float64Array(d));
  const classDocuments = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const row = counts[labels[i]];
    classDocuments[labels[i]]++;
    for (let p = matrix.rowStart[i]; p < matrix.rowStart[i + 1]; p++) row[matrix.column[p]] += matrix.count[p];
  }
  return { alpha, classDocuments, bucketDeltas: encodeBuckets(matrix.columnBucket), counts: counts.map((row) => Array.from(row)) };
}

/** Ascending buckets as deltas: the first bucket, then each bucket minus the one before. */
function encodeBuckets(buckets: Int32Array): number[] {
  return Array.from(buckets, (b, j) => b - (j === 0 ? 0 : buckets[j - 1]));
}

/** The active buckets of a model, ascending: the running sums of `bucketDeltas`. */
export function decodeBuckets(bucketDeltas: readonly number[]): Int32Array {
  const out = new Int32Array(bucketDeltas.length);
  let bucket = 0;
  for (let j = 0; j < bucketDeltas.length; j++) out[j] = bucket += bucketDeltas[j];
  return out;
}

/** LR weights are stored as integer multiples of this. */
const WEIGHT_SCALE = 1e-6;

function fitLogisticRegression(
  matrix: TrainingMatrix,
  labels: Int32Array,
  k: number,
  settings: { l2: number; epochs: number; tolerance: number },
  onProgress?: (progress: TrainingProgress) => void,
): LogisticRegressionModel['params'] {
  const n = labels.length;
  const d = matrix.columnBucket.length;
  const { columnStart, row, value } = unitLengthColumns(matrix);
  // θ = [W (feature-major: W[j·k + c]) | b (k)]. The two products X̃W and X̃ᵀR run column by column, so θ and
  // its gradient are read and written in order and only the n×k scores are accessed at random (they are small).
  const weightCount = d * k;
  const scores = new Float64Array(n * k);
  const sums = new Float64Array(k);
  const lambda = settings.l2;
  const objective = (theta: Float64Array, gradient: Float64Array): number => {
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) scores[i * k + c] = theta[weightCount + c];
    for (let j = 0; j < d; j++) {
      const base = j * k;
      for (let p = columnStart[j]; p < columnStart[j + 1]; p++) {
        const at = row[p] * k;
        const v = value[p];
        for (let c = 0; c < k; c++) scores[at + c] += theta[base + c] * v;
      }
    }
    // Loss, and the residuals R = softmax(scores) − onehot(y) in place of the scores.
    let loss = 0;
    sums.fill(0);
    for (let i = 0; i < n; i++) {
      const at = i * k;
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < k; c++) if (scores[at + c] > max) max = scores[at + c];
      let total = 0;
      for (let c = 0; c < k; c++) total += Math.exp(scores[at + c] - max);
      const lse = max + Math.log(total);
      const y = labels[i];
      loss += lse - scores[at + y];
      for (let c = 0; c < k; c++) {
        const r = Math.exp(scores[at + c] - lse) - (c === y ? 1 : 0);
        scores[at + c] = r;
        sums[c] += r;
      }
    }
    let penalty = 0;
    for (let j = 0; j < d; j++) {
      const base = j * k;
      for (let c = 0; c < k; c++) gradient[base + c] = 0;
      for (let p = columnStart[j]; p < columnStart[j + 1]; p++) {
        const at = row[p] * k;
        const v = value[p];
        for (let c = 0; c < k; c++) gradient[base + c] += scores[at + c] * v;
      }
      for (let c = 0; c < k; c++) {
        const w = theta[base + c];
        penalty += w * w;
        gradient[base + c] = gradient[base + c] / n + lambda * w;
      }
    }
    for (let c = 0; c < k; c++) gradient[weightCount + c] = sums[c] / n;
    return loss / n + (lambda / 2) * penalty;
  };
  // D: the inverse of the Hessian's diagonal at the start (p = 1/k): 1 / (λ + ((k−1)/k²)·(1/n)·Σ_i x̃_ij²).
  const spread = (k - 1) / (k * k);
  const preconditioner = new Float64Array(weightCount + k).fill(1 / spread);
  for (let j = 0; j < d; j++) {
    let squares = 0;
    for (let p = columnStart[j]; p < columnStart[j + 1]; p++) squares += value[p] * value[p];
    for (let c = 0; c < k; c++) preconditioner[j * k + c] = 1 / (lambda + (spread * squares) / n);
  }
  const fit = minimiseLbfgs(objective, new Float64Array(weightCount + k), {
    preconditioner,
    maxIterations: settings.epochs,
    tolerance: settings.tolerance,
    onIteration: (iteration, loss) => onProgress?.({ stage: 'fitting', iteration, maxIterations: settings.epochs, loss }),
  });
  const weights = Array.from({ length: k }, (_, c) => {
    const out = new Array<number>(d);
    for (let j = 0; j < d; j++) out[j] = Math.round(fit.x[j * k + c] / WEIGHT_SCALE) || 0;
    return out;
  });
  return {
    l2: lambda,
    intercepts: Array.from({ length: k }, (_, c) => fit.x[weightCount + c]),
    bucketDeltas: encodeBuckets(matrix.columnBucket),
    weights,
    weightScale: WEIGHT_SCALE,
    iterations: fit.iterations,
    converged: fit.converged,
    loss: fit.value,
  };
}

interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

const LBFGS_MEMORY = 10;
const ARMIJO_C1 = 1e-4;
const MAX_BACKTRACKS = 40;

/**
 * Minimises a smooth function by L-BFGS (Nocedal & Wright 2006, Algorithm 7.4; two-loop recursion 7.5;
 * H₀ = (sᵀy / yᵀy)·I; first step of length 1/‖g‖₂) with a backtracking Armijo line search (halving). A pair
 * (s, y) with sᵀy ≤ 1e−12·‖s‖·‖y‖ is skipped, so the implied Hessian stays positive definite. Stops when
 * ‖g‖∞ ≤ tolerance (converged), after maxIterations, or when the line search can no longer decrease f
 * (converged when the decrease left is at rounding level).
 *
 * Each step of the two-loop recursion is one pass that both updates the direction and takes the next dot
 * product: with hundreds of thousands of weights an iteration is bound by memory traffic, not arithmetic.
 * (Keeping the pairs in single precision would save a fifth of the time but stalls convergence below ~1e−8.)
 */
function minimiseLbfgs(
  f: (x: Float64Array, gradient: Float64Array) => number,
  x0: Float64Array,
  options: {
    maxIterations: number;
    tolerance: number;
    /** D, the diagonal of the initial inverse-Hessian approximation up to scale (H₀ = γD); default I. */
    preconditioner?: Float64Array;
    onIteration?: (iteration: number, value: number) => void;
  },
): LbfgsResult {
  const m = x0.length;
  let x = Float64Array.from(x0);
  let g = new Float64Array(m);
  let value = f(x, g);
  let xNext = new Float64Array(m);
  let gNext = new Float64Array(m);
  const direction = new Float64Array(m);
  const preconditioner = options.preconditioner ?? new Float64Array(m).fill(1);
  const history: CurvaturePair[] = [];
  let iterations = 0;
  let converged = maxAbs(g) <= options.tolerance;
  while (!converged && iterations < options.maxIterations) {
    let slope = searchDirection(g, history, preconditioner, direction);
    if (!(slope < 0)) {
      // Not a descent direction (rounding): restart from steepest descent.
      history.length = 0;
      slope = searchDirection(g, history, preconditioner, direction);
    }
    let step = history.length === 0 ? 1 / Math.sqrt(-slope) : 1;
    let nextValue = Number.NaN;
    let accepted = false;
    for (let tries = 0; tries < MAX_BACKTRACKS; tries++) {
      for (let q = 0; q < m; q++) xNext[q] = x[q] + step * direction[q];
      nextValue = f(xNext, gNext);
      if (nextValue <= value + ARMIJO_C1 * step * slope) {
        accepted = true;
        break;
      }
      step /= 2;
    }
    iterations++;
    if (!accepted) {
      // No decrease is possible along this direction at double precision: we are at the optimum's rounding level.
      converged = maxAbs(g) <= Math.max(options.tolerance, 1e-8);
      break;
    }
    const pair =
      history.length === LBFGS_MEMORY
        ? (history.shift() as (typeof history)[number])
        : { s: new Float64Array(m), y: new Float64Array(m), rho: 0, a: 0, yDy: 0 };
    let sy = 0;
    let ss = 0;
    let yy = 0;
    let yDy = 0;
    for (let q = 0; q < m; q++) {
      const sq = xNext[q] - x[q];
      const yq = gNext[q] - g[q];
      pair.s[q] = sq;
      pair.y[q] = yq;
      sy += sq * yq;
      ss += sq * sq;
      yy += yq * yq;
      yDy += yq * yq * preconditioner[q];
    }
    if (sy > 1e-12 * Math.sqrt(ss * yy)) {
      pair.rho = 1 / sy;
      pair.yDy = yDy;
      history.push(pair);
    }
    [x, xNext] = [xNext, x];
    [g, gNext] = [gNext, g];
    value = nextValue;
    options.onIteration?.(iterations, value);
    converged = maxAbs(g) <= options.tolerance;
  }
  return { x, value, iterations, converged };
}

/** One (s, y) pair of L-BFGS's memory, with ρ = 1 / sᵀy, yᵀDy, and the first loop's coefficient a. */
interface CurvaturePair {
  s: Float64Array;
  y: Float64Array;
  rho: number;
  yDy: number;
  a: number;
}

/**
 * direction = −H·g by the two-loop recursion over `history` (oldest first), H₀ = γD with γ = sᵀy / yᵀDy of the
 * newest pair (−D·g without history); returns the slope gᵀ·direction. Each pass applies one update and
 * accumulates the next dot product.
 */
function searchDirection(g: Float64Array, history: CurvaturePair[], D: Float64Array, d: Float64Array): number {
  const m = g.length;
  const h = history.length;
  // d = −g, with the first dot product s_{h−1}ᵀ d.
  let acc = 0;
  const first = h > 0 ? history[h - 1].s : undefined;
  for (let q = 0; q < m; q++) {
    d[q] = h > 0 ? -g[q] : -D[q] * g[q];
    if (first) acc += first[q] * d[q];
  }
  if (h > 0) {
    // First loop, newest to oldest: a_t = ρ_t s_tᵀ d; d ← d − a_t y_t.
    for (let t = h - 1; t >= 0; t--) {
      const { y, rho } = history[t];
      const a = rho * acc;
      history[t].a = a;
      acc = 0;
      if (t > 0) {
        const sPrevious = history[t - 1].s;
        for (let q = 0; q < m; q++) {
          const v = d[q] - a * y[q];
          d[q] = v;
          acc += sPrevious[q] * v;
        }
      } else {
        // Last update of the first loop, the scaling by γ, and the second loop's first dot product y_0ᵀ d.
        const newest = history[h - 1];
        const gamma = 1 / (newest.rho * newest.yDy);
        const y0 = history[0].y;
        for (let q = 0; q < m; q++) {
          const v = gamma * D[q] * (d[q] - a * y[q]);
          d[q] = v;
          acc += y0[q] * v;
        }
      }
    }
    // Second loop, oldest to newest: b_t = ρ_t y_tᵀ d; d ← d + (a_t − b_t) s_t.
    for (let t = 0; t < h; t++) {
      const { s, rho, a } = history[t];
      const coefficient = a - rho * acc;
      acc = 0;
      const yNext = t + 1 < h ? history[t + 1].y : undefined;
      if (yNext) {
        for (let q = 0; q < m; q++) {
          const v = d[q] + coefficient * s[q];
          d[q] = v;
          acc += yNext[q] * v;
        }
      } else {
        for (let q = 0; q < m; q++) d[q] += coefficient * s[q];
      }
    }
  }
  let slope = 0;
  for (let q = 0; q < m; q++) slope += g[q] * d[q];
  return slope;
}

function maxAbs(x: Float64Array): number {
  let m = 0;
  for (let q = 0; q < x.length; q++) m = Math.max(m, Math.abs(x[q]));
  return m;
}

/** log Σ exp(z), computed as max + log Σ exp(z − max) so that it neither overflows nor underflows. */
export function logSumExp(z: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < z.length; c++) if (z[c] > max) max = z[c];
  if (!Number.isFinite(max)) return max;
  let sum = 0;
  for (let c = 0; c < z.length; c++) sum += Math.exp(z[c] - max);
  return max + Math.log(sum);
}

// ------------------------------------------------------------------------------------------ prediction

/** A model laid out for scoring: a dense bucket → row map and the per-bucket class weights. */
interface CompiledModel {
  k: number;
  /** slot[bucket] = row in `weights`, or −1 for a bucket not seen in training. */
  slot: Int32Array;
  /** weights[row·k + c]: log P̂(t | c) for naive Bayes, W_ct for logistic regression. */
  weights: Float64Array;
  /** The per-class weight of a bucket not seen in training: log(α / (S_c + α·B)) for naive Bayes, 0 otherwise. */
  unseen: Float64Array;
  /** Per-class constant: log P̂(c) for naive Bayes, b_c for logistic regression. */
  bias: Float64Array;
  /** Logistic regression reads x / ‖x‖₂, naive Bayes the raw counts. */
  unitLength: boolean;
}

const compiled = new WeakMap<BaselineModel, CompiledModel>();

function compile(model: BaselineModel): CompiledModel {
  const cached = compiled.get(model);
  if (cached) return cached;
  const k = model.classes.length;
  const active = decodeBuckets(model.params.bucketDeltas);
  const slot = new Int32Array(model.buckets).fill(-1);
  for (let j = 0; j < active.length; j++) slot[active[j]] = j;
  const weights = new Float64Array(active.length * k);
  const unseen = new Float64Array(k);
  const bias = new Float64Array(k);
  if (model.algorithm === 'naive_bayes') {
    const { alpha, classDocuments, counts } = model.params;
    const documents = classDocuments.reduce((s, v) => s + v, 0);
    for (let c = 0; c < k; c++) {
      const row = counts[c];
      let total = 0;
      for (let j = 0; j < row.length; j++) total += row[j];
      const logDenominator = Math.log(total + alpha * model.buckets);
      for (let j = 0; j < row.length; j++) weights[j * k + c] = Math.log(row[j] + alpha) - logDenominator;
      unseen[c] = Math.log(alpha) - logDenominator;
      bias[c] = Math.log(classDocuments[c]) - Math.log(documents);
    }
  } else {
    const { weights: w, intercepts, weightScale } = model.params;
    for (let c = 0; c < k; c++) {
      const row = w[c];
      for (let j = 0; j < row.length; j++) weights[j * k + c] = row[j] * weightScale;
      bias[c] = intercepts[c];
    }
  }
  const out: CompiledModel = { k, slot, weights, unseen, bias, unitLength: model.algorithm === 'logistic_regression' };
  compiled.set(model, out);
  return out;
}

/** Scores one text: the most probable class, its probability, every class's probability and the logits. */
export function predictBaseline(model: BaselineModel, text: string): BaselinePrediction {
  const m = compile(model);
  const { buckets, counts } = hashedCounts(text, model.ngrams, model.buckets);
  let norm = 1;
  if (m.unitLength) {
    let squares = 0;
    for (const v of counts) squares += v * v;
    norm = squares > 0 ? Math.sqrt(squares) : 1;
  }
  const logits = Array.from(m.bias);
  for (let q = 0; q < buckets.length; q++) {
    const x = counts[q] / norm;
    const row = m.slot[buckets[q]];
    if (row >= 0) {
      const base = row * m.k;
      for (let c = 0; c < m.k; c++) logits[c] += x * m.weights[base + c];
    } else {
      for (let c = 0; c < m.k; c++) logits[c] += x * m.unseen[c];
    }
  }
  const lse = logSumExp(logits);
  const probs: Record<string, number> = {};
  let best = 0;
  for (let c = 0; c < m.k; c++) {
    probs[model.classes[c]] = Math.exp(logits[c] - lse);
    if (logits[c] > logits[best]) best = c;
  }
  const label = model.classes[best];
  return { label, confidence: probs[label], probs, logits };
}

// ------------------------------------------------------------------------------------------ validation

/**
 * Checks a loaded model (an object, or its JSON text) and returns it typed; throws an Error that names the
 * first thing wrong (`baseline model: params.counts[2] has 5 values, expected 7 (one per active bucket)`).
 */
export function parseBaselineModel(json: unknown): BaselineModel {
  let value = json;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      invalid(`not valid JSON (${(err as Error).message})`);
    }
  }
  if (!isObject(value)) return invalid('expected a JSON object');
  if (value.kind !== 'airlock-baseline') {
    invalid(`kind must be "airlock-baseline", got ${JSON.stringify(value.kind)} — is this an Airlock baseline model file?`);
  }
  if (value.version !== 1) invalid(`version ${JSON.stringify(value.version)} is not supported (this Airlock reads version 1)`);
  const algorithm = value.algorithm as BaselineAlgorithm;
  if (!BASELINE_ALGORITHMS.includes(algorithm)) {
    invalid(`algorithm must be ${BASELINE_ALGORITHMS.join(' or ')}, got ${JSON.stringify(value.algorithm)}`);
  }
  const classes = value.classes;
  if (!Array.isArray(classes) || classes.length < 2 || classes.some((c) => typeof c !== 'string')) {
    return invalid('classes must be an array of at least 2 class names (strings)');
  }
  if (new Set(classes).size !== classes.length) invalid('classes names a class twice');
  for (const key of ['ngrams', 'buckets'] as const) if (value[key] === undefined) invalid(`${key} is missing`);
  const settings = settingProblem({ ngrams: value.ngrams, buckets: value.buckets });
  if (settings) invalid(settings);
  if (value.metadata !== undefined && !isObject(value.metadata)) invalid('metadata must be an object');
  if (!isObject(value.params)) return invalid('params must be an object');
  const params = value.params;
  const k = classes.length;
  const active = checkBucketDeltas(params.bucketDeltas, value.buckets as number);
  if (algorithm === 'naive_bayes') {
    const alpha = settingProblem({ alpha: params.alpha ?? null });
    if (alpha) invalid(`params.${alpha}`);
    checkPerClass(params, 'classDocuments', k, (v) => Number.isFinite(v) && v > 0, 'a number > 0');
    checkPerClassRows(params, 'counts', k, active, (v) => Number.isFinite(v) && v >= 0, 'a count ≥ 0');
  } else {
    const l2 = settingProblem({ l2: params.l2 ?? null });
    if (l2) invalid(`params.${l2}`);
    const scale = params.weightScale;
    if (!(typeof scale === 'number' && scale > 0 && Number.isFinite(scale))) {
      invalid(`params.weightScale must be a number > 0, got ${JSON.stringify(scale)}`);
    }
    checkPerClass(params, 'intercepts', k, Number.isFinite, 'a finite number');
    checkPerClassRows(params, 'weights', k, active, Number.isSafeInteger, 'an integer');
  }
  return value as unknown as BaselineModel;
}

function invalid(message: string): never {
  throw new Error(`baseline model: ${message}`);
}

/** Checks the delta-encoded active buckets (strictly ascending, inside [0, buckets)); returns how many there are. */
function checkBucketDeltas(deltas: unknown, buckets: number): number {
  if (!Array.isArray(deltas)) return invalid('params.bucketDeltas must be an array of integers');
  let bucket = 0;
  for (let j = 0; j < deltas.length; j++) {
    const delta = deltas[j];
    const least = j === 0 ? 0 : 1;
    if (!(typeof delta === 'number' && Number.isInteger(delta) && delta >= least)) {
      invalid(`params.bucketDeltas[${j}] must be an integer ≥ ${least} (buckets strictly ascending), got ${JSON.stringify(delta)}`);
    }
    bucket += delta;
    if (bucket >= buckets) invalid(`params.bucketDeltas: bucket ${bucket} at index ${j} is outside [0, ${buckets})`);
  }
  return deltas.length;
}

function checkPerClass(params: Record<string, unknown>, name: string, k: number, ok: (v: number) => boolean, expected: string): void {
  const values = params[name];
  if (!Array.isArray(values) || values.length !== k) invalid(`params.${name} must hold one number per class (${k})`);
  (values as unknown[]).forEach((v, c) => {
    if (typeof v !== 'number' || !ok(v)) invalid(`params.${name}[${c}] must be ${expected}, got ${JSON.stringify(v)}`);
  });
}

function checkPerClassRows(
  params: Record<string, unknown>,
  name: string,
  k: number,
  active: number,
  ok: (v: number) => boolean,
  expected: string,
): void {
  const rows = params[name];
  if (!Array.isArray(rows) || rows.length !== k) invalid(`params.${name} must hold one array per class (${k})`);
  for (const [c, row] of (rows as unknown[]).entries()) {
    if (!Array.isArray(row)) invalid(`params.${name}[${c}] must be an array`);
    const values = row as unknown[];
    if (values.length !== active) invalid(`params.${name}[${c}] has ${values.length} values, expected ${active} (one per active bucket)`);
    for (let j = 0; j < values.length; j++) {
      const v = values[j];
      if (typeof v !== 'number' || !ok(v)) invalid(`params.${name}[${c}][${j}] must be ${expected}, got ${JSON.stringify(v)}`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ------------------------------------------------------------------------------------------ splitting

/**
 * A seeded, stratified train / held-out split: within each class (in sorted order) the rows are shuffled by
 * Fisher–Yates with `seededRandom(seed)` and round(n_c·holdout) of them are held out — but never all of a
 * class, so every class is trained on. Returns ascending row indices.
 */
export function stratifiedSplit(labels: readonly string[], holdout: number, seed: number): { train: number[]; heldOut: number[] } {
  if (!(holdout >= 0 && holdout < 1)) throw new RangeError(`holdout must be in [0, 1), got ${holdout}`);
  const byClass = new Map<string, number[]>();
  labels.forEach((label, i) => {
    const rows = byClass.get(label);
    if (rows) rows.push(i);
    else byClass.set(label, [i]);
  });
  const random = seededRandom(seed);
  const train: number[] = [];
  const heldOut: number[] = [];
  for (const label of [...byClass.keys()].sort()) {
    const rows = byClass.get(label) as number[];
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [rows[i], rows[j]] = [rows[j], rows[i]];
    }
    const held = Math.min(Math.round(rows.length * holdout), rows.length - 1);
    heldOut.push(...rows.slice(0, held));
    train.push(...rows.slice(held));
  }
  return { train: train.sort((a, b) => a - b), heldOut: heldOut.sort((a, b) => a - b) };
}
