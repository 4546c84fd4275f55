/**
 * Multinomial naive Bayes (Manning, Raghavan & Schütze 2008, Introduction to Information Retrieval, §13.2):
 *   P̂(c) = N_c / N (eq. 13.5), P̂(t | c) = (T_ct + α) / (Σ_t' T_ct' + α·B) (eq. 13.7 with Lidstone smoothing α;
 *   α = 1 is Laplace), where T_ct is the count of bucket t in the training documents of class c and B the
 *   number of buckets (the vocabulary is the whole hash space, so a bucket unseen in training still costs
 *   log(α / (Σ_t' T_ct' + α·B)) per occurrence, as in sklearn). The class scores ("logits") are the joint
 *   log-likelihoods log P̂(c) + Σ_t x_t log P̂(t | c) and the posterior is their softmax (eq. 13.3) — exactly
 *   sklearn's `MultinomialNB(alpha=α, fit_prior=True)` fitted on the same count matrix (tested to 1e−9).
 *   Stored as the counts T_ct, so a saved model reproduces the fit bit for bit (scoring: baseline-predict.ts).
 */
import type { TrainingMatrix } from './baseline-matrix.js';
import { encodeBuckets, type NaiveBayesModel } from './baseline-model.js';

/** The counts T_ct and N_c of a training matrix: the naive Bayes model's parameters. */
export function fitNaiveBayes(matrix: TrainingMatrix, labels: Int32Array, k: number, alpha: number): NaiveBayesModel['params'] {
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
