/**
 * Mergeable per-field summaries of a window of records, laid out by a DriftSpec taken from the reference.
 *
 * A DriftSpec fixes, per field, where its numeric buckets and histogram bins sit (from the reference's median, standard
 * deviation and deciles) and whether a string field is free text. Summaries made with one spec — in any process, for
 * any window — merge: `mergeSummaries(a, b)` equals `summarize(rowsOfA ++ rowsOfB)` exactly for rows, missing counts,
 * type mix, numeric histograms, value-sketch buckets and HyperLogLog registers; up to floating-point rounding for
 * mean and variance; within the Misra–Gries bound (`error`, ≤ total/(capacity + 1)) for category and token counts once a
 * field has more distinct values than the summary's capacity (exactly below it); and in distribution for the reservoir.
 *
 * Per field (dotted paths for nested objects, three levels deep): rows present, type mix (null counts as missing),
 * numeric moments, a value sketch, reference-decile histogram, up to 32 distinct numbers (to tell a 0/1 or 1–5 field from
 * a continuous one), category frequencies, a distinct-count estimate and a reservoir sample of the numbers. Text fields
 * add derived fields: FIELD.length, FIELD.non_ascii (numeric), FIELD.charset (categorical), FIELD.tokens (word counts).
 */
import {
  BinnedHistogram,
  DEFAULT_SKETCH_ALPHA,
  DEFAULT_SKETCH_MIN_INDEXED,
  type FrequencyJson,
  FrequencySummary,
  HyperLogLog,
  hash32,
  Moments,
  type MomentsJson,
  Reservoir,
  type ReservoirJson,
  ValueSketch,
  type ValueSketchJson,
  type ValueSketchSpec,
} from './sketch.js';
import { populationStd, quantileSorted } from './statistics.js';
import { charsetOf, looksLikeText, nonAsciiShare, textLength, tokenize } from './text.js';

export type ValueType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

export interface FieldSpec {
  /** Median of the reference's numbers (the value sketch's center). */
  center: number;
  /** Standard deviation of the reference's numbers (else 1): the value sketch's unit. */
  scale: number;
  /** Inner edges of the numeric histogram: the reference's deciles (numpy.quantile, linear), duplicates removed. */
  edges: number[];
  /** A string field treated as free text (derived fields FIELD.length, .non_ascii, .charset, .tokens). */
  text: boolean;
}

export interface DriftSpec {
  version: 1;
  /** Relative accuracy of the value sketches. */
  alpha: number;
  minIndexed: number;
  /** Reservoir size per field and window. */
  reservoir: number;
  /** Exact category counts up to this many distinct values per field (then Misra–Gries). */
  categories: number;
  /** Exact token counts up to this many distinct tokens per text field. */
  tokens: number;
  fields: Record<string, FieldSpec>;
  /** Fields not summarised. */
  exclude: string[];
}

export interface DriftSpecOptions {
  /** String fields to treat as text whatever they look like. */
  text?: string[];
  /** String fields never to treat as text (categories, however many distinct values). */
  notText?: string[];
  exclude?: string[];
  reservoir?: number;
  categories?: number;
  tokens?: number;
  /** Number of histogram bins from reference quantiles (default 10: deciles, as PSI is usually computed). */
  bins?: number;
  alpha?: number;
}

export const DEFAULT_RESERVOIR = 1000;
export const DEFAULT_CATEGORIES = 256;
export const DEFAULT_TOKENS = 1000;
/** Distinct numbers tracked exactly per field: enough to tell a field with ≤ 5 values from a continuous one. */
export const NUMERIC_DISTINCT_CAPACITY = 32;
const MAX_DEPTH = 3;

export const TEXT_FEATURES = ['length', 'non_ascii', 'charset', 'tokens'] as const;
export type TextFeature = (typeof TEXT_FEATURES)[number];

/** Calls `visit(path, value)` for every leaf of a record: nested objects by dotted path, three levels deep. */
export function forEachField(record: unknown, visit: (path: string, value: unknown) => void, prefix = '', depth = 0): void {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    visit(prefix || 'value', record);
    return;
  }
  for (const [k, v] of Object.entries(record as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth + 1 < MAX_DEPTH) forEachField(v, visit, path, depth + 1);
    else visit(path, v);
  }
}

