/**
 * Every alert Airlock raises, in one table: its key (what de-duplicates it), severity, title and text, and the
 * playbook the runbook prints for it (what it means, who acts, what to do). The places that raise an alert build it
 * with `alertOf`, and the runbook lists exactly these entries, so neither can name an alert the other lacks.
 */
import type { Alert } from './alerts.js';

export type AlertSeverity = Alert['severity'];

/** What the runbook says about an alert. */
export interface AlertPlaybook {
  means: string;
  owner: string;
  steps: string[];
  commands: string[];
}

/** What a playbook is written with: the pipeline its commands name, and who owns a case type in each pipeline. */
export interface PlaybookContext {
  /** The pipeline's name, or `<pipeline>` when the config has several. */
  pipeline: string;
  /** "tickets: team support; billing: nobody (no owner configured)". */
  ownersOf(caseType: string): string;
}

/** One alert: `raise` builds what is sent from the facts of one occurrence. */
export interface AlertDefinition<A> {
  /** The alert's name for people (the runbook's heading). */
  name: string;
  severity: AlertSeverity;
  raise(args: A): Omit<Alert, 'severity'>;
  playbook(ctx: PlaybookContext): AlertPlaybook;
}

const define = <A>(d: AlertDefinition<A>) => d;

const pct = (share: number, digits: number) => `${(share * 100).toFixed(digits)}%`;

/** The routing figures a refit alert compares (src/calibration/refit.ts `before` and `after`). */
interface RoutingFigures {
  threshold: number;
  coverage: number;
  error_upper_bound: number;
}

interface RefitFacts {
  pipeline: string;
  version: number;
  evidence: number;
  before: RoutingFigures | null;
  after: RoutingFigures;
  alpha: number;
  delta: number;
  misclassified: number;
}

const refitText = (r: RefitFacts) => {
  const b = r.before;
  const a = r.after;
  return (
    `Threshold ${b ? b.threshold.toFixed(4) : '—'} → ${a.threshold.toFixed(4)}, coverage ${b ? pct(b.coverage, 1) : '—%'} → ${pct(a.coverage, 1)}, ` +
    `error bound ${b ? pct(b.error_upper_bound, 2) : '—%'} → ${pct(a.error_upper_bound, 2)} (α ${r.alpha}, δ ${r.delta}); ${r.misclassified} production misclassifications found by reviewers since the version in force. `
  );
};

interface DriftFacts {
  pipeline: string;
  field: string;
  /** The field's drift episodes so far (one alert per episode and event). */
  episode: number;
  /** The window's span and the test's figures, for people. */
  span: string;
  measure: string;
  records: number;
  /** Where the console shows the field. */
  link: string;
  fields: { test: string; statistic: number | string; threshold: number | string; window_start: string };
}

/** A review case an SLA alert is about. */
interface CaseFacts {
  pipeline: string;
  caseId: number;
  type: string;
  owner: string | null;
  /** Who was told, for people. */
  notified: string;
}

const caseText = (c: CaseFacts) =>
  `Pipeline ${c.pipeline}, case ${c.caseId} (${c.type}), owner ${c.owner ?? 'nobody'}: notifying ${c.notified}.`;
const caseFields = (c: CaseFacts) => ({
  pipeline: c.pipeline,
  case_id: c.caseId,
  type: c.type,
  owner: c.owner ?? '',
  notified: c.notified,
});

const driftPlaybookOwner = (ctx: PlaybookContext) =>
  `the pipeline’s ML owner; reviewers of low_confidence see the effect first (${ctx.ownersOf('low_confidence')})`;

