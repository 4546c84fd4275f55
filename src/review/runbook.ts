/**
 * The operational runbook, generated from the config (pure: config in, document out), and its check.
 *
 * Per pipeline and case type: owner and backup, SLA, required reviews, authority matrix, escalation path; per team:
 * members, working hours, capacity and who is on call when; per alert Airlock raises: what to do. The check
 * (`airlock runbook --check`, cited by readiness) lists what would leave a case without a person: a case type
 * without owner, SLA or escalation path, a target or team that does not exist, a rota of outsiders, and a team
 * that cannot keep up with the expected review volume at peak.
 */
import { DateTime } from 'luxon';
import type { AirlockConfig } from '../config/airlock-config.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import type { CaseTypeConfig, ReviewAction } from '../config/sections/review.js';
import { defaultCaseType, REVIEW_ACTIONS } from '../config/sections/review.js';
import type { TeamConfig } from '../config/sections/teams.js';
import { authorityMatrix, effectiveMax } from './authority.js';
import { calendarProblem } from './calendar.js';
import { describeTarget, escalationPeriod } from './escalation.js';
import { rotaOutsiders, upcomingShifts } from './oncall.js';

/** The parts of the config the runbook reads. */
export type RunbookConfig = Pick<AirlockConfig, 'teams' | 'pipelines'> & { file?: string; hash?: string };

export interface RunbookOptions {
  /** The moment the runbook is for (on-call shifts, upcoming holidays). */
  now: number;
  /**
   * Auto-accept coverage per pipeline: the share of records decided automatically, e.g. the latest calibration's
   * threshold coverage. A pipeline without one is not checked for staffing (a warning says so).
   */
  coverage?: Record<string, number | undefined>;
  /** How many on-call shifts to show per team (default 4). */
  shifts?: number;
}

/** A problem the check found. Team problems have pipeline and case_type null and name the team. */
export interface RunbookFinding {
  pipeline: string | null;
  case_type: string | null;
  team?: string;
  problem: string;
  fix: string;
}

export interface RunbookWarning {
  pipeline: string | null;
  case_type: string | null;
  message: string;
}

export interface RunbookCheck {
  ok: boolean;
  findings: RunbookFinding[];
  warnings: RunbookWarning[];
}

/**
 * The case types Airlock opens by itself, and when each can occur for a pipeline. Kept here because the runbook is
 * pure and src/review/cases.ts is not; a test holds the two lists together.
 */
export const RUNBOOK_BUILT_IN_CASE_TYPES: Record<string, { opensWhen: string; occurs: (p: PipelineConfig) => boolean }> = {
  low_confidence: {
    opensWhen: 'the calibrated confidence of a prediction is below the auto-accept threshold',
    occurs: () => true,
  },
  policy_review: {
    opensWhen: 'a routing rule (never_auto, review_when) sends the record to a person',
    occurs: (p) => p.routing.neverAuto.length > 0 || p.routing.reviewWhen.length > 0,
  },
  audit_sample: {
    opensWhen: 'an automatic decision is drawn for audit (routing.audit_rate)',
    occurs: (p) => p.routing.auditRate > 0,
  },
  model_failure: {
    opensWhen: 'the model refused a record or answered it with something invalid',
    occurs: () => true,
  },
  quarantine: {
    opensWhen: 'a record breaks its contract and the gate quarantines it',
    occurs: (p) => p.contract !== undefined,
  },
  schema_halt: {
    opensWhen: 'a structural change crossed gate.halt_after and the pipeline halted',
    occurs: (p) => p.contract !== undefined && Object.values(p.gate.policies).includes('halt'),
  },
  dead_letter: {
    opensWhen: 'a destination refused a delivery for good',
    occurs: (p) => Object.keys(p.destinations).length > 0,
  },
};

export interface RunbookCaseType {
  name: string;
  builtIn: boolean;
  configured: boolean;
  opensWhen?: string;
  owner?: string;
  backup?: string;
  priority: CaseTypeConfig['priority'];
  firstActionMs?: number;
  resolutionMs?: number;
  slaHours: CaseTypeConfig['slaHours'];
  reviews: CaseTypeConfig['reviews'];
  authority: ReturnType<typeof authorityMatrix>;
  limits: { field: string; actions: ReviewAction[]; caps: Record<'reviewer' | 'lead' | 'admin', number | null> }[];
  escalation?: {
    levels: { level: number; afterMs: number; notify: string[]; described: string[] }[];
    repeat: number;
    periodMs: number;
    onBreach: 'notify' | 'escalate';
  };
}

