/**
 * The mergeable parts of a drift summary. Each has `add`, `merge` (in place), `toJSON` and `fromJSON`, and states
 * what merging preserves:
 *
 * - Moments, ValueSketch, BinnedHistogram, HyperLogLog: merge(a, b) equals the summary of the concatenation exactly
 *   (counts add; HLL registers take the max; moments by Chan et al. 1979, equal up to floating-point rounding).
 * - FrequencySummary: exact while it holds at most `capacity` distinct values; beyond, a Misra–Gries summary
 *   (Agarwal et al. 2012, "Mergeable summaries"): every count is underestimated by at most `error`, which is at most
 *   total/(capacity + 1), whatever the order of adds and merges.
 * - Reservoir: a uniform sample without replacement of at most `capacity` values (Vitter's algorithm R); merging draws
 *   how many to keep from each side from the hypergeometric distribution, so the merged sample is again uniform over
 *   the union (equal in distribution, not value for value, to the concatenation's).
 */
import { mulberry32 } from './random.js';

// --------------------------------------------------------------------------- hashing

/** FNV-1a over UTF-16 code units, finished with MurmurHash3's fmix32 so every output bit depends on every input bit. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// --------------------------------------------------------------------------- moments

export interface MomentsJson {
  n: number;
  mean: number;
  m2: number;
  min: number | null;
  max: number | null;
}

/** Count, mean, sum of squared deviations (Welford), min and max; merge by Chan, Golub & LeVeque (1979). */
export class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  merge(o: Moments): void {
    if (o.n === 0) return;
    if (this.n === 0) {
      Object.assign(this, { n: o.n, mean: o.mean, m2: o.m2, min: o.min, max: o.max });
      return;
    }
    const n = this.n + o.n;
    const d = o.mean - this.mean;
    this.mean += (d * o.n) / n;
    this.m2 += o.m2 + (d * d * this.n * o.n) / n;
    this.n = n;
    this.min = Math.min(this.min, o.min);
    this.max = Math.max(this.max, o.max);
  }

  /** Population standard deviation (ddof 0, as numpy.std). */
  get std(): number {
    return this.n > 0 ? Math.sqrt(Math.max(this.m2, 0) / this.n) : Number.NaN;
  }

  /** Sample standard deviation (ddof 1, as pandas' std). */
  get sampleStd(): number {
    return this.n > 1 ? Math.sqrt(Math.max(this.m2, 0) / (this.n - 1)) : Number.NaN;
  }

  toJSON(): MomentsJson {
    return { n: this.n, mean: this.mean, m2: this.m2, min: this.n ? this.min : null, max: this.n ? this.max : null };
  }

  static fromJSON(j: MomentsJson): Moments {
    const m = new Moments();
    m.n = j.n;
    m.mean = j.mean;
    m.m2 = j.m2;
    m.min = j.min ?? Number.POSITIVE_INFINITY;
    m.max = j.max ?? Number.NEGATIVE_INFINITY;
    return m;
  }
}

// --------------------------------------------------------------------------- value sketch

/** Where a ValueSketch's buckets sit: values are standardised by the reference, z = (x − center)/scale. */
export interface ValueSketchSpec {
  center: number;
  scale: number;
  /** Relative accuracy: a bucket's representative is within alpha·|z| of every z in it. */
  alpha: number;
  /** |z| at or below this goes to the central bucket (absolute error ≤ minIndexed·scale). */
  minIndexed: number;
}

export const DEFAULT_SKETCH_ALPHA = 0.01;
export const DEFAULT_SKETCH_MIN_INDEXED = 1e-4;

export interface ValueSketchJson {
  keys: number[];
  counts: number[];
}

/**
 * A quantile sketch with a fixed bucket layout: DDSketch's logarithmic buckets (Masson, Rim & Lee 2019) on the
 * reference-standardised value z, mirrored for negative z, with a central bucket for |z| ≤ minIndexed. Bucket k ≥ 1
 * holds minIndexed·γ^(k−1) < |z| ≤ minIndexed·γ^k with γ = (1 + α)/(1 − α). Because the layout depends only on the
 * spec, merging adds counts and is exact; a value is known to within α·|x − center| (+ minIndexed·scale), so
 * quantiles, the Wasserstein distance and CDFs read from it inherit that error (see compare.ts for the tolerances).
 */
export class ValueSketch {
  readonly counts = new Map<number, number>();
  n = 0;
  private readonly logGamma: number;

  constructor(readonly spec: ValueSketchSpec) {
    this.logGamma = Math.log((1 + spec.alpha) / (1 - spec.alpha));
  }

