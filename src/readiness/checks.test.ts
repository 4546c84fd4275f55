import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { contractFields, evaluateReadiness } from './checks.js';
import { findEvidence } from './evidence.js';
import { readinessHtml, readinessText } from './render.js';
import type { EvidenceItem, Hashes, ReadinessFacts } from './report.js';

const NOW = Date.parse('2026-12-10T12:00:00Z');
const DAY = 86_400_000;

const config = parseConfig(
  `
alerts: [{ type: webhook, url: "http://127.0.0.1:9/alerts" }]
teams: { support: { members: [a, b] }, leads: { members: [c] } }
pipelines:
  tickets:
    contract: { type: object, properties: { text: { type: string }, customer: { type: object, properties: { tier: { type: string } } } } }
    model: { type: http, url: "http://127.0.0.1:9/predict", version: v1 }
    launch: { go_live: 2026-12-01, expected_peak: 10/s }
    readiness: { max_age: 7d, blocking: [data.audit], thirty_day_review: 2026-12-31 }
`,
  { dir: '/' },
);
const pipeline = config.pipelines.tickets;
const current: Hashes = { config: 'cfg', contract: 'ctr', model: 'mdl', calibrator: 'cal' };

function facts(evidence: EvidenceItem[], over: Partial<ReadinessFacts> = {}): ReadinessFacts {
  return {
    pipeline: 'tickets',
    now: NOW,
    pipelineConfig: pipeline,
    teams: config.teams,
    alerts: config.alerts,
    current,
    evidence,
    routing: [],
    cases: [],
    predictions: { since: NOW - 7 * DAY, total: 0, withModelVersion: 0 },
    driftReference: { supported: true },
    ...over,
  };
}

const audit = (id: number, ageDays: number, hashes: Partial<Hashes> = {}): EvidenceItem => ({
  id,
  kind: 'audit',
  createdAt: NOW - ageDays * DAY,
  hashes: { ...current, calibrator: null, ...hashes },
  summary: { rows: 1000, source: 'prod.jsonl' },
  report: { source: { file: 'prod.jsonl' }, issues: [] },
});

const statusOf = (f: ReadinessFacts, id: string) =>
  evaluateReadiness(f)
    .sections.flatMap((s) => s.checks)
    .find((c) => c.id === id);

describe('evidence lookup', () => {
  it('takes the newest report made with the hashes in force, ignoring the calibrator for an audit', () => {
    const f = facts([audit(3, 1, { config: 'old' }), audit(2, 2, { calibrator: 'other' }), audit(1, 3)]);
    const found = findEvidence(f, 'audit', 7 * DAY);
    expect(found.state).toBe('current');
    expect(found.state === 'current' && found.item.id).toBe(2);
    expect(found.state === 'current' && found.matching.map((e) => e.id)).toEqual([2, 1]);
  });

  it('is stale, naming what changed, when every report was made with something else', () => {
    const f = facts([audit(1, 1, { contract: 'older-contract-hash' })]);
    const c = statusOf(f, 'data.audit');
    expect(c?.status).toBe('stale');
    expect(c?.points).toBe(0);
    expect(c?.evidence).toBe('audit #1 of 2026-12-09 was made with another version of the contract (older-cont… then, ctr now)');
    expect(c?.fix).toBe('airlock audit prod.jsonl --pipeline tickets');
  });

  it('fails a report older than max_age', () => {
    const c = statusOf(facts([audit(1, 8)]), 'data.audit');
    expect(c?.status).toBe('fail');
    expect(c?.evidence).toMatch(/older than 7d/);
  });
});

describe('scoring (ML Test Score)', () => {
  it('gives ½ point to a report made once and 1 to one made repeatedly', () => {
    expect(statusOf(facts([audit(1, 1)]), 'data.audit')?.points).toBe(0.5);
    expect(statusOf(facts([audit(2, 1), audit(1, 2)]), 'data.audit')?.points).toBe(1);
  });

  it('scores a section as the sum of its checks and the report as the lowest section', () => {
    const r = evaluateReadiness(facts([audit(2, 1), audit(1, 2)]));
    for (const s of r.sections) expect(s.score).toBe(s.checks.reduce((a, c) => a + c.points, 0));
    expect(r.score).toBe(Math.min(...r.sections.map((s) => s.score)));
    // data: audit (1, repeated) + contract (1, the gate checks every record); confidence has nothing yet.
    expect(r.sections.find((s) => s.name === 'data')?.score).toBe(2);
    expect(r.sections.find((s) => s.name === 'confidence')?.score).toBe(0);
    expect(r.score).toBe(0);
  });

  it('fails the gate on a blocking check or a score below the minimum', () => {
    expect(evaluateReadiness(facts([])).blocking_failed).toEqual(['data.audit']);
    expect(evaluateReadiness(facts([])).passed).toBe(false);
    const withAudit = evaluateReadiness(facts([audit(1, 1)]), { minScore: 0 });
    expect(withAudit.blocking_failed).toEqual([]);
    expect(withAudit.passed).toBe(true);
    expect(evaluateReadiness(facts([audit(1, 1)]), { minScore: 0.5 }).passed).toBe(false);
  });
});

