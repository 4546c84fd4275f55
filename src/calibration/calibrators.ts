/**
 * Calibrators: maps from a model's raw confidence to a calibrated one, fitted on labelled predictions.
 *
 * Every `fit…` returns a plain, JSON-serialisable `{ method, version: 1, params }` and every `apply…` is a pure
 * function of that object and new scores, so a fitted calibrator can be stored as an artefact and reused by the
 * router (`applyCalibrator` gives the calibrated top-label confidence whatever the method). Fit on one split and
 * evaluate on another (`splitForCalibration`), or cross-fit (`crossFit`). Fits are unweighted.
 *
 * - Temperature scaling (Guo et al. 2017, §4.2): softmax(z / T) with T > 0 minimising the NLL, for multi-class
 *   logits, or for log-probabilities when only probabilities are known. Brent's method on log T in [1e−3, 1e4].
 * - Platt scaling (Platt 1999): σ(slope·s + intercept), s = logit(confidence) by default, fitted by Newton's method
 *   (backtracking far from the optimum, full steps near it; after Lin, Lin & Weng 2007) on Platt's smoothed
 *   targets (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2), or on 0/1 with `targetSmoothing: false`.
 *   Platt writes 1/(1 + exp(A·f + B)): slope = −A, intercept = −B.
 * - Isotonic regression (Zadrozny & Elkan 2002) by pool-adjacent-violators, as
 *   sklearn.isotonic.IsotonicRegression(out_of_bounds='clip', increasing=True): equal scores (closer than 1e−15) are
 *   pooled first, the fitted steps are kept at their end points, and new scores are clipped to the fitted range and
 *   interpolated linearly between those points.
 * - Histogram binning (Zadrozny & Elkan 2001): a score maps to the mean outcome of its bin among the fitting rows;
 *   10 equal-mass bins by default, bins as in metrics.ts ((lo, hi], ties kept together); empty bins are dropped
 *   and a score maps to the first kept upper edge at or above it (the last bin above the last edge).
 */

import {
  assignBins,
  clipProbability,
  firstEdgeAtLeast,
  type Outcomes,
  PROBABILITY_FLOOR,
  type ProbabilityRows,
  seededRandom,
  topLabel,
  type Vector,
} from './metrics.js';

export type CalibrationMethod = 'temperature' | 'platt' | 'isotonic' | 'histogram';

export interface TemperatureCalibrator {
  method: 'temperature';
  version: 1;
  params: {
    temperature: number;
    /** What `apply` expects: the logits, or probabilities (whose logarithms stand in for logits). */
    input: 'logits' | 'probs';
  };
}

export interface PlattCalibrator {
  method: 'platt';
  version: 1;
  params: {
    slope: number;
    intercept: number;
    /** The score fed to the sigmoid: logit(confidence) ('logit') or the score as given ('raw'). */
    input: 'logit' | 'raw';
    targetSmoothing: boolean;
  };
}

export interface IsotonicCalibrator {
  method: 'isotonic';
  version: 1;
  /** The fitted non-decreasing step function's knots (sklearn's X_thresholds_, y_thresholds_). */
  params: { x: number[]; y: number[] };
}

export interface HistogramCalibrator {
  method: 'histogram';
  version: 1;
  params: {
    binning: 'equal-mass' | 'equal-width';
    /** Upper edges of the non-empty bins, ascending. */
    upperEdges: number[];
    /** Mean outcome in each bin. */
    values: number[];
    /** Fitting rows in each bin. */
    counts: number[];
  };
}

export type Calibrator = TemperatureCalibrator | PlattCalibrator | IsotonicCalibrator | HistogramCalibrator;

/** Scores a calibrator can be applied to; which are needed depends on the method (see applyCalibrator). */
export interface CalibratorInput {
  confidence?: Vector;
  probs?: ProbabilityRows;
  logits?: ProbabilityRows;
}

