/**
 * How far each production record lies from a reference sample (the pilot), by drift-style features — pure.
 * `airlock probe` sends the farthest ones to the model as plausible hard cases: real records the pilot never
 * prepared it for.
 *
 * Features, each a *surprise* (0: typical of the reference, 1: never seen there; only values past a numeric range go above 1):
 * - for every field, its shape — missing, null, string, number, boolean, object, array — as a category;
 * - categories (string fields of at most 3 words on average whose distinct values in the reference are at most
 *   half of them, and at most 20 or at most a fifth of them): 1 − count(value) / count(most common value) — the
 *   most common value is 0, an unseen one 1;
 * - numbers: how far into the reference's tails the value is. With q its mid-rank quantile position in the
 *   reference (n values) and p = 2·min(q, 1 − q) its two-sided tail probability there, the surprise is
 *   log(1/p) / log(n), capped at 1: 0 at the median, about 0.15 at a quartile of 100 values, 1 at the
 *   reference's most extreme value. Beyond the reference's range it grows on: 1 + log10(1 + d), d the distance
 *   past the range in the reference's standard deviations (its z-score past the edge) — so an amount of 250,000
 *   where the pilot's end at 200 stands out from one of 201;
 * - the pattern of a string (runs of digits → 9, of letters → a: "2024-01-31" → "9-9-9"), as a category, for
 *   fields whose patterns the reference keeps to a few (dates, codes, ids): a changed format is a new pattern;
 * - text (the other string fields): its length by the same tail rule, and the share of its distinct word tokens
 *   the reference never has in that field (1 − token overlap).
 *
 * A record's score is the mean of its features' surprises (0: typical of the reference in every respect). With no separate reference (the sample is its own
 * reference) a record's own contribution is left out of counts and vocabularies, so it is compared with the others.
 */

export interface NoveltyReason {
  field: string;
  feature: 'shape' | 'category' | 'pattern' | 'number' | 'length' | 'tokens';
  surprise: number;
}

export interface NoveltyScore {
  /** Index of the record in the production sample. */
  index: number;
  score: number;
  /** The features that contributed most, largest first (at most 3, surprise > 0). */
  reasons: NoveltyReason[];
}

export interface NoveltyOptions {
  /** Fields not compared (e.g. the id and the label). */
  exclude?: readonly string[];
}

type Shape = 'missing' | 'null' | 'string' | 'number' | 'boolean' | 'object' | 'array';
const shapeOf = (v: unknown): Shape =>
  v === undefined ? 'missing' : v === null ? 'null' : Array.isArray(v) ? 'array' : (typeof v as 'string' | 'number' | 'boolean' | 'object');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const tokensOf = (text: string): Set<string> => new Set(text.normalize('NFKC').toLowerCase().match(WORD) ?? []);

