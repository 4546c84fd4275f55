/**
 * Escalation and breach planning (pure). The server asks "what is due now?" and records what it fired; the
 * planner never answers with a step the caller has recorded, so a second call, a second process (the caller's
 * unique key on (case, repeat, level) decides who sends it) or a clock jump never sends a step twice.
 *
 * The policy (`case_types.T.escalation`), in the manner of PagerDuty's escalation policies:
 * - level i fires `after_i` from the case opening; levels are numbered by their place in the config;
 * - the chain runs `1 + repeat` times. A repeat starts when the last level (largest `after`) has waited as long as
 *   the gap before it: period = last + (last − second last), or `after` itself with a single level. With levels at
 *   0m, 30m and 2h the period is 3h30m, so the second round fires at 3h30m, 4h and 5h30m. A chain whose period is
 *   0 (one level at 0m) does not repeat;
 * - delays count on the case's SLA clock when the caller passes `pauses` and `calendar` (the clock stops while the
 *   case waits for information; business hours skip nights and weekends), else in calendar time.
 */
import type { CaseTypeConfig } from '../config/sections/review.js';
import type { TeamConfig } from '../config/sections/teams.js';
import { type CalendarLike, type ClockPause, slaCalendar, slaDue } from './calendar.js';
import { onCallAt } from './oncall.js';

export type EscalationPolicy = NonNullable<CaseTypeConfig['escalation']>;

/** A notification target resolved to people, a team or a webhook. `via` is the target as the config wrote it. */
export type ResolvedTarget =
  | { kind: 'user'; user: string; via: string }
  | { kind: 'team'; team: string; members: string[]; via: string }
  | { kind: 'webhook'; url: string; via: string }
  | { kind: 'unresolved'; via: string; reason: string };

export interface TargetContext {
  teams: Record<string, TeamConfig>;
  /** The case's owner team (target `owner`) and backup team (target `backup`). */
  owner?: string;
  backup?: string;
  /** When the notification goes out: decides who is on call. */
  at: number;
}

/** Resolves one `notify` entry: `team:NAME`, `user:NAME`, `oncall:TEAM`, `webhook:URL`, `owner` or `backup`. */
export function resolveTarget(target: string, ctx: TargetContext): ResolvedTarget {
  const team = (name: string | undefined, what: string): ResolvedTarget => {
    if (!name) return { kind: 'unresolved', via: target, reason: `the case type has no ${what} team` };
    const t = ctx.teams[name];
    if (!t) return { kind: 'unresolved', via: target, reason: `team "${name}" is not in teams:` };
    return { kind: 'team', team: name, members: [...t.members], via: target };
  };
  if (target === 'owner') return team(ctx.owner, 'owner');
  if (target === 'backup') return team(ctx.backup, 'backup');
  const colon = target.indexOf(':');
  const scheme = colon < 0 ? '' : target.slice(0, colon);
  const rest = colon < 0 ? '' : target.slice(colon + 1);
  switch (scheme) {
    case 'team':
      return team(rest, 'named');
    case 'user':
      return rest ? { kind: 'user', user: rest, via: target } : { kind: 'unresolved', via: target, reason: 'no user name' };
    case 'oncall': {
      const t = ctx.teams[rest];
      if (!t) return { kind: 'unresolved', via: target, reason: `team "${rest}" is not in teams:` };
      const user = onCallAt(t, ctx.at);
      if (!user) return { kind: 'unresolved', via: target, reason: `team "${rest}" has no on_call rota` };
      return { kind: 'user', user, via: target };
    }
    case 'webhook':
      return /^https?:\/\/\S+$/.test(rest)
        ? { kind: 'webhook', url: rest, via: target }
        : { kind: 'unresolved', via: target, reason: 'not an http(s) URL' };
    default:
      return { kind: 'unresolved', via: target, reason: 'expected team:NAME, user:NAME, oncall:TEAM, webhook:URL, owner or backup' };
  }
}

/** The time from one round's start to the next's (ms); 0: the chain does not repeat. */
export function escalationPeriod(policy: EscalationPolicy): number {
  const afters = policy.levels.map((l) => l.afterMs).sort((a, b) => a - b);
  if (afters.length === 0) return 0;
  const last = afters[afters.length - 1];
  return afters.length === 1 ? last : last + (last - afters[afters.length - 2]);
}