export interface RunbookPipeline {
  name: string;
  expectedPeak?: string;
  coverage?: number;
  /** Cases per hour expected at peak: (1 − coverage) × expected peak; undefined when either is unknown. */
  expectedReviewsPerHour?: number;
  caseTypes: RunbookCaseType[];
}

export interface RunbookTeam {
  name: string;
  members: string[];
  timezone: string;
  hours: string;
  upcomingHolidays: string[];
  capacityPerReviewerHour: number;
  capacityPerHour: number;
  /** The next shifts in the team's time zone; `from` null: now, before the rota starts. */
  onCall: { user: string; from: string | null; to: string }[];
  hasRota: boolean;
}

export interface RunbookAlert {
  alert: string;
  severity: 'critical' | 'warning' | 'info';
  means: string;
  owner: string;
  steps: string[];
  commands: string[];
}

export interface Runbook {
  generatedAt: string;
  /** The config file's name (no directory) and sha256. */
  config: { file?: string; hash?: string };
  pipelines: RunbookPipeline[];
  teams: RunbookTeam[];
  alerts: RunbookAlert[];
  check: RunbookCheck;
}

const HOUR_MS = 3_600_000;

/** `3h 30m`, `45m`, `2d 4h`, `1.5s` for people. */
export function humanDuration(ms: number): string {
  if (ms === 0) return '0m';
  if (ms < 60_000) return `${+(ms / 1000).toFixed(3)}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 60_000);
  const d = Math.floor(rest / 1440);
  rest -= d * 1440;
  const h = Math.floor(rest / 60);
  const m = rest - h * 60;
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  return parts.join(' ');
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** The case types of a pipeline the runbook covers: the built-in ones that can occur, then every configured one. */
export function runbookCaseTypes(p: PipelineConfig): { name: string; builtIn: boolean; occurs: boolean; config: CaseTypeConfig }[] {
  const out: { name: string; builtIn: boolean; occurs: boolean; config: CaseTypeConfig }[] = [];
  for (const [name, b] of Object.entries(RUNBOOK_BUILT_IN_CASE_TYPES)) {
    const occurs = b.occurs(p);
    const config = p.review.caseTypes[name];
    if (occurs || config) out.push({ name, builtIn: true, occurs, config: config ?? defaultCaseType() });
  }
  for (const [name, config] of Object.entries(p.review.caseTypes)) {
    if (!Object.hasOwn(RUNBOOK_BUILT_IN_CASE_TYPES, name)) out.push({ name, builtIn: false, occurs: true, config });
  }
  return out;
}

function yamlPath(pipeline: string, caseType: string, key?: string): string {
  return `pipelines.${pipeline}.review.case_types.${caseType}${key ? `.${key}` : ''}`;
}

/** Members of every team, for `user:` targets. */
function allMembers(teams: Record<string, TeamConfig>): Set<string> {
  return new Set(Object.values(teams).flatMap((t) => t.members));
}

function teamList(teams: Record<string, TeamConfig>): string {
  const names = Object.keys(teams);
  return names.length ? names.join(', ') : 'none: add a teams: block';
}

function perHour(rate: { count: number; intervalMs: number }): number {
  return (rate.count / rate.intervalMs) * HOUR_MS;
}

/** Checks the review setup of a config; see the module comment. Pure: the coverage comes in as an option. */
export function checkRunbook(config: RunbookConfig, options: Pick<RunbookOptions, 'coverage'> = {}): RunbookCheck {
  const findings: RunbookFinding[] = [];
  const warnings: RunbookWarning[] = [];
  const teams = config.teams;
  const members = allMembers(teams);

  for (const [pname, p] of Object.entries(config.pipelines)) {
    for (const ct of runbookCaseTypes(p)) {
      const add = (problem: string, fix: string) => findings.push({ pipeline: pname, case_type: ct.name, problem, fix });
      const c = ct.config;
      if (!c.configured) {
        add(
          `Airlock opens ${ct.name} cases for this pipeline (${RUNBOOK_BUILT_IN_CASE_TYPES[ct.name].opensWhen}), but the case type is not configured: no owner, no SLA, no escalation path`,
          `add ${yamlPath(pname, ct.name)} with owner, sla and escalation`,
        );
        continue;
      }
      if (!c.owner) add('has no owner team', `set ${yamlPath(pname, ct.name, 'owner')} to a team (${teamList(teams)})`);
      for (const key of ['owner', 'backup'] as const) {
        const team = c[key];
        if (team && !teams[team]) add(`${key} team "${team}" does not exist`, `add "${team}" to teams: or name one of: ${teamList(teams)}`);
        else if (team && teams[team].members.length === 0)
          add(`${key} team "${team}" has no members`, `add members to teams.${team}.members`);
      }
      if (c.slaMs === undefined) {
        add(
          'has no SLA (time to resolution)',
          `set ${yamlPath(pname, ct.name, 'sla')}, e.g. sla: 4h or sla: { first_action: 30m, resolution: 4h, hours: business }`,
        );
      }
      if (c.slaHours === 'business' && c.owner && teams[c.owner]) {
        const problem = calendarProblem(teams[c.owner]);
        if (problem)
          add(
            `counts its SLA in business hours, but the working hours of team ${c.owner} are unusable: ${problem}`,
            `fix teams.${c.owner}.working_hours`,
          );
      }
      if (!c.escalation || c.escalation.levels.length === 0) {
        add('has no escalation path', `add ${yamlPath(pname, ct.name, 'escalation')} with levels: [{ after: 30m, notify: [owner] }, …]`);
      } else {
        c.escalation.levels.forEach((level, i) => {
          for (const target of level.notify) {
            const problem = targetProblem(target, c, teams, members);
            if (problem) add(`escalation level ${i + 1} notifies ${target}, but ${problem}`, targetFix(target, teams));
          }
        });
      }
    }
  }

  for (const team of Object.values(teams)) {
    for (const outsider of rotaOutsiders(team)) {
      findings.push({
        pipeline: null,
        case_type: null,
        team: team.name,
        problem: `${outsider} is in the on-call rota of team ${team.name} but not one of its members`,
        fix: `add ${outsider} to teams.${team.name}.members, or take them out of teams.${team.name}.on_call.rotation`,
      });
    }
  }

  staffing(config, options.coverage ?? {}, findings, warnings);
  return { ok: findings.length === 0, findings, warnings };
}

/** Why a `notify` target cannot be resolved (a whole clause), or undefined when it can. */
function targetProblem(target: string, c: CaseTypeConfig, teams: Record<string, TeamConfig>, members: Set<string>): string | undefined {
  if (target === 'owner') return c.owner ? undefined : 'the case type has no owner team';
  if (target === 'backup') return c.backup ? undefined : 'the case type has no backup team';
  const colon = target.indexOf(':');
  const scheme = target.slice(0, colon);
  const name = target.slice(colon + 1);
  if (scheme === 'team' || scheme === 'oncall') {
    if (!teams[name]) return `team "${name}" does not exist (teams: ${teamList(teams)})`;
    return scheme === 'oncall' && !teams[name].onCall ? `team "${name}" has no on_call rota` : undefined;
  }
  if (scheme === 'user') {
    return members.has(name)
      ? undefined
      : `${name} is not a member of any team (the runbook cannot tell who that is or whether the account exists)`;
  }
  if (scheme === 'webhook') return /^https?:\/\/\S+$/.test(name) ? undefined : 'that is not an http(s) URL';
  return 'that is not a target (team:NAME, user:NAME, oncall:TEAM, webhook:URL, owner or backup)';
}

function targetFix(target: string, teams: Record<string, TeamConfig>): string {
  if (target === 'owner' || target === 'backup') return `set the case type's ${target}, or notify a team`;
  const name = target.slice(target.indexOf(':') + 1);
  if (target.startsWith('oncall:') && teams[name]) return `add teams.${name}.on_call { rotation, shift, starts }, or notify team:${name}`;
  if (target.startsWith('user:')) return `add ${name} to a team's members, or notify a team`;
  return `name an existing team (${teamList(teams)})`;
}

