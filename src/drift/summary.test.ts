import { describe, expect, test } from 'vitest';
import { compareSummaries, sketchKs, sketchWasserstein } from './compare.js';
import { mulberry32, normalSample } from './random.js';
import { FrequencySummary, HyperLogLog, hash32, Reservoir } from './sketch.js';
import { ksStatisticSorted, populationStd, wassersteinDistance } from './statistics.js';
import { buildSpec, DriftSummary, mergeSummaries, summarize } from './summary.js';

const CATS = ['web', 'email', 'phone', 'chat', 'partner'];

function rows(seed: number, n: number, shift = 0) {
  const r = mulberry32(seed);
  const x = normalSample(seed + 1, n, { shift });
  return Array.from({ length: n }, (_, i) => ({
    amount: Math.round(Math.exp(x[i]) * 100) / 100,
    score: x[i],
    channel: CATS[Math.floor(r() * r() * CATS.length)],
    vip: r() < 0.2,
    stars: 1 + Math.floor(r() * 5),
    nested: { depth: i % 7, note: r() < 0.1 ? null : 'ok' },
    ...(i % 10 === 0 ? {} : { sometimes: i }),
  }));
}

/** The JSON of a summary without its reservoirs (merged reservoirs are equal in distribution, not value for value). */
function withoutReservoirs(s: DriftSummary) {
  const j = s.toJSON();
  for (const f of Object.values(j.fields)) {
    delete f.reservoir;
    if (f.moments) f.moments = { ...f.moments, mean: Number(f.moments.mean.toPrecision(10)), m2: Number(f.moments.m2.toPrecision(10)) };
  }
  return j;
}

describe('merging summaries', () => {
  const reference = rows(1, 5000);
  const spec = buildSpec(reference);
  const data = rows(2, 30_000, 0.1);

  test('merge of windows equals the summary of their concatenation (counts, types, histograms, sketches, HLL, categories)', () => {
    const whole = summarize(spec, data);
    const parts = [data.slice(0, 7000), data.slice(7000, 7001), data.slice(7001, 19_000), data.slice(19_000)].map((p) =>
      summarize(spec, p),
    );
    const merged = mergeSummaries(spec, ...parts);
    expect(withoutReservoirs(merged)).toEqual(withoutReservoirs(whole));
    // Merge order does not matter either.
    expect(withoutReservoirs(mergeSummaries(spec, parts[3], parts[1], parts[0], parts[2]))).toEqual(withoutReservoirs(whole));
  });

  test('a summary survives JSON and merges after it', () => {
    const a = summarize(spec, data.slice(0, 10_000));
    const back = DriftSummary.fromJSON(spec, JSON.parse(JSON.stringify(a.toJSON())));
    expect(back.toJSON()).toEqual(a.toJSON());
    const b = summarize(spec, data.slice(10_000));
    expect(withoutReservoirs(back.merge(b))).toEqual(withoutReservoirs(summarize(spec, data)));
  });

  test('summaries made with different specs refuse to merge', () => {
    const other = buildSpec(rows(3, 100));
    expect(() => summarize(spec, data.slice(0, 10)).merge(summarize(other, data.slice(0, 10)))).toThrow(/different specs/);
  });

  test('the merged reservoir is a uniform sample of the union', () => {
    // 1,000 from values 0..9,999 merged with 1,000 from 10,000..39,999: a quarter should come from the first.
    let fromFirst = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const a = new Reservoir(1000, seed);
      const b = new Reservoir(1000, seed + 100);
      for (let i = 0; i < 10_000; i++) a.add(i);
      for (let i = 10_000; i < 40_000; i++) b.add(i);
      a.merge(b);
      expect(a.values).toHaveLength(1000);
      expect(a.seen).toBe(40_000);
      expect(new Set(a.values).size).toBe(1000);
      fromFirst += a.values.filter((v) => v < 10_000).length;
    }
    expect(fromFirst / 20_000).toBeCloseTo(0.25, 1);
  });

  test('frequencies: exact under capacity; beyond it every count is within the stated error', () => {
    const r = mulberry32(5);
    const truth = new Map<string, number>();
    const parts = [new FrequencySummary(50), new FrequencySummary(50), new FrequencySummary(50)];
    for (let i = 0; i < 60_000; i++) {
      // Zipf-like: a few heavy values and a long tail of 5,000.
      const k = String(Math.floor(5000 * r() ** 4));
      truth.set(k, (truth.get(k) ?? 0) + 1);
      parts[i % 3].add(k);
    }
    const merged = parts[0];
    merged.merge(parts[1]);
    merged.merge(parts[2]);
    expect(merged.total).toBe(60_000);
    expect(merged.error).toBeLessThanOrEqual(60_000 / 51);
    for (const [k, c] of truth) {
      const got = merged.counts.get(k) ?? 0;
      expect(got).toBeLessThanOrEqual(c);
      expect(got).toBeGreaterThanOrEqual(c - merged.error);
    }
  });

  test('HyperLogLog: within 3 standard errors (2.3 % each) of the true distinct count, and merges', () => {
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    for (let i = 0; i < 60_000; i++) a.add(hash32(`user-${i}`));
    for (let i = 40_000; i < 100_000; i++) b.add(hash32(`user-${i}`));
    a.merge(b);
    expect(Math.abs(a.estimate() / 100_000 - 1)).toBeLessThan(3 * 0.023);
    const small = new HyperLogLog();
    for (let i = 0; i < 50; i++) small.add(hash32(`x${i}`));
    expect(Math.round(small.estimate())).toBeGreaterThanOrEqual(49);
    expect(HyperLogLog.fromJSON(small.toJSON()).registers).toEqual(small.registers);
    expect(HyperLogLog.fromJSON(a.toJSON()).registers).toEqual(a.registers);
  });

  test('summary fields: missing, type mix, nested paths, distinct', () => {
    const s = summarize(spec, data.slice(0, 1000));
    expect(s.rows).toBe(1000);
    expect(s.fields.get('sometimes')!.present).toBe(900);
    expect(s.fields.get('nested.note')!.types.null).toBeGreaterThan(50);
    expect(s.fields.get('nested.depth')!.distinctCount()).toBe(7);
    expect(s.fields.get('channel')!.distinctCount()).toBe(5);
    expect(s.fields.get('vip')!.categories.counts.get('true')).toBeGreaterThan(100);
  });
});

