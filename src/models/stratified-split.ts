import { seededRandom } from '../calibration/metrics.js';

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
