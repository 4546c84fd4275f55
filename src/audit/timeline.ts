import normalCdf from '@stdlib/stats-base-dists-normal-cdf';

/**
 * The time dimension of an audit (with --time-field): how long a span the sample covers, whether it looks filtered,
 * and changes *inside* the sample — a field whose missing rate, type mix or format changed part-way through.
 */

const DAY = 86_400_000;
/** Bucket widths tried in turn when there are too many buckets (day, week, 30 days, 365 days). */
const WIDTHS = [DAY, 7 * DAY, 30 * DAY, 365 * DAY];
const MAX_BUCKETS = 1500;
/** The rule (DESIGN, boundary 1): a raw production sample spans at least 90 days. */
export const REQUIRED_SPAN_DAYS = 90;

interface FieldBucket {
  present: number;
  types: Map<string, number>;
  formats: Map<string, number>;
}
interface Bucket {
  rows: number;
  fields: Map<string, FieldBucket>;
}

/** One field as seen in one row: its JSON type and its first detected format ('none' when it has none). */
export interface FieldObservation {
  field: string;
  type: string;
  format: string;
}

export interface TimeChange {
  field: string;
  /** `missing_rate`, `type:<json type>` (share among present values) or `format:<format>` (share among present values). */
  metric: string;
  before: number;
  after: number;
  /** The first day (UTC, ISO date) of the part after the change. */
  changed_at: string;
  rows_before: number;
  rows_after: number;
  z: number;
  p_value: number;
}

export interface TimeReport {
  field: string;
  /** Rows whose time field holds a readable time. */
  rows_with_time: number;
  /** Rows without a time field or with one that no known format reads. */
  rows_without_time: number;
  start: string | null;
  end: string | null;
  span_days: number;
  /** Width of the buckets below, in days. */
  bucket_days: number;
  /** Rows per bucket, oldest first: [ISO date of the bucket's start, rows]. */
  rows_per_bucket: [string, number][];
  /** Runs of empty buckets inside the span (start date, length in days), longest first. */
  gaps: { start: string; days: number }[];
  warnings: string[];
  changes: TimeChange[];
}

/** Row counts and, per field, presence, type and format counts per time bucket; mergeable. */
export class Timeline {
  private width = WIDTHS[0];
  private buckets = new Map<number, Bucket>();
  rowsWithTime = 0;
  rowsWithoutTime = 0;
  private minT = Number.POSITIVE_INFINITY;
  private maxT = Number.NEGATIVE_INFINITY;

  constructor(readonly field: string) {}

  add(t: number | null, obs: FieldObservation[]): void {
    if (t === null) {
      this.rowsWithoutTime++;
      return;
    }
    this.rowsWithTime++;
    if (t < this.minT) this.minT = t;
    if (t > this.maxT) this.maxT = t;
    const key = Math.floor(t / this.width);
    let b = this.buckets.get(key);
    if (!b) {
      b = { rows: 0, fields: new Map() };
      this.buckets.set(key, b);
      if (this.buckets.size > MAX_BUCKETS) this.widen();
    }
    b.rows++;
    for (const o of obs) {
      let f = b.fields.get(o.field);
      if (!f) {
        f = { present: 0, types: new Map(), formats: new Map() };
        b.fields.set(o.field, f);
      }
      f.present++;
      f.types.set(o.type, (f.types.get(o.type) ?? 0) + 1);
      f.formats.set(o.format, (f.formats.get(o.format) ?? 0) + 1);
    }
  }

  private widen(): void {
    const next = WIDTHS.find((w) => w > this.width && (this.maxT - this.minT) / w < MAX_BUCKETS) ?? WIDTHS[WIDTHS.length - 1];
    if (next === this.width) return;
    const old = this.buckets;
    this.buckets = new Map();
    const oldWidth = this.width;
    this.width = next;
    for (const [k, b] of old) this.mergeBucket(Math.floor((k * oldWidth) / next), b);
  }

