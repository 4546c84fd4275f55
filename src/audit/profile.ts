import { type FormatName, numberFormats, parseTimestamp, stringFormats } from './formats.js';
import { hash53, Moments, QuantileSketch, RepeatCounter, ValueCounter } from './sketch.js';
import { type IssueKind, textIssues } from './text.js';
import { type FieldObservation, Timeline, type TimeReport } from './timeline.js';

/** JSON Schema type names; `integer` counts whole numbers, `number` the others. */
export type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';
const TYPES: JsonType[] = ['null', 'boolean', 'integer', 'number', 'string', 'array', 'object'];

/** Quantiles reported for numbers and string lengths. */
export const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;
const qName = (q: number) => `p${Math.round(q * 100)}`;
/** How many top values a field reports, and up to how many distinct values it lists all of them (categories). */
const TOP = 20;
const CATEGORY_LIMIT = 50;
const EXAMPLES = 5;

export interface RowMeta {
  /** The row's number in the file: its line (JSONL, CSV) or its item (JSON array), 1-based. */
  row: number;
  /** The row's text for exact-duplicate detection (defaults to the value's JSON). */
  raw?: string;
  /** The row's bytes were not valid UTF-8 (decoded with U+FFFD in their place). */
  invalidUtf8?: boolean;
}

interface IssueState {
  count: number;
  examples: number[];
}

export interface NumericSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number | null;
  quantiles: Record<string, number>;
  /** Whether the quantiles are exact (type 7 over every value) or from the KLL sketch. */
  quantiles_exact: boolean;
}

export interface FieldProfile {
  name: string;
  /** Rows where the key is present (its value may be null). `count + missing` is the number of parsed rows. */
  count: number;
  /** Rows where the key is absent. */
  missing: number;
  nulls: number;
  /** Strings that are empty or only whitespace. */
  empty: number;
  types: Partial<Record<JsonType, number>>;
  /** Distinct non-null scalar values (strings, numbers, booleans; arrays by their JSON). */
  distinct: number;
  /** `exact` while at most 10,000 distinct values were seen, else a HyperLogLog estimate (±0.81 % standard error). */
  distinct_method: 'exact' | 'hyperloglog';
  /** Most frequent values (all of them when there are at most 50 distinct values), most frequent first. */
  top: { value: string; count: number }[];
  /** 0 when the counts in `top` are exact; else the largest possible undercount (Misra–Gries). */
  top_max_undercount: number;
  numeric: NumericSummary | null;
  /** The same summary over strings that hold a number ("12.5"), when there are some. */
  numeric_strings: NumericSummary | null;
  /** String lengths in Unicode code points. */
  length: NumericSummary | null;
  formats: Partial<Record<FormatName, number>>;
  array: {
    count: number;
    min_length: number;
    max_length: number;
    mean_length: number;
    item_types: Partial<Record<JsonType, number>>;
  } | null;
  /** Issue counts of this field (details in the report's `issues`). */
  issues: Partial<Record<IssueKind, number>>;
}

export interface AuditIssue {
  kind: IssueKind;
  /** The field it was found in; null for row- and file-level issues. */
  field: string | null;
  count: number;
  /** Row numbers (line in JSONL/CSV, item in a JSON array) of the first occurrences. */
  examples: number[];
  /** Whether `count` is exact (duplicate counts become estimates on very large inputs). */
  exact?: boolean;
  detail?: string;
}

export interface RowsSummary {
  /** Rows read: parsed plus unparseable. */
  total: number;
  parsed: number;
  unparseable: number;
  /** The first unparseable rows with the parser's reason. */
  unparseable_examples: { row: number; reason: string }[];
  /** Rows identical to an earlier row (beyond the first of each). */
  duplicates: number;
  duplicates_exact: boolean;
  line_endings: { lf: number; crlf: number; cr: number };
  /** With --key: rows whose key repeats an earlier row's, keys that repeat, rows without the key. */
  duplicate_keys?: { field: string; rows: number; keys: number; missing: number; exact: boolean; examples: number[] };
}

export interface AuditProfile {
  rows: RowsSummary;
  fields: FieldProfile[];
  issues: AuditIssue[];
  time?: TimeReport;
}

export interface ProfilerOptions {
  /** Dotted path of the field whose repeats count as duplicate keys. */
  key?: string;
  /** Dotted path of the field that dates each row. */
  timeField?: string;
}

