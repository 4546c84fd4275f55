/** Labelled predictions as `airlock calibrate` reads them, normalised for the metrics and calibrators. */

export interface PredictionRowError {
  row: number;
  message: string;
}

export interface LabelledPredictions {
  n: number;
  /** Class names, when the rows carry class probabilities. */
  classes?: string[];
  /** Class probabilities per row (same order as `classes`). */
  probs?: number[][];
  /** Logits per row, when every row has them. */
  logits?: number[][];
  /** Index of the true class in `classes`, when `classes` is known. */
  labelIndex?: number[];
  /** The model's top label and its confidence. */
  predicted: string[];
  confidence: number[];
  /** True label per row. */
  label: string[];
  correct: boolean[];
  segment?: string[];
  weight?: number[];
}

export interface ParsePredictionsOptions {
  /** Class names for rows whose `probs` is an array. */
  classes?: string[];
}

/**
 * Reads rows of `{ label, probs }` (object label→probability, or array with `classes`) or
 * `{ label, confidence, predicted }`, with optional `logits`, `segment` and `weight`. Every problem is
 * reported with its row number (1-based); nothing is guessed.
 */
export function parsePredictions(
  rows: readonly unknown[],
  options: ParsePredictionsOptions = {},
): { predictions: LabelledPredictions; errors: PredictionRowError[] } {
  const errors: PredictionRowError[] = [];
  const classSet = new Map<string, number>();
  const order: string[] = [];
  const addClass = (c: string) => {
    if (!classSet.has(c)) {
      classSet.set(c, order.length);
      order.push(c);
    }
  };
  for (const c of options.classes ?? []) addClass(c);

  interface Parsed {
    /** 1-based row number in the input. */
    row: number;
    label: string;
    probs?: Record<string, number>;
    confidence: number;
    predicted: string;
    logits?: number[];
    segment?: string;
    weight?: number;
  }
  const parsed: Parsed[] = [];
  const parseRow = (raw: unknown, i: number): boolean => {
    const row = i + 1;
    const fail = (message: string): false => {
      errors.push({ row, message });
      return false;
    };
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return fail('expected an object');
    const r = raw as Record<string, unknown>;
    if (r.label === undefined || r.label === null) return fail('"label" is missing');
    const label = String(r.label);
    let probs: Record<string, number> | undefined;
    if (r.probs !== undefined) {
      if (Array.isArray(r.probs)) {
        const classes = Array.isArray(r.classes) ? r.classes.map(String) : options.classes;
        if (!classes) return fail('"probs" is an array: give "classes" (in the row or with --classes)');
        if (classes.length !== r.probs.length) return fail(`"probs" has ${r.probs.length} values for ${classes.length} classes`);
        probs = Object.fromEntries(classes.map((c, k) => [c, (r.probs as unknown[])[k] as number]));
      } else if (typeof r.probs === 'object' && r.probs !== null) {
        probs = r.probs as Record<string, number>;
      } else return fail('"probs" must be an object or an array');
      let total = 0;
      for (const [k, v] of Object.entries(probs)) {
        if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) return fail(`probs.${k} must be a number in [0, 1]`);
        total += v;
      }
      if (Math.abs(total - 1) > 1e-3) return fail(`probs sum to ${total.toFixed(4)}, not 1`);
      let best = '';
      let bestP = -1;
      for (const [k, v] of Object.entries(probs)) {
        addClass(k);
        if (v > bestP) {
          bestP = v;
          best = k;
        }
      }
      addClass(label);
      parsed.push({ row, label, probs, confidence: bestP, predicted: best });
    } else {
      if (typeof r.confidence !== 'number' || !Number.isFinite(r.confidence) || r.confidence < 0 || r.confidence > 1) {
        return fail('give "probs", or "confidence" (a number in [0, 1]) with "predicted"');
      }
      if (r.predicted === undefined || r.predicted === null) return fail('"predicted" is missing (needed with "confidence")');
      parsed.push({ row, label, confidence: r.confidence, predicted: String(r.predicted) });
    }
    const p = parsed[parsed.length - 1];
    if (r.logits !== undefined) {
      if (!Array.isArray(r.logits) || r.logits.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
        parsed.pop();
        return fail('"logits" must be an array of numbers');
      }
      p.logits = r.logits as number[];
    }
    if (r.segment !== undefined && r.segment !== null) p.segment = String(r.segment);
    if (r.weight !== undefined) {
      if (typeof r.weight !== 'number' || !(r.weight >= 0) || !Number.isFinite(r.weight)) {
        parsed.pop();
        return fail('"weight" must be a non-negative number');
      }
      p.weight = r.weight;
    }
    return true;
  };
  for (let i = 0; i < rows.length; i++) parseRow(rows[i], i);

  const withProbs = parsed.filter((p) => p.probs).length;
  if (withProbs > 0 && withProbs < parsed.length) {
    // Name the rows in the less common form (on a tie, those unlike the first row): they are the ones to fix.
    const oddHaveProbs = withProbs * 2 < parsed.length || (withProbs * 2 === parsed.length && !parsed[0].probs);
    for (const p of parsed) {
      if (Boolean(p.probs) !== oddHaveProbs) continue;
      errors.push({
        row: p.row,
        message: oddHaveProbs
          ? 'has "probs" but most rows have "confidence" and "predicted": use one form for the whole file'
          : 'has "confidence" and "predicted" but most rows have "probs": use one form for the whole file',
      });
    }
  }
  const predictions: LabelledPredictions = {
    n: parsed.length,
    predicted: parsed.map((p) => p.predicted),
    confidence: parsed.map((p) => p.confidence),
    label: parsed.map((p) => p.label),
    correct: parsed.map((p) => p.predicted === p.label),
  };
  if (withProbs === parsed.length && parsed.length > 0) {
    predictions.classes = order;
    predictions.probs = parsed.map((p) => order.map((c) => (p.probs as Record<string, number>)[c] ?? 0));
    predictions.labelIndex = parsed.map((p) => classSet.get(p.label) as number);
  }
  if (parsed.length > 0 && parsed.every((p) => p.logits)) {
    const k = predictions.classes?.length ?? parsed[0].logits?.length ?? 0;
    const odd = parsed.find((p) => p.logits?.length !== k);
    if (!odd) {
      predictions.logits = parsed.map((p) => p.logits as number[]);
    } else {
      errors.push({ row: odd.row, message: `"logits" has ${odd.logits?.length} values, expected ${k}: one per class in every row` });
    }
  }
  if (parsed.some((p) => p.segment !== undefined)) predictions.segment = parsed.map((p) => p.segment ?? '(none)');
  if (parsed.some((p) => p.weight !== undefined)) predictions.weight = parsed.map((p) => p.weight ?? 1);
  return { predictions, errors };
}

/** The rows at `indices`, as a new LabelledPredictions. */
export function subsetPredictions(p: LabelledPredictions, indices: readonly number[]): LabelledPredictions {
  const pick = <T>(xs: T[] | undefined): T[] | undefined => (xs ? indices.map((i) => xs[i]) : undefined);
  return {
    n: indices.length,
    classes: p.classes,
    probs: pick(p.probs),
    logits: pick(p.logits),
    labelIndex: pick(p.labelIndex),
    predicted: pick(p.predicted) as string[],
    confidence: pick(p.confidence) as number[],
    label: pick(p.label) as string[],
    correct: pick(p.correct) as boolean[],
    segment: pick(p.segment),
    weight: pick(p.weight),
  };
}