export function valueType(v: unknown): ValueType {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string') return 'string';
  return Array.isArray(v) ? 'array' : 'object';
}

function numericSpec(values: number[], bins: number): Omit<FieldSpec, 'text'> {
  if (values.length === 0) return { center: 0, scale: 1, edges: [] };
  const sorted = Float64Array.from(values).sort();
  const center = quantileSorted(sorted, 0.5);
  const std = populationStd(sorted);
  const scale = std > 0 && Number.isFinite(std) ? std : Math.abs(center) || 1;
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = quantileSorted(sorted, i / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  return { center, scale, edges };
}

/** The layout of every summary compared with this reference: computed from the reference's rows (one pass, in memory). */
export function buildSpec(referenceRows: Iterable<unknown>, options: DriftSpecOptions = {}): DriftSpec {
  const exclude = new Set(options.exclude ?? []);
  const numbers = new Map<string, number[]>();
  const strings = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const row of referenceRows) {
    forEachField(row, (path, v) => {
      if (exclude.has(path)) return;
      seen.add(path);
      if (typeof v === 'number' && Number.isFinite(v)) {
        let a = numbers.get(path);
        if (!a) numbers.set(path, (a = []));
        a.push(v);
      } else if (typeof v === 'string') {
        let a = strings.get(path);
        if (!a) strings.set(path, (a = []));
        a.push(v);
      }
    });
  }
  const bins = options.bins ?? 10;
  const fields: Record<string, FieldSpec> = {};
  for (const path of [...seen].sort()) {
    const strs = strings.get(path) ?? [];
    const nums = numbers.get(path) ?? [];
    const text =
      strs.length > nums.length &&
      !(options.notText ?? []).includes(path) &&
      ((options.text ?? []).includes(path) || looksLikeText(strs.slice(0, 20_000)));
    fields[path] = { ...numericSpec(nums, bins), text };
    if (text) {
      fields[`${path}.length`] = { ...numericSpec(strs.map(textLength), bins), text: false };
      fields[`${path}.non_ascii`] = { ...numericSpec(strs.map(nonAsciiShare), bins), text: false };
    }
  }
  for (const t of options.text ?? []) {
    if (!fields[t]) fields[t] = { center: 0, scale: 1, edges: [], text: true };
  }
  return {
    version: 1,
    alpha: options.alpha ?? DEFAULT_SKETCH_ALPHA,
    minIndexed: DEFAULT_SKETCH_MIN_INDEXED,
    reservoir: options.reservoir ?? DEFAULT_RESERVOIR,
    categories: options.categories ?? DEFAULT_CATEGORIES,
    tokens: options.tokens ?? DEFAULT_TOKENS,
    fields,
    exclude: [...exclude].sort(),
  };
}

/** A short hash of the spec: summaries merge and compare only when theirs are equal. */
export function specFingerprint(spec: DriftSpec): string {
  return hash32(JSON.stringify(spec)).toString(16).padStart(8, '0');
}

