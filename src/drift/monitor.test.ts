import { describe, expect, it } from 'vitest';
import {
  addOutput,
  clearEpisode,
  type EpisodePolicy,
  type EpisodeState,
  emptyOutputs,
  mergeOutputs,
  monitoredRow,
  outputFigures,
  severityOf,
  stepEpisode,
  windowReport,
  windowStartOf,
} from './monitor.js';
import { normalSample } from './random.js';
import { buildSpec, DriftSummary } from './summary.js';

const HOUR = 3_600_000;

/** Runs a field's verdicts, one per hourly window, and lists the events with the window they came at. */
function run(verdicts: boolean[], policy: EpisodePolicy, start: EpisodeState = clearEpisode()) {
  let s = start;
  const events: string[] = [];
  verdicts.forEach((drifted, i) => {
    const step = stepEpisode(s, drifted, (i + 1) * HOUR, policy);
    s = step.state;
    if (step.event) events.push(`${step.event}@${i}`);
  });
  return { events, state: s };
}

describe('alert episodes', () => {
  const policy = { after: 1, resolveAfter: 2, cooldownMs: 6 * HOUR };

  it('sends one alert per episode and one resolve when it ends, whatever the drift does in between', () => {
    expect(run([false, true, true, false, true, true, false, false, false], policy).events).toEqual(['opened@1', 'resolved@7']);
  });

  it('needs `after` drifted windows in a row to open (a single noisy window does not)', () => {
    const p = { ...policy, after: 2 };
    expect(run([true, false, true, false], p).events).toEqual([]);
    expect(run([true, true, false, false], p).events).toEqual(['opened@1', 'resolved@3']);
  });

  it('stays quiet for a field that flaps within the cooldown, and alerts again once it was quiet that long', () => {
    const p = { after: 1, resolveAfter: 1, cooldownMs: 3 * HOUR };
    // Resolved at hour 2; drifts again at hour 3 (1 h later: within the cooldown): tracked, no alert, no resolve.
    const r = run([true, false, true, false, false, false, false, true, false], p);
    expect(r.events).toEqual(['opened@0', 'resolved@1', 'opened@7', 'resolved@8']);
    expect(r.state.episodes).toBe(3);
  });
});

describe('model outputs of a window', () => {
  const rec = (label: string | null, conf: number | null, source: 'auto' | 'review' | null, calibrated?: number) => ({
    body: { amount: 1 },
    prediction:
      label === null ? null : { label, confidence: conf, ...(calibrated !== undefined ? { calibrated_confidence: calibrated } : {}) },
    decision: source ? { source } : null,
    status: source === 'auto' ? 'decided' : 'in_review',
  });

  it('counts the auto/review split and estimates accuracy as the mean calibrated confidence (CBPE)', () => {
    const a = emptyOutputs();
    addOutput(a, rec('x', 0.99, 'auto', 0.9));
    addOutput(a, rec('y', 0.6, null, 0.5));
    const b = emptyOutputs();
    addOutput(b, rec('x', 0.95, 'auto'));
    addOutput(b, rec(null, null, null));
    const f = outputFigures(mergeOutputs(a, b));
    expect(f).toEqual({
      records: 4,
      auto_share: 0.5,
      review_share: 0.25,
      model_failure_share: 0.25,
      estimated_accuracy: (0.9 + 0.5 + 0.95) / 3,
    });
  });

  it('summarises the model outputs as @model fields beside the record’s own', () => {
    expect(monitoredRow(rec('x', 0.8, 'auto', 0.7))).toEqual({ amount: 1, '@model': { label: 'x', confidence: 0.7, route: 'auto' } });
    expect(monitoredRow(rec(null, null, null))).toEqual({ amount: 1, '@model': { label: null, confidence: null, route: 'model_failure' } });
  });

  it('aligns windows to UTC hours and days', () => {
    expect(windowStartOf(Date.UTC(2026, 10, 30, 10, 59, 59, 999), HOUR)).toBe(Date.UTC(2026, 10, 30, 10));
    expect(windowStartOf(Date.UTC(2026, 10, 30, 23, 59), 24 * HOUR)).toBe(Date.UTC(2026, 10, 30));
  });
});

describe('a window against the reference', () => {
  const rows = (seed: number, shift: number, n: number) =>
    [...normalSample(seed, n, { shift, scale: 1 })].map((x, i) => ({
      x,
      y: i % 2 ? 'a' : 'b',
      '@model': { label: x > 0 ? 'p' : 'n', confidence: 0.9, route: 'auto' },
    }));
  const ref = rows(1, 0, 2000);
  const spec = buildSpec(ref);
  const reference = new DriftSummary(spec).addAll(ref);

  it('ranks drifted fields first and leaves model outputs out of the dataset-drift share', () => {
    const current = new DriftSummary(spec).addAll(rows(2, 1, 2000));
    const r = windowReport(reference, current);
    // x moved by one reference standard deviation (Wasserstein / std ≈ 1 ≥ 0.1); the label follows it.
    expect(r.fields.filter((f) => f.drift).map((f) => f.name)).toEqual(['x', '@model.label']);
    expect(r.fields[0].severity).toBeGreaterThan(5);
    // Inputs x and y: one of two drifted.
    expect([r.tested_fields, r.drifted_fields, r.drift_share, r.dataset_drift]).toEqual([2, 1, 0.5, true]);
  });

  it('measures severity as statistic / threshold for effect sizes and log p / log alpha for p-values', () => {
    const base = { name: 'f', type: 'numeric' as const, reference: { rows: 1, present: 1, missing_share: 0, distinct: 1 } };
    const f = {
      ...base,
      current: base.reference,
      drift: true,
      p_value: null,
      statistic: 0.3,
      threshold: 0.1,
      test: 'wasserstein' as const,
    };
    expect(severityOf(f)).toBeCloseTo(3, 12);
    expect(severityOf({ ...f, test: 'ks', p_value: 0.0025, p_value_adjusted: 0.0025, threshold: 0.05 })).toBeCloseTo(2, 12);
    expect(severityOf({ ...f, test: 'none' })).toBe(0);
  });
});
