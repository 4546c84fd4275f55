import { describe, expect, test } from 'vitest';
import {
  EDGE_CASE_FAMILIES,
  fieldKinds,
  GARBAGE_VARIANTS,
  generateEdgeCases,
  isGarbage,
  latencyFence,
  mojibake,
  PERTURBATION_FAMILIES,
  type ProbeCase,
  type ProbeOutcome,
  quantileSorted,
  summarizeProbe,
} from './edge-cases.js';

const SUBJECTS = ['Refund for order', 'App crashes on login', 'Invoice missing', 'Password reset', 'Dark mode request'];
const BODIES = [
  'please refund the double charge on my card',
  'the app crashes every time I open the login page',
  'I did not receive the invoice for last month',
  'I cannot reset my password, the email never arrives',
  'would love a dark mode for the dashboard',
];
const sample = Array.from({ length: 30 }, (_, i) => ({
  id: `t-${i}`,
  subject: SUBJECTS[i % 5],
  body: `${BODIES[(i * 3) % 5]} (ticket ${i})`,
  priority: ['low', 'normal', 'high'][i % 3],
  amount: 10 + i * 7.5,
  vip: i % 4 === 0,
  created_at: `2024-0${1 + (i % 9)}-1${i % 10}T10:00:00Z`,
}));

describe('generateEdgeCases', () => {
  test('the same seed makes the same cases; another seed makes others', () => {
    const a = generateEdgeCases(sample, { seed: 7, count: 120 });
    const b = generateEdgeCases(sample, { seed: 7, count: 120 });
    const c = generateEdgeCases(sample, { seed: 8, count: 120 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a.cases)).not.toBe(JSON.stringify(c.cases));
  });

  test('every family is made, spread evenly; garbage gets a share per variant and is the only family judged on confidence', () => {
    const { cases, skipped } = generateEdgeCases(sample, { seed: 1, count: 200 });
    expect(skipped).toEqual([]);
    const by = new Map<string, number>();
    for (const c of cases) by.set(c.family, (by.get(c.family) ?? 0) + 1);
    expect(new Set(by.keys())).toEqual(new Set(EDGE_CASE_FAMILIES));
    // 200 slots over 16 perturbation families + 4 garbage variants: 10 each; a duplicate slot is a pair.
    for (const f of PERTURBATION_FAMILIES) expect(by.get(f)).toBe(f === 'duplicate' ? 20 : 10);
    expect(by.get('garbage')).toBe(40);
    for (const v of GARBAGE_VARIANTS) expect(cases.filter((c) => c.variant === v)).toHaveLength(10);
    for (const c of cases) expect(c.kind).toBe(isGarbage(c.family) ? 'garbage' : 'perturbation');
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
  });

  test('a perturbation breaks only its field; the id becomes the case id', () => {
    const { cases } = generateEdgeCases(sample, { seed: 3, count: 200 });
    for (const c of cases.filter((x) => x.kind === 'perturbation' && x.family !== 'duplicate')) {
      const original = sample[c.source as number] as Record<string, unknown>;
      expect(c.record.id).toBe(`probe-${c.id}`);
      for (const [k, v] of Object.entries(original)) {
        if (k === 'id' || k === c.field) continue;
        expect(c.record[k], `${c.id}: ${k}`).toEqual(v);
      }
      expect(c.record[c.field as string], c.id).not.toEqual(original[c.field as string]);
    }
    const nulls = cases.filter((c) => c.family === 'null_field');
    expect(new Set(nulls.map((c) => c.field))).toEqual(new Set(['subject', 'body', 'priority', 'amount', 'vip', 'created_at']));
    for (const c of nulls) expect(c.record[c.field as string]).toBeNull();
    for (const c of cases.filter((x) => x.family === 'missing_field')) expect(Object.hasOwn(c.record, c.field as string)).toBe(false);
    for (const c of cases.filter((x) => x.family === 'huge_string')) expect((c.record[c.field as string] as string).length).toBe(262_144);
    for (const c of cases.filter((x) => x.family === 'boundary_number')) {
      expect(c.field).toBe('amount');
      expect(typeof c.record.amount).toBe('number');
    }
    for (const c of cases.filter((x) => x.family === 'odd_date')) expect(c.field).toBe('created_at');
    for (const c of cases.filter((x) => x.family === 'zero_width'))
      expect(c.record[c.field as string]).toMatch(/[\u200B-\u200D\uFEFF\u2060]/);
  });

  test('a duplicate is a pair of identical records', () => {
    const { cases } = generateEdgeCases(sample, { seed: 3, count: 40 });
    const copies = cases.filter((c) => c.duplicateOf);
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const first = cases.find((c) => c.id === copy.duplicateOf);
      expect(copy.record).toEqual(first?.record);
    }
  });

  test('garbage keeps the shape of a record and none of its text', () => {
    const { cases } = generateEdgeCases(sample, { seed: 5, count: 200 });
    const texts = new Set(sample.flatMap((r) => [r.subject, r.body]));
    for (const c of cases.filter((x) => x.kind === 'garbage')) {
      expect(Object.keys(c.record).sort()).toEqual(Object.keys(sample[0]).sort());
      expect(texts.has(c.record.subject as string)).toBe(false);
      expect(texts.has(c.record.body as string)).toBe(false);
      if (c.variant === 'all_empty') expect(c.record).toMatchObject({ subject: '', body: '', amount: null, vip: null });
      else {
        expect(c.record.amount as number).toBeGreaterThanOrEqual(10);
        expect(c.record.amount as number).toBeLessThanOrEqual(10 + 29 * 7.5);
      }
    }
  });

  test('descriptions name fields, never values', () => {
    const { cases } = generateEdgeCases(sample, { seed: 2, count: 200 });
    const values = sample.flatMap((r) => [r.subject, r.body, r.created_at]);
    for (const c of cases) for (const v of values) expect(c.description).not.toContain(v);
  });

  test('families that need text or dates are skipped, with the reason, when the sample has none', () => {
    const { cases, skipped } = generateEdgeCases(
      [
        { id: 1, x: 1.5 },
        { id: 2, x: 3 },
      ],
      { seed: 1, count: 50 },
    );
    expect(skipped.map((s) => s.family)).toEqual(expect.arrayContaining(['mojibake', 'odd_date', 'huge_string']));
    expect(skipped.find((s) => s.family === 'odd_date')?.reason).toBe('no field of the sample holds dates');
    expect(new Set(cases.map((c) => c.family))).toEqual(
      new Set(['null_field', 'missing_field', 'wrong_type', 'boundary_number', 'duplicate', 'garbage']),
    );
    expect(generateEdgeCases([], { seed: 1 }).cases).toEqual([]);
  });

  test('fieldKinds: by the type most values have; dates among strings', () => {
    const k = fieldKinds(sample);
    expect(k).toMatchObject({
      all: ['subject', 'body', 'priority', 'amount', 'vip', 'created_at'],
      strings: ['subject', 'body', 'priority', 'created_at'],
      numbers: ['amount'],
      booleans: ['vip'],
      dates: ['created_at'],
      ranges: { amount: { min: 10, max: 227.5 } },
    });
  });

  test('mojibake is UTF-8 read as Latin-1', () => {
    expect(mojibake('café')).toBe('cafÃ©');
    expect(mojibake('€')).toBe('â\u0082¬');
    expect(mojibake('plain')).toBe('plain');
  });
});

