import { describe, expect, test } from 'vitest';
import { compareSummaries, type DriftReport } from './compare.js';
import { mulberry32 } from './random.js';
import { buildSpec, DriftSummary, summarize } from './summary.js';

const CHANNELS = ['web', 'email', 'phone', 'chat', 'partner'];
const WORDS = 'order refund late broken invoice login password shipping address card charge account email urgent thanks please help'.split(
  ' ',
);

interface Shift {
  mean?: number;
  /** Probability that the channel is forced to 'partner'. */
  partner?: number;
  vip?: number;
  words?: string[];
  /** Leave out the text field (the 2,000,000-row test, to stay within its time budget). */
  noText?: boolean;
}

/** Support-ticket-like rows: a normal score, log-normal amount, skewed channel, binary vip, 1–5 stars, short text. */
function generate(seed: number, n: number, shift: Shift = {}) {
  const r = mulberry32(seed);
  const words = shift.words ?? WORDS;
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < 12; k++) s += r();
    const z = s - 6 + (shift.mean ?? 0);
    if (shift.noText) {
      out[i] = {
        score: z,
        amount: Math.round(Math.exp(z) * 100) / 100,
        channel: CHANNELS[Math.floor(r() * r() * CHANNELS.length)],
        vip: r() < 0.2,
        stars: 1 + Math.floor(r() * r() * 5),
      };
      continue;
    }
    const len = 3 + Math.floor(r() * 8);
    let text = '';
    for (let k = 0; k < len; k++) text += (k ? ' ' : '') + words[Math.floor(r() * words.length)];
    out[i] = {
      score: z,
      amount: Math.round(Math.exp(z) * 100) / 100,
      channel: r() < (shift.partner ?? 0) ? 'partner' : CHANNELS[Math.floor(r() * r() * CHANNELS.length)],
      vip: r() < (shift.vip ?? 0.2),
      stars: 1 + Math.floor(r() * r() * 5),
      body: text,
    };
  }
  return out;
}

const byName = (r: DriftReport, name: string) => r.fields.find((f) => f.name === name)!;
const OPTIONS = { text: ['body'] };

describe('two samples of one distribution do not alarm, at any size', () => {
  // 2,000,000 rows (five fields: normal, log-normal, skewed categories, binary, 1–5), split at random into two disjoint
  // halves and summarised as they stream: ~6 s on one core.
  test('disjoint random halves of 2,000,000 rows: no field drifts', () => {
    const N = 2_000_000;
    const spec = buildSpec(generate(1, 20_000, { noText: true }));
    const a = new DriftSummary(spec);
    const b = new DriftSummary(spec);
    const pick = mulberry32(99);
    const chunk = 100_000;
    for (let done = 0; done < N; done += chunk) {
      for (const row of generate(1000 + done, chunk, { noText: true })) (pick() < 0.5 ? a : b).add(row);
    }
    expect(a.rows + b.rows).toBe(N);
    const report = compareSummaries(a, b);
    expect(report.fields.filter((f) => f.drift).map((f) => f.name)).toEqual([]);
    expect(report.dataset_drift).toBe(false);
    expect(byName(report, 'score').test).toBe('wasserstein');
    expect(byName(report, 'score').statistic!).toBeLessThan(0.01);
    expect(byName(report, 'channel').test).toBe('jensen_shannon');
  }, 60_000);

  test.each([50, 200, 1000, 5000, 50_000])('%i rows against as many of the same distribution: no dataset drift', (n) => {
    const all = generate(n, 2 * n);
    const spec = buildSpec(all.slice(0, n), OPTIONS);
    const report = compareSummaries(summarize(spec, all.slice(0, n)), summarize(spec, all.slice(n)));
    expect(report.dataset_drift).toBe(false);
    expect(report.drift_share).toBeLessThan(0.2);
  });

  test('small references use p-value tests, corrected across fields', () => {
    const all = generate(3, 800);
    const spec = buildSpec(all.slice(0, 400), OPTIONS);
    const report = compareSummaries(summarize(spec, all.slice(0, 400)), summarize(spec, all.slice(400)));
    expect(byName(report, 'score').test).toBe('ks');
    expect(byName(report, 'channel').test).toBe('chi_square');
    expect(byName(report, 'vip').test).toBe('z');
    expect(byName(report, 'stars').test).toBe('chi_square');
    expect(byName(report, 'score').exact).toBe(true);
    for (const f of report.fields.filter((x) => x.p_value !== null)) {
      expect(f.p_value_adjusted).toBeGreaterThanOrEqual(f.p_value!);
      expect(f.threshold).toBe(0.05);
    }
  });
});