class NumberState {
  readonly moments = new Moments();
  readonly quantiles = new QuantileSketch();
  add(x: number): void {
    this.moments.add(x);
    this.quantiles.add(x);
  }
  merge(o: NumberState): void {
    this.moments.merge(o.moments);
    this.quantiles.merge(o.quantiles);
  }
  summary(): NumericSummary | null {
    const m = this.moments;
    if (m.n === 0) return null;
    const qs = this.quantiles.quantiles([...QUANTILES]);
    return {
      count: m.n,
      min: m.min,
      max: m.max,
      mean: m.mean,
      std: Number.isNaN(m.sampleStd) ? null : m.sampleStd,
      quantiles: Object.fromEntries(QUANTILES.map((q, i) => [qName(q), qs[i]])),
      quantiles_exact: this.quantiles.isExact,
    };
  }
}

class FieldState {
  present = 0;
  nulls = 0;
  empty = 0;
  readonly types = new Map<JsonType, number>();
  readonly values = new ValueCounter();
  numbers: NumberState | null = null;
  numericStrings: NumberState | null = null;
  lengths: NumberState | null = null;
  readonly formats = new Map<FormatName, number>();
  readonly issues = new Map<IssueKind, IssueState>();
  arrays: { lengths: Moments; itemTypes: Map<JsonType, number> } | null = null;
  constructor(readonly name: string) {}

  issue(kind: IssueKind, row: number): void {
    addIssue(this.issues, kind, row);
  }

  merge(o: FieldState): void {
    this.present += o.present;
    this.nulls += o.nulls;
    this.empty += o.empty;
    for (const [k, v] of o.types) this.types.set(k, (this.types.get(k) ?? 0) + v);
    this.values.merge(o.values);
    for (const key of ['numbers', 'numericStrings', 'lengths'] as const) {
      const theirs = o[key];
      if (!theirs) continue;
      const mine = this[key] ?? new NumberState();
      mine.merge(theirs);
      this[key] = mine;
    }
    for (const [k, v] of o.formats) this.formats.set(k, (this.formats.get(k) ?? 0) + v);
    mergeIssues(this.issues, o.issues);
    if (o.arrays) {
      this.arrays ??= { lengths: new Moments(), itemTypes: new Map() };
      this.arrays.lengths.merge(o.arrays.lengths);
      for (const [k, v] of o.arrays.itemTypes) this.arrays.itemTypes.set(k, (this.arrays.itemTypes.get(k) ?? 0) + v);
    }
  }

  profile(parsedRows: number): FieldProfile {
    const exactValues = this.values.isExact;
    const distinct = this.values.distinct();
    const a = this.arrays;
    return {
      name: this.name,
      count: this.present,
      missing: parsedRows - this.present,
      nulls: this.nulls,
      empty: this.empty,
      types: Object.fromEntries(TYPES.filter((t) => this.types.get(t)).map((t) => [t, this.types.get(t)])),
      distinct,
      distinct_method: exactValues ? 'exact' : 'hyperloglog',
      top: this.values.top(exactValues && distinct <= CATEGORY_LIMIT ? CATEGORY_LIMIT : TOP),
      top_max_undercount: this.values.maxUndercount,
      numeric: this.numbers?.summary() ?? null,
      numeric_strings: this.numericStrings?.summary() ?? null,
      length: this.lengths?.summary() ?? null,
      formats: Object.fromEntries([...this.formats].sort((x, y) => y[1] - x[1])),
      array: a
        ? {
            count: a.lengths.n,
            min_length: a.lengths.min,
            max_length: a.lengths.max,
            mean_length: a.lengths.mean,
            item_types: Object.fromEntries(TYPES.filter((t) => a.itemTypes.get(t)).map((t) => [t, a.itemTypes.get(t)])),
          }
        : null,
      issues: Object.fromEntries([...this.issues].map(([k, v]) => [k, v.count])),
    };
  }
}

function addIssue(map: Map<IssueKind, IssueState>, kind: IssueKind, row: number): void {
  let s = map.get(kind);
  if (!s) {
    s = { count: 0, examples: [] };
    map.set(kind, s);
  }
  s.count++;
  if (s.examples.length < EXAMPLES) s.examples.push(row);
}