describe('latencyFence', () => {
  test('quantiles interpolate linearly (numpy default)', () => {
    expect(quantileSorted([1, 2, 3, 4, 5, 6, 7, 8], 0.25)).toBe(2.75);
    expect(quantileSorted([1, 2, 3, 4, 5, 6, 7, 8], 0.75)).toBe(6.25);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });

  test('Q3 + 3·IQR, never closer than the minimum excess over the median; none with fewer than 8', () => {
    const xs = [8, 1, 2, 3, 4, 5, 6, 7];
    expect(latencyFence(xs, 0).fence).toBe(6.25 + 3 * 3.5);
    expect(latencyFence(xs).fence).toBe(4.5 + 20);
    expect(latencyFence(xs.slice(0, 7)).fence).toBeNull();
  });
});

describe('summarizeProbe', () => {
  const limits = { crashes: 0, errors: 1, timeouts: 0, latencyOutliers: Number.POSITIVE_INFINITY, confidentGarbage: 0, confidentErrors: 5 };
  const ok = (label: string, confidence: number, latencyMs = 5): ProbeOutcome => ({
    status: 'answered',
    label,
    confidence,
    rawConfidence: confidence,
    confident: confidence >= 0.9,
    latencyMs,
  });
  const cases: ProbeCase[] = [
    { id: 'null_field-1', family: 'null_field', kind: 'perturbation', description: 'field "a" set to null' },
    { id: 'null_field-2', family: 'null_field', kind: 'perturbation', description: 'field "b" set to null' },
    { id: 'emoji-1', family: 'emoji', kind: 'perturbation', description: 'emoji' },
    { id: 'garbage-1', family: 'garbage', kind: 'garbage', variant: 'random_chars', description: 'random' },
    { id: 'garbage-2', family: 'garbage', kind: 'garbage', variant: 'lorem_ipsum', description: 'lorem' },
    { id: 'hard-1', family: 'hard_case', kind: 'hard_case', description: 'far', expected: 'bug' },
    { id: 'hard-2', family: 'hard_case', kind: 'hard_case', description: 'far', expected: 'bug' },
    { id: 'duplicate-1', family: 'duplicate', kind: 'perturbation', description: 'dup' },
    { id: 'duplicate-2', family: 'duplicate', kind: 'perturbation', description: 'dup' },
    { id: 'hard-3', family: 'hard_case', kind: 'hard_case', description: 'far' },
  ];
  const outcomes: ProbeOutcome[] = [
    { status: 'crash', reason: 'answered 500', latencyMs: 3 },
    { status: 'error', reason: 'answered 422', latencyMs: 3 },
    ok('billing', 0.99, 400),
    ok('billing', 0.97),
    ok('bug', 0.5),
    ok('billing', 0.95),
    ok('bug', 0.99),
    ok('bug', 0.8),
    ok('bug', 0.81),
    { status: 'timeout', reason: 'no answer within 100 ms', latencyMs: 100 },
  ];

  test('counts each finding, keeps examples, judges the limits', () => {
    const s = summarizeProbe(cases, outcomes, limits, { duplicateOf: new Map([['duplicate-2', 'duplicate-1']]) });
    expect(s.findings).toEqual({ crashes: 1, errors: 1, timeouts: 1, latency_outliers: 0, confident_garbage: 1, confident_errors: 1 });
    expect(s.examples.crashes).toEqual([
      { case: 'null_field-1', family: 'null_field', description: 'field "a" set to null', detail: 'answered 500' },
    ]);
    expect(s.examples.confident_garbage[0]).toMatchObject({ case: 'garbage-1', detail: 'answered "billing" at confidence 0.97' });
    expect(s.examples.confident_errors[0]).toMatchObject({ case: 'hard-1', detail: expect.stringContaining('the label is "bug"') });
    expect(s.garbage).toEqual({
      cases: 2,
      answered: 2,
      confident: 1,
      mean_confidence: 0.735,
      labels: { billing: 1, bug: 1 },
      variants: { random_chars: { cases: 1, confident: 1 }, lorem_ipsum: { cases: 1, confident: 0 } },
    });
    expect(s.hard_cases).toEqual({ cases: 3, labelled: 2, answered: 2, correct: 1, accuracy: 0.5, confident_errors: 1 });
    expect(s.duplicates).toEqual({ pairs: 1, inconsistent: 1 });
    expect(s.families.null_field).toEqual({ cases: 2, answered: 0, crashes: 1, errors: 1, timeouts: 0, confident: 0 });
    expect(s.limits).toEqual({ crashes: 0, errors: 1, timeouts: 0, latency_outliers: null, confident_garbage: 0, confident_errors: 5 });
    expect(s.over_limits).toEqual(['crashes', 'timeouts', 'confident_garbage']);
    expect(s.passed).toBe(false);
    // 7 answered latencies are too few for a fence: the slow one is not judged.
    expect(s.latency.outlier_fence_ms).toBeNull();
  });

  test('a latency beyond the fence is an outlier; within every limit it passes', () => {
    const many = Array.from({ length: 20 }, (_, i) => ({
      id: `emoji-${i + 1}`,
      family: 'emoji' as const,
      kind: 'perturbation' as const,
      description: 'emoji',
    }));
    const s = summarizeProbe(
      many,
      many.map((_, i) => ok('a', 0.5, i === 7 ? 500 : 10 + (i % 3))),
      limits,
    );
    expect(s.findings.latency_outliers).toBe(1);
    expect(s.examples.latency_outliers[0]).toMatchObject({ case: 'emoji-8', detail: expect.stringMatching(/^500 ms \(fence /) });
    expect(s.passed).toBe(true);
  });
});
