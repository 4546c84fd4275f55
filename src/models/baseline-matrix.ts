/**
 * A training set as a sparse matrix of bucket counts over the buckets that occur in it: by rows (naive Bayes),
 * or by columns with every row scaled to unit Euclidean length (logistic regression).
 */
import { type HashedCounts, hashedCounts } from './baseline-features.js';

/** Training documents as a sparse matrix over the buckets that occur in them (compressed sparse rows). */
export interface TrainingMatrix {
  /** columnBucket[j] = the bucket of column j, ascending. */
  columnBucket: Int32Array;
  rowStart: Int32Array;
  column: Int32Array;
  count: Float64Array;
}

/** The documents' hashed counts, one row per document; `onProgress` is told how many are done. */
export function trainingMatrix(
  docs: readonly { text: string }[],
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
export function unitLengthColumns(matrix: TrainingMatrix): { columnStart: Int32Array; row: Int32Array; value: Float64Array } {
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