function mergeIssues(into: Map<IssueKind, IssueState>, from: Map<IssueKind, IssueState>): void {
  for (const [k, v] of from) {
    const s = into.get(k);
    if (!s) into.set(k, { count: v.count, examples: [...v.examples] });
    else {
      s.count += v.count;
      s.examples = [...s.examples, ...v.examples].sort((x, y) => x - y).slice(0, EXAMPLES);
    }
  }
}

/** A value's hash with its JSON type mixed in, so that the string "7" and the number 7 are different values. */
const typedHash = (s: string, tag: number): number => (hash53(s) + tag * 0x9e3779b97f4a7) % 2 ** 53;
const TRUE_HASH = typedHash('true', 3);
const FALSE_HASH = typedHash('false', 3);

/** Length in Unicode code points (a surrogate pair is one). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--;
  }
  return n;
}

/** The value at a dotted path of a record, or undefined when a key on the way is absent. */
export function valueAt(record: unknown, path: string): unknown {
  let v: unknown = record;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/**
 * Profiles rows fed one at a time, in memory bounded by the number of fields (not rows): per field the counts,
 * types, distinct values, top values, numeric and length summaries, formats and text issues; per row duplicates,
 * duplicate keys and unparseable lines. Two profilers over two parts of a file merge into the profile of the whole.
 */
export class Profiler {
  private readonly fields = new Map<string, FieldState>();
  private readonly rowIssues = new Map<IssueKind, IssueState>();
  private parsed = 0;
  private unparseable = 0;
  private readonly unparseableExamples: { row: number; reason: string }[] = [];
  private readonly duplicates = new RepeatCounter();
  private readonly keys: RepeatCounter | null;
  private keyMissing = 0;
  private readonly lineEndings = { lf: 0, crlf: 0, cr: 0 };
  private readonly lineEndingRows = { lf: [] as number[], crlf: [] as number[], cr: [] as number[] };
  private readonly timeline: Timeline | null;
  private obs: FieldObservation[] | null = null;

  constructor(private readonly options: ProfilerOptions = {}) {
    this.keys = options.key ? new RepeatCounter() : null;
    this.timeline = options.timeField ? new Timeline(options.timeField) : null;
  }

  get rowsParsed(): number {
    return this.parsed;
  }

  private field(name: string): FieldState {
    let f = this.fields.get(name);
    if (!f) {
      f = new FieldState(name);
      this.fields.set(name, f);
    }
    return f;
  }

  /** Adds one parsed row. */
  add(value: unknown, meta: RowMeta): void {
    this.parsed++;
    const row = meta.row;
    this.obs = this.timeline ? [] : null;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      this.visitObject('', value as Record<string, unknown>, row, Boolean(meta.invalidUtf8));
    } else {
      addIssue(this.rowIssues, 'not_an_object', row);
      this.visit('$', value, row, Boolean(meta.invalidUtf8));
    }
    const raw = meta.raw ?? JSON.stringify(value);
    this.duplicates.add(hash53(raw), row);
    if (this.keys && this.options.key) {
      const k = valueAt(value, this.options.key);
      if (k === undefined || k === null) this.keyMissing++;
      else this.keys.add(hash53(typeof k === 'string' ? `s${k}` : `j${JSON.stringify(k)}`), row);
    }
    if (this.timeline && this.options.timeField) {
      this.timeline.add(parseTimestamp(valueAt(value, this.options.timeField)), this.obs ?? []);
    }
  }

  /** Adds a row that could not be parsed, with the parser's reason. */
  addUnparseable(row: number, reason: string): void {
    this.unparseable++;
    if (this.unparseableExamples.length < 20) this.unparseableExamples.push({ row, reason });
  }

  /** A file-level issue the reader saw in the bytes (invalid UTF-8 outside any value, a byte-order mark). */
  addRowIssue(kind: IssueKind, row: number): void {
    addIssue(this.rowIssues, kind, row);
  }

  /** The ending of one physical line. */
  addLineEnding(kind: 'lf' | 'crlf' | 'cr', row: number): void {
    this.lineEndings[kind]++;
    const ex = this.lineEndingRows[kind];
    if (ex.length < EXAMPLES) ex.push(row);
  }

  private visitObject(prefix: string, obj: Record<string, unknown>, row: number, invalid: boolean): void {
    for (const k in obj) this.visit(prefix ? `${prefix}.${k}` : k, obj[k], row, invalid);
  }

  private visit(path: string, v: unknown, row: number, invalid: boolean): void {
    const f = this.field(path);
    f.present++;
    let type: JsonType;
    let format = 'none';
    if (v === null) {
      type = 'null';
      f.nulls++;
    } else {
      switch (typeof v) {
        case 'boolean':
          type = 'boolean';
          f.values.add(v ? 'true' : 'false', v ? TRUE_HASH : FALSE_HASH);
          break;
        case 'number': {
          type = Number.isInteger(v) ? 'integer' : 'number';
          (f.numbers ??= new NumberState()).add(v);
          const s = String(v);
          f.values.add(s, typedHash(s, 1));
          for (const fm of numberFormats(v)) {
            f.formats.set(fm, (f.formats.get(fm) ?? 0) + 1);
            if (format === 'none') format = fm;
          }
          break;
        }
        case 'string': {
          type = 'string';
          if (v.trim().length === 0) f.empty++;
          (f.lengths ??= new NumberState()).add(codePoints(v));
          f.values.add(v, hash53(v));
          for (const fm of stringFormats(v)) {
            f.formats.set(fm, (f.formats.get(fm) ?? 0) + 1);
            if (format === 'none') format = fm;
            if (fm === 'numeric_string') (f.numericStrings ??= new NumberState()).add(Number(v));
          }
          for (const issue of textIssues(v)) {
            // In a row whose bytes were not UTF-8, U+FFFD is the decoder's replacement: report it as invalid UTF-8.
            f.issue(issue === 'replacement_character' && invalid ? 'invalid_utf8' : issue, row);
          }
          break;
        }
        default:
          if (Array.isArray(v)) {
            type = 'array';
            f.arrays ??= { lengths: new Moments(), itemTypes: new Map() };
            f.arrays.lengths.add(v.length);
            for (const item of v) {
              const t = jsonType(item);
              f.arrays.itemTypes.set(t, (f.arrays.itemTypes.get(t) ?? 0) + 1);
            }
            const s = JSON.stringify(v);
            f.values.add(s, typedHash(s, 2));
          } else {
            type = 'object';
            this.visitObject(path, v as Record<string, unknown>, row, invalid);
          }
      }
    }
    f.types.set(type, (f.types.get(type) ?? 0) + 1);
    this.obs?.push({ field: path, type, format });
  }

  merge(o: Profiler): void {
    this.parsed += o.parsed;
    this.unparseable += o.unparseable;
    this.unparseableExamples.push(...o.unparseableExamples);
    this.unparseableExamples.sort((a, b) => a.row - b.row).splice(20);
    for (const [name, f] of o.fields) this.field(name).merge(f);
    mergeIssues(this.rowIssues, o.rowIssues);
    for (const k of ['lf', 'crlf', 'cr'] as const) {
      this.lineEndings[k] += o.lineEndings[k];
      this.lineEndingRows[k] = [...this.lineEndingRows[k], ...o.lineEndingRows[k]].sort((a, b) => a - b).slice(0, EXAMPLES);
    }
    if (this.timeline && o.timeline) this.timeline.merge(o.timeline);
    // Duplicates across the two parts cannot be found from the counters' samples alone; a merged profile
    // therefore counts repeats within each part (the CLI profiles a file with one profiler).
    this.mergedDuplicates += o.duplicates.repeats() + o.mergedDuplicates;
    this.keyMissing += o.keyMissing;
  }
  private mergedDuplicates = 0;

  result(): AuditProfile {
    const fields = [...this.fields.values()].map((f) => f.profile(this.parsed));
    const issues: AuditIssue[] = [];
    if (this.unparseable > 0) {
      issues.push({
        kind: 'unparseable',
        field: null,
        count: this.unparseable,
        examples: this.unparseableExamples.slice(0, EXAMPLES).map((e) => e.row),
        detail: this.unparseableExamples[0]?.reason,
      });
    }
    const dupes = this.duplicates.repeats() + this.mergedDuplicates;
    if (dupes > 0) {
      issues.push({ kind: 'duplicate_rows', field: null, count: dupes, examples: this.duplicates.examples, exact: this.duplicates.exact });
    }
    let duplicateKeys: RowsSummary['duplicate_keys'];
    if (this.keys && this.options.key) {
      duplicateKeys = {
        field: this.options.key,
        rows: this.keys.repeats(),
        keys: this.keys.repeatedKeys(),
        missing: this.keyMissing,
        exact: this.keys.exact,
        examples: this.keys.examples,
      };
      if (duplicateKeys.rows > 0) {
        issues.push({
          kind: 'duplicate_keys',
          field: this.options.key,
          count: duplicateKeys.rows,
          examples: this.keys.examples,
          exact: this.keys.exact,
          detail: `${duplicateKeys.keys} value(s) of ${this.options.key} occur more than once`,
        });
      }
      if (this.keyMissing > 0) issues.push({ kind: 'missing_key', field: this.options.key, count: this.keyMissing, examples: [] });
    }
    for (const [kind, s] of this.rowIssues) issues.push({ kind, field: null, count: s.count, examples: s.examples });
    const le = this.lineEndings;
    const kinds = (['lf', 'crlf', 'cr'] as const).filter((k) => le[k] > 0);
    if (kinds.length > 1) {
      const minority = kinds.reduce((a, b) => (le[a] <= le[b] ? a : b));
      issues.push({
        kind: 'mixed_line_endings',
        field: null,
        count: kinds.filter((k) => k !== kinds.reduce((a, b) => (le[a] >= le[b] ? a : b))).reduce((s, k) => s + le[k], 0),
        examples: this.lineEndingRows[minority],
        detail: kinds.map((k) => `${le[k]} ${k.toUpperCase()}`).join(', '),
      });
    }
    for (const f of this.fields.values()) {
      for (const [kind, s] of f.issues) issues.push({ kind, field: f.name, count: s.count, examples: s.examples });
      // Integers and other numbers are one kind here: a number column with some whole values is not mixed.
      const groups = new Map<string, number>();
      for (const t of TYPES) {
        const c = f.types.get(t) ?? 0;
        if (t === 'null' || c === 0) continue;
        const g = t === 'integer' ? 'number' : t;
        groups.set(g, (groups.get(g) ?? 0) + c);
      }
      if (groups.size > 1) {
        const sorted = [...groups].sort((x, y) => y[1] - x[1]);
        issues.push({
          kind: 'mixed_types',
          field: f.name,
          count: sorted.slice(1).reduce((s2, [, c]) => s2 + c, 0),
          examples: [],
          detail: sorted.map(([t, c]) => `${c} ${t}`).join(', '),
        });
      }
    }
    const profile: AuditProfile = {
      rows: {
        total: this.parsed + this.unparseable,
        parsed: this.parsed,
        unparseable: this.unparseable,
        unparseable_examples: this.unparseableExamples,
        duplicates: dupes,
        duplicates_exact: this.duplicates.exact && this.mergedDuplicates === 0,
        line_endings: { ...le },
        ...(duplicateKeys ? { duplicate_keys: duplicateKeys } : {}),
      },
      fields,
      issues,
    };
    if (this.timeline) {
      const time = this.timeline.report(fields.map((f) => f.name));
      profile.time = time;
      if (time.span_days < 90 && time.rows_with_time > 0) {
        issues.push({
          kind: 'short_time_span',
          field: this.timeline.field,
          count: time.rows_with_time,
          examples: [],
          detail: time.warnings[0],
        });
      }
      if (time.gaps.length > 0) {
        const w = time.warnings.find((x) => x.includes('have no rows'));
        if (w) issues.push({ kind: 'time_gaps', field: this.timeline.field, count: time.gaps.length, examples: [], detail: w });
      }
      if (time.rows_without_time > 0) {
        issues.push({ kind: 'unparseable_time', field: this.timeline.field, count: time.rows_without_time, examples: [] });
      }
    }
    issues.sort((a, b) => ISSUE_ORDER.indexOf(a.kind) - ISSUE_ORDER.indexOf(b.kind) || b.count - a.count);
    return profile;
  }
}

/** Issues in the order a reader should see them: the file, then rows, then values. */
const ISSUE_ORDER: IssueKind[] = [
  'unparseable',
  'invalid_utf8',
  'byte_order_mark',
  'mixed_line_endings',
  'not_an_object',
  'duplicate_rows',
  'duplicate_keys',
  'missing_key',
  'short_time_span',
  'time_gaps',
  'unparseable_time',
  'mixed_types',
  'replacement_character',
  'mojibake',
  'control_characters',
  'html',
  'leading_trailing_whitespace',
];

export function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'string':
      return 'string';
    default:
      return 'object';
  }
}