/**
 * Staffing at peak: expected review volume = (1 − auto-accept coverage) × launch.expected_peak, carried by the team
 * that owns low_confidence (the cases the threshold leaves to people), against members × capacity per working hour.
 * A team that owns low_confidence in several pipelines carries all of them.
 */
function staffing(
  config: RunbookConfig,
  coverage: Record<string, number | undefined>,
  findings: RunbookFinding[],
  warnings: RunbookWarning[],
): void {
  const load = new Map<string, { pipeline: string; perHour: number; coverage: number; peak: string }[]>();
  for (const [pname, p] of Object.entries(config.pipelines)) {
    const owner = p.review.caseTypes.low_confidence?.owner;
    const peak = p.launch.expectedPeak;
    const cov = coverage[pname];
    if (!peak) {
      warnings.push({ pipeline: pname, case_type: 'low_confidence', message: 'launch.expected_peak is not set: staffing was not checked' });
      continue;
    }
    if (cov === undefined || !Number.isFinite(cov)) {
      warnings.push({
        pipeline: pname,
        case_type: 'low_confidence',
        message:
          'the auto-accept coverage is unknown (no calibration yet): staffing was not checked; give it with --coverage PIPELINE=SHARE',
      });
      continue;
    }
    if (!owner || !config.teams[owner]) continue; // reported as a missing owner already
    const list = load.get(owner) ?? [];
    list.push({ pipeline: pname, perHour: (1 - Math.min(1, Math.max(0, cov))) * perHour(peak), coverage: cov, peak: peak.text });
    load.set(owner, list);
  }
  for (const [teamName, parts] of load) {
    const team = config.teams[teamName];
    const capacity = team.members.length * team.capacity;
    const total = parts.reduce((s, x) => s + x.perHour, 0);
    // A tolerance for floating point: (1 − 0.7) × 100 is 30.000000000000004.
    if (total <= capacity + 1e-9) continue;
    const reviewersNeeded = Math.ceil(total / team.capacity - 1e-9);
    const shared = parts.length > 1 ? ` (together with ${parts.map((x) => x.pipeline).join(', ')}: ${round1(total)}/h)` : '';
    for (const part of parts) {
      findings.push({
        pipeline: part.pipeline,
        case_type: 'low_confidence',
        team: teamName,
        problem:
          `staffing cannot keep up: at the expected peak of ${part.peak} with ${round1(part.coverage * 100)}% auto-accepted, ` +
          `${round1(part.perHour)} cases/h need review${shared}; team ${teamName} (${team.members.length} members × ${team.capacity}/h) resolves ${round1(capacity)}/h in its working hours`,
        fix: `give team ${teamName} ${reviewersNeeded} reviewers (it has ${team.members.length}), move the case type to a bigger team, or raise the auto-accept coverage (airlock calibrate)`,
      });
    }
  }
}