/** Labelled predictions to fit a calibrator on. */
export interface CalibrationData extends CalibratorInput {
  confidence: Vector;
  correct: Outcomes;
  /** True class indices; temperature scaling needs them with `logits` or `probs`. */
  labels?: Vector;
}

export interface CalibrationSplit {
  /** Row indices to fit on, ascending. */
  fit: number[];
  /** Row indices to evaluate on, ascending. */
  evaluate: number[];
}

const TEMPERATURE_RANGE: [number, number] = [1e-3, 1e4];

// ------------------------------------------------------------------------------------------ temperature

/** Fits temperature scaling: T minimising the mean NLL of softmax(z/T) (Guo et al. 2017, §4.2); z = logits, or log(max(p, 1e−15)) from probabilities. */
export function fitTemperatureScaling(
  scores: { logits: ProbabilityRows } | { probs: ProbabilityRows },
  labels: Vector,
): TemperatureCalibrator {
  const input = 'logits' in scores ? 'logits' : 'probs';
  const z = toLogits(input, 'logits' in scores ? scores.logits : scores.probs);
  const n = z.length;
  if (n < 1) throw new RangeError('temperature scaling needs at least one prediction');
  if (labels.length !== n) throw new RangeError(`${input} has ${n} rows but labels has ${labels.length}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0 || labels[i] >= z[i].length) {
      throw new RangeError(`label at row ${i} must be a class index in [0, ${z[i].length}), got ${labels[i]}`);
    }
  }
  const nll = (logTemperature: number) => temperatureNll(z, labels, Math.exp(logTemperature));
  const best = minimiseScalar(nll, Math.log(TEMPERATURE_RANGE[0]), Math.log(TEMPERATURE_RANGE[1]));
  return { method: 'temperature', version: 1, params: { temperature: Math.exp(best), input } };
}

/** Calibrated class probabilities softmax(z/T) for each row (z as at fit time). */
export function applyTemperatureScaling(model: TemperatureCalibrator, scores: ProbabilityRows): number[][] {
  const t = model.params.temperature;
  return toLogits(model.params.input, scores).map((row) => softmax(row, t));
}

function toLogits(input: 'logits' | 'probs', rows: ProbabilityRows): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = Array.from(rows[i]);
    for (const [k, v] of row.entries()) {
      if (input === 'probs' ? !(v >= 0 && v <= 1) : !Number.isFinite(v)) {
        throw new RangeError(
          `${input} at row ${i}, class ${k} must be ${input === 'probs' ? 'a probability in [0, 1]' : 'finite'}, got ${v}`,
        );
      }
    }
    out.push(input === 'probs' ? row.map((p) => Math.log(Math.max(p, PROBABILITY_FLOOR))) : row);
  }
  return out;
}

function temperatureNll(z: number[][], labels: Vector, temperature: number): number {
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    const row = z[i];
    let max = Number.NEGATIVE_INFINITY;
    for (const v of row) max = Math.max(max, v / temperature);
    let total = 0;
    for (const v of row) total += Math.exp(v / temperature - max);
    sum += max + Math.log(total) - row[labels[i]] / temperature;
  }
  return sum / z.length;
}

function softmax(row: number[], temperature: number): number[] {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of row) max = Math.max(max, v / temperature);
  const e = row.map((v) => Math.exp(v / temperature - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

/**
 * Brent's method for the minimum of a unimodal f on [lo, hi] (Brent 1973, ch. 5: golden section with parabolic
 * steps), stopping when the bracket is within 1.5e−8·|x| + 1e−11 (scipy.optimize.fminbound's rule, with xatol = 1e−11).
 */
function minimiseScalar(f: (x: number) => number, lo: number, hi: number, absoluteTolerance = 1e-11, maxIterations = 500): number {
  const golden = (3 - Math.sqrt(5)) / 2;
  const sqrtEps = Math.sqrt(Number.EPSILON);
  let a = lo;
  let b = hi;
  let x = a + golden * (b - a);
  let w = x;
  let v = x;
  let fx = f(x);
  let fw = fx;
  let fv = fx;
  let d = 0;
  let e = 0;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    const middle = (a + b) / 2;
    const tol1 = sqrtEps * Math.abs(x) + absoluteTolerance / 3;
    const tol2 = 2 * tol1;
    if (Math.abs(x - middle) <= tol2 - (b - a) / 2) break;
    let goldenStep = true;
    if (Math.abs(e) > tol1) {
      // Parabola through (v, fv), (w, fw), (x, fx).
      let r = (x - w) * (fx - fv);
      let q = (x - v) * (fx - fw);
      let p = (x - v) * q - (x - w) * r;
      q = 2 * (q - r);
      if (q > 0) p = -p;
      else q = -q;
      r = e;
      e = d;
      if (Math.abs(p) < Math.abs(0.5 * q * r) && p > q * (a - x) && p < q * (b - x)) {
        d = p / q;
        const u = x + d;
        if (u - a < tol2 || b - u < tol2) d = x < middle ? tol1 : -tol1;
        goldenStep = false;
      }
    }
    if (goldenStep) {
      e = (x < middle ? b : a) - x;
      d = golden * e;
    }
    const u = x + (Math.abs(d) >= tol1 ? d : d > 0 ? tol1 : -tol1);
    const fu = f(u);
    if (fu <= fx) {
      if (u < x) b = x;
      else a = x;
      v = w;
      fv = fw;
      w = x;
      fw = fx;
      x = u;
      fx = fu;
    } else {
      if (u < x) a = u;
      else b = u;
      if (fu <= fw || w === x) {
        v = w;
        fv = fw;
        w = u;
        fw = fu;
      } else if (fu <= fv || v === x || v === w) {
        v = u;
        fv = fu;
      }
    }
  }
  return x;
}

// ------------------------------------------------------------------------------------------ Platt

export interface PlattOptions {
  /** 'logit' (default): the sigmoid's input is logit(confidence), confidence clipped to [1e−15, 1 − 1e−15]. 'raw': the score as given. */
  input?: 'logit' | 'raw';
  /** Platt's targets (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2) instead of 1 and 0. Default true. */
  targetSmoothing?: boolean;
}

/** Fits Platt scaling σ(slope·s + intercept) by Newton's method on the cross-entropy (Platt 1999, §2.2, smoothed targets by default; unsmoothed = sklearn LogisticRegression(penalty=None)). */
export function fitPlattScaling(score: Vector, outcome: Outcomes, options: PlattOptions = {}): PlattCalibrator {
  const input = options.input ?? 'logit';
  const targetSmoothing = options.targetSmoothing ?? true;
  const n = score.length;
  if (n < 1) throw new RangeError('Platt scaling needs at least one prediction');
  if (outcome.length !== n) throw new RangeError(`score has ${n} rows but the outcomes have ${outcome.length}`);
  const s = plattFeature(input, score);
  let positives = 0;
  for (let i = 0; i < n; i++) if (outcome[i]) positives++;
  const negatives = n - positives;
  const high = targetSmoothing ? (positives + 1) / (positives + 2) : 1;
  const low = targetSmoothing ? 1 / (negatives + 2) : 0;
  const target = Float64Array.from({ length: n }, (_, i) => (outcome[i] ? high : low));
  // Platt's starting point: slope 0, intercept at the (smoothed) prior log-odds.
  let slope = 0;
  let intercept = Math.log((positives + 1) / (negatives + 1));
  for (let iteration = 0; iteration < 100; iteration++) {
    // Gradient and Hessian of the mean cross-entropy.
    let gSlope = 0;
    let gIntercept = 0;
    let hSS = 0;
    let hSI = 0;
    let hII = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(slope * s[i] + intercept);
      const r = p - target[i];
      const v = p * (1 - p);
      gSlope += r * s[i];
      gIntercept += r;
      hSS += v * s[i] * s[i];
      hSI += v * s[i];
      hII += v;
    }
    gSlope /= n;
    gIntercept /= n;
    if (Math.max(Math.abs(gSlope), Math.abs(gIntercept)) < 1e-13) break;
    // Lin, Lin & Weng's tiny ridge keeps the Hessian invertible (e.g. when every score is the same).
    hSS = hSS / n + 1e-12;
    hSI = hSI / n;
    hII = hII / n + 1e-12;
    const det = hSS * hII - hSI * hSI;
    const dSlope = -(hII * gSlope - hSI * gIntercept) / det;
    const dIntercept = -(hSS * gIntercept - hSI * gSlope) / det;
    // Newton decrement λ² = −g·Δ: twice the decrease the quadratic model predicts.
    const decrement = -(gSlope * dSlope + gIntercept * dIntercept);
    if (decrement < 1e-20) break;
    if (decrement < 1e-8) {
      // Close to the optimum full Newton steps converge quadratically, and the loss itself can no longer
      // resolve the remaining decrease on large samples, so no line search here.
      slope += dSlope;
      intercept += dIntercept;
      if (Math.abs(dSlope) <= 1e-13 * (1 + Math.abs(slope)) && Math.abs(dIntercept) <= 1e-13 * (1 + Math.abs(intercept))) break;
      continue;
    }
    // Far from it: backtracking line search on the loss (Armijo).
    const loss = crossEntropy(s, target, slope, intercept);
    let step = 1;
    while (
      step >= 1e-10 &&
      crossEntropy(s, target, slope + step * dSlope, intercept + step * dIntercept) > loss - 1e-4 * step * decrement
    ) {
      step /= 2;
    }
    if (step < 1e-10) break;
    slope += step * dSlope;
    intercept += step * dIntercept;
  }
  return { method: 'platt', version: 1, params: { slope, intercept, input, targetSmoothing } };
}

/** σ(slope·s + intercept) for each score. */
export function applyPlattScaling(model: PlattCalibrator, score: Vector): number[] {
  const { slope, intercept, input } = model.params;
  return Array.from(plattFeature(input, score), (s) => sigmoid(slope * s + intercept));
}

function plattFeature(input: 'logit' | 'raw', score: Vector): Float64Array {
  return Float64Array.from(score, (value, i) => {
    if (input === 'logit') {
      if (!(value >= 0 && value <= 1)) throw new RangeError(`confidence at row ${i} must be a probability in [0, 1], got ${value}`);
      const p = clipProbability(value);
      return Math.log(p) - Math.log1p(-p);
    }
    if (!Number.isFinite(value)) throw new RangeError(`score at row ${i} must be finite, got ${value}`);
    return value;
  });
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log σ(z), without overflow. */
function logSigmoid(z: number): number {
  return z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
}

function crossEntropy(s: Float64Array, target: Float64Array, slope: number, intercept: number): number {
  let sum = 0;
  for (let i = 0; i < s.length; i++) {
    const z = slope * s[i] + intercept;
    sum -= target[i] * logSigmoid(z) + (1 - target[i]) * logSigmoid(-z);
  }
  return sum / s.length;
}

// ------------------------------------------------------------------------------------------ isotonic

/** Fits isotonic regression of outcome on score by pool-adjacent-violators (Ayer et al. 1955; = sklearn IsotonicRegression(increasing=True, out_of_bounds='clip')). */
export function fitIsotonicRegression(score: Vector, outcome: Outcomes): IsotonicCalibrator {
  const n = score.length;
  if (n < 1) throw new RangeError('isotonic regression needs at least one prediction');
  if (outcome.length !== n) throw new RangeError(`score has ${n} rows but the outcomes have ${outcome.length}`);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) if (!Number.isFinite(score[i])) throw new RangeError(`score at row ${i} must be finite, got ${score[i]}`);
  order.sort((a, b) => score[a] - score[b]);
  // Pool equal scores (sklearn's _make_unique: closer than float64 resolution 1e-15 to the group's first score).
  const xs: number[] = [];
  const means: number[] = [];
  const weights: number[] = [];
  for (let start = 0; start < n; ) {
    const x = score[order[start]];
    let end = start;
    let hits = 0;
    while (end < n && score[order[end]] - x < 1e-15) {
      if (outcome[order[end]]) hits++;
      end++;
    }
    xs.push(x);
    means.push(hits / (end - start));
    weights.push(end - start);
    start = end;
  }
  // Pool adjacent violators: a stack of blocks with non-decreasing means.
  const blockMean: number[] = [];
  const blockWeight: number[] = [];
  const blockEnd: number[] = [];
  for (let j = 0; j < xs.length; j++) {
    let mean = means[j];
    let weight = weights[j];
    while (blockMean.length > 0 && blockMean[blockMean.length - 1] >= mean) {
      const w = blockWeight.pop()!;
      mean = (blockMean.pop()! * w + mean * weight) / (w + weight);
      weight += w;
      blockEnd.pop();
    }
    blockMean.push(mean);
    blockWeight.push(weight);
    blockEnd.push(j);
  }
  const fitted: number[] = new Array(xs.length);
  let start = 0;
  for (let b = 0; b < blockMean.length; b++) {
    for (let j = start; j <= blockEnd[b]; j++) fitted[j] = blockMean[b];
    start = blockEnd[b] + 1;
  }
  // Keep the first and last point of each run of equal fitted values: nothing in between changes the interpolation.
  const x: number[] = [];
  const y: number[] = [];
  for (let j = 0; j < xs.length; j++) {
    const inner = j > 0 && j < xs.length - 1;
    if (!inner || fitted[j] !== fitted[j - 1] || fitted[j] !== fitted[j + 1]) {
      x.push(xs[j]);
      y.push(fitted[j]);
    }
  }
  return { method: 'isotonic', version: 1, params: { x, y } };
}

/** The fitted step function at each score: clipped to the fitted range, linear between knots (as scipy.interpolate.interp1d). */
export function applyIsotonicRegression(model: IsotonicCalibrator, score: Vector): number[] {
  const { x, y } = model.params;
  const last = x.length - 1;
  return Array.from(score, (value) => {
    if (last === 0) return y[0];
    const s = Math.min(Math.max(value, x[0]), x[last]);
    const hi = Math.max(1, firstEdgeAtLeast(x, s));
    const lo = hi - 1;
    const slope = (y[hi] - y[lo]) / (x[hi] - x[lo]);
    return slope * (s - x[lo]) + y[lo];
  });
}

// ------------------------------------------------------------------------------------------ histogram

export interface HistogramOptions {
  /** Default 10 (Zadrozny & Elkan 2001). */
  bins?: number;
  /** Default 'equal-mass'. */
  binning?: 'equal-mass' | 'equal-width';
}

/** Fits histogram binning: each bin's calibrated value is the mean outcome of its fitting rows (Zadrozny & Elkan 2001, §3). */
export function fitHistogramBinning(confidence: Vector, outcome: Outcomes, options: HistogramOptions = {}): HistogramCalibrator {
  const binning = options.binning ?? 'equal-mass';
  const n = confidence.length;
  if (outcome.length !== n) throw new RangeError(`confidence has ${n} rows but the outcomes have ${outcome.length}`);
  const layout = assignBins(confidence, { bins: options.bins ?? 10, binning });
  const count = new Array<number>(layout.hi.length).fill(0);
  const hits = new Array<number>(layout.hi.length).fill(0);
  for (let i = 0; i < n; i++) {
    count[layout.binOf[i]]++;
    if (outcome[i]) hits[layout.binOf[i]]++;
  }
  const params: HistogramCalibrator['params'] = { binning, upperEdges: [], values: [], counts: [] };
  for (let b = 0; b < count.length; b++) {
    if (count[b] === 0) continue;
    params.upperEdges.push(layout.hi[b]);
    params.values.push(hits[b] / count[b]);
    params.counts.push(count[b]);
  }
  return { method: 'histogram', version: 1, params };
}

/** The fitted bin value for each confidence: the bin of the first upper edge >= it, the last bin above the last edge. */
export function applyHistogramBinning(model: HistogramCalibrator, confidence: Vector): number[] {
  const { upperEdges, values } = model.params;
  return Array.from(confidence, (c) => values[firstEdgeAtLeast(upperEdges, c)]);
}

// ------------------------------------------------------------------------------------------ any method

/** Fits the named calibrator on labelled predictions; temperature scaling uses `logits` when given, else `probs`, with `labels`. */
export function fitCalibrator(method: CalibrationMethod, data: CalibrationData, options: PlattOptions & HistogramOptions = {}): Calibrator {
  switch (method) {
    case 'temperature': {
      if (!data.labels || !(data.logits || data.probs)) throw new RangeError('temperature scaling needs labels and logits or probs');
      return fitTemperatureScaling(data.logits ? { logits: data.logits } : { probs: data.probs! }, data.labels);
    }
    case 'platt':
      return fitPlattScaling(data.confidence, data.correct, options);
    case 'isotonic':
      return fitIsotonicRegression(data.confidence, data.correct);
    case 'histogram':
      return fitHistogramBinning(data.confidence, data.correct, options);
    default:
      throw new RangeError(`unknown calibration method '${method as string}'`);
  }
}

/**
 * Calibrated top-label confidence for each prediction. Temperature scaling needs the `logits` or `probs` it was
 * fitted on and returns the largest calibrated probability (the predicted label does not change); the other
 * methods map `confidence`, or the largest of `probs` when no confidence is given.
 */
export function applyCalibrator(model: Calibrator, input: CalibratorInput): number[] {
  if (model.method === 'temperature') {
    const scores = model.params.input === 'logits' ? input.logits : input.probs;
    if (!scores) throw new RangeError(`this temperature calibrator was fitted on ${model.params.input} and needs them to apply`);
    return applyTemperatureScaling(model, scores).map((row) => Math.max(...row));
  }
  const confidence = input.confidence ?? (input.probs ? topLabel(input.probs).confidence : undefined);
  if (!confidence) throw new RangeError(`a ${model.method} calibrator needs confidence or probs`);
  switch (model.method) {
    case 'platt':
      return applyPlattScaling(model, confidence);
    case 'isotonic':
      return applyIsotonicRegression(model, confidence);
    case 'histogram':
      return applyHistogramBinning(model, confidence);
  }
}

/** Checks a stored calibrator (e.g. parsed JSON) and returns it typed; throws a RangeError naming what is wrong. */
export function parseCalibrator(value: unknown): Calibrator {
  const fail = (why: string): never => {
    throw new RangeError(`not a calibrator: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('expected an object');
  const { method, version, params } = value as { method?: unknown; version?: unknown; params?: unknown };
  if (version !== 1) fail(`unsupported version ${String(version)}`);
  if (typeof params !== 'object' || params === null) return fail('params must be an object');
  const p = params as Record<string, unknown>;
  const finite = (key: string) => typeof p[key] === 'number' && Number.isFinite(p[key]);
  const numbers = (key: string) => Array.isArray(p[key]) && (p[key] as unknown[]).every((v) => typeof v === 'number' && Number.isFinite(v));
  switch (method) {
    case 'temperature':
      if (!finite('temperature') || (p.temperature as number) <= 0) fail('temperature must be a positive number');
      if (p.input !== 'logits' && p.input !== 'probs') fail("input must be 'logits' or 'probs'");
      break;
    case 'platt':
      if (!finite('slope') || !finite('intercept')) fail('slope and intercept must be numbers');
      if (p.input !== 'logit' && p.input !== 'raw') fail("input must be 'logit' or 'raw'");
      if (typeof p.targetSmoothing !== 'boolean') fail('targetSmoothing must be a boolean');
      break;
    case 'isotonic':
      if (!numbers('x') || !numbers('y') || (p.x as number[]).length !== (p.y as number[]).length || (p.x as number[]).length === 0) {
        fail('x and y must be non-empty arrays of numbers of the same length');
      }
      break;
    case 'histogram':
      if (p.binning !== 'equal-mass' && p.binning !== 'equal-width') fail("binning must be 'equal-mass' or 'equal-width'");
      if (!numbers('upperEdges') || !numbers('values') || !numbers('counts'))
        fail('upperEdges, values and counts must be arrays of numbers');
      if ((p.upperEdges as number[]).length === 0 || (p.values as number[]).length !== (p.upperEdges as number[]).length) {
        fail('upperEdges and values must be non-empty and of the same length');
      }
      break;
    default:
      fail(`unknown method ${JSON.stringify(method)}`);
  }
  return value as Calibrator;
}

// ------------------------------------------------------------------------------------------ splits

/** Seeded shuffle of rows 0..n−1 (Fisher–Yates with seededRandom): the first round(n·fraction) rows fit, the rest evaluate; both non-empty. */
export function splitForCalibration(n: number, fraction: number, seed: number): CalibrationSplit {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`a calibration split needs at least 2 rows, got ${n}`);
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`fraction must be in (0, 1), got ${fraction}`);
  const shuffled = shuffledRows(n, seed);
  const fitSize = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  return { fit: ascending(shuffled.slice(0, fitSize)), evaluate: ascending(shuffled.slice(fitSize)) };
}