class Counter {
  readonly counts = new Map<string, number>();
  add(k: string) {
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  get(k: string) {
    return this.counts.get(k) ?? 0;
  }
  get mode() {
    let m = 0;
    for (const c of this.counts.values()) m = Math.max(m, c);
    return m;
  }
}

/** Surprise of a category: 1 − count / count(mode), with `self` (0 or 1) removed from the counts. */
function rarity(counter: Counter, key: string, self: number): number {
  const c = counter.get(key) - self;
  // The mode without this record: when the record is the mode's only holder of its excess, it may shrink by one.
  const mode = Math.max(1, counter.mode - (counter.get(key) === counter.mode ? self : 0));
  return Math.min(1, Math.max(0, 1 - Math.max(0, c) / mode));
}

/**
 * Tail surprise of x among sorted reference values: log(1/p) / log(n), p the two-sided mid-rank tail probability,
 * capped at 1; past the reference's range, 1 + log10(1 + distance past the edge in standard deviations).
 */
function tail(sorted: readonly number[], x: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const lo = sorted[0];
  const hi = sorted[n - 1];
  if (x < lo || x > hi) {
    const mean = sorted.reduce((s, v) => s + v, 0) / n;
    const sd = n > 1 ? Math.sqrt(sorted.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
    const past = x < lo ? lo - x : x - hi;
    return 1 + Math.log10(1 + (sd > 0 ? past / sd : past > 0 ? 10 : 0));
  }
  let below = 0;
  let equal = 0;
  for (const v of sorted) {
    if (v < x) below++;
    else if (v === x) equal++;
    else break;
  }
  const q = (below + equal / 2) / n;
  const p = 2 * Math.min(q, 1 - q);
  if (p <= 0) return 1;
  return Math.min(1, Math.max(0, Math.log(1 / p) / Math.log(Math.max(2, n))));
}

/** The pattern of a string: runs of digits → 9, runs of letters → a, the rest kept; at most 24 characters. */
export const stringPattern = (v: string): string =>
  v
    .replace(/\p{N}+/gu, '9')
    .replace(/\p{L}+/gu, 'a')
    .slice(0, 24);

const sortedNumbers = (values: number[]) => [...values].sort((a, b) => a - b);

interface FieldProfile {
  shapes: Counter;
  kind: 'category' | 'text' | 'number' | 'other';
  categories: Counter;
  /** String patterns, when the reference keeps to a few; else undefined. */
  patterns?: Counter;
  /** Sorted values, and sorted text lengths. */
  numbers: number[];
  lengths: number[];
  /** Document frequency of each token in the field. */
  vocabulary: Counter;
}

function profile(reference: readonly Record<string, unknown>[], fields: readonly string[]): Map<string, FieldProfile> {
  const out = new Map<string, FieldProfile>();
  for (const f of fields) {
    const shapes = new Counter();
    const categories = new Counter();
    const patterns = new Counter();
    const vocabulary = new Counter();
    const numbers: number[] = [];
    const lengths: number[] = [];
    let strings = 0;
    let words = 0;
    for (const r of reference) {
      const v = r[f];
      shapes.add(shapeOf(v));
      if (typeof v === 'string') {
        strings++;
        categories.add(v);
        patterns.add(stringPattern(v));
        lengths.push(v.length);
        words += (v.match(WORD) ?? []).length;
        for (const t of tokensOf(v)) vocabulary.add(t);
      } else if (typeof v === 'number' && Number.isFinite(v)) numbers.push(v);
    }
    const distinct = categories.counts.size;
    const few = (k: number) => k <= Math.max(1, 0.5 * strings) && (k <= 20 || k <= 0.2 * strings);
    const kind: FieldProfile['kind'] =
      strings > 0 && strings >= numbers.length
        ? words / strings <= 3 && few(distinct)
          ? 'category'
          : 'text'
        : numbers.length > 0
          ? 'number'
          : 'other';
    out.set(f, {
      shapes,
      kind,
      categories,
      patterns: strings > 0 && few(patterns.counts.size) ? patterns : undefined,
      numbers: sortedNumbers(numbers),
      lengths: sortedNumbers(lengths),
      vocabulary,
    });
  }
  return out;
}

/**
 * Scores every record of `production` by its distance from `reference` (see the module comment) and returns them
 * farthest first (ties: earlier record first). Without `reference` (or with the same array), the sample is
 * compared with itself, each record leaving itself out.
 */
export function rankByNovelty(
  production: readonly unknown[],
  reference?: readonly unknown[],
  options: NoveltyOptions = {},
): NoveltyScore[] {
  const exclude = new Set(options.exclude ?? []);
  const selfMode = reference === undefined || reference === production;
  const prod = production.map((r) => (isRecord(r) ? r : {}));
  const ref = selfMode ? prod : (reference as readonly unknown[]).filter(isRecord);
  const fields: string[] = [];
  const seen = new Set<string>();
  for (const r of [...ref, ...prod]) {
    for (const k of Object.keys(r)) {
      if (!exclude.has(k) && !seen.has(k)) {
        seen.add(k);
        fields.push(k);
      }
    }
  }
  const profiles = profile(ref, fields);
  const self = selfMode ? 1 : 0;
  const scores: NoveltyScore[] = prod.map((r, index) => {
    const features: NoveltyReason[] = [];
    for (const field of fields) {
      const p = profiles.get(field) as FieldProfile;
      const v = r[field];
      features.push({ field, feature: 'shape', surprise: rarity(p.shapes, shapeOf(v), self) });
      if (p.patterns && typeof v === 'string') {
        features.push({ field, feature: 'pattern', surprise: rarity(p.patterns, stringPattern(v), self) });
      }
      if (p.kind === 'category') {
        if (typeof v === 'string') features.push({ field, feature: 'category', surprise: rarity(p.categories, v, self) });
      } else if (p.kind === 'number') {
        if (typeof v === 'number' && Number.isFinite(v)) {
          features.push({ field, feature: 'number', surprise: tail(p.numbers, v) });
        }
      } else if (p.kind === 'text' && typeof v === 'string') {
        features.push({ field, feature: 'length', surprise: tail(p.lengths, v.length) });
        const tokens = tokensOf(v);
        if (tokens.size > 0) {
          let unseen = 0;
          for (const t of tokens) if (p.vocabulary.get(t) - self <= 0) unseen++;
          features.push({ field, feature: 'tokens', surprise: unseen / tokens.size });
        }
      }
    }
    const score = features.length ? features.reduce((s, f) => s + f.surprise, 0) / features.length : 0;
    const reasons = features
      .filter((f) => f.surprise > 0)
      .sort((a, b) => b.surprise - a.surprise)
      .slice(0, 3)
      .map((f) => ({ ...f, surprise: Math.round(f.surprise * 1e6) / 1e6 }));
    return { index, score, reasons };
  });
  return scores.sort((a, b) => b.score - a.score || a.index - b.index);
}

/** A reason in words, without the record's value: `body: 82% of its words are new`. */
export function describeReason(r: NoveltyReason): string {
  const pct = `${Math.round(r.surprise * 100)}%`;
  switch (r.feature) {
    case 'shape':
      return `${r.field}: a shape (missing/null/type) ${r.surprise >= 1 ? 'the reference never has' : 'rare in the reference'}`;
    case 'category':
      return `${r.field}: a category ${r.surprise >= 1 ? 'the reference never has' : 'rare in the reference'}`;
    case 'pattern':
      return `${r.field}: a format (digits/letters pattern) ${r.surprise >= 1 ? 'the reference never has' : 'rare in the reference'}`;
    case 'number':
      return r.surprise > 1
        ? `${r.field}: a number outside the reference's range`
        : `${r.field}: a number in the far tail of the reference (surprise ${pct})`;
    case 'length':
      return r.surprise > 1
        ? `${r.field}: a text length outside the reference's range`
        : `${r.field}: a text length in the far tail of the reference (surprise ${pct})`;
    default:
      return `${r.field}: ${pct} of its words never appear in the reference`;
  }
}