/** Builds the runbook (and runs the check). */
export function buildRunbook(config: RunbookConfig, options: RunbookOptions): Runbook {
  const coverage = options.coverage ?? {};
  const pipelines: RunbookPipeline[] = Object.entries(config.pipelines).map(([pname, p]) => {
    const cov = coverage[pname];
    const peak = p.launch.expectedPeak;
    return {
      name: pname,
      expectedPeak: peak?.text,
      coverage: cov,
      expectedReviewsPerHour: peak && cov !== undefined ? round1((1 - cov) * perHour(peak)) : undefined,
      caseTypes: runbookCaseTypes(p).map(({ name, builtIn, config: c }) => describeCaseType(name, builtIn, c)),
    };
  });
  const teams: RunbookTeam[] = Object.values(config.teams).map((t) => describeTeam(t, options.now, options.shifts ?? 4));
  return {
    generatedAt: new Date(options.now).toISOString(),
    config: { file: config.file?.split(/[\\/]/).pop(), hash: config.hash },
    pipelines,
    teams,
    alerts: alertPlaybook(config),
    check: checkRunbook(config, { coverage }),
  };
}

function describeCaseType(name: string, builtIn: boolean, c: CaseTypeConfig): RunbookCaseType {
  return {
    name,
    builtIn,
    configured: c.configured,
    opensWhen: builtIn ? RUNBOOK_BUILT_IN_CASE_TYPES[name]?.opensWhen : undefined,
    owner: c.owner,
    backup: c.backup,
    priority: c.priority,
    firstActionMs: c.firstActionMs,
    resolutionMs: c.slaMs,
    slaHours: c.slaHours,
    reviews: c.reviews,
    authority: authorityMatrix(c),
    limits: c.limits.map((l) => ({
      field: l.field,
      actions: l.actions,
      caps: {
        reviewer: finiteOrNull(effectiveMax(l, 'reviewer')),
        lead: finiteOrNull(effectiveMax(l, 'lead')),
        admin: finiteOrNull(effectiveMax(l, 'admin')),
      },
    })),
    escalation: c.escalation
      ? {
          levels: c.escalation.levels.map((l, i) => ({
            level: i + 1,
            afterMs: l.afterMs,
            notify: l.notify,
            described: l.notify.map((n) => describeTarget(n, c.owner, c.backup)),
          })),
          repeat: c.escalation.repeat,
          periodMs: escalationPeriod(c.escalation),
          onBreach: c.escalation.onBreach,
        }
      : undefined,
  };
}

const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

const DAY_ORDER = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_NAMES = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

/** `Mon–Fri`, `Mon–Wed, Sat`, `every day`. */
export function describeDays(days: readonly string[]): string {
  const idx = DAY_ORDER.map((d, i) => (days.includes(d) ? i : -1)).filter((i) => i >= 0);
  if (idx.length === 7) return 'every day';
  if (idx.length === 0) return 'no days';
  const runs: number[][] = [];
  for (const i of idx) {
    const last = runs[runs.length - 1];
    if (last && last[last.length - 1] === i - 1) last.push(i);
    else runs.push([i]);
  }
  return runs
    .flatMap((r) => (r.length >= 3 ? [`${DAY_NAMES[r[0]]}–${DAY_NAMES[r[r.length - 1]]}`] : r.map((i) => DAY_NAMES[i])))
    .join(', ');
}

