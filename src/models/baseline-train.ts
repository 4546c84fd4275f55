/**
 * Training a baseline: the settings and their defaults, and trainBaseline, which featurises labelled texts
 * (baseline-features.ts) and fits naive Bayes (baseline-naive-bayes.ts) or logistic regression
 * (baseline-logistic-regression.ts) on them. No randomness: the same data and settings give the same model.
 */
import { fitLogisticRegression } from './baseline-logistic-regression.js';
import { trainingMatrix } from './baseline-matrix.js';
import { BASELINE_ALGORITHMS, type BaselineAlgorithm, type BaselineModel, settingProblem } from './baseline-model.js';
import { fitNaiveBayes } from './baseline-naive-bayes.js';

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

/** One labelled training text. */
export interface TrainingDocument {
  text: string;
  label: string;
}

/** Trains a naive Bayes or logistic regression baseline on labelled texts (the definitions: baseline-naive-bayes.ts, baseline-logistic-regression.ts). */
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
    params: fitLogisticRegression(matrix, labels, classes.length, settings, (iteration, loss) =>
      options.onProgress?.({ stage: 'fitting', iteration, maxIterations: settings.epochs, loss }),
    ),
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