describe('a real shift is detected', () => {
  test('large windows: a 0.3 sd mean shift, a new dominant channel and vocabulary change drift; the rest does not', () => {
    const spec = buildSpec(generate(1, 20_000), OPTIONS);
    const ref = summarize(spec, generate(1, 20_000));
    const cur = summarize(
      spec,
      generate(2, 50_000, { mean: 0.3, partner: 0.4, words: [...WORDS.slice(0, 8), 'chargeback', 'fraud', 'dispute'] }),
    );
    const report = compareSummaries(ref, cur);
    expect(byName(report, 'score')).toMatchObject({ test: 'wasserstein', drift: true, threshold: 0.1 });
    expect(byName(report, 'score').wasserstein_norm!).toBeCloseTo(0.3, 1);
    expect(byName(report, 'amount').drift).toBe(true);
    expect(byName(report, 'channel')).toMatchObject({ test: 'jensen_shannon', drift: true });
    expect(byName(report, 'body.tokens').drift).toBe(true);
    expect(byName(report, 'body.tokens').oov_rate!.current).toBeGreaterThan(0.2);
    expect(byName(report, 'vip').drift).toBe(false);
    expect(byName(report, 'stars').drift).toBe(false);
    // The text field drifts through its features (longer words, new vocabulary) and counts once in the share.
    expect(byName(report, 'body')).toMatchObject({ test: 'text_features', drift: true });
    expect(byName(report, 'body.length')).toMatchObject({ derived_from: 'body', drift: true });
    expect(report.tested_fields).toBe(6);
    expect(report.drifted_fields).toBe(4);
    expect(report.dataset_drift).toBe(true);
  });

  test('small windows: a 0.5 sd shift is caught by KS after the correction', () => {
    const spec = buildSpec(generate(1, 300), OPTIONS);
    const report = compareSummaries(summarize(spec, generate(1, 300)), summarize(spec, generate(2, 300, { mean: 0.5, vip: 0.5 })));
    expect(byName(report, 'score')).toMatchObject({ test: 'ks', drift: true });
    expect(byName(report, 'score').p_value_adjusted!).toBeLessThan(0.05);
    expect(byName(report, 'vip')).toMatchObject({ test: 'z', drift: true });
  });

  test('dataset drift when the share of drifted fields reaches the threshold (configurable)', () => {
    const spec = buildSpec(generate(1, 5000), OPTIONS);
    const ref = summarize(spec, generate(1, 5000));
    const cur = summarize(spec, generate(2, 5000, { mean: 1, partner: 0.6, vip: 0.6 }));
    const report = compareSummaries(ref, cur);
    expect(report.drift_share).toBeGreaterThanOrEqual(0.5);
    expect(report.dataset_drift).toBe(true);
    expect(compareSummaries(ref, cur, { shareThreshold: 0.95 }).dataset_drift).toBe(false);
  });

  test('per-field overrides: test, threshold, skip', () => {
    const spec = buildSpec(generate(1, 5000), OPTIONS);
    const ref = summarize(spec, generate(1, 5000));
    const cur = summarize(spec, generate(2, 5000, { mean: 0.15 }));
    const report = compareSummaries(ref, cur, {
      fields: { score: { test: 'psi', threshold: 0.01 }, amount: { test: 'ks' }, channel: { skip: true } },
    });
    expect(byName(report, 'score')).toMatchObject({ test: 'psi', threshold: 0.01, drift: true });
    expect(byName(report, 'amount').test).toBe('ks');
    expect(byName(report, 'amount').p_value!).toBeLessThan(0.05);
    expect(byName(report, 'channel').test).toBe('none');
  });
});