function describeTeam(t: TeamConfig, now: number, count: number): RunbookTeam {
  const zoneOk = DateTime.local({ zone: t.timezone }).isValid;
  const zone = zoneOk ? t.timezone : 'UTC';
  const today = DateTime.fromMillis(now, { zone }).toISODate() ?? '';
  const fmt = (ms: number) => DateTime.fromMillis(ms, { zone }).toFormat('ccc yyyy-LL-dd HH:mm ZZ');
  const overnight = t.workingHours.end < t.workingHours.start;
  return {
    name: t.name,
    members: t.members,
    timezone: t.timezone,
    hours: `${describeDays(t.workingHours.days)} ${t.workingHours.start}–${t.workingHours.end}${overnight ? ' (the next day)' : ''}`,
    upcomingHolidays: [...t.holidays].filter((d) => d >= today).sort(),
    capacityPerReviewerHour: t.capacity,
    capacityPerHour: t.members.length * t.capacity,
    // The first shift also covers the time before the rota starts: shown from its start, or "now" before it.
    onCall: upcomingShifts(t, now, count).map((s) => ({
      user: s.user,
      from: s.from !== null ? fmt(s.from) : t.onCall && now >= t.onCall.starts ? fmt(t.onCall.starts) : null,
      to: fmt(s.to),
    })),
    hasRota: t.onCall !== undefined,
  };
}

/** Who owns a case type in each pipeline, for the alert playbook ("tickets: team support"). */
function ownersOf(config: RunbookConfig, caseType: string): string {
  const parts: string[] = [];
  for (const [pname, p] of Object.entries(config.pipelines)) {
    const rc = runbookCaseTypes(p).find((c) => c.name === caseType);
    if (!rc) continue;
    parts.push(`${pname}: ${rc.config.owner ? `team ${rc.config.owner}` : 'nobody (no owner configured)'}`);
  }
  return parts.length ? parts.join('; ') : 'no pipeline raises it';
}

/** What to do for each alert Airlock can raise. */
function alertPlaybook(config: RunbookConfig): RunbookAlert[] {
  const names = Object.keys(config.pipelines);
  const P = names.length === 1 ? names[0] : '<pipeline>';
  return [
    {
      alert: 'Pipeline halted on a schema change',
      severity: 'critical',
      means:
        'The same structural change (a new field, a changed type, a new enum value) reached gate.halt_after. Scoring has stopped in every process; ingest keeps storing records, which wait as halted. Nothing is lost.',
      owner: ownersOf(config, 'schema_halt'),
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
    },
    {
      alert: 'Quarantine growing',
      severity: 'warning',
      means:
        'Records break the contract in ways that are not structural (a missing field, a bad format, a value out of range) and wait for a person.',
      owner: ownersOf(config, 'quarantine'),
      steps: [
        'List the quarantined records by kind and field: one field with many violations is usually a producer bug — tell the producer.',
        'Release a record (re-checked against the contract in force), release a corrected copy, or discard it with a reason.',
      ],
      commands: [
        `airlock quarantine list --pipeline ${P}`,
        'airlock quarantine show ID',
        'airlock quarantine release ID [--edit fixed.json]',
        'airlock quarantine discard ID --reason "why"',
      ],
    },
    {
      alert: 'Deliveries are dead-lettering',
      severity: 'warning',
      means:
        'A destination refused a delivery for good (a 4xx that retrying cannot fix). The record waits in the dead letters; nothing was applied twice.',
      owner: ownersOf(config, 'dead_letter'),
      steps: [
        'List the dead letters and read the destination’s answer.',
        'Fix the cause (credentials, a field the destination rejects, a missing object on its side), then replay: the same idempotency key is sent, so a delivery that did land is not applied twice.',
      ],
      commands: [`airlock deliveries list --pipeline ${P}`, `airlock deliveries replay --pipeline ${P} ID`],
    },
    {
      alert: 'Circuit breaker open',
      severity: 'warning',
      means:
        'Too many deliveries to one destination failed in a short window; Airlock stopped sending to it for a while instead of piling on. Deliveries wait, with their retries scheduled.',
      owner: 'the team that runs the destination; the owner of dead_letter cases if deliveries start to dead-letter',
      steps: [
        'Check the destination’s status page, rate limits and credentials.',
        'Nothing to replay: after the open period a few probe deliveries go through, and when they succeed the breaker closes and the backlog drains at the rate limit.',
        'If it keeps re-opening, lower the destination’s rate_limit or concurrency in the config.',
      ],
      commands: [`airlock deliveries list --pipeline ${P}`],
    },
    {
      alert: 'Model unavailable',
      severity: 'critical',
      means:
        'The model failed several calls in a row (timeouts, 5xx, refused connections). Scoring is paused; records wait and nothing is lost.',
      owner: 'the team that runs the model',
      steps: ['Check the model endpoint (or the module’s logs).', 'Scoring resumes by itself when the model answers again.'],
      commands: [],
    },
    {
      alert: 'Drift',
      severity: 'warning',
      means:
        'The production data or the model’s confidence moved away from the reference window; accuracy may have dropped without anyone noticing.',
      owner: `the pipeline’s ML owner; reviewers of low_confidence see the effect first (${ownersOf(config, 'low_confidence')})`,
      steps: [
        'Look at which fields moved, and whether audit samples and reviewer verdicts still agree with the model.',
        'If accuracy dropped, re-calibrate on recent labelled verdicts: the new threshold waits for approval.',
      ],
      commands: [`airlock calibrate verdicts.jsonl --pipeline ${P}`],
    },
    {
      alert: 'SLA breach',
      severity: 'warning',
      means:
        'A case was not acted on, or not resolved, within its SLA. on_breach notify tells the owner team and its on-call; escalate also moves the case to the backup team.',
      owner: 'the case type’s owner team (see each case type above)',
      steps: [
        'Take the case now (the console’s “next case” gives the most urgent first).',
        'If breaches repeat, the team is short of people for the volume: run the check and compare the expected review volume with the team’s capacity.',
      ],
      commands: ['airlock runbook --check'],
    },
    {
      alert: 'Calibration change waiting for approval',
      severity: 'info',
      means:
        'A calibration proposed a new routing version (calibrator and auto-accept threshold with its guarantee). It does not route anything until someone approves it.',
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
    },
  ];
}