  private mergeBucket(key: number, b: Bucket): void {
    const mine = this.buckets.get(key);
    if (!mine) {
      this.buckets.set(key, b);
      return;
    }
    mine.rows += b.rows;
    for (const [name, f] of b.fields) {
      const m = mine.fields.get(name);
      if (!m) {
        mine.fields.set(name, f);
        continue;
      }
      m.present += f.present;
      for (const [k, v] of f.types) m.types.set(k, (m.types.get(k) ?? 0) + v);
      for (const [k, v] of f.formats) m.formats.set(k, (m.formats.get(k) ?? 0) + v);
    }
  }

  merge(o: Timeline): void {
    this.rowsWithTime += o.rowsWithTime;
    this.rowsWithoutTime += o.rowsWithoutTime;
    this.minT = Math.min(this.minT, o.minT);
    this.maxT = Math.max(this.maxT, o.maxT);
    while (o.width > this.width) this.widen();
    for (const [k, b] of o.buckets) this.mergeBucket(Math.floor((k * o.width) / this.width), b);
    if (this.buckets.size > MAX_BUCKETS) this.widen();
  }

  report(fields: string[]): TimeReport {
    const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    const empty: TimeReport = {
      field: this.field,
      rows_with_time: this.rowsWithTime,
      rows_without_time: this.rowsWithoutTime,
      start: null,
      end: null,
      span_days: 0,
      bucket_days: this.width / DAY,
      rows_per_bucket: [],
      gaps: [],
      warnings: [],
      changes: [],
    };
    if (keys.length === 0) {
      empty.warnings.push(`no row has a readable time in "${this.field}"`);
      return empty;
    }
    const spanDays = (this.maxT - this.minT) / DAY;
    // Dense series from the first to the last bucket (empty buckets included).
    const first = keys[0];
    const last = keys[keys.length - 1];
    const series: { key: number; b: Bucket | undefined }[] = [];
    for (let k = first; k <= last; k++) series.push({ key: k, b: this.buckets.get(k) });
    const gaps: { start: string; days: number }[] = [];
    for (let i = 0; i < series.length; i++) {
      if (series[i].b) continue;
      let j = i;
      while (j < series.length && !series[j].b) j++;
      gaps.push({ start: iso(series[i].key * this.width), days: ((j - i) * this.width) / DAY });
      i = j;
    }
    gaps.sort((a, b) => b.days - a.days);
    const warnings: string[] = [];
    if (spanDays < REQUIRED_SPAN_DAYS) {
      warnings.push(
        `the sample spans ${spanDays.toFixed(2)} days (${iso(this.minT)} to ${iso(this.maxT)}); a raw production sample should cover at least ${REQUIRED_SPAN_DAYS} days`,
      );
    }
    const perBucket = this.rowsWithTime / series.length;
    const emptyBuckets = series.filter((s) => !s.b).length;
    if (gaps.length > 0 && perBucket >= 5) {
      warnings.push(
        `${emptyBuckets} of ${series.length} ${this.width === DAY ? 'days' : 'buckets'} inside the span have no rows (longest gap ${gaps[0].days} days from ${gaps[0].start}) although the average is ${perBucket.toFixed(1)} rows per bucket: the sample looks filtered or stitched together`,
      );
    }
    if (this.rowsWithoutTime > 0) {
      warnings.push(`${this.rowsWithoutTime} row(s) have no readable time in "${this.field}"`);
    }
    return {
      ...empty,
      start: new Date(this.minT).toISOString(),
      end: new Date(this.maxT).toISOString(),
      span_days: Math.round(spanDays * 100) / 100,
      rows_per_bucket: series.map((s) => [iso(s.key * this.width), s.b?.rows ?? 0]),
      gaps: gaps.slice(0, 10),
      warnings,
      changes: detectChanges(
        series.map((s) => ({ start: s.key * this.width, bucket: s.b })),
        fields.filter((f) => f !== this.field),
      ),
    };
  }
}

/** Two-proportion z statistic with the pooled variance (x1 of n1 against x2 of n2); 0 when undefined. */
export function twoProportionZ(x1: number, n1: number, x2: number, n2: number): number {
  if (n1 === 0 || n2 === 0) return 0;
  const p = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  return se === 0 ? 0 : (x2 / n2 - x1 / n1) / se;
}

