import { describe, expect, test } from 'vitest';
import { describeReason, rankByNovelty, stringPattern } from './novelty.js';

const BODIES = [
  'please refund the double charge on my card',
  'the app crashes every time I open the login page',
  'I did not receive the invoice for last month',
  'I cannot reset my password the email never arrives',
];
const pilot = Array.from({ length: 40 }, (_, i) => ({
  id: `p-${i}`,
  body: BODIES[i % 4],
  priority: ['low', 'normal', 'high'][i % 3],
  amount: 50 + (i % 10) * 5,
  label: i % 2 ? 'bug' : 'billing',
}));

describe('rankByNovelty', () => {
  const production = [
    { id: 'a', body: BODIES[0], priority: 'normal', amount: 70 }, // typical
    { id: 'b', body: BODIES[1], priority: 'urgent', amount: 75 }, // a category the pilot never has
    { id: 'c', body: BODIES[2], priority: 'low', amount: 100_000 }, // far beyond the pilot's amounts
    { id: 'd', body: 'Sehr geehrte Damen und Herren, bitte stornieren Sie meine Bestellung sofort', priority: 'low', amount: 60 },
    { id: 'e', priority: 'high', amount: 65 }, // no body: a shape the pilot never has
  ];

  test('the odd records come first, each with the field and feature that made it odd', () => {
    const ranked = rankByNovelty(production, pilot, { exclude: ['id', 'label'] });
    expect(ranked.map((r) => r.index).slice(-1)).toEqual([0]);
    expect(ranked[ranked.length - 1].score).toBeLessThan(0.15);
    expect(ranked[0].score).toBeGreaterThan(3 * ranked[ranked.length - 1].score);
    const reasons = (i: number) => ranked.find((r) => r.index === i)?.reasons;
    expect(reasons(1)?.[0]).toEqual({ field: 'priority', feature: 'category', surprise: 1 });
    // 100,000 where the pilot's amounts end at 95: past the range by (100,000 − 95) / sd standard deviations.
    const sd = Math.sqrt(pilot.reduce((s, r) => s + (r.amount - 72.5) ** 2, 0) / 39);
    expect(reasons(2)?.[0]).toMatchObject({ field: 'amount', feature: 'number' });
    expect(reasons(2)?.[0].surprise).toBeCloseTo(1 + Math.log10(1 + (100_000 - 95) / sd), 5);
    expect(reasons(3)).toContainEqual({ field: 'body', feature: 'tokens', surprise: 1 });
    expect(reasons(4)?.[0]).toEqual({ field: 'body', feature: 'shape', surprise: 1 });
    for (const r of ranked.slice(0, 4)) expect(r.score).toBeGreaterThan(0.15);
  });

  test('excluded fields are not compared; the order is stable', () => {
    const withLabels = production.map((r) => ({ ...r, label: 'never-seen' }));
    const a = rankByNovelty(withLabels, pilot, { exclude: ['id', 'label'] });
    const b = rankByNovelty(production, pilot, { exclude: ['id', 'label'] });
    expect(a).toEqual(b);
    const same = rankByNovelty([pilot[0], pilot[0], pilot[0]], pilot, { exclude: ['id', 'label'] });
    expect(same.map((r) => r.index)).toEqual([0, 1, 2]);
  });

  test('numbers and lengths: log(1/p) / log(n) of the two-sided tail probability p', () => {
    const ref = Array.from({ length: 100 }, (_, i) => ({ x: i }));
    const [median] = rankByNovelty([{ x: 49.5 }], ref);
    expect(median.score).toBe(0);
    // q = 90.5 / 100, p = 0.19: ln(1 / 0.19) / ln(100); the shape feature adds 0 to the mean.
    const [high] = rankByNovelty([{ x: 90 }], ref);
    expect(high.reasons[0].surprise).toBeCloseTo(Math.log(1 / 0.19) / Math.log(100), 6);
    expect(high.score).toBeCloseTo(Math.log(1 / 0.19) / Math.log(100) / 2, 6);
    expect(rankByNovelty([{ x: 99 }], ref)[0].reasons[0].surprise).toBe(1);
    // Past the range: 1 + log10(1 + distance / sd), sd of 0..99 = 29.011…
    const sd = Math.sqrt(Array.from({ length: 100 }, (_, i) => (i - 49.5) ** 2).reduce((a, b) => a + b, 0) / 99);
    expect(rankByNovelty([{ x: 150 }], ref)[0].reasons[0].surprise).toBeCloseTo(1 + Math.log10(1 + 51 / sd), 5);
    expect(rankByNovelty([{ x: -3 }], ref)[0].reasons[0].surprise).toBeCloseTo(1 + Math.log10(1 + 3 / sd), 5);
  });

  test('without a reference the sample is compared with itself, each record leaving itself out', () => {
    const sample = [...pilot.slice(0, 20), { id: 'x', body: 'zzz qqq', priority: 'urgent', amount: 9_999, label: 'bug' }];
    const ranked = rankByNovelty(sample, undefined, { exclude: ['id', 'label'] });
    expect(ranked[0].index).toBe(20);
    expect(ranked[0].reasons.every((r) => r.surprise >= 1)).toBe(true);
    expect(ranked[0].score).toBeGreaterThan(0.5);
    // A body shared with other records is not new words.
    expect(ranked[ranked.length - 1].score).toBeLessThan(0.3);
  });

  test('a changed format is a new pattern', () => {
    expect(stringPattern('2024-01-31')).toBe('9-9-9');
    expect(stringPattern('12/31/2024')).toBe('9/9/9');
    const ref = Array.from({ length: 30 }, (_, i) => ({ day: `2024-01-${String(i + 1).padStart(2, '0')}` }));
    const [us] = rankByNovelty([{ day: '12/31/2024' }], ref);
    expect(us.reasons[0]).toEqual({ field: 'day', feature: 'pattern', surprise: 1 });
    const [iso] = rankByNovelty([{ day: '2024-02-03' }], ref);
    expect(iso.reasons.find((r) => r.feature === 'pattern')).toBeUndefined();
  });

  test('reasons in words carry no values', () => {
    expect(describeReason({ field: 'priority', feature: 'category', surprise: 1 })).toBe('priority: a category the reference never has');
    expect(describeReason({ field: 'body', feature: 'tokens', surprise: 0.82 })).toBe(
      'body: 82% of its words never appear in the reference',
    );
  });
});