  key(x: number): number {
    const z = (x - this.spec.center) / this.spec.scale;
    const a = Math.abs(z);
    if (!(a > this.spec.minIndexed)) return 0;
    const k = Math.max(1, Math.ceil(Math.log(a / this.spec.minIndexed) / this.logGamma));
    return z < 0 ? -k : k;
  }

  /** The value a bucket stands for: DDSketch's 2γ^k/(γ + 1)·minIndexed in z, mapped back to x. */
  value(key: number): number {
    if (key === 0) return this.spec.center;
    const g = Math.exp(this.logGamma);
    const a = (this.spec.minIndexed * 2 * g ** Math.abs(key)) / (g + 1);
    return this.spec.center + this.spec.scale * (key < 0 ? -a : a);
  }

  add(x: number): void {
    const k = this.key(x);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.n++;
  }

  merge(o: ValueSketch): void {
    for (const [k, c] of o.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + c);
    this.n += o.n;
  }

  sortedKeys(): number[] {
    return [...this.counts.keys()].sort((a, b) => a - b);
  }

  /** The q-quantile (lower: the first bucket whose cumulative count reaches q·n), clamped to [min, max] when given. */
  quantile(q: number, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): number {
    if (this.n === 0) return Number.NaN;
    const rank = q * (this.n - 1);
    let cum = 0;
    for (const k of this.sortedKeys()) {
      cum += this.counts.get(k)!;
      if (cum > rank) return Math.min(Math.max(this.value(k), min), max);
    }
    return max;
  }

  toJSON(): ValueSketchJson {
    const keys = this.sortedKeys();
    return { keys, counts: keys.map((k) => this.counts.get(k)!) };
  }

  static fromJSON(spec: ValueSketchSpec, j: ValueSketchJson): ValueSketch {
    const s = new ValueSketch(spec);
    j.keys.forEach((k, i) => {
      s.counts.set(k, j.counts[i]);
      s.n += j.counts[i];
    });
    return s;
  }
}

// --------------------------------------------------------------------------- histogram on fixed bins

/** Index of the bin of x among edges e_0 < e_1 < …: bin i is (e_{i−1}, e_i], bin 0 is (−∞, e_0], the last (e_last, ∞). */
export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts on fixed bins (the reference's quantiles); exact and exactly mergeable. */
export class BinnedHistogram {
  readonly counts: number[];
  constructor(readonly edges: readonly number[]) {
    this.counts = new Array(edges.length + 1).fill(0);
  }
  add(x: number): void {
    this.counts[binIndex(this.edges, x)]++;
  }
  merge(o: BinnedHistogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += o.counts[i] ?? 0;
  }
  toJSON(): number[] {
    return [...this.counts];
  }
  static fromJSON(edges: readonly number[], counts: number[]): BinnedHistogram {
    const h = new BinnedHistogram(edges);
    counts.forEach((c, i) => {
      h.counts[i] = c;
    });
    return h;
  }
}

// --------------------------------------------------------------------------- HyperLogLog

export const HLL_PRECISION = 11;

/**
 * HyperLogLog (Flajolet et al. 2007) with 2^p registers (default 2^11: standard error 1.04/√2048 ≈ 2.3 %), with the
 * paper's small-range (linear counting) and large-range corrections for a 32-bit hash. Serialised sparse ([index,
 * rank] pairs) while few registers are set, else as base64.
 */
export class HyperLogLog {
  readonly registers: Uint8Array;

  constructor(readonly precision = HLL_PRECISION) {
    this.registers = new Uint8Array(1 << precision);
  }

  add(h: number): void {
    const p = this.precision;
    const idx = h >>> (32 - p);
    const w = ((h << p) | (1 << (p - 1))) >>> 0;
    const rho = Math.clz32(w) + 1;
    if (rho > this.registers[idx]) this.registers[idx] = rho;
  }

  merge(o: HyperLogLog): void {
    for (let i = 0; i < this.registers.length; i++) if (o.registers[i] > this.registers[i]) this.registers[i] = o.registers[i];
  }

  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / m);
    const e = (alpha * m * m) / sum;
    if (e <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
    if (e > 2 ** 32 / 30) return -(2 ** 32) * Math.log(1 - e / 2 ** 32);
    return e;
  }

  toJSON(): string | number[][] {
    const set: number[][] = [];
    for (let i = 0; i < this.registers.length; i++) if (this.registers[i]) set.push([i, this.registers[i]]);
    return set.length * 6 < this.registers.length ? set : btoa(String.fromCharCode(...this.registers));
  }

  static fromJSON(j: string | number[][], precision = HLL_PRECISION): HyperLogLog {
    const h = new HyperLogLog(precision);
    if (typeof j === 'string') h.registers.set(Uint8Array.from(atob(j), (c) => c.charCodeAt(0)));
    else for (const [i, r] of j) h.registers[i] = r;
    return h;
  }
}

