import { describe, expect, it } from 'vitest';
import { ALERTS } from '../alerts/catalog.js';
import type { AirlockConfig } from '../config/airlock-config.js';
import { parseConfig } from '../config/load.js';
import { pipelineCaseTypes } from './case-types.js';
import { buildRunbook, describeDays, humanDuration } from './runbook.js';
import { checkRunbook } from './runbook-check.js';
import { renderRunbookHtml, renderRunbookMarkdown } from './runbook-render.js';

const sound = (name: string, owner: string) => `
        ${name}:
          owner: ${owner}
          sla: 4h
          escalation: { levels: [{ after: 30m, notify: [owner] }] }`;

/** One pipeline whose model failures and low-confidence cases are fully set up; `extra` adds YAML under the pipeline. */
function config(extra = '', teams = '', caseTypes = ''): AirlockConfig {
  return parseConfig(
    `
teams:
  support:
    members: [ana, ben]
    capacity: 10
    on_call: { rotation: [ana, ben], shift: 1d, starts: "2026-11-02T08:00:00Z" }
${teams}
pipelines:
  tickets:
    model: { type: http, url: "http://127.0.0.1:9/predict" }
${extra}
    review:
      case_types:${sound('low_confidence', 'support')}${sound('model_failure', 'support')}${caseTypes}
`,
    { env: {} },
  );
}

describe('the built-in case types', () => {
  it('are checked only where they can occur', () => {
    expect(pipelineCaseTypes(config().pipelines.tickets).map((c) => c.name)).toEqual(['low_confidence', 'model_failure']);
    const everything = config(
      `    contract: { type: object }
    routing: { auto_accept_at: 0.9, never_auto: [refund], audit_rate: 0.01 }
    destinations: { crm: { type: webhook, url: "http://127.0.0.1:9/x" } }`,
    );
    expect(pipelineCaseTypes(everything.pipelines.tickets).map((c) => c.name)).toEqual([
      'low_confidence',
      'policy_review',
      'audit_sample',
      'model_failure',
      'quarantine',
      'schema_halt',
      'dead_letter',
    ]);
    const noHalts = config(
      `    contract: { type: object }
    gate: { policies: { unknown_field: quarantine, type_mismatch: quarantine, new_enum_value: quarantine } }`,
    );
    expect(pipelineCaseTypes(noHalts.pipelines.tickets).map((c) => c.name)).toEqual(['low_confidence', 'model_failure', 'quarantine']);
  });
});

describe('checkRunbook', () => {
  it('passes a complete setup', () => {
    expect(checkRunbook(config(), { coverage: { tickets: 0.9 } })).toEqual({
      ok: true,
      findings: [],
      warnings: [
        { pipeline: 'tickets', case_type: 'low_confidence', message: 'launch.expected_peak is not set: staffing was not checked' },
      ],
    });
  });

  it('names each case type without an owner, an SLA or an escalation path, and each built-in type not configured', () => {
    const c = config(
      `    destinations: { crm: { type: webhook, url: "http://127.0.0.1:9/x" } }`,
      '',
      '\n        refund: { owner: support }\n        chargeback: { sla: 1h }',
    );
    const found = checkRunbook(c).findings.map((f) => [f.case_type, f.problem.split(':')[0].split(' (')[0]]);
    expect(found).toEqual([
      ['dead_letter', 'Airlock opens dead_letter cases for this pipeline'],
      ['refund', 'has no SLA'],
      ['refund', 'has no escalation path'],
      ['chargeback', 'has no owner team'],
      ['chargeback', 'has no escalation path'],
    ]);
  });

  it('finds teams and targets that do not exist, and rotas of outsiders', () => {
    const c = config(
      '',
      `  platform:
    members: [pat]
    on_call: { rotation: [pat, zoe], starts: "2026-11-02T08:00:00Z" }`,
      `
        quarantine:
          owner: support
          sla: 4h
          escalation: { levels: [{ after: 1h, notify: [team:nobody, oncall:support, user:ghost, user:pat, backup] }] }`,
    );
    // The loader refuses unknown owner teams when teams: exists; a config without teams: reaches the runbook.
    c.pipelines.tickets.review.caseTypes.model_failure.owner = 'nobody';
    expect(checkRunbook(c).findings.map((f) => `${f.case_type ?? `team ${f.team}`}: ${f.problem}`)).toEqual([
      'model_failure: owner team "nobody" does not exist',
      'quarantine: escalation level 1 notifies team:nobody, but team "nobody" does not exist (teams: support, platform)',
      'quarantine: escalation level 1 notifies user:ghost, but ghost is not a member of any team (the runbook cannot tell who that is or whether the account exists)',
      'quarantine: escalation level 1 notifies backup, but the case type has no backup team',
      'team platform: zoe is in the on-call rota of team platform but not one of its members',
    ]);
  });

  it('checks staffing: (1 − coverage) × expected peak against members × capacity', () => {
    const c = config('    launch: { expected_peak: 100/h }');
    // (1 − 0.8) × 100/h = 20/h = 2 members × 10/h: just enough.
    expect(checkRunbook(c, { coverage: { tickets: 0.8 } }).ok).toBe(true);
    const short = checkRunbook(c, { coverage: { tickets: 0.7 } });
    expect(short.findings).toEqual([
      {
        pipeline: 'tickets',
        case_type: 'low_confidence',
        team: 'support',
        problem:
          'staffing cannot keep up: at the expected peak of 100/h with 70% auto-accepted, 30 cases/h need review; team support (2 members × 10/h) resolves 20/h in its working hours',
        fix: 'give team support 3 reviewers (it has 2), move the case type to a bigger team, or raise the auto-accept coverage (airlock calibrate)',
      },
    ]);
    // Per-second peaks convert: 1/s = 3600/h; at 99.5% auto-accepted that is 18/h.
    const perSecond = config('    launch: { expected_peak: 1/s }');
    expect(checkRunbook(perSecond, { coverage: { tickets: 0.995 } }).ok).toBe(true);
    expect(checkRunbook(perSecond, { coverage: { tickets: 0.99 } }).ok).toBe(false);
  });

  it('warns and skips the staffing check when the coverage is unknown', () => {
    const result = checkRunbook(config('    launch: { expected_peak: 10000/h }'));
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => w.message)).toEqual([
      'the auto-accept coverage is unknown (no calibration yet): staffing was not checked; give it with --coverage PIPELINE=SHARE',
    ]);
  });

  it('adds up the load of a team that owns low_confidence in several pipelines', () => {
    const two = parseConfig(
      `
teams:
  support: { members: [ana], capacity: 10 }
pipelines:
${['a', 'b']
  .map(
    (p) => `  ${p}:
    model: { type: http, url: "http://127.0.0.1:9/predict" }
    launch: { expected_peak: 60/h }
    review:
      case_types:${sound('low_confidence', 'support')}${sound('model_failure', 'support')}`,
  )
  .join('\n')}
`,
      { env: {} },
    );
    // 6/h each is fine alone; 12/h together is more than 10/h.
    const result = checkRunbook(two, { coverage: { a: 0.9, b: 0.9 } });
    expect(result.findings.map((f) => [f.pipeline, f.problem.includes('together with a, b: 12/h')])).toEqual([
      ['a', true],
      ['b', true],
    ]);
  });
});

