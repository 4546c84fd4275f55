import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/db.js';
import { runAirlock } from './support/cli.js';
import { ensureBuilt } from './support/serve.js';

/** A review setup that passes the check. */
const GOOD = `teams:
  support:
    members: [ana, ben, cleo, dev]
    timezone: Europe/Berlin
    working_hours: { days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00" }
    holidays: ["2026-12-24", "2026-12-25"]
    on_call: { rotation: [ana, ben], shift: 7d, starts: "2026-11-02T08:00:00Z" }
    capacity: 12
  platform:
    members: [pat, quinn]
    timezone: America/New_York
    working_hours: { days: [mon, tue, wed, thu, fri, sat, sun], start: "22:00", end: "06:00" }
    on_call: { rotation: [pat, quinn], shift: 12h, starts: "2026-11-02T13:00:00Z" }
    capacity: 6

pipelines:
  tickets:
    contract:
      type: object
      properties: { subject: { type: string }, refund: { type: object, properties: { amount: { type: number } } } }
      additionalProperties: false
    model: { type: http, url: "http://127.0.0.1:9/predict" }
    routing: { auto_accept_at: 0.9 }
    launch: { expected_peak: 200/h }
    destinations:
      helpdesk: { type: webhook, url: "http://127.0.0.1:9/tickets" }
    review:
      case_types:
        low_confidence:
          owner: support
          backup: platform
          priority: high
          sla: { first_action: 30m, resolution: 4h, hours: business }
          reviews: { required: 2, agreement: majority }
          actions: { reviewer: [approve, relabel, request_info, escalate] }
          limits: [{ field: refund.amount, reviewer: 500, lead: 5000 }]
          escalation:
            levels:
              - { after: 0m, notify: [owner] }
              - { after: 30m, notify: [oncall:support] }
              - { after: 2h, notify: [team:platform, "webhook:https://hooks.example.com/T000/secret-token"] }
            repeat: 1
            on_breach: escalate
        model_failure:
          owner: platform
          sla: 1h
          escalation: { levels: [{ after: 15m, notify: [oncall:platform] }] }
        quarantine:
          owner: support
          sla: { resolution: 1d, hours: business }
          actions: { reviewer: [request_info, escalate] }
          escalation: { levels: [{ after: 4h, notify: [owner, user:pat] }] }
        schema_halt:
          owner: platform
          backup: support
          priority: critical
          sla: { first_action: 15m, resolution: 2h }
          escalation: { levels: [{ after: 0m, notify: [oncall:platform] }, { after: 30m, notify: [backup] }], repeat: 2 }
        dead_letter:
          owner: platform
          sla: 8h
          escalation: { levels: [{ after: 1h, notify: [team:platform] }] }
`;

/** A review setup with several problems, one or more per case type. */
const BAD = `teams:
  support:
    members: [ana, ben]
    capacity: 10
    on_call: { rotation: [ana, zoe], shift: 1d, starts: "2026-11-02T08:00:00Z" }
  platform:
    members: [pat]

pipelines:
  tickets:
    contract: { type: object, properties: { subject: { type: string } }, additionalProperties: false }
    model: { type: http, url: "http://127.0.0.1:9/predict" }
    launch: { expected_peak: 1000/h }
    destinations:
      helpdesk: { type: webhook, url: "http://127.0.0.1:9/tickets" }
    review:
      case_types:
        low_confidence:
          owner: support
        quarantine:
          owner: support
          sla: 4h
          escalation: { levels: [{ after: 1h, notify: [team:nobody, oncall:platform, user:ghost] }] }
        schema_halt:
          sla: 1h
          escalation: { levels: [{ after: 0m, notify: [backup] }] }
`;

