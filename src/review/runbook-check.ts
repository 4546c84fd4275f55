/**
 * The runbook's check (pure: config in, findings out): what would leave a case without a person. A case type without
 * owner, SLA or escalation path, a target or team that does not exist, a rota of outsiders, and a team that cannot
 * keep up with the expected review volume at peak. `airlock runbook --check` prints it; readiness cites it.
 */
import type { AirlockConfig } from '../config/airlock-config.js';
import type { CaseTypeConfig } from '../config/sections/review.js';
import type { TeamConfig } from '../config/sections/teams.js';
import { calendarProblem } from './calendar.js';
import { caseTypeDefinition, pipelineCaseTypes } from './case-types.js';
import { rotaOutsiders } from './oncall.js';

/** The parts of the config the runbook reads. */
export type RunbookConfig = Pick<AirlockConfig, 'teams' | 'pipelines'> & { file?: string; hash?: string };

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

const HOUR_MS = 3_600_000;

/** Cases per hour of a rate (`100/h`, `1/s`). */
export function perHour(rate: { count: number; intervalMs: number }): number {
  return (rate.count / rate.intervalMs) * HOUR_MS;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;

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

/**
 * Checks the review setup of a config; see the module comment. `coverage`: the auto-accept share per pipeline (e.g.
 * the latest calibration's); a pipeline without one is not checked for staffing (a warning says so).
 */
export function checkRunbook(config: RunbookConfig, options: { coverage?: Record<string, number | undefined> } = {}): RunbookCheck {
  const findings: RunbookFinding[] = [];
  const warnings: RunbookWarning[] = [];
  const teams = config.teams;
  const members = allMembers(teams);

  for (const [pname, p] of Object.entries(config.pipelines)) {
    for (const ct of pipelineCaseTypes(p)) {
      const add = (problem: string, fix: string) => findings.push({ pipeline: pname, case_type: ct.name, problem, fix });
      const c = ct.config;
      if (!c.configured) {
        add(
          `Airlock opens ${ct.name} cases for this pipeline (${caseTypeDefinition(ct.name).opensWhen}), but the case type is not configured: no owner, no SLA, no escalation path`,
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