// ------------------------------------------------------------------------------------------- rendering

type Block =
  | { kind: 'heading'; level: 1 | 2 | 3 | 4; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[]; ordered?: boolean }
  | { kind: 'table'; head: string[]; rows: string[][] }
  | { kind: 'code'; text: string };

const ROLES_SHOWN = ['viewer', 'reviewer', 'lead', 'admin'] as const;

function slaText(ct: RunbookCaseType, owner?: RunbookTeam): string {
  if (ct.resolutionMs === undefined && ct.firstActionMs === undefined) return 'none';
  const parts: string[] = [];
  if (ct.firstActionMs !== undefined) parts.push(`first action within ${humanDuration(ct.firstActionMs)}`);
  if (ct.resolutionMs !== undefined) parts.push(`resolved within ${humanDuration(ct.resolutionMs)}`);
  const hours =
    ct.slaHours === 'business'
      ? `business hours${owner ? ` of team ${owner.name} (${owner.hours}, ${owner.timezone}; holidays excluded)` : ''}, paused while waiting for information`
      : 'calendar time, paused while waiting for information';
  return `${parts.join(', ')}; ${hours}`;
}

function caseTypeBlocks(p: RunbookPipeline, ct: RunbookCaseType, teams: Map<string, RunbookTeam>): Block[] {
  const blocks: Block[] = [{ kind: 'heading', level: 3, text: `\`${ct.name}\`${ct.builtIn ? '' : ' (custom)'}` }];
  const facts: string[] = [];
  if (ct.opensWhen) facts.push(`Opens when ${ct.opensWhen}.`);
  if (!ct.configured) facts.push(`**Not configured**: add \`pipelines.${p.name}.review.case_types.${ct.name}\`.`);
  facts.push(
    `Owner: ${ct.owner ? `team ${ct.owner}` : '**none**'}; backup: ${ct.backup ? `team ${ct.backup}` : 'none'}; priority ${ct.priority}.`,
  );
  facts.push(`SLA: ${slaText(ct, ct.owner ? teams.get(ct.owner) : undefined)}.`);
  facts.push(
    ct.reviews.required === 1
      ? 'Reviews: one reviewer decides.'
      : `Reviews: ${ct.reviews.required} reviewers, ${ct.reviews.agreement === 'unanimous' ? 'all must agree' : 'the majority decides'}; a lead adjudicates when they disagree.`,
  );
  blocks.push({ kind: 'list', items: facts });
  blocks.push({ kind: 'paragraph', text: 'Authority (what each role may do; limits from the record’s fields):' });
  blocks.push({
    kind: 'table',
    head: ['role', ...REVIEW_ACTIONS],
    rows: ct.authority
      .filter((r) => (ROLES_SHOWN as readonly string[]).includes(r.role))
      .map((r) => [r.role, ...REVIEW_ACTIONS.map((a) => r.actions[a])]),
  });
  if (ct.escalation) {
    const e = ct.escalation;
    blocks.push({ kind: 'paragraph', text: 'Escalation (delays from the case opening):' });
    blocks.push({
      kind: 'table',
      head: ['level', 'after', 'notify'],
      rows: e.levels.map((l) => [String(l.level), humanDuration(l.afterMs), l.described.join(', ')]),
    });
    const repeat =
      e.repeat > 0 && e.periodMs > 0
        ? `The chain repeats ${e.repeat} more time${e.repeat === 1 ? '' : 's'}, every ${humanDuration(e.periodMs)}.`
        : 'The chain runs once.';
    const breach =
      e.onBreach === 'escalate'
        ? `On an SLA breach: the owner team and its on-call are told, and the case moves to ${ct.backup ? `team ${ct.backup}` : 'the backup team (none set)'}.`
        : 'On an SLA breach: the owner team and its on-call are told.';
    blocks.push({ kind: 'paragraph', text: `${repeat} ${breach}` });
  } else {
    blocks.push({ kind: 'paragraph', text: '**No escalation path**: nobody is told when these cases wait.' });
  }
  return blocks;
}