describe('airlock runbook (built CLI, config only)', () => {
  let dir: string;
  const run = (args: string[]) => runAirlock(args, { cwd: dir });

  beforeAll(() => {
    ensureBuilt();
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-runbook-'));
    writeFileSync(path.join(dir, 'good.yaml'), GOOD);
    writeFileSync(path.join(dir, 'bad.yaml'), BAD);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the runbook of a sound config in Markdown, with every section, and exits 0', async () => {
    const r = await run(['runbook', '--config', 'good.yaml', '--at', '2026-11-04T12:00:00Z', '--coverage', 'tickets=0.8']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const md = r.stdout;
    for (const section of [
      '# Airlock runbook — good.yaml',
      '## Check',
      'No problems found',
      '## Pipeline `tickets`',
      'Expected review volume at peak: 40 cases/h',
      '### `low_confidence`',
      '### `schema_halt`',
      '### `dead_letter`',
      '## Teams and on call',
      '## Alerts and what to do',
    ]) {
      expect(md).toContain(section);
    }
    // Owner, backup, SLA, reviews, authority with limits, escalation with delays and targets.
    expect(md).toContain('| `low_confidence` | support | platform | high | 30m | 4h | business | 2 (majority) |');
    expect(md).toContain('| reviewer | refund.amount ≤ 500 | refund.amount ≤ 500 | no | yes | yes |');
    expect(md).toContain('| 2 | 30m | whoever is on call for support |');
    expect(md).toContain('The chain repeats 1 more time, every 3h 30m.');
    // Webhook targets show their host only: the path may carry a secret.
    expect(md).toContain('webhook hooks.example.com');
    expect(md).not.toContain('secret-token');
    // On call: the weekly Berlin rota hands over at 09:00 local; the New York one every 12 hours.
    expect(md).toContain('| ben | Mon 2026-11-09 09:00 +01:00 | Mon 2026-11-16 09:00 +01:00 |');
    expect(md).toContain('| pat | Wed 2026-11-04 08:00 -05:00 | Wed 2026-11-04 20:00 -05:00 |');
    // What to do for each alert.
    for (const command of [
      'airlock contract status --pipeline tickets',
      'airlock contract accept --pipeline tickets',
      'airlock deliveries list --pipeline tickets',
      'airlock deliveries replay --pipeline tickets',
      'airlock thresholds approve --pipeline tickets',
    ]) {
      expect(md).toContain(command);
    }
    for (const alert of [
      'Circuit breaker open (warning)',
      'Drift (warning)',
      'SLA breach (critical)',
      'Calibration change waiting for approval',
    ])
      expect(md).toContain(alert);
    // Only alerts Airlock raises: nothing raises one when the quarantine grows (its cases escalate instead).
    expect(md).not.toContain('Quarantine growing');
  });

  it('passes --check, and writes HTML', async () => {
    const check = await run(['runbook', '--config', 'good.yaml', '--check', '--coverage', 'tickets=0.8']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('good.yaml: runbook check passed');
    const html = await run(['runbook', '--config', 'good.yaml', '--format', 'html', '--out', 'runbook.html']);
    expect(html.code).toBe(0);
    const page = readFileSync(path.join(dir, 'runbook.html'), 'utf8');
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain('<h2>Alerts and what to do</h2>');
  });

  it('fails --check on a config with problems, naming each case type, and exits 1', async () => {
    const r = await run(['runbook', '--config', 'bad.yaml', '--check', '--coverage', '0.5']);
    expect(r.code).toBe(1);
    const out = r.stdout;
    expect(out).toContain('bad.yaml: runbook check failed, 11 problems:');
    for (const line of [
      'tickets / low_confidence: has no SLA',
      'tickets / low_confidence: has no escalation path',
      'tickets / model_failure: Airlock opens model_failure cases for this pipeline',
      'tickets / quarantine: escalation level 1 notifies team:nobody, but team "nobody" does not exist',
      'tickets / quarantine: escalation level 1 notifies oncall:platform, but team "platform" has no on_call rota',
      'tickets / quarantine: escalation level 1 notifies user:ghost, but ghost is not a member of any team',
      'tickets / schema_halt: has no owner team',
      'tickets / schema_halt: escalation level 1 notifies backup, but the case type has no backup team',
      'tickets / dead_letter: Airlock opens dead_letter cases for this pipeline',
      'team support: zoe is in the on-call rota of team support but not one of its members',
      'tickets / low_confidence: staffing cannot keep up: at the expected peak of 1000/h with 50% auto-accepted, 500 cases/h need review',
    ]) {
      expect(out).toContain(line);
    }
    expect(out).toContain('fix: ');
  });

  it('answers --json with { ok, findings, warnings }, and warns instead of checking staffing without a coverage', async () => {
    const r = await run(['runbook', '--config', 'bad.yaml', '--check', '--json']);
    expect(r.code).toBe(1);
    const body = JSON.parse(r.stdout) as {
      ok: boolean;
      findings: { pipeline: string | null; case_type: string | null; team?: string; problem: string; fix: string }[];
      warnings: { pipeline: string | null; case_type: string | null; message: string }[];
    };
    expect(Object.keys(body)).toEqual(['ok', 'findings', 'warnings']);
    expect(body.ok).toBe(false);
    expect(new Set(body.findings.map((f) => f.case_type))).toEqual(
      new Set(['low_confidence', 'model_failure', 'quarantine', 'schema_halt', 'dead_letter', null]),
    );
    expect(body.findings.every((f) => f.problem.length > 0 && f.fix.length > 0)).toBe(true);
    expect(body.findings.some((f) => f.problem.startsWith('staffing'))).toBe(false);
    expect(body.warnings).toEqual([
      {
        pipeline: 'tickets',
        case_type: 'low_confidence',
        message:
          'the auto-accept coverage is unknown (no calibration yet): staffing was not checked; give it with --coverage PIPELINE=SHARE',
      },
    ]);
  });

  it('runs on the config alone: no database is opened or created', async () => {
    const r = await run(['runbook', '--config', 'good.yaml']);
    expect(r.code).toBe(0);
    // The config's database is the default sqlite:./.airlock/airlock.db beside it.
    expect(existsSync(path.join(dir, '.airlock'))).toBe(false);
  });

  it('exits 2 on a usage mistake', async () => {
    expect((await run(['runbook', '--config', 'good.yaml', '--format', 'pdf'])).code).toBe(2);
    const r = await run(['runbook', '--config', 'good.yaml', '--coverage', 'nope=0.5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipeline "nope" is not in the config');
  });

  it('--from-database takes the coverage from the active routing version (the calibration in force)', async () => {
    const db = path.join(dir, 'from-db', '.airlock', 'airlock.db');
    writeFileSync(path.join(dir, 'from-db.yaml'), GOOD.replace('pipelines:', `database: sqlite:${db}\npipelines:`));
    const store = openStore(`sqlite:${db}`);
    await store.migrate();
    const now = Date.now();
    await store.db
      .insertInto('routing_versions')
      .values({
        pipeline: 'tickets',
        version: 1,
        status: 'active',
        calibrator: null,
        threshold: JSON.stringify({ value: 0.93, alpha: 0.01, delta: 0.05, coverage: 0.8, error_upper_bound: 0.009, method: 'ltt-hb' }),
        evidence_id: null,
        created_at: now,
        created_by: 'test',
        activated_at: now,
        activated_by: 'test',
        note: null,
      })
      .execute();
    await store.close();
    const fromDb = await run(['runbook', '--config', 'from-db.yaml', '--check', '--from-database', '--json']);
    const given = await run(['runbook', '--config', 'from-db.yaml', '--check', '--coverage', 'tickets=0.8', '--json']);
    expect(fromDb.stderr).toBe('');
    expect(JSON.parse(fromDb.stdout)).toEqual(JSON.parse(given.stdout));
    expect(fromDb.stdout).not.toContain('coverage is unknown');
  });
});