const DEFAULT_FIELD: FieldSpec = { center: 0, scale: 1, edges: [], text: false };

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
/** A 32-bit hash of a number's bits (distinct from every string's hash but by chance). */
function hashNumber(x: number): number {
  f64[0] = x === 0 ? 0 : x;
  let h = Math.imul(u32[0] ^ 0x9e3779b9, 0x85ebca6b) ^ u32[1];
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export interface FieldSummaryJson {
  present: number;
  types: Partial<Record<ValueType, number>>;
  moments?: MomentsJson;
  sketch?: ValueSketchJson;
  histogram?: number[];
  /** Distinct numbers with counts; null once there were more than 32. */
  numeric_values?: FrequencyJson | null;
  categories?: FrequencyJson;
  distinct: string | number[][];
  reservoir?: ReservoirJson;
}

/** The summary of one field over one window. */
export class FieldSummary {
  present = 0;
  readonly types: Partial<Record<ValueType, number>> = {};
  moments = new Moments();
  sketch: ValueSketch;
  histogram: BinnedHistogram;
  numericValues: FrequencySummary | null = new FrequencySummary(NUMERIC_DISTINCT_CAPACITY);
  categories: FrequencySummary;
  distinct = new HyperLogLog();
  reservoir: Reservoir;

  constructor(
    readonly name: string,
    readonly spec: FieldSpec,
    drift: DriftSpec,
    capacity = drift.categories,
  ) {
    const sketchSpec: ValueSketchSpec = { center: spec.center, scale: spec.scale, alpha: drift.alpha, minIndexed: drift.minIndexed };
    this.sketch = new ValueSketch(sketchSpec);
    this.histogram = new BinnedHistogram(spec.edges);
    this.categories = new FrequencySummary(capacity);
    this.reservoir = new Reservoir(drift.reservoir, hash32(name) || 1);
  }

  /** Counts one value (null and undefined are missing). */
  add(v: unknown): void {
    const t = valueType(v);
    this.types[t] = (this.types[t] ?? 0) + 1;
    if (t === 'null') return;
    this.present++;
    if (t === 'integer' || t === 'number') {
      const x = v as number;
      if (!Number.isFinite(x)) {
        this.categories.add(String(x));
        this.distinct.add(hash32(String(x)));
        return;
      }
      this.moments.add(x);
      this.sketch.add(x);
      this.histogram.add(x);
      this.reservoir.add(x);
      this.distinct.add(hashNumber(x));
      if (this.numericValues) {
        this.numericValues.add(String(x));
        if (this.numericValues.counts.size > NUMERIC_DISTINCT_CAPACITY) this.numericValues = null;
      }
    } else if (t === 'string' || t === 'boolean') {
      const s = String(v);
      this.categories.add(s);
      this.distinct.add(hash32(s));
    } else {
      this.distinct.add(hash32(JSON.stringify(v)));
    }
  }

  /** Counts each token of one text (the `.tokens` derived field: present = texts, categories = token counts). */
  addTokens(tokens: readonly string[]): void {
    this.types.string = (this.types.string ?? 0) + 1;
    this.present++;
    for (const tok of tokens) {
      this.categories.add(tok);
      this.distinct.add(hash32(tok));
    }
  }

  merge(o: FieldSummary): void {
    this.present += o.present;
    for (const [t, c] of Object.entries(o.types) as [ValueType, number][]) this.types[t] = (this.types[t] ?? 0) + c;
    this.moments.merge(o.moments);
    this.sketch.merge(o.sketch);
    this.histogram.merge(o.histogram);
    if (this.numericValues && o.numericValues) {
      this.numericValues.merge(o.numericValues);
      if (this.numericValues.counts.size > NUMERIC_DISTINCT_CAPACITY || !this.numericValues.exact) this.numericValues = null;
    } else this.numericValues = null;
    this.categories.merge(o.categories);
    this.distinct.merge(o.distinct);
    this.reservoir.merge(o.reservoir);
  }

  /** Estimated number of distinct values: exact from the counts while they are exact, else HyperLogLog. */
  distinctCount(): number {
    const numeric = this.moments.n > 0 ? (this.numericValues ? this.numericValues.counts.size : Number.NaN) : 0;
    const cats = this.categories.exact ? this.categories.counts.size : Number.NaN;
    const exact = numeric + cats;
    return Number.isNaN(exact) ? Math.round(this.distinct.estimate()) : exact;
  }

  toJSON(): FieldSummaryJson {
    const out: FieldSummaryJson = { present: this.present, types: { ...this.types }, distinct: this.distinct.toJSON() };
    if (this.moments.n > 0) {
      out.moments = this.moments.toJSON();
      out.sketch = this.sketch.toJSON();
      if (this.spec.edges.length > 0) out.histogram = this.histogram.toJSON();
      out.numeric_values = this.numericValues ? this.numericValues.toJSON() : null;
      out.reservoir = this.reservoir.toJSON();
    }
    if (this.categories.total > 0) out.categories = this.categories.toJSON();
    return out;
  }

  static fromJSON(name: string, spec: FieldSpec, drift: DriftSpec, j: FieldSummaryJson, capacity?: number): FieldSummary {
    const f = new FieldSummary(name, spec, drift, capacity);
    f.present = j.present;
    Object.assign(f.types, j.types);
    f.distinct = HyperLogLog.fromJSON(j.distinct);
    if (j.moments) f.moments = Moments.fromJSON(j.moments);
    if (j.sketch) f.sketch = ValueSketch.fromJSON(f.sketch.spec, j.sketch);
    if (j.histogram) f.histogram = BinnedHistogram.fromJSON(spec.edges, j.histogram);
    if (j.numeric_values !== undefined) f.numericValues = j.numeric_values ? FrequencySummary.fromJSON(j.numeric_values) : null;
    if (j.categories) f.categories = FrequencySummary.fromJSON(j.categories);
    if (j.reservoir) f.reservoir = Reservoir.fromJSON(j.reservoir);
    return f;
  }
}

export interface DriftSummaryJson {
  version: 1;
  spec: string;
  rows: number;
  fields: Record<string, FieldSummaryJson>;
}

/** The summary of a window of records: one FieldSummary per field, plus derived fields for text. */
export class DriftSummary {
  rows = 0;
  readonly fields = new Map<string, FieldSummary>();
  readonly fingerprint: string;
  private readonly exclude: Set<string>;

  constructor(readonly spec: DriftSpec) {
    this.fingerprint = specFingerprint(spec);
    this.exclude = new Set(spec.exclude);
  }

  field(name: string): FieldSummary {
    let f = this.fields.get(name);
    if (!f) {
      const isTokens = name.endsWith('.tokens') && this.spec.fields[name.slice(0, -7)]?.text;
      f = new FieldSummary(name, this.spec.fields[name] ?? DEFAULT_FIELD, this.spec, isTokens ? this.spec.tokens : undefined);
      this.fields.set(name, f);
    }
    return f;
  }

  /** Adds one record. */
  add(record: unknown): void {
    this.rows++;
    forEachField(record, (path, v) => {
      if (this.exclude.has(path)) return;
      this.field(path).add(v);
      if (typeof v === 'string' && this.spec.fields[path]?.text) {
        this.field(`${path}.length`).add(textLength(v));
        this.field(`${path}.non_ascii`).add(nonAsciiShare(v));
        this.field(`${path}.charset`).add(charsetOf(v));
        this.field(`${path}.tokens`).addTokens(tokenize(v));
      }
    });
  }

  addAll(records: Iterable<unknown>): this {
    for (const r of records) this.add(r);
    return this;
  }

  /** Merges `other` into this one (same spec required). */
  merge(other: DriftSummary): this {
    if (other.fingerprint !== this.fingerprint) throw new RangeError('summaries made with different specs cannot be merged');
    this.rows += other.rows;
    for (const [name, f] of other.fields) this.field(name).merge(f);
    return this;
  }

  toJSON(): DriftSummaryJson {
    const fields: Record<string, FieldSummaryJson> = {};
    for (const name of [...this.fields.keys()].sort()) fields[name] = this.fields.get(name)!.toJSON();
    return { version: 1, spec: this.fingerprint, rows: this.rows, fields };
  }

  static fromJSON(spec: DriftSpec, j: DriftSummaryJson): DriftSummary {
    const s = new DriftSummary(spec);
    if (j.spec !== s.fingerprint) throw new RangeError(`the summary was made with spec ${j.spec}, not ${s.fingerprint}`);
    s.rows = j.rows;
    for (const [name, fj] of Object.entries(j.fields)) {
      const isTokens = name.endsWith('.tokens') && spec.fields[name.slice(0, -7)]?.text;
      s.fields.set(name, FieldSummary.fromJSON(name, spec.fields[name] ?? DEFAULT_FIELD, spec, fj, isTokens ? spec.tokens : undefined));
    }
    return s;
  }
}

/** Summarises records with a spec. */
export function summarize(spec: DriftSpec, records: Iterable<unknown>): DriftSummary {
  return new DriftSummary(spec).addAll(records);
}

/** A new summary equal to the merge of the given ones (none is modified). */
export function mergeSummaries(spec: DriftSpec, ...summaries: DriftSummary[]): DriftSummary {
  const out = new DriftSummary(spec);
  for (const s of summaries) out.merge(s);
  return out;
}
