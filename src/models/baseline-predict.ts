/**
 * Scoring a text with a baseline model: the model is laid out once (a dense bucket → row map and the per-bucket
 * class weights, cached per model object), then a text costs one pass over its hashed features.
 */
import { hashedCounts } from './baseline-features.js';
import { type BaselineModel, decodeBuckets } from './baseline-model.js';

/** What the baseline answers for one text. */
export interface BaselinePrediction {
  label: string;
  /** probs[label]. */
  confidence: number;
  probs: Record<string, number>;
  /** Class scores whose softmax is `probs`, in `classes` order: joint log-likelihoods (naive Bayes) or W x̃ + b. */
  logits: number[];
}

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

/** log Σ exp(z), computed as max + log Σ exp(z − max) so that it neither overflows nor underflows. */
export function logSumExp(z: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < z.length; c++) if (z[c] > max) max = z[c];
  if (!Number.isFinite(max)) return max;
  let sum = 0;
  for (let c = 0; c < z.length; c++) sum += Math.exp(z[c] - max);
  return max + Math.log(sum);
}
