import { describe, expect, test } from 'vitest';
import referenceJson from '../../test/fixtures/drift/reference.json' with { type: 'json' };
import { normalSample } from './random.js';
import {
  benjaminiHochberg,
  chiSquareContingency,
  chiSquareGoodnessOfFit,
  jensenShannonDistance,
  kolmogorovSf,
  ks2Samp,
  normalizedWasserstein,
  populationStabilityIndex,
  populationStd,
  quantileSorted,
  smirnovSf,
  twoProportionZTest,
  wassersteinDistance,
} from './statistics.js';

// Expected values come from test/reference/drift_reference.py (SciPy 1.10.1, NumPy 1.24.2, Debian 12).

interface KsCase {
  seed: number;
  n1: number;
  n2: number;
  shift?: number;
  scale?: number;
  ties?: boolean;
  method?: 'auto' | 'exact' | 'asymp';
  statistic: number;
  p_value: number;
  wasserstein: number;
  wasserstein_norm: number;
  sum_x: number;
}

const ref = referenceJson as unknown as {
  ks: KsCase[];
  kstwo: { n: number; x: number; sf: number }[];
  smirnov: { n: number; x: number; sf: number }[];
  chisquare: { observed: number[]; expected?: number[]; statistic: number; p_value: number }[];
  chi2_contingency: { table: number[][]; correction?: boolean; statistic: number; p_value: number; dof: number }[];
  ztest: { s1: number; n1: number; s2: number; n2: number; statistic: number; p_value: number }[];
  distances: { p: number[]; q: number[]; jensen_shannon: number; psi: number }[];
  wasserstein: { u: number[]; v: number[]; wasserstein: number }[];
  benjamini_hochberg: { p: number[]; adjusted: number[] };
  quantiles: { seed: number; n: number; ties: boolean; q: number[]; values: number[] };
};

/** |a − b| ≤ rel·|b| + abs. */
function close(actual: number, expected: number, rel: number, abs = 0): void {
  const ok = Math.abs(actual - expected) <= rel * Math.abs(expected) + abs;
  if (!ok) expect(actual).toBe(expected);
}

function pair(c: Pick<KsCase, 'seed' | 'n1' | 'n2' | 'shift' | 'scale' | 'ties'>) {
  const x = normalSample(c.seed, c.n1, { ties: c.ties });
  const y = normalSample(c.seed + 1000, c.n2, { shift: c.shift, scale: c.scale, ties: c.ties });
  return { x, y };
}

describe('the generated samples are the reference script’s', () => {
  test.each(ref.ks.map((c) => [`seed ${c.seed}`, c] as const))('%s', (_, c) => {
    const { x } = pair(c);
    expect(x.reduce((s, v) => s + v, 0)).toBe(c.sum_x);
  });
});

describe('ks2Samp equals scipy.stats.ks_2samp', () => {
  test.each(ref.ks.map((c) => [`n1=${c.n1} n2=${c.n2} shift=${c.shift ?? 0}${c.ties ? ' ties' : ''} ${c.method ?? 'auto'}`, c] as const))(
    '%s',
    (_, c) => {
      const { x, y } = pair(c);
      const r = ks2Samp(x, y, { method: c.method });
      close(r.statistic, c.statistic, 1e-14);
      // Exact p-values to 1e-10; asymptotic ones through several series, to 1e-9 relative.
      close(r.pValue, c.p_value, 1e-9, 1e-14);
    },
  );

  test('method follows SciPy: exact up to 10,000 values in the larger sample, asymptotic above', () => {
    expect(ks2Samp([1, 2, 3], [2, 3, 4, 5]).method).toBe('exact');
    expect(ks2Samp(normalSample(1, 10_001), [0]).method).toBe('asymp');
  });

  test('identical samples: D = 0, p = 1', () => {
    expect(ks2Samp([1, 2, 3], [3, 2, 1])).toEqual({ statistic: 0, pValue: 1, method: 'exact' });
  });
});

