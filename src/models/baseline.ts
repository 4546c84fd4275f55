/**
 * The built-in baseline text classifier: hashed word n-grams, and multinomial naive Bayes or multinomial
 * logistic regression on them. Pure: it takes texts and labels and returns a JSON-serialisable model, and
 * scores a text with that model; reading and writing files is the caller's business. This is its face; each
 * part has its own file:
 *
 * - baseline-features.ts   the featuriser: tokens, word n-grams, FNV-1a feature hashing
 * - baseline-matrix.ts     a training set as a sparse matrix of bucket counts
 * - baseline-naive-bayes.ts  multinomial naive Bayes (= sklearn's MultinomialNB on the same counts)
 * - baseline-logistic-regression.ts  multinomial logistic regression (= sklearn's LogisticRegression),
 *   fitted by lbfgs.ts (L-BFGS with a diagonal preconditioner and an Armijo line search)
 * - baseline-train.ts      the settings, their defaults, and trainBaseline
 * - baseline-predict.ts    predictBaseline: a text's class, confidence, probabilities and logits
 * - baseline-model.ts      the model file format (`kind: 'airlock-baseline'`, `version: 1`) and its check
 * - stratified-split.ts    the seeded, stratified train / held-out split of `airlock train`
 * - baseline-adapter.ts    the model as a ModelAdapter (model type `baseline`)
 */

export { fnv1a32, type HashedCounts, hashedCounts, ngramFeatures, tokenize } from './baseline-features.js';
export {
  BASELINE_ALGORITHMS,
  BASELINE_LIMITS,
  type BaselineAlgorithm,
  type BaselineModel,
  decodeBuckets,
  type LogisticRegressionModel,
  type NaiveBayesModel,
  parseBaselineModel,
} from './baseline-model.js';
export { type BaselinePrediction, logSumExp, predictBaseline } from './baseline-predict.js';
export {
  BASELINE_DEFAULTS,
  type BaselineTrainingOptions,
  type TrainingDocument,
  type TrainingProgress,
  trainBaseline,
} from './baseline-train.js';
export { stratifiedSplit } from './stratified-split.js';
