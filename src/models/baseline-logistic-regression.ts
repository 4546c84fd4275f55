/**
 * Multinomial logistic regression (softmax regression; e.g. Murphy 2012, Machine Learning, §8.3.7) on the
 *   count vectors scaled to unit Euclidean length, x̃ = x / ‖x‖₂ (0 for an empty document):
 *   P(c | x) = softmax(W x̃ + b)_c, with W (k × B) and b (k) minimising
 *     J(W, b) = (1/n) Σ_i −log P(y_i | x_i) + (λ/2)·‖W‖²_F          (λ = `l2`, default 1e−4; b unpenalised)
 *   = sklearn's `LogisticRegression(multi_class='multinomial', C=1/(λ·n))` on normalize(X) (which minimises
 *   n·J); for λ > 0 the optimum is unique (tested to 1e−5 on probabilities). Fitted by full-batch L-BFGS
 *   (lbfgs.ts: Nocedal & Wright 2006, Algorithm 7.4 with the two-loop recursion 7.5, memory 10, backtracking
 *   Armijo line search, c₁ = 1e−4) with a diagonal initial matrix H₀ = γ·D — D the inverse of J's Hessian
 *   diagonal at the start, 1 / (λ + ((k−1)/k²)·(1/n)·Σ_i x̃_ij²), γ = sᵀy / yᵀDy (a preconditioner; it halves
 *   the iterations on text, where feature frequencies span orders of magnitude) — from zero, until
 *   ‖∇J‖∞ ≤ `tolerance` (default 1e−6, which leaves probabilities within ~1e−4 of the optimum) or after
 *   `epochs` iterations (default 300; an iteration evaluates J and its gradient once, or a few times when the
 *   line search backtracks). No randomness: the same data give the same model. Only the buckets seen in
 *   training are optimised and stored (the others stay 0 at the optimum: their gradient is λ·w). Weights are
 *   stored as integer multiples of 1e−6. With λ = 0 and separable classes there is no optimum, and the fit
 *   stops at `epochs`.
 */
import { type TrainingMatrix, unitLengthColumns } from './baseline-matrix.js';
import { encodeBuckets, type LogisticRegressionModel } from './baseline-model.js';
import { minimiseLbfgs } from './lbfgs.js';

/** LR weights are stored as integer multiples of this. */
const WEIGHT_SCALE = 1e-6;

/** Fits W and b by L-BFGS from zero (this file's comment); `onIteration` is told each iteration and its loss. */
export function fitLogisticRegression(
  matrix: TrainingMatrix,
  labels: Int32Array,
  k: number,
  settings: { l2: number; epochs: number; tolerance: number },
  onIteration?: (iteration: number, loss: number) => void,
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
    onIteration,
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