describe('checks', () => {
  it('lists the contract fields as dotted paths', () => {
    expect(contractFields(pipeline.contract?.schema)).toEqual(['text', 'customer', 'customer.tier']);
  });

  it('asks for the drift reference to cover every contract field', () => {
    const ref = (fields: string[]) => facts([], { driftReference: { supported: true, createdAt: NOW - DAY, rows: 500, fields } });
    expect(statusOf(ref(['text', 'customer.tier']), 'change.drift_reference')?.status).toBe('pass');
    const missing = statusOf(ref(['text']), 'change.drift_reference');
    expect(missing?.status).toBe('fail');
    expect(missing?.evidence).toMatch(/not covered: customer\.tier$/);
    expect(statusOf(facts([]), 'change.drift_reference')?.fix).toBe('airlock reference PRODUCTION_SAMPLE.jsonl --pipeline tickets');
  });

  it('measures SLA attainment only after go-live, over resolved cases and open ones past their deadline', () => {
    const before = statusOf(facts([], { now: Date.parse('2026-11-30T00:00:00Z') }), 'review.sla');
    expect(before?.status).toBe('manual');
    expect(before?.points).toBe(0);
    const c = (id: number, resolvedAfterH: number | null, slaH: number) => ({
      id,
      type: 'low_confidence',
      status: resolvedAfterH === null ? ('open' as const) : ('resolved' as const),
      created_at: NOW - 10 * 3_600_000,
      first_action_at: null,
      resolved_at: resolvedAfterH === null ? null : NOW - 10 * 3_600_000 + resolvedAfterH * 3_600_000,
      sla_due_at: NOW - 10 * 3_600_000 + slaH * 3_600_000,
      first_action_due_at: null,
      paused_ms: 0,
      waiting_since: null,
      model_label: null,
      final_label: null,
    });
    // 19 of 20 in time = 95%: meets the default 0.95.
    const cases = Array.from({ length: 20 }, (_, i) => c(i, i === 0 ? 5 : 1, 4));
    expect(statusOf(facts([], { cases }), 'review.sla')?.status).toBe('pass');
    expect(statusOf(facts([], { cases: [...cases, c(99, 5, 4)] }), 'review.sla')?.evidence).toMatch(
      /21 cases resolved with an SLA, 19 in time \(90\.5%\).*below 95%/,
    );
    expect(statusOf(facts([], { cases: [...cases, c(100, null, 4)] }), 'review.sla')?.evidence).toMatch(
      /open cases past their SLA: low_confidence 1/,
    );
  });
});

describe('rendering', () => {
  it('escapes every text in the HTML page and shows the gate on the terminal', () => {
    const r = evaluateReadiness(
      facts([
        {
          ...audit(1, 1),
          report: { source: { file: '<img src=x>.jsonl' }, issues: [] },
          summary: { rows: 3, source: '<img src=x>.jsonl' },
        },
      ]),
    );
    const html = readinessHtml(r);
    expect(html).toContain('&lt;img src=x&gt;.jsonl');
    expect(html).not.toContain('<img');
    const text = readinessText(r);
    expect(text).toMatch(/✓ data\.audit/);
    expect(text).toMatch(/✗ confidence\.calibration/);
    expect(text).toMatch(/Gate: PASSED|Gate: FAILED/);
  });
});

describe('the threshold in force', () => {
  it('is stale when the calibration it was fitted on was made with another model', () => {
    const calibration: EvidenceItem = {
      id: 7,
      kind: 'calibration',
      createdAt: NOW - DAY,
      hashes: { ...current, model: 'previous-model' },
      summary: { rows: 2000, ece: 0.01, calibrated_ece: 0.01, feasible: true, source: 'labelled.jsonl' },
      report: {},
    };
    const routing = [
      {
        version: 1,
        status: 'active',
        evidenceId: 7,
        threshold: { value: 0.9, coverage: 0.8, error_upper_bound: 0.02, delta: 0.05 },
        createdAt: NOW - DAY,
        activatedAt: NOW - DAY,
      },
    ];
    const c = statusOf(facts([calibration], { routing }), 'confidence.threshold');
    expect(c?.status).toBe('stale');
    expect(c?.evidence).toMatch(/fitted on calibration #7 of 2026-12-09, made with another version of the model$/);
    expect(c?.fix).toBe('airlock calibrate labelled.jsonl --pipeline tickets --apply');
    const same = statusOf(facts([{ ...calibration, hashes: current }], { routing }), 'confidence.threshold');
    expect(same?.status).toBe('pass');
    // A newer calibration proposed version 2, which nobody approved.
    const newer: EvidenceItem = { ...calibration, id: 8, hashes: current, createdAt: NOW - 3_600_000 };
    const proposed = { ...routing[0], version: 2, status: 'proposed', evidenceId: 8, createdAt: NOW - 3_600_000, activatedAt: null };
    const waiting = statusOf(
      facts([newer, { ...calibration, hashes: current }], { routing: [...routing, proposed] }),
      'confidence.threshold',
    );
    expect(waiting?.status).toBe('fail');
    expect(waiting?.fix).toBe('airlock thresholds approve --pipeline tickets --version 2');
  });
});

describe('calibration repeated by the feedback loop', () => {
  it('scores a single calibration 1 when a scheduled refit with the same inputs ran within max_age', () => {
    const calibration: EvidenceItem = {
      id: 1,
      kind: 'calibration',
      createdAt: NOW - 3 * DAY,
      hashes: current,
      summary: { rows: 2000, ece: 0.02, calibrated_ece: 0.01, feasible: true },
      report: {},
    };
    const refit = (outcome: string): EvidenceItem => ({ ...calibration, id: 2, kind: 'refit', createdAt: NOW - DAY, summary: { outcome } });
    expect(statusOf(facts([calibration]), 'confidence.calibration')?.points).toBe(0.5);
    const c = statusOf(facts([refit('ok'), calibration]), 'confidence.calibration');
    expect(c?.points).toBe(1);
    expect(c?.evidence).toMatch(/refitted on schedule \(refit #2 of 2026-12-09\)$/);
    expect(statusOf(facts([refit('not_enough_labels'), calibration]), 'confidence.calibration')?.points).toBe(0.5);
  });
});
