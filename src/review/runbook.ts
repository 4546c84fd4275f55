/**
 * The operational runbook, generated from the config (pure: config in, document out).
 *
 * Per pipeline and case type: owner and backup, SLA, required reviews, authority matrix, escalation path; per team:
 * members, working hours, capacity and who is on call when; per alert Airlock raises (src/alerts/catalog.ts): what to
 * do. It carries its check (src/review/runbook-check.ts); src/review/runbook-render.ts writes it as Markdown or HTML.
 */
import { DateTime } from 'luxon';
import { ALERTS, type AlertSeverity } from '../alerts/catalog.js';
import type { CaseTypeConfig, ReviewAction } from '../config/sections/review.js';
import type { TeamConfig } from '../config/sections/teams.js';
import { authorityMatrix, effectiveMax } from './authority.js';
import { caseTypeDefinition, pipelineCaseTypes } from './case-types.js';
import { describeTarget, escalationPeriod } from './escalation.js';
import { upcomingShifts } from './oncall.js';
import { checkRunbook, perHour, type RunbookCheck, type RunbookConfig, round1 } from './runbook-check.js';

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
  severity: AlertSeverity;
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
      caseTypes: pipelineCaseTypes(p).map(({ name, builtIn, config: c }) => describeCaseType(name, builtIn, c)),
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
    opensWhen: builtIn ? caseTypeDefinition(name).opensWhen : undefined,
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
    const rc = pipelineCaseTypes(p).find((c) => c.name === caseType);
    if (!rc) continue;
    parts.push(`${pname}: ${rc.config.owner ? `team ${rc.config.owner}` : 'nobody (no owner configured)'}`);
  }
  return parts.length ? parts.join('; ') : 'no pipeline raises it';
}

/** What to do for each alert Airlock can raise: the catalog's playbooks, for this config's pipelines and owners. */
function alertPlaybook(config: RunbookConfig): RunbookAlert[] {
  const names = Object.keys(config.pipelines);
  const ctx = { pipeline: names.length === 1 ? names[0] : '<pipeline>', ownersOf: (caseType: string) => ownersOf(config, caseType) };
  return Object.values(ALERTS).map((a) => ({ alert: a.name, severity: a.severity, ...a.playbook(ctx) }));
}