// --------------------------------------------------------------------------- frequencies

export interface FrequencyJson {
  capacity: number;
  total: number;
  error: number;
  items: [string, number][];
}

/**
 * Counts per distinct value: exact up to `capacity` values, then Misra–Gries, pruned in batches (when the table holds
 * 2·capacity entries, the (capacity + 1)-th largest count is subtracted from all and non-positive ones dropped).
 * `error` is the total subtracted from each surviving count: every kept count c satisfies true − error ≤ c ≤ true,
 * and a value that was dropped occurred at most `error` times. `error` ≤ total/(capacity + 1).
 */
export class FrequencySummary {
  readonly counts = new Map<string, number>();
  total = 0;
  error = 0;
  constructor(readonly capacity: number) {}

  add(key: string, count = 1): void {
    this.total += count;
    this.counts.set(key, (this.counts.get(key) ?? 0) + count);
    if (this.counts.size >= 2 * this.capacity) this.prune();
  }

  merge(o: FrequencySummary): void {
    this.total += o.total;
    this.error += o.error;
    for (const [k, c] of o.counts) this.counts.set(k, (this.counts.get(k) ?? 0) + c);
    if (this.counts.size > this.capacity) this.prune();
  }

  get exact(): boolean {
    return this.error === 0;
  }

  private prune(): void {
    if (this.counts.size <= this.capacity) return;
    const sorted = [...this.counts.values()].sort((a, b) => b - a);
    const cut = sorted[this.capacity];
    this.error += cut;
    for (const [k, c] of this.counts) {
      if (c - cut <= 0) this.counts.delete(k);
      else this.counts.set(k, c - cut);
    }
  }

  /** The `k` largest counts, largest first (ties by key, so the order is deterministic). */
  top(k = Number.POSITIVE_INFINITY): [string, number][] {
    return [...this.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, k);
  }

  toJSON(): FrequencyJson {
    if (this.counts.size > this.capacity) this.prune();
    return { capacity: this.capacity, total: this.total, error: this.error, items: this.top() };
  }

  static fromJSON(j: FrequencyJson): FrequencySummary {
    const f = new FrequencySummary(j.capacity);
    f.total = j.total;
    f.error = j.error;
    for (const [k, c] of j.items) f.counts.set(k, c);
    return f;
  }
}

// --------------------------------------------------------------------------- reservoir

export interface ReservoirJson {
  capacity: number;
  seen: number;
  state: number;
  values: number[];
}

/** A uniform random sample of at most `capacity` numbers (Vitter's algorithm R), seeded so a run is reproducible. */
export class Reservoir {
  values: number[] = [];
  seen = 0;
  private state: number;
  private rand: () => number;

  constructor(
    readonly capacity: number,
    seed = 1,
  ) {
    this.state = seed >>> 0;
    this.rand = mulberry32(this.state);
  }

  private next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    return this.rand();
  }

  /** True when the sample holds every value seen. */
  get complete(): boolean {
    return this.seen === this.values.length;
  }

  add(x: number): void {
    this.seen++;
    if (this.values.length < this.capacity) this.values.push(x);
    else {
      const j = Math.floor(this.next() * this.seen);
      if (j < this.capacity) this.values[j] = x;
    }
  }

  /** Keeps a uniform sample of the union: the number taken from each side is hypergeometric, the items random. */
  merge(o: Reservoir): void {
    const total = this.seen + o.seen;
    const k = Math.min(this.capacity, this.values.length + o.values.length, total);
    let fromThis = 0;
    let restThis = this.seen;
    let restAll = total;
    for (let i = 0; i < k; i++) {
      if (this.next() * restAll < restThis) {
        fromThis++;
        restThis--;
      }
      restAll--;
    }
    fromThis = Math.min(fromThis, this.values.length);
    const fromOther = Math.min(k - fromThis, o.values.length);
    this.values = [...this.pick(this.values, fromThis), ...this.pick(o.values, fromOther)];
    this.seen = total;
  }

  private pick(values: number[], k: number): number[] {
    const a = [...values];
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.next() * (a.length - i));
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a.slice(0, k);
  }

  toJSON(): ReservoirJson {
    return { capacity: this.capacity, seen: this.seen, state: this.state, values: [...this.values] };
  }

  static fromJSON(j: ReservoirJson): Reservoir {
    const r = new Reservoir(j.capacity, j.state);
    r.values = [...j.values];
    r.seen = j.seen;
    return r;
  }
}