/** Every step of a policy with its delay on the clock, in firing order. */
export function escalationSchedule(policy: EscalationPolicy): { repeat: number; level: number; offsetMs: number; notify: string[] }[] {
  const period = escalationPeriod(policy);
  const rounds = period > 0 ? 1 + Math.max(0, policy.repeat) : 1;
  const out: { repeat: number; level: number; offsetMs: number; notify: string[] }[] = [];
  for (let r = 0; r < rounds; r++) {
    policy.levels.forEach((l, i) => {
      out.push({ repeat: r, level: i, offsetMs: r * period + l.afterMs, notify: [...l.notify] });
    });
  }
  return out.sort((a, b) => a.offsetMs - b.offsetMs || a.repeat - b.repeat || a.level - b.level);
}

/** The key the caller records a fired step under (with the case id). */
export function stepKey(step: { repeat: number; level: number }): string {
  return `${step.repeat}:${step.level}`;
}

export interface EscalationStep {
  repeat: number;
  level: number;
  /** `repeat:level`, see stepKey. */
  key: string;
  dueAt: number;
  notify: string[];
  targets: ResolvedTarget[];
}

export interface PlanEscalationInput {
  openedAt: number;
  now: number;
  policy: EscalationPolicy | undefined;
  /** The steps already fired for this case. */
  fired: Iterable<{ repeat: number; level: number }>;
  teams: Record<string, TeamConfig>;
  owner?: string;
  backup?: string;
  /** Pauses of the case's clock (waiting for information); none by default. */
  pauses?: readonly ClockPause[];
  /** The calendar the delays count in; default calendar time. */
  calendar?: CalendarLike;
}

function dueTimes(input: PlanEscalationInput): { repeat: number; level: number; notify: string[]; dueAt: number | null }[] {
  if (!input.policy) return [];
  return escalationSchedule(input.policy).map((s) => ({
    ...s,
    dueAt: slaDue(input.openedAt, input.pauses ?? [], s.offsetMs, input.calendar ?? null),
  }));
}

/**
 * The escalation steps due at `now` that have not fired: every step whose time has come, in order (after a clock
 * jump or an outage several may be due at once; each is returned once, and none again once recorded). Targets are
 * resolved at `now` (who is on call now).
 */
export function planEscalation(input: PlanEscalationInput): EscalationStep[] {
  const fired = new Set([...input.fired].map(stepKey));
  const ctx: TargetContext = { teams: input.teams, owner: input.owner, backup: input.backup, at: input.now };
  return dueTimes(input)
    .filter((s): s is typeof s & { dueAt: number } => s.dueAt !== null && s.dueAt <= input.now && !fired.has(stepKey(s)))
    .map((s) => ({
      repeat: s.repeat,
      level: s.level,
      key: stepKey(s),
      dueAt: s.dueAt,
      notify: s.notify,
      targets: s.notify.map((n) => resolveTarget(n, ctx)),
    }));
}

/** When the next step not yet fired is due (to schedule the next look), or null when none is left or the clock is paused. */
export function nextEscalationAt(input: Omit<PlanEscalationInput, 'now'>): number | null {
  const fired = new Set([...input.fired].map(stepKey));
  let next: number | null = null;
  for (const s of dueTimes({ ...input, now: 0 })) {
    if (s.dueAt === null || fired.has(stepKey(s))) continue;
    if (next === null || s.dueAt < next) next = s.dueAt;
  }
  return next;
}

export type BreachKind = 'first_action' | 'resolution';

export interface SlaInput {
  openedAt: number;
  caseType: Pick<CaseTypeConfig, 'slaMs' | 'firstActionMs' | 'slaHours' | 'owner'>;
  teams: Record<string, TeamConfig>;
  pauses?: readonly ClockPause[];
  /** Default: the owner team's hours for business SLAs (slaCalendar), else calendar time. */
  calendar?: CalendarLike;
}