describe('buildRunbook', () => {
  const c = config('    launch: { expected_peak: 100/h }');
  const rb = buildRunbook(c, { now: Date.parse('2026-11-04T12:00:00Z'), coverage: { tickets: 0.8 } });

  it('shows who is on call for the next four shifts', () => {
    expect(rb.teams[0].onCall).toEqual([
      // Daily from Monday 2026-11-02 08:00Z: ana Monday, ben Tuesday, ana Wednesday, …
      { user: 'ana', from: 'Wed 2026-11-04 08:00 +00:00', to: 'Thu 2026-11-05 08:00 +00:00' },
      { user: 'ben', from: 'Thu 2026-11-05 08:00 +00:00', to: 'Fri 2026-11-06 08:00 +00:00' },
      { user: 'ana', from: 'Fri 2026-11-06 08:00 +00:00', to: 'Sat 2026-11-07 08:00 +00:00' },
      { user: 'ben', from: 'Sat 2026-11-07 08:00 +00:00', to: 'Sun 2026-11-08 08:00 +00:00' },
    ]);
    expect(rb.pipelines[0].expectedReviewsPerHour).toBe(20);
  });

  it('lists exactly the alerts Airlock raises (src/alerts/catalog.ts), each with its severity', () => {
    const md = renderRunbookMarkdown(rb);
    const section = md.slice(md.indexOf('## Alerts and what to do'));
    const headings = [...section.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(Object.values(ALERTS).map((a) => `${a.name} (${a.severity})`));
  });

  it('shows the authority a built-in type has when the config does not name it', () => {
    const halts = buildRunbook(config('    contract: { type: object }'), { now: 0 });
    const halt = halts.pipelines[0].caseTypes.find((t) => t.name === 'schema_halt');
    // Deciding a schema change is a lead's call by default: reviewers may only ask for information or escalate.
    expect(halt?.authority.find((r) => r.role === 'reviewer')?.actions).toEqual({
      approve: 'no',
      relabel: 'no',
      reject: 'no',
      request_info: 'yes',
      escalate: 'yes',
    });
    expect(halt?.authority.find((r) => r.role === 'lead')?.actions.approve).toBe('yes');
  });

  it('renders Markdown and HTML with the same sections', () => {
    const md = renderRunbookMarkdown(rb);
    for (const heading of [
      '## Check',
      '## Pipeline `tickets`',
      '### `low_confidence`',
      '## Teams and on call',
      '## Alerts and what to do',
    ]) {
      expect(md).toContain(heading);
    }
    const html = renderRunbookHtml(rb);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<h2>Pipeline <code>tickets</code></h2>');
    expect(html).toContain('airlock contract accept --pipeline tickets --note &quot;why&quot;');
  });
});

describe('formatting', () => {
  it.each([
    [0, '0m'],
    [1500, '1.5s'],
    [30 * 60_000, '30m'],
    [3.5 * 3_600_000, '3h 30m'],
    [26 * 3_600_000, '1d 2h'],
  ])('humanDuration(%i) = %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });

  it('describes working days compactly', () => {
    expect(describeDays(['mon', 'tue', 'wed', 'thu', 'fri'])).toBe('Mon–Fri');
    expect(describeDays(['sat', 'mon', 'tue', 'wed'])).toBe('Mon–Wed, Sat');
    expect(describeDays(['mon', 'tue'])).toBe('Mon, Tue');
    expect(describeDays(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])).toBe('every day');
  });
});
