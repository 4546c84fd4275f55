import { describe, expect, test } from 'vitest';
import reference from '../../test/fixtures/audit/reference.json' with { type: 'json' };
import { chiSquareHomogeneity, compareProfiles, welchShift } from './compare.js';
import { Profiler } from './profile.js';

describe('statistics against SciPy', () => {
  test.each(reference.statistics.chi_square)('chi-square of homogeneity on $a vs $b', (r) => {
    const c = chiSquareHomogeneity(r.a, r.b);
    expect(c.statistic).toBeCloseTo(r.statistic, 9);
    expect(c.df).toBe(r.df);
    expect(c.p_value).toBeCloseTo(r.p_value, 9);
    expect(c.cramers_v).toBeCloseTo(r.cramers_v, 9);
  });
  test.each(reference.statistics.welch)("Welch's t on summary statistics", (r) => {
    const w = welchShift(r.a, r.b);
    expect(w.statistic).toBeCloseTo(r.statistic, 9);
    expect(w.p_value).toBeCloseTo(r.p_value_normal, 9);
  });
});

function profileOf(n: number, make: (i: number) => Record<string, unknown>) {
  const p = new Profiler();
  for (let i = 0; i < n; i++) p.add(make(i), { row: i + 1 });
  return p.result();
}

describe('compareProfiles', () => {
  const pilot = profileOf(2000, (i) => ({
    id: i,
    plan: ['free', 'pro', 'team'][i % 3],
    amount: 100 + (i % 50),
    signup: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
    phone: '+44 20 7946 0958',
    legacy: 'x',
  }));
  const production = profileOf(2000, (i) => {
    const r: Record<string, unknown> = {
      id: i % 10 === 0 ? `A-${i}` : i,
      plan: i % 10 === 0 ? 'enterprise' : ['free', 'pro', 'team'][i % 3],
      amount: 130 + (i % 50),
      signup: i % 2 ? `01/${String((i % 28) + 1).padStart(2, '0')}/2024` : `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
      channel: 'web',
    };
    if (i % 4) r.phone = '+44 20 7946 0958';
    return r;
  });

  test('finds each kind of change and ranks the large ones first', () => {
    const c = compareProfiles(pilot, production);
    const kinds = c.changes.map((x) => `${x.kind}:${x.field}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'new_field:channel',
        'vanished_field:legacy',
        'type_mix:id',
        'missing_rate:phone',
        'new_categories:plan',
        'category_drift:plan',
        'format:signup',
        'numeric_shift:amount',
      ]),
    );
    const severity = Object.fromEntries(c.changes.map((x) => [`${x.kind}:${x.field}`, x.severity]));
    expect(severity['new_field:channel']).toBe('high');
    expect(severity['vanished_field:legacy']).toBe('high');
    expect(severity['format:signup']).toBe('high');
    expect(severity['numeric_shift:amount']).toBe('high');
    expect(severity['missing_rate:phone']).toBe('high');
    const order = c.changes.map((x) => x.severity);
    expect([...order].sort((a, b) => ['high', 'medium', 'low'].indexOf(a) - ['high', 'medium', 'low'].indexOf(b))).toEqual(order);
    const missing = c.changes.find((x) => x.kind === 'missing_rate')!;
    expect(missing.test?.name).toMatch(/two-proportion/);
    expect(missing.sample).toBe(0.25);
  });

  test('two samples from the same process show no significant change', () => {
    const a = profileOf(3000, (i) => ({ plan: ['a', 'b', 'c'][(i * 7) % 3], x: (i * 37) % 101 }));
    const b = profileOf(3000, (i) => ({ plan: ['a', 'b', 'c'][(i * 11 + 1) % 3], x: (i * 53) % 101 }));
    expect(compareProfiles(a, b).changes).toEqual([]);
  });
});