/**
 * Statistics from merged summaries vs the exact statistic on the raw window (the functions tested against SciPy).
 * Stated tolerance (docs/guides/change-after-launch.md): |Δ| ≤ 0.01 for the normalised Wasserstein distance and for the KS distance; PSI and
 * Jensen–Shannon on the reference-decile bins are exact (the bin counts merge exactly).
 */
describe('statistics from merged summaries match the raw window', () => {
  const TOL = 0.01;
  const cases = [
    { name: 'normal, same distribution', shift: 0, scale: 1, offset: 0 },
    { name: 'normal, shifted by 0.2 sd', shift: 0.2, scale: 1, offset: 0 },
    { name: 'wider, far from zero (offset 1000)', shift: 0.1, scale: 1.5, offset: 1000 },
    { name: 'log-normal amounts', shift: 0.3, scale: 1, offset: 0, exp: true },
  ];
  test.each(cases.map((c) => [c.name, c] as const))('%s', (_, c) => {
    const tr = (v: number) => (c.exp ? Math.exp(v) : v + c.offset);
    const ref = Array.from(normalSample(11, 50_000), tr);
    const cur = Array.from(normalSample(12, 60_000, { shift: c.shift, scale: c.scale }), tr);
    const spec = buildSpec(ref.map((v) => ({ v })));
    const refSummary = summarize(
      spec,
      ref.map((v) => ({ v })),
    );
    // 12 windows of 5,000 rows, summarised separately, then merged.
    const windows = Array.from({ length: 12 }, (_, w) =>
      summarize(
        spec,
        cur.slice(w * 5000, (w + 1) * 5000).map((v) => ({ v })),
      ),
    );
    const merged = mergeSummaries(spec, ...windows);
    const a = Float64Array.from(ref).sort();
    const b = Float64Array.from(cur).sort();
    const exactW = wassersteinDistance(a, b, { sorted: true }) / populationStd(a);
    const exactKs = ksStatisticSorted(a, b);
    const report = compareSummaries(refSummary, merged);
    const f = report.fields.find((x) => x.name === 'v')!;
    expect(f.exact).toBe(false);
    expect(Math.abs(f.wasserstein_norm! - exactW)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(f.ks! - exactKs)).toBeLessThanOrEqual(TOL);
    const rs = refSummary.fields.get('v')!;
    const ms = merged.fields.get('v')!;
    expect(Math.abs(sketchKs(rs.sketch, ms.sketch) - exactKs)).toBeLessThanOrEqual(TOL);
    expect(
      Math.abs(
        sketchWasserstein(rs.sketch, rs.moments.min, rs.moments.max, ms.sketch, ms.moments.min, ms.moments.max) / populationStd(a) - exactW,
      ),
    ).toBeLessThanOrEqual(TOL);
    // The histogram of the merged summary is the histogram of the raw window.
    const edges = spec.fields.v.edges;
    const counts = new Array(edges.length + 1).fill(0);
    for (const v of cur) counts[edges.filter((e) => e < v).length]++;
    expect(ms.histogram.counts).toEqual(counts);
  });
});
