import { describe, expect, it } from 'vitest';
import { type ReviewReport, recommendActions, reviewReportHtml, reviewReportMarkdown } from './launch-review.js';

const totals = {
  records: 1000,
  auto_share: 0.8,
  review_share: 0.2,
  model_failure_share: 0,
  estimated_accuracy: 0.93,
  verdicts: 0,
  realised_accuracy: null,
  estimated_accuracy_reviewed: null,
  audit_verdicts: 0,
  audit_accuracy: null,
};

function report(over: Partial<Omit<ReviewReport, 'recommendations'>> = {}): Omit<ReviewReport, 'recommendations'> {
  return {
    pipeline: 'tickets',
    generated_at: '2026-11-30T12:00:00.000Z',
    period: { from: '2026-10-31T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', days: 30 },
    reference: { version: 1, source: 'sample', rows: 5000, created_at: '2026-10-01T00:00:00.000Z' },
    drift: { days: [], fields: [], open_episodes: [] },
    schema: { records_received: 1000, quarantined: 0, quarantined_by_day: [], halts: [], contract_versions: [] },
    model: { days: [], totals, calibrations: [], routing_versions: [] },
    review: { by_type: [] },
    delivery: { destinations: [] },
    ...over,
  };
}

describe('recommended actions', () => {
  it('recommends nothing when every figure is within its limit', () => {
    expect(recommendActions(report())).toEqual([]);
    expect(reviewReportMarkdown({ ...report(), recommendations: [] })).toContain('None: every figure below is within its limit.');
  });

  it('backs each action with the figure that calls for it', () => {
    const r = report({
      drift: {
        days: [],
        fields: [
          { name: 'amount', test: 'wasserstein', days_tested: 30, days_drifted: 12, max_severity: 4.2, series: [] },
          { name: 'channel', test: 'jensen_shannon', days_tested: 30, days_drifted: 1, max_severity: 1.1, series: [] },
        ],
        open_episodes: [{ field: 'amount', opened_at: '2026-11-20T00:00:00.000Z' }],
      },
      model: {
        days: [],
        totals: { ...totals, verdicts: 200, realised_accuracy: 0.7, estimated_accuracy_reviewed: 0.8 },
        calibrations: [],
        routing_versions: [],
      },
      review: { by_type: [{ type: 'low_confidence', open: 3, breached_open: 2, sla_attainment: { share: 0.75, met: 30, n: 40 } }] },
      delivery: {
        destinations: [
          {
            destination: 'crm',
            delivered: 900,
            pending: 0,
            dead_lettered: 4,
            attempts_retried: 100,
            throttled: 80,
            breaker_state: 'closed',
            breaker_openings: 2,
          },
        ],
      },
      schema: { records_received: 1000, quarantined: 25, quarantined_by_day: [], halts: [], contract_versions: [] },
    });
    expect(recommendActions(r).map((a) => a.because)).toEqual([
      'amount drifted on 12 of 30 days (40 %), max wasserstein severity 4.2, episode still open',
      'on 200 reviewed records the estimated accuracy was 80.0 % and the realised 70.0 %',
      '75.0 % of low_confidence cases met their SLA (30 of 40); 2 open cases are past it',
      '4 deliveries to crm were refused for good',
      '80 answers said "too fast" (429) — 8.0 % of 1004 attempts',
      'its circuit breaker opened 2 time(s)',
      '25 of 1000 records (2.5 %) were quarantined',
    ]);
    // One drifted day of channel is noise, not an action.
    expect(recommendActions(r).some((a) => a.because.startsWith('channel'))).toBe(false);
  });

  it('renders the Markdown tables as an HTML page with escaped text', () => {
    const r = { ...report({ pipeline: 'a<b' }), recommendations: [{ action: 'Do <x>', because: '1 thing' }] };
    const html = reviewReportHtml(r);
    expect(html).toContain('<li><strong>Do &lt;x&gt;</strong> — 1 thing.</li>');
    expect(html).not.toContain('<x>');
    expect(html).toContain('<th>destination</th>');
  });
});