function runbookBlocks(rb: Runbook): Block[] {
  const blocks: Block[] = [];
  const file = rb.config.file;
  blocks.push({ kind: 'heading', level: 1, text: `Airlock runbook${file ? ` — ${file}` : ''}` });
  blocks.push({
    kind: 'paragraph',
    text: `Generated ${rb.generatedAt}${rb.config.hash ? ` from config sha256 \`${rb.config.hash.slice(0, 12)}\`` : ''} by \`airlock runbook\`. It is made from the same config that Airlock enforces: regenerate it after every change to the config, and do not edit it by hand.`,
  });

  blocks.push({ kind: 'heading', level: 2, text: 'Check' });
  if (rb.check.ok)
    blocks.push({
      kind: 'paragraph',
      text: 'No problems found: every case type has an owner, an SLA and an escalation path whose targets exist.',
    });
  else {
    blocks.push({
      kind: 'paragraph',
      text: `**${rb.check.findings.length} problem${rb.check.findings.length === 1 ? '' : 's'}** (\`airlock runbook --check\` fails):`,
    });
    blocks.push({ kind: 'list', items: rb.check.findings.map((f) => `${findingWhere(f)}: ${f.problem}. Fix: ${f.fix}.`) });
  }
  if (rb.check.warnings.length > 0) {
    blocks.push({ kind: 'paragraph', text: 'Warnings:' });
    blocks.push({ kind: 'list', items: rb.check.warnings.map((w) => `${findingWhere(w)}: ${w.message}.`) });
  }

  const teams = new Map(rb.teams.map((t) => [t.name, t]));
  for (const p of rb.pipelines) {
    blocks.push({ kind: 'heading', level: 2, text: `Pipeline \`${p.name}\`` });
    const load =
      p.expectedReviewsPerHour !== undefined
        ? `Expected review volume at peak: ${p.expectedReviewsPerHour} cases/h ((1 − ${round1((p.coverage ?? 0) * 100)}% auto-accepted) × ${p.expectedPeak}).`
        : `Expected review volume at peak: unknown (${p.expectedPeak ? 'no auto-accept coverage yet' : 'launch.expected_peak not set'}).`;
    blocks.push({ kind: 'paragraph', text: load });
    blocks.push({
      kind: 'table',
      head: ['case type', 'owner', 'backup', 'priority', 'first action', 'resolution', 'hours', 'reviews'],
      rows: p.caseTypes.map((ct) => [
        `\`${ct.name}\``,
        ct.owner ?? '**none**',
        ct.backup ?? '—',
        ct.priority,
        ct.firstActionMs === undefined ? '—' : humanDuration(ct.firstActionMs),
        ct.resolutionMs === undefined ? '**none**' : humanDuration(ct.resolutionMs),
        ct.slaHours,
        `${ct.reviews.required}${ct.reviews.required > 1 ? ` (${ct.reviews.agreement})` : ''}`,
      ]),
    });
    for (const ct of p.caseTypes) blocks.push(...caseTypeBlocks(p, ct, teams));
  }

  blocks.push({ kind: 'heading', level: 2, text: 'Teams and on call' });
  if (rb.teams.length === 0) blocks.push({ kind: 'paragraph', text: '**No teams are configured** (`teams:`): no case has an owner.' });
  for (const t of rb.teams) {
    blocks.push({ kind: 'heading', level: 3, text: t.name });
    blocks.push({
      kind: 'list',
      items: [
        `Members: ${t.members.length ? t.members.join(', ') : '**none**'}.`,
        `Working hours: ${t.hours}, ${t.timezone}.`,
        `Holidays ahead: ${t.upcomingHolidays.length ? t.upcomingHolidays.join(', ') : 'none listed'}.`,
        `Capacity: ${t.members.length} × ${t.capacityPerReviewerHour} cases per reviewer-hour = ${t.capacityPerHour} cases/h in working hours.`,
      ],
    });
    if (t.hasRota) {
      blocks.push({ kind: 'paragraph', text: `On call (the next ${t.onCall.length} shifts):` });
      blocks.push({
        kind: 'table',
        head: ['who', 'from', 'until'],
        rows: t.onCall.map((s) => [s.user, s.from ?? 'now (before the rota starts)', s.to]),
      });
    } else {
      blocks.push({ kind: 'paragraph', text: 'No on-call rota: outside working hours nobody in this team is paged.' });
    }
  }

  blocks.push({ kind: 'heading', level: 2, text: 'Alerts and what to do' });
  for (const a of rb.alerts) {
    blocks.push({ kind: 'heading', level: 3, text: `${a.alert} (${a.severity})` });
    blocks.push({ kind: 'paragraph', text: `${a.means} Who: ${a.owner}.` });
    blocks.push({ kind: 'list', items: a.steps, ordered: true });
    if (a.commands.length) blocks.push({ kind: 'code', text: a.commands.join('\n') });
  }
  return blocks;
}