/** The alerts, in the order the runbook lists them. */
export const ALERTS = {
  schema_halt: define<{
    pipeline: string;
    haltId: number;
    kind: string;
    field: string;
    records: number;
    withinMs: number;
    /** What accepting the change would change in the contract. */
    proposed: string[];
    contractVersion: number | null;
    exampleIds: string[];
    examples: Record<string, unknown>[];
  }>({
    name: 'Pipeline halted on a schema change',
    severity: 'critical',
    raise: (h) => ({
      key: `halt:${h.pipeline}:${h.haltId}`,
      title: `Pipeline ${h.pipeline} halted on a schema change`,
      text:
        `${h.records} records showed ${h.kind} on field "${h.field}" within ${Math.round(h.withinMs / 1000)}s. ` +
        `Scoring is stopped; records are stored and wait. ${h.proposed.length > 0 ? `Accepting it would change the contract: ${h.proposed.join('; ')}. ` : ''}` +
        `Accept the change with: airlock contract accept --pipeline ${h.pipeline} (or reject it with airlock contract reject --pipeline ${h.pipeline}).`,
      fields: {
        pipeline: h.pipeline,
        halt: h.haltId,
        kind: h.kind,
        field: h.field,
        records: h.records,
        contract_version: h.contractVersion ?? 0,
        example_ids: h.exampleIds.join(', '),
      },
      values: h.examples,
    }),
    playbook: ({ pipeline: P, ownersOf }) => ({
      means:
        'The same structural change (a new field, a changed type, a new enum value) reached gate.halt_after. Scoring has stopped in every process; ingest keeps storing records, which wait as halted. Nothing is lost.',
      owner: ownersOf('schema_halt'),
      steps: [
        'See the change, the backlog and what accepting would change.',
        'If the upstream change is intended, accept it: a new contract version takes the records; the backlog is re-checked and scored in arrival order.',
        'If it is not, reject it: the records that showed it are quarantined and the rest of the backlog resumes. Tell the producer.',
      ],
      commands: [
        `airlock contract status --pipeline ${P}`,
        `airlock contract accept --pipeline ${P} --note "why"`,
        `airlock contract reject --pipeline ${P} --note "why"`,
      ],
    }),
  }),

  dead_letters: define<{ pipeline: string; destination: string; count: number }>({
    name: 'Deliveries are dead-lettering',
    severity: 'warning',
    raise: (d) => ({
      key: `dead_letter:${d.pipeline}:${d.destination}`,
      title: `Deliveries to ${d.destination} are dead-lettering`,
      text: `${d.count} deliveries of pipeline ${d.pipeline} to ${d.destination} were refused for good and wait in the dead letters (airlock deliveries list) for replay or discard.`,
      fields: { pipeline: d.pipeline, destination: d.destination, dead_letters: d.count },
    }),
    playbook: ({ pipeline: P, ownersOf }) => ({
      means:
        'A destination refused a delivery for good (a 4xx that retrying cannot fix). The record waits in the dead letters; nothing was applied twice.',
      owner: ownersOf('dead_letter'),
      steps: [
        'List the dead letters and read the destination’s answer.',
        'Fix the cause (credentials, a field the destination rejects, a missing object on its side), then replay: the same idempotency key is sent, so a delivery that did land is not applied twice.',
      ],
      commands: [`airlock deliveries list --pipeline ${P}`, `airlock deliveries replay --pipeline ${P} ID`],
    }),
  }),

  breaker_open: define<{ pipeline: string; destination: string; openMs: number }>({
    name: 'Circuit breaker open',
    severity: 'warning',
    raise: (b) => ({
      key: `breaker_open:${b.pipeline}:${b.destination}`,
      title: `Circuit open for ${b.destination}`,
      text: `Deliveries of pipeline ${b.pipeline} to ${b.destination} failed too often; sending pauses for ${Math.round(b.openMs / 1000)}s, then probes. Nothing is lost: deliveries wait in the outbox.`,
      fields: { pipeline: b.pipeline, destination: b.destination },
    }),
    playbook: ({ pipeline: P }) => ({
      means:
        'Too many deliveries to one destination failed in a short window; Airlock stopped sending to it for a while instead of piling on. Deliveries wait, with their retries scheduled.',
      owner: 'the team that runs the destination; the owner of dead_letter cases if deliveries start to dead-letter',
      steps: [
        'Check the destination’s status page, rate limits and credentials.',
        'Nothing to replay: after the open period a few probe deliveries go through, and when they succeed the breaker closes and the backlog drains at the rate limit.',
        'If it keeps re-opening, lower the destination’s rate_limit or concurrency in the config.',
      ],
      commands: [`airlock deliveries list --pipeline ${P}`],
    }),
  }),

  model_unavailable: define<{ pipeline: string; error: string; consecutiveFailures: number }>({
    name: 'Model unavailable',
    severity: 'critical',
    raise: (m) => ({
      key: `model_unavailable:${m.pipeline}`,
      title: `Model of pipeline ${m.pipeline} is unavailable`,
      text: `Scoring is paused and records are waiting; last error: ${m.error}.`,
      fields: { pipeline: m.pipeline, consecutive_failures: m.consecutiveFailures },
    }),
    playbook: () => ({
      means:
        'The model failed several calls in a row (timeouts, 5xx, refused connections). Scoring is paused; records wait and nothing is lost.',
      owner: 'the team that runs the model',
      steps: ['Check the model endpoint (or the module’s logs).', 'Scoring resumes by itself when the model answers again.'],
      commands: [],
    }),
  }),

  drift: define<DriftFacts>({
    name: 'Drift',
    severity: 'warning',
    raise: (d) => ({
      key: `drift:${d.pipeline}:${d.field}:${d.episode}:opened`,
      title: `Drift on ${d.pipeline}: ${d.field}`,
      text: `${d.field} drifted from the reference in the window ${d.span}: ${d.measure}, ${d.records} records. ${d.link}`,
      fields: { pipeline: d.pipeline, field: d.field, event: 'opened', ...d.fields, records: d.records, link: d.link },
    }),
    playbook: (ctx) => ({
      means:
        'The production data or the model’s confidence moved away from the reference window; accuracy may have dropped without anyone noticing.',
      owner: driftPlaybookOwner(ctx),
      steps: [
        'Look at which fields moved, and whether audit samples and reviewer verdicts still agree with the model.',
        'If accuracy dropped, re-calibrate on recent labelled verdicts: the new threshold waits for approval.',
      ],
      commands: [`airlock calibrate verdicts.jsonl --pipeline ${ctx.pipeline}`],
    }),
  }),

  drift_resolved: define<DriftFacts & { resolveAfter: number }>({
    name: 'Drift resolved',
    severity: 'info',
    raise: (d) => ({
      key: `drift:${d.pipeline}:${d.field}:${d.episode}:resolved`,
      title: `Drift on ${d.pipeline}: ${d.field} resolved`,
      text: `${d.field} is back in line with the reference after ${d.resolveAfter} window(s) without drift (last: ${d.span}, ${d.measure}). ${d.link}`,
      fields: { pipeline: d.pipeline, field: d.field, event: 'resolved', ...d.fields, records: d.records, link: d.link },
    }),
    playbook: (ctx) => ({
      means:
        'A field that had drifted is back in line with the reference for drift.alert.resolve_after windows in a row; the drift episode is closed.',
      owner: driftPlaybookOwner(ctx),
      steps: [
        'Nothing to do for the data.',
        'If the drift was answered with a new calibration, check that its threshold still holds on the verdicts since.',
      ],
      commands: [],
    }),
  }),

  case_escalated: define<CaseFacts & { stepKey: string; level: number; repeat: number }>({
    name: 'Case escalated',
    severity: 'warning',
    raise: (c) => ({
      key: `escalation:${c.caseId}:${c.stepKey}`,
      title: `Case ${c.caseId} (${c.type}) escalated, level ${c.level}`,
      text: caseText(c),
      fields: { ...caseFields(c), repeat: c.repeat, level: c.level },
    }),
    playbook: () => ({
      means:
        'A case reached a level of its escalation chain without being resolved (delays from the case opening); the targets of that level were told.',
      owner: 'the targets of the level (see each case type’s escalation above)',
      steps: [
        'Take the case now, or hand it on (the console’s “next case” gives the most urgent first).',
        'If cases of one type escalate often, its team is short of people for the volume: run the check.',
      ],
      commands: ['airlock runbook --check'],
    }),
  }),

  sla_breach: define<CaseFacts & { kind: 'first_action' | 'resolution'; dueAt: string; movedTo?: string }>({
    name: 'SLA breach',
    severity: 'critical',
    raise: (c) => ({
      key: `sla_breach:${c.caseId}:${c.kind}`,
      title: `SLA breached: case ${c.caseId} (${c.type}) missed its ${c.kind === 'first_action' ? 'first-action' : 'resolution'} deadline`,
      text: caseText(c),
      fields: { ...caseFields(c), kind: c.kind, due_at: c.dueAt, ...(c.movedTo ? { moved_to: c.movedTo } : {}) },
    }),
    playbook: () => ({
      means:
        'A case was not acted on, or not resolved, within its SLA. on_breach notify tells the owner team and its on-call; escalate also moves the case to the backup team.',
      owner: 'the case type’s owner team (see each case type above)',
      steps: [
        'Take the case now (the console’s “next case” gives the most urgent first).',
        'If breaches repeat, the team is short of people for the volume: run the check and compare the expected review volume with the team’s capacity.',
      ],
      commands: ['airlock runbook --check'],
    }),
  }),

  refit_waiting: define<RefitFacts>({
    name: 'Calibration change waiting for approval',
    severity: 'info',
    raise: (r) => ({
      key: `refit:${r.pipeline}:${r.version}`,
      title: `Pipeline ${r.pipeline}: refit waits for approval (routing version ${r.version})`,
      text: `${refitText(r)}Approve with: airlock thresholds approve --pipeline ${r.pipeline} --version ${r.version}`,
      fields: { pipeline: r.pipeline, version: r.version, evidence: r.evidence },
    }),
    playbook: ({ pipeline: P }) => ({
      means:
        'A refit of the feedback loop proposed a new routing version (calibrator and auto-accept threshold with its guarantee). It does not route anything until someone approves it.',
      owner: 'the pipeline’s ML owner',
      steps: [
        'Compare the proposed version with the active one: coverage, error bound, when and on what data it was fitted.',
        'Approve it, or leave it; a version that misbehaves is rolled back to an earlier one.',
      ],
      commands: [
        `airlock thresholds history --pipeline ${P}`,
        `airlock thresholds approve --pipeline ${P} --version N`,
        `airlock thresholds rollback --pipeline ${P} --to N`,
      ],
    }),
  }),

  refit_applied: define<RefitFacts>({
    name: 'Calibration change applied',
    severity: 'info',
    raise: (r) => ({
      key: `refit:${r.pipeline}:${r.version}`,
      title: `Pipeline ${r.pipeline}: refit applied (routing version ${r.version})`,
      text: refitText(r),
      fields: { pipeline: r.pipeline, version: r.version, evidence: r.evidence },
    }),
    playbook: ({ pipeline: P }) => ({
      means:
        'A refit of the feedback loop moved the threshold and coverage less than routing.refit.auto_apply allows, so its routing version was applied at once: it routes new records now.',
      owner: 'the pipeline’s ML owner',
      steps: [
        'Compare the new version with the one before: coverage, error bound, the misclassifications reviewers found.',
        'If it misbehaves, roll back to an earlier version.',
      ],
      commands: [`airlock thresholds history --pipeline ${P}`, `airlock thresholds rollback --pipeline ${P} --to N`],
    }),
  }),

  readiness_test: define<{ pipeline: string }>({
    name: 'Airlock test alert',
    severity: 'info',
    raise: (t) => ({
      key: `readiness_test:${t.pipeline}`,
      title: 'Airlock test alert',
      text: `A test alert from airlock readiness for pipeline ${t.pipeline}: alerts from this pipeline reach this channel.`,
      fields: { pipeline: t.pipeline },
    }),
    playbook: ({ pipeline: P }) => ({
      means:
        'Someone checked that alerts reach this channel (airlock readiness --test-alert): each run sends one, and the readiness check change.alerts cites it. It carries no record data.',
      owner: 'whoever ran it; nobody else',
      steps: ['Nothing to do: the channel receives alerts.'],
      commands: [`airlock readiness --pipeline ${P} --test-alert`],
    }),
  }),
};

export type AlertName = keyof typeof ALERTS;
type FactsOf<N extends AlertName> = (typeof ALERTS)[N] extends AlertDefinition<infer A> ? A : never;

/** The alert `name` of the catalog for the facts of one occurrence, ready for `AlertCenter.raise`. */
export function alertOf<N extends AlertName>(name: N, facts: FactsOf<N>): Alert {
  const d = ALERTS[name] as AlertDefinition<FactsOf<N>>;
  return { ...d.raise(facts), severity: d.severity };
}