/** k folds of a seeded shuffle (sizes as numpy.array_split): fold f evaluates on its rows and fits on the others. */
export function crossFitFolds(n: number, k: number, seed: number): CalibrationSplit[] {
  if (!Number.isInteger(k) || k < 2 || k > n) throw new RangeError(`k must be an integer in [2, n], got ${k} for ${n} rows`);
  const shuffled = shuffledRows(n, seed);
  const folds: CalibrationSplit[] = [];
  const base = Math.floor(n / k);
  const extra = n % k;
  let start = 0;
  for (let f = 0; f < k; f++) {
    const end = start + base + (f < extra ? 1 : 0);
    folds.push({ evaluate: ascending(shuffled.slice(start, end)), fit: ascending([...shuffled.slice(0, start), ...shuffled.slice(end)]) });
    start = end;
  }
  return folds;
}

/**
 * Cross-fitting: for each of k folds, `fitOn` the other folds and `applyTo` this fold, so every
 * row gets a calibrated value from a calibrator that never saw it. Returns those out-of-fold values in row order.
 */
export function crossFit<Model>(
  n: number,
  k: number,
  seed: number,
  fitOn: (rows: number[]) => Model,
  applyTo: (model: Model, rows: number[]) => ArrayLike<number>,
): { predictions: number[]; models: Model[]; folds: CalibrationSplit[] } {
  const folds = crossFitFolds(n, k, seed);
  const predictions = new Array<number>(n).fill(Number.NaN);
  const models = folds.map((fold) => {
    const model = fitOn(fold.fit);
    const values = applyTo(model, fold.evaluate);
    if (values.length !== fold.evaluate.length) {
      throw new RangeError(`applyTo returned ${values.length} values for ${fold.evaluate.length} rows`);
    }
    fold.evaluate.forEach((row, j) => {
      predictions[row] = values[j];
    });
    return model;
  });
  return { predictions, models, folds };
}

function shuffledRows(n: number, seed: number): number[] {
  const random = seededRandom(seed);
  const rows = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

function ascending(rows: number[]): number[] {
  return rows.sort((a, b) => a - b);
}