function findingWhere(f: { pipeline: string | null; case_type: string | null; team?: string }): string {
  if (f.pipeline && f.case_type) return `\`${f.pipeline}\` / \`${f.case_type}\``;
  if (f.pipeline) return `\`${f.pipeline}\``;
  if (f.team) return `team \`${f.team}\``;
  return 'config';
}

/** The runbook as Markdown. */
export function renderRunbookMarkdown(rb: Runbook): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const out: string[] = [];
  for (const b of runbookBlocks(rb)) {
    switch (b.kind) {
      case 'heading':
        out.push(`${'#'.repeat(b.level)} ${b.text}`);
        break;
      case 'paragraph':
        out.push(b.text);
        break;
      case 'list':
        out.push(b.items.map((item, i) => `${b.ordered ? `${i + 1}.` : '-'} ${item}`).join('\n'));
        break;
      case 'table':
        out.push(
          [
            `| ${b.head.map(cell).join(' | ')} |`,
            `|${b.head.map(() => '---').join('|')}|`,
            ...b.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
          ].join('\n'),
        );
        break;
      case 'code':
        out.push(`\`\`\`sh\n${b.text}\n\`\`\``);
        break;
    }
  }
  return `${out.join('\n\n')}\n`;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Inline `code` and **bold**, after escaping. */
function inlineHtml(s: string): string {
  return escapeHtml(s)
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

/** The runbook as one self-contained HTML page. */
export function renderRunbookHtml(rb: Runbook): string {
  const body: string[] = [];
  for (const b of runbookBlocks(rb)) {
    switch (b.kind) {
      case 'heading':
        body.push(`<h${b.level}>${inlineHtml(b.text)}</h${b.level}>`);
        break;
      case 'paragraph':
        body.push(`<p>${inlineHtml(b.text)}</p>`);
        break;
      case 'list': {
        const tag = b.ordered ? 'ol' : 'ul';
        body.push(`<${tag}>${b.items.map((i) => `<li>${inlineHtml(i)}</li>`).join('')}</${tag}>`);
        break;
      }
      case 'table':
        body.push(
          `<table><thead><tr>${b.head.map((h) => `<th>${inlineHtml(h)}</th>`).join('')}</tr></thead><tbody>${b.rows
            .map((r) => `<tr>${r.map((c) => `<td>${inlineHtml(c)}</td>`).join('')}</tr>`)
            .join('')}</tbody></table>`,
        );
        break;
      case 'code':
        body.push(`<pre><code>${escapeHtml(b.text)}</code></pre>`);
        break;
    }
  }
  const style =
    'body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}' +
    'table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}' +
    'th{background:#f4f4f4}code{background:#f4f4f4;padding:0 .2rem}pre{background:#f4f4f4;padding:.5rem;overflow:auto}' +
    'h2{border-bottom:1px solid #ddd;margin-top:2rem}';
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Airlock runbook</title>\n<style>${style}</style>\n</head>\n<body>\n${body.join('\n')}\n</body>\n</html>\n`;
}
