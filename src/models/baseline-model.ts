/**
 * The baseline model file (`kind: 'airlock-baseline'`, `version: 1`, JSON): the classes (sorted), the
 * featuriser's `ngrams` and `buckets`, and `params` with the active buckets (ascending, delta-encoded) and per
 * class one number per active bucket — so its size grows with the distinct features of the training set, not
 * with `buckets`. Measured: 1,200 generated mails of ~35 words, 3 classes: 6,400 active buckets, 60 KB (naive
 * Bayes) and 150 KB (logistic regression); 10,000 documents of ~100 words from a 50,000-word Zipf vocabulary,
 * 3 classes: 244,000 active buckets, 2.0 MB and 4.6 MB. Loading a model allocates one 4-byte slot per bucket
 * (1 MB at 2^18) plus 8 bytes per class and active bucket.
 *
 * Its types, the limits of its settings, the bucket encoding, and parseBaselineModel, which checks a loaded file.
 */

export type BaselineAlgorithm = 'naive_bayes' | 'logistic_regression';

export const BASELINE_ALGORITHMS: readonly BaselineAlgorithm[] = ['naive_bayes', 'logistic_regression'];

/** Limits of the settings a model may carry. */
export const BASELINE_LIMITS = { maxNgrams: 5, maxBuckets: 2 ** 24 } as const;

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

/** Ascending buckets as deltas: the first bucket, then each bucket minus the one before. */
export function encodeBuckets(buckets: Int32Array): number[] {
  return Array.from(buckets, (b, j) => b - (j === 0 ? 0 : buckets[j - 1]));
}

/** The active buckets of a model, ascending: the running sums of `bucketDeltas`. */
export function decodeBuckets(bucketDeltas: readonly number[]): Int32Array {
  const out = new Int32Array(bucketDeltas.length);
  let bucket = 0;
  for (let j = 0; j < bucketDeltas.length; j++) out[j] = bucket += bucketDeltas[j];
  return out;
}

/** What is wrong with a featuriser or smoothing setting, or undefined. Shared by training and model validation. */
export function settingProblem(s: { ngrams?: unknown; buckets?: unknown; alpha?: unknown; l2?: unknown }): string | undefined {
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