describe('kolmogorovSf equals scipy.stats.kstwo.sf, smirnovSf equals scipy.special.smirnov', () => {
  test.each(ref.kstwo.map((c) => [`n=${c.n} x=${c.x.toPrecision(4)}`, c] as const))('kstwo %s', (_, c) => {
    // Above n = 10^5 the deep tail is a sum of up to n terms: 1e-8 relative there.
    close(kolmogorovSf(c.n, c.x), c.sf, c.n > 100_000 ? 1e-8 : 1e-9, 1e-15);
  });
  test.each(ref.smirnov.map((c) => [`n=${c.n} x=${c.x}`, c] as const))('smirnov %s', (_, c) => {
    close(smirnovSf(c.n, c.x), c.sf, 1e-9, 1e-300);
  });
});

describe('wassersteinDistance equals scipy.stats.wasserstein_distance', () => {
  test.each(ref.wasserstein.map((c) => [JSON.stringify([c.u, c.v]), c] as const))('%s', (_, c) => {
    close(wassersteinDistance(c.u, c.v), c.wasserstein, 1e-14, 1e-15);
  });
  test.each(ref.ks.map((c) => [`seed ${c.seed}`, c] as const))('generated pair, %s (and the normalised distance)', (_, c) => {
    const { x, y } = pair(c);
    close(wassersteinDistance(x, y), c.wasserstein, 1e-11);
    close(normalizedWasserstein(x, y), c.wasserstein_norm, 1e-11);
  });
  test('population std is numpy.std', () => {
    expect(populationStd([1, 2, 3, 4])).toBeCloseTo(1.118033988749895, 15);
  });
});

describe('chi-square tests equal scipy.stats.chisquare and chi2_contingency', () => {
  test.each(ref.chisquare.map((c) => [JSON.stringify(c.observed) + (c.expected ? ' vs given' : ''), c] as const))(
    'goodness of fit %s',
    (_, c) => {
      const r = chiSquareGoodnessOfFit(c.observed, c.expected);
      close(r.statistic, c.statistic, 1e-13);
      // p from 1 − CDF: absolute error ~1e-16.
      close(r.pValue, c.p_value, 1e-9, 1e-15);
    },
  );
  test.each(ref.chi2_contingency.map((c) => [JSON.stringify(c.table) + (c.correction === false ? ' no correction' : ''), c] as const))(
    'contingency %s',
    (_, c) => {
      const r = chiSquareContingency(c.table, { correction: c.correction });
      close(r.statistic, c.statistic, 1e-13);
      close(r.pValue, c.p_value, 1e-9, 1e-15);
      expect(r.dof).toBe(c.dof);
    },
  );
  test('observed and expected with different totals are refused, as SciPy refuses them', () => {
    expect(() => chiSquareGoodnessOfFit([1, 2], [1, 1])).toThrow(RangeError);
  });
});

describe('two-proportion z-test, PSI, Jensen–Shannon, Benjamini–Hochberg', () => {
  test.each(ref.ztest.map((c) => [`${c.s1}/${c.n1} vs ${c.s2}/${c.n2}`, c] as const))('z-test %s', (_, c) => {
    const r = twoProportionZTest(c.s1, c.n1, c.s2, c.n2);
    close(r.statistic, c.statistic, 1e-14, 1e-15);
    close(r.pValue, c.p_value, 1e-12, 1e-300);
  });
  test.each(ref.distances.map((c) => [JSON.stringify([c.p, c.q]), c] as const))('distances %s', (_, c) => {
    close(jensenShannonDistance(c.p, c.q), c.jensen_shannon, 1e-12, 1e-15);
    close(populationStabilityIndex(c.p, c.q), c.psi, 1e-12, 1e-15);
  });
  test('Benjamini–Hochberg', () => {
    const got = benjaminiHochberg(ref.benjamini_hochberg.p);
    got.forEach((g, i) => {
      close(g, ref.benjamini_hochberg.adjusted[i], 1e-15);
    });
  });
  test('numpy.quantile (linear)', () => {
    const q = ref.quantiles;
    const x = normalSample(q.seed, q.n, { ties: q.ties }).sort();
    q.q.forEach((p, i) => {
      expect(quantileSorted(x, p)).toBe(q.values[i]);
    });
  });
});
