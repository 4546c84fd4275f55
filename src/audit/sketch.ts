/**
 * Bounded-memory, mergeable summaries used by the profiler: a string hash, HyperLogLog, exact-then-KLL quantiles,
 * frequent items (exact, then Misra–Gries), and streaming moments. Each is exact while small and says so.
 */
import { mulberry32 } from '../drift/random.js';
import { HyperLogLog, Moments } from '../drift/sketch.js';

export { Moments };

/** 2^14 registers: standard error 1.04/√16384 ≈ 0.81 % for the audit's distinct counts. */
const AUDIT_HLL_PRECISION = 14;

/** MurmurHash3 x86_32 (Appleby 2011) over the UTF-16 code units of `s`, two units per 32-bit block. */
export function murmur32(s: string, seed = 0): number {
  let h = seed >>> 0;
  const n = s.length;
  const blocks = n >> 1;
  for (let i = 0; i < blocks; i++) {
    let k = (s.charCodeAt(2 * i) | (s.charCodeAt(2 * i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (n & 1) {
    let k = s.charCodeAt(n - 1);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 53-bit hash (two seeded murmur32): collisions are negligible among the ≤ 10^6 values an exact set holds. */
export const hash53 = (s: string): number => murmur32(s, 0x9747b28c) * 2097152 + (murmur32(s, 0x5bd1e995) & 0x1fffff);

/** Quantile of sorted values by linear interpolation between order statistics (Hyndman & Fan 1996 type 7; numpy/pandas default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Quantiles: exact (all values kept) up to `exactLimit` values, then a KLL sketch (Karnin, Lang & Liberty 2016) with
 * k = 200 (normalised rank error ≈ 1.65/k… in practice < 1 %), compactor capacities k·(2/3)^depth.
 */
export class QuantileSketch {
  private exact: number[] | null = [];
  private levels: number[][] = [];
  private n = 0;
  private readonly rand: () => number;
  constructor(
    private readonly exactLimit = 20_000,
    private readonly k = 200,
    seed = 1,
  ) {
    this.rand = mulberry32(seed);
  }

  get count(): number {
    return this.n;
  }
  get isExact(): boolean {
    return this.exact !== null;
  }

  add(x: number): void {
    this.n++;
    if (this.exact) {
      this.exact.push(x);
      if (this.exact.length > this.exactLimit) {
        const values = this.exact;
        this.exact = null;
        this.levels = [values];
        this.compress();
      }
      return;
    }
    this.levels[0].push(x);
    if (this.levels[0].length >= this.capacity(0)) this.compress();
  }

  private capacity(level: number): number {
    const depth = this.levels.length - level - 1;
    return Math.max(2, Math.ceil(this.k * (2 / 3) ** depth));
  }

  private compress(): void {
    for (let h = 0; h < this.levels.length; h++) {
      if (this.levels[h].length < this.capacity(h)) continue;
      if (h + 1 >= this.levels.length) this.levels.push([]);
      const items = this.levels[h].sort((a, b) => a - b);
      const offset = this.rand() < 0.5 ? 0 : 1;
      const keep = items.length % 2 === 1 ? items.pop() : undefined;
      for (let i = offset; i < items.length; i += 2) this.levels[h + 1].push(items[i]);
      this.levels[h] = keep === undefined ? [] : [keep];
    }
  }

  merge(other: QuantileSketch): void {
    if (other.exact) {
      for (const x of other.exact) this.add(x);
      return;
    }
    if (this.exact) {
      const mine = this.exact;
      this.exact = null;
      this.levels = other.levels.map((l) => [...l]);
      this.n = other.n;
      for (const x of mine) {
        this.n++;
        this.levels[0].push(x);
      }
      this.compress();
      return;
    }
    for (let h = 0; h < other.levels.length; h++) {
      if (h >= this.levels.length) this.levels.push([]);
      this.levels[h].push(...other.levels[h]);
    }
    this.n += other.n;
    this.compress();
  }

  /** The q-quantiles: type 7 when exact; from the sketch's weighted items (the smallest item whose cumulative weight reaches q·n) otherwise. */
  quantiles(qs: number[]): number[] {
    if (this.n === 0) return qs.map(() => Number.NaN);
    if (this.exact) {
      const sorted = Float64Array.from(this.exact).sort();
      return qs.map((q) => quantileSorted(sorted, q));
    }
    const items: [number, number][] = [];
    this.levels.forEach((l, h) => {
      for (const x of l) items.push([x, 2 ** h]);
    });
    items.sort((a, b) => a[0] - b[0]);
    const total = items.reduce((s, [, w]) => s + w, 0);
    return qs.map((q) => {
      const target = q * total;
      let cum = 0;
      for (const [x, w] of items) {
        cum += w;
        if (cum >= target) return x;
      }
      return items[items.length - 1][0];
    });
  }
}

interface Counted {
  value: string;
  count: number;
}

/**
 * Distinct values and their counts: exact (a map from 53-bit hash to count) while there are at most `exactLimit`
 * distinct values; above it, HyperLogLog for the distinct count and Misra–Gries (1982) with 2·k counters for the top
 * values (each count an underestimate by at most n/k; Agarwal et al. 2012 for the merge).
 */
export class ValueCounter {
  private map = new Map<number, Counted>();
  private hll: HyperLogLog | null = null;
  private n = 0;
  /** Decrements taken from every counter (Misra–Gries): the largest possible underestimate of a count. */
  private error = 0;
  constructor(
    private readonly exactLimit = 10_000,
    private readonly k = 1_000,
    private readonly displayLength = 200,
  ) {}

  get isExact(): boolean {
    return this.hll === null;
  }
  get total(): number {
    return this.n;
  }

  /** Adds a value: its display text and its 53-bit hash (the value's identity). */
  add(display: string, hash: number): void {
    this.n++;
    if (this.hll) this.hll.add(Math.floor(hash / 2097152) >>> 0);
    const e = this.map.get(hash);
    if (e) {
      e.count++;
      return;
    }
    this.map.set(hash, { value: display.length > this.displayLength ? `${display.slice(0, this.displayLength)}…` : display, count: 1 });
    if (this.hll === null && this.map.size > this.exactLimit) {
      this.hll = new HyperLogLog(AUDIT_HLL_PRECISION);
      for (const h of this.map.keys()) this.hll.add(Math.floor(h / 2097152) >>> 0);
    }
    if (this.hll && this.map.size > 2 * this.k) this.prune();
  }

  /** Misra–Gries decrement: subtract the (k+1)-th largest count from every counter and drop those at or below zero. */
  private prune(): void {
    const counts = [...this.map.values()].map((e) => e.count).sort((a, b) => b - a);
    const cut = counts[this.k] ?? 0;
    if (cut === 0) return;
    this.error += cut;
    for (const [h, e] of this.map) {
      e.count -= cut;
      if (e.count <= 0) this.map.delete(h);
    }
  }

  merge(o: ValueCounter): void {
    this.n += o.n;
    for (const [h, e] of o.map) {
      const mine = this.map.get(h);
      if (mine) mine.count += e.count;
      else this.map.set(h, { ...e });
    }
    this.error += o.error;
    if (o.hll || this.hll || this.map.size > this.exactLimit) {
      const hll = this.hll ?? new HyperLogLog(AUDIT_HLL_PRECISION);
      if (!this.hll) for (const h of this.map.keys()) hll.add(Math.floor(h / 2097152) >>> 0);
      if (o.hll) hll.merge(o.hll);
      else for (const h of o.map.keys()) hll.add(Math.floor(h / 2097152) >>> 0);
      this.hll = hll;
      if (this.map.size > 2 * this.k) this.prune();
    }
  }

  distinct(): number {
    return this.hll ? Math.round(this.hll.estimate()) : this.map.size;
  }

  /** The most frequent values, most frequent first (ties: first seen first); counts are exact only while `isExact`. */
  top(limit: number): Counted[] {
    const all = [...this.map.values()];
    all.sort((a, b) => b.count - a.count);
    return all.slice(0, limit).map((e) => ({ value: e.value, count: e.count }));
  }

  /** Every counted value when exact (for comparisons of categories); null above the exact limit. */
  all(): Counted[] | null {
    return this.hll ? null : [...this.map.values()].map((e) => ({ ...e }));
  }

  /** The largest possible underestimate of a `top` count (0 while exact). */
  get maxUndercount(): number {
    return this.error;
  }
}

/**
 * Counts repeats of keys in bounded memory: exact while at most `limit` distinct keys are held; beyond, keeps only keys
 * whose hash has its low `level` bits zero (hash-based sampling at rate 2^-level, Gibbons 2001 "distinct sampling") and
 * scales the repeat count by 2^level — an estimate, marked as such.
 */
export class RepeatCounter {
  private seen = new Map<number, number>();
  private level = 0;
  readonly examples: number[] = [];
  constructor(private readonly limit = 1 << 19) {}

  /** Records one occurrence; true when the key was seen before (and the row is an example). */
  add(hash: number, row: number): boolean {
    if (this.level > 0 && hash % 2 ** this.level !== 0) return false;
    const c = this.seen.get(hash);
    if (c !== undefined) {
      this.seen.set(hash, c + 1);
      if (this.examples.length < 5) this.examples.push(row);
      return true;
    }
    this.seen.set(hash, 1);
    while (this.seen.size > this.limit) {
      this.level++;
      const mod = 2 ** this.level;
      for (const h of this.seen.keys()) if (h % mod !== 0) this.seen.delete(h);
    }
    return false;
  }

  /** Occurrences beyond the first of each key (exact while `exact`). */
  repeats(): number {
    let r = 0;
    for (const c of this.seen.values()) r += c - 1;
    return r * 2 ** this.level;
  }

  /** Distinct keys seen more than once. */
  repeatedKeys(): number {
    let r = 0;
    for (const c of this.seen.values()) if (c > 1) r++;
    return r * 2 ** this.level;
  }

  get exact(): boolean {
    return this.level === 0;
  }
}