/** Two-sided p-value of a standard normal statistic. */
export const normalTwoSided = (z: number): number => 2 * (1 - normalCdf(Math.abs(z), 0, 1));

const MIN_SIDE = 30;
const MIN_EFFECT = 0.1;
const MAX_P = 1e-6;

/**
 * One change point per field and metric: the split between consecutive buckets that maximises the two-proportion
 * z statistic of the metric before against after (binary segmentation's first step; Scott & Knott 1974, Sen &
 * Srivastava 1975), reported when each side has ≥ 30 rows, the shift is ≥ 0.10 and p < 1e-6 (strict, because every
 * split of every field is tried). For each field the strongest missing-rate, type and format change is kept.
 */
export function detectChanges(series: { start: number; bucket: Bucket | undefined }[], fields: string[]): TimeChange[] {
  const out: TimeChange[] = [];
  const iso = (t: number) => new Date(t).toISOString().slice(0, 10);
  for (const field of fields) {
    // Per bucket: rows, present, counts per type and per format.
    const rows = series.map((s) => s.bucket?.rows ?? 0);
    const present = series.map((s) => s.bucket?.fields.get(field)?.present ?? 0);
    const types = new Set<string>();
    const formats = new Set<string>();
    for (const s of series) {
      const f = s.bucket?.fields.get(field);
      if (!f) continue;
      for (const k of f.types.keys()) types.add(k);
      for (const k of f.formats.keys()) formats.add(k);
    }
    const metrics: { family: string; metric: string; num: number[]; den: number[] }[] = [
      { family: 'missing', metric: 'missing_rate', num: rows.map((r, i) => r - present[i]), den: rows },
    ];
    if (types.size > 1) {
      for (const t of types) {
        metrics.push({
          family: 'type',
          metric: `type:${t}`,
          num: series.map((s) => s.bucket?.fields.get(field)?.types.get(t) ?? 0),
          den: present,
        });
      }
    }
    if (formats.size > 1) {
      for (const f of formats) {
        metrics.push({
          family: 'format',
          metric: `format:${f}`,
          num: series.map((s) => s.bucket?.fields.get(field)?.formats.get(f) ?? 0),
          den: present,
        });
      }
    }
    const best = new Map<string, TimeChange>();
    for (const m of metrics) {
      const totalNum = m.num.reduce((a, b) => a + b, 0);
      const totalDen = m.den.reduce((a, b) => a + b, 0);
      let cumNum = 0;
      let cumDen = 0;
      let top: TimeChange | null = null;
      for (let i = 0; i < series.length - 1; i++) {
        cumNum += m.num[i];
        cumDen += m.den[i];
        const restDen = totalDen - cumDen;
        if (cumDen < MIN_SIDE || restDen < MIN_SIDE) continue;
        const z = twoProportionZ(cumNum, cumDen, totalNum - cumNum, restDen);
        if (!top || Math.abs(z) > Math.abs(top.z)) {
          top = {
            field,
            metric: m.metric,
            before: cumNum / cumDen,
            after: (totalNum - cumNum) / restDen,
            changed_at: iso(series[i + 1].start),
            rows_before: cumDen,
            rows_after: restDen,
            z,
            p_value: 0,
          };
        }
      }
      if (!top) continue;
      top.p_value = normalTwoSided(top.z);
      if (Math.abs(top.after - top.before) < MIN_EFFECT || top.p_value >= MAX_P) continue;
      const prev = best.get(m.family);
      if (!prev || Math.abs(top.after - top.before) > Math.abs(prev.after - prev.before)) best.set(m.family, top);
    }
    for (const c of best.values()) {
      c.before = round(c.before);
      c.after = round(c.after);
      c.z = round(c.z);
      out.push(c);
    }
  }
  return out.sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before));
}

const round = (x: number, d = 6) => Math.round(x * 10 ** d) / 10 ** d;