/** The case's deadlines: undefined when the case type has no such target, null while the clock is paused. */
export function slaDeadlines(input: SlaInput): { firstAction: number | null | undefined; resolution: number | null | undefined } {
  const calendar = input.calendar === undefined ? slaCalendar(input.caseType, input.teams) : input.calendar;
  const due = (ms: number | undefined) => (ms === undefined ? undefined : slaDue(input.openedAt, input.pauses ?? [], ms, calendar));
  return { firstAction: due(input.caseType.firstActionMs), resolution: due(input.caseType.slaMs) };
}

export interface Breach {
  kind: BreachKind;
  /** The deadline that passed (the breach happened then). */
  dueAt: number;
}

export interface BreachPlan {
  /** New breaches: deadlines passed without the action, not yet in `notified`. */
  breaches: Breach[];
  /** What on_breach says (notify when the case type has no escalation policy). */
  onBreach: 'notify' | 'escalate';
  /** Who to tell: the owner team and its on-call person (empty when there is no breach). */
  notify: ResolvedTarget[];
  /** With on_breach escalate: the team the case moves to (the backup), when it has one. */
  moveTo?: string;
}

export interface PlanBreachesInput extends SlaInput {
  now: number;
  caseType: Pick<CaseTypeConfig, 'slaMs' | 'firstActionMs' | 'slaHours' | 'owner' | 'backup' | 'escalation'>;
  /** When the first person acted on the case (null: nobody yet). */
  firstActionAt?: number | null;
  resolvedAt?: number | null;
  /** Breaches already handled for this case (the caller records them keyed by (case, kind)). */
  notified?: Iterable<BreachKind>;
  /** The case's owner now, when it moved (default the case type's owner). */
  owner?: string;
}

/**
 * Breach detection: a deadline breaches when it has passed (strictly before `now`) and the action it waits for did
 * not happen by then (or happened late). Each kind is reported once: kinds in `notified` are left out.
 * on_breach notify: tell the owner team and whoever is on call for it; escalate: also move the case to the backup.
 */
export function planBreaches(input: PlanBreachesInput): BreachPlan {
  const done = new Set(input.notified ?? []);
  const deadlines = slaDeadlines(input);
  const breaches: Breach[] = [];
  const check = (kind: BreachKind, due: number | null | undefined, doneAt: number | null | undefined) => {
    if (due === null || due === undefined || done.has(kind)) return;
    const at = doneAt ?? input.now;
    if (at > due && input.now > due) breaches.push({ kind, dueAt: due });
  };
  check('first_action', deadlines.firstAction, input.firstActionAt);
  check('resolution', deadlines.resolution, input.resolvedAt);
  const onBreach = input.caseType.escalation?.onBreach ?? 'notify';
  const owner = input.owner ?? input.caseType.owner;
  const ctx: TargetContext = { teams: input.teams, owner, backup: input.caseType.backup, at: input.now };
  const notify: ResolvedTarget[] = [];
  if (breaches.length > 0) {
    notify.push(resolveTarget('owner', ctx));
    if (owner && input.teams[owner]?.onCall) notify.push(resolveTarget(`oncall:${owner}`, ctx));
  }
  const moveTo =
    breaches.length > 0 && onBreach === 'escalate' && input.caseType.backup && input.caseType.backup !== owner
      ? input.caseType.backup
      : undefined;
  return { breaches, onBreach, notify, ...(moveTo ? { moveTo } : {}) };
}

/** Describes a target for people (runbook, console): `oncall:support` → "whoever is on call for support". */
export function describeTarget(target: string, owner?: string, backup?: string): string {
  if (target === 'owner') return owner ? `the owner team (${owner})` : 'the owner team (none set)';
  if (target === 'backup') return backup ? `the backup team (${backup})` : 'the backup team (none set)';
  const colon = target.indexOf(':');
  const scheme = target.slice(0, colon);
  const rest = target.slice(colon + 1);
  if (scheme === 'team') return `team ${rest}`;
  if (scheme === 'user') return `user ${rest}`;
  if (scheme === 'oncall') return `whoever is on call for ${rest}`;
  if (scheme === 'webhook') return `webhook ${webhookHost(rest)}`;
  return target;
}

/** A webhook's host only: the rest of its URL may carry a secret (`${SLACK_WEBHOOK_URL}`), so it is never printed. */
export function webhookHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(not a URL)';
  }
}
