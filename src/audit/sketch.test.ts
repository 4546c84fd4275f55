import { describe, expect, test } from 'vitest';
import { HyperLogLog } from '../drift/sketch.js';
import { hash53, Moments, murmur32, QuantileSketch, quantileSorted, RepeatCounter, ValueCounter } from './sketch.js';

describe('murmur32', () => {
  test('matches MurmurHash3 x86_32 on inputs whose UTF-16 units are the reference byte pairs', () => {
    // Reference: the canonical test vectors of MurmurHash3_x86_32 (SMHasher): "" seed 0 → 0, seed 1 → 0x514E28B7.
    expect(murmur32('', 0)).toBe(0);
    expect(murmur32('', 1)).toBe(0x514e28b7);
  });
  test('spreads similar strings', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(hash53(`row-${i}`));
    expect(seen.size).toBe(10_000);
  });
});

describe('HyperLogLog', () => {
  test.each([1_000, 50_000, 300_000])('estimates %i distinct values within 3 standard errors (1.04/√m)', (n) => {
    const h = new HyperLogLog(14);
    for (let i = 0; i < n; i++) h.add(murmur32(`value ${i}`));
    for (let i = 0; i < n; i++) h.add(murmur32(`value ${i}`)); // repeats change nothing
    const se = 1.04 / Math.sqrt(1 << 14);
    expect(Math.abs(h.estimate() - n) / n).toBeLessThan(3 * se);
  });
  test('merging two sketches estimates the union', () => {
    const a = new HyperLogLog(14);
    const b = new HyperLogLog(14);
    for (let i = 0; i < 60_000; i++) a.add(murmur32(`v${i}`));
    for (let i = 30_000; i < 90_000; i++) b.add(murmur32(`v${i}`));
    a.merge(b);
    expect(Math.abs(a.estimate() - 90_000) / 90_000).toBeLessThan(0.025);
  });
});

describe('QuantileSketch', () => {
  const values = (n: number) =>
    Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453)).map(
      (x, i) => x * 1000 + (i % 7),
    );
  test('is exact (type 7, as numpy.quantile) while small', () => {
    const s = new QuantileSketch();
    for (const x of [3, 1, 4, 1, 5, 9, 2, 6]) s.add(x);
    // numpy.quantile([3,1,4,1,5,9,2,6], [0.1, 0.5, 0.9]) = [1.0, 3.5, 6.9]
    expect(s.quantiles([0.1, 0.5, 0.9]).map((x) => +x.toFixed(10))).toEqual([1, 3.5, 6.9]);
    expect(s.isExact).toBe(true);
  });
  test('beyond the exact limit, KLL ranks are within 1% of the true ranks; merging halves keeps that', () => {
    const xs = values(200_000);
    const whole = new QuantileSketch(20_000);
    const a = new QuantileSketch(20_000, 200, 2);
    const b = new QuantileSketch(20_000, 200, 3);
    xs.forEach((x, i) => {
      whole.add(x);
      (i % 2 ? a : b).add(x);
    });
    a.merge(b);
    const sorted = Float64Array.from(xs).sort();
    const rank = (v: number) => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sorted[mid] < v) lo = mid + 1;
        else hi = mid;
      }
      return lo / sorted.length;
    };
    const qs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
    for (const s of [whole, a]) {
      expect(s.isExact).toBe(false);
      expect(s.count).toBe(200_000);
      s.quantiles(qs).forEach((v, i) => {
        expect(Math.abs(rank(v) - qs[i])).toBeLessThan(0.01);
      });
    }
    expect(quantileSorted(sorted, 0.5)).toBeCloseTo((sorted[99_999] + sorted[100_000]) / 2, 9);
  });
});

describe('Moments', () => {
  test('mean and sample std (as pandas) merge exactly', () => {
    const xs = [2, 4, 4, 4, 5, 5, 7, 9, 1e6, -3.5];
    const whole = new Moments();
    const a = new Moments();
    const b = new Moments();
    xs.forEach((x, i) => {
      whole.add(x);
      (i < 4 ? a : b).add(x);
    });
    a.merge(b);
    // pandas.Series(xs).mean(), .std() → 100003.65, 316226.48355446925
    expect(whole.mean).toBeCloseTo(100003.65, 8);
    expect(whole.sampleStd).toBeCloseTo(316226.48355446925, 6);
    expect(a.mean).toBeCloseTo(whole.mean, 8);
    expect(a.sampleStd).toBeCloseTo(whole.sampleStd, 6);
    expect([a.min, a.max]).toEqual([-3.5, 1e6]);
  });
});

describe('ValueCounter', () => {
  test('is exact below its limit, then estimates distinct values and keeps the heavy hitters', () => {
    const c = new ValueCounter(1_000, 100);
    for (let i = 0; i < 500; i++) c.add(`${i % 50}`, hash53(`s${i % 50}`));
    expect(c.isExact).toBe(true);
    expect(c.distinct()).toBe(50);
    expect(c.top(1)[0].count).toBe(10);
    const big = new ValueCounter(1_000, 100);
    for (let i = 0; i < 100_000; i++) {
      big.add(`${i}`, hash53(`u${i}`));
      if (i % 10 === 0) big.add('hot', hash53('shot'));
    }
    expect(big.isExact).toBe(false);
    expect(Math.abs(big.distinct() - 100_001) / 100_001).toBeLessThan(0.03);
    const top = big.top(1)[0];
    expect(top.value).toBe('hot');
    // Misra–Gries: the true count (10,000) minus at most the recorded undercount.
    expect(top.count).toBeLessThanOrEqual(10_000);
    expect(top.count + big.maxUndercount).toBeGreaterThanOrEqual(10_000);
  });
});

describe('RepeatCounter', () => {
  test('counts repeats exactly while it can hold every key, and estimates them when it samples', () => {
    const exact = new RepeatCounter();
    for (let i = 0; i < 1000; i++) exact.add(hash53(`k${i % 800}`), i + 1);
    expect(exact.exact).toBe(true);
    expect(exact.repeats()).toBe(200);
    expect(exact.examples).toEqual([801, 802, 803, 804, 805]);
    const sampled = new RepeatCounter(5_000);
    for (let i = 0; i < 120_000; i++) sampled.add(hash53(`k${i % 100_000}`), i + 1);
    expect(sampled.exact).toBe(false);
    expect(Math.abs(sampled.repeats() - 20_000) / 20_000).toBeLessThan(0.15);
  });
});
