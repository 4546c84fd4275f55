/**
 * A pipeline's `review:`: its case types, each with an owner team, priority, SLA, reviews, what each role may do,
 * limits and an escalation chain. Built-in case types the config does not name get the same defaults.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { ResolveContext, SettingPath } from '../problems.js';
import { parseDuration } from '../units.js';
import { choice, defaultBlock, duration, EXPECTED, mapOf, withDefault } from './kinds.js';
import type { TeamConfig } from './teams.js';

export type ReviewAction = 'approve' | 'relabel' | 'reject' | 'request_info' | 'escalate';
export type Role = 'admin' | 'lead' | 'reviewer' | 'viewer';
export const REVIEW_ACTIONS: readonly ReviewAction[] = ['approve', 'relabel', 'reject', 'request_info', 'escalate'];

const actionList = (description: string) =>
  Type.Array(choice(REVIEW_ACTIONS as readonly ReviewAction[], { [EXPECTED]: REVIEW_ACTIONS.join(', ') }), {
    uniqueItems: true,
    description,
  });

/** The `{ first_action, resolution, hours }` form of `sla:`. */
const slaTargets = Type.Object(
  {
    first_action: Type.Optional(duration("Time from the case opening to a reviewer's first action.")),
    resolution: Type.Optional(duration('Time from the case opening to its resolution.')),
    hours: withDefault(
      choice(['calendar', 'business'], {
        description: "calendar: every hour counts; business: only the owner team's working hours.",
        [EXPECTED]: 'calendar or business',
      }),
      'calendar',
    ),
  },
  { additionalProperties: false },
);

const caseTypeSettings = Type.Object(
  {
    owner: Type.Optional(Type.String({ description: 'The team (from `teams:`) that owns cases of this type.' })),
    backup: Type.Optional(Type.String({ description: 'The team that takes over when the owner cannot (escalation target `backup`).' })),
    priority: withDefault(
      choice(['critical', 'high', 'normal', 'low'], {
        description: 'Cases of higher priority are claimed first.',
        [EXPECTED]: 'critical, high, normal or low',
      }),
      'normal',
    ),
    sla: Type.Optional(
      Type.Unsafe<string | Static<typeof slaTargets>>({
        description:
          "Time to resolution as a duration (calendar time), or { first_action, resolution, hours: business|calendar }. Business hours are the owner team's working hours, holidays excluded; the clock pauses while a case waits for information.",
        [EXPECTED]: 'a duration like 4h, or { first_action, resolution, hours }',
        oneOf: [duration('Time to resolution (calendar time).'), slaTargets],
      }),
    ),
    reviews: defaultBlock(
      Type.Object(
        {
          required: withDefault(Type.Integer({ minimum: 1, maximum: 9, description: 'People who review each case.' }), 1),
          agreement: withDefault(
            choice(['unanimous', 'majority'], {
              description: 'unanimous: all `required` verdicts must agree; majority: the majority decides. A lead adjudicates otherwise.',
              [EXPECTED]: 'unanimous or majority',
            }),
            'unanimous',
          ),
        },
        { additionalProperties: false, description: 'How many people must review a case, and what happens when they disagree.' },
      ),
    ),
    actions: defaultBlock(
      Type.Object(
        {
          reviewer: withDefault(actionList('What reviewers may do.'), [...REVIEW_ACTIONS]),
          lead: withDefault(actionList('What leads may do.'), [...REVIEW_ACTIONS]),
          admin: withDefault(actionList('What admins may do.'), [...REVIEW_ACTIONS]),
        },
        {
          additionalProperties: false,
          description:
            'What each role may do with cases of this type (default: reviewers, leads and admins may do everything; viewers nothing).',
        },
      ),
    ),
    limits: withDefault(
      Type.Array(
        Type.Object(
          {
            field: Type.String({ minLength: 1, description: 'Dotted path of a number in the record.' }),
            actions: withDefault(actionList('The actions the limit applies to.'), ['approve', 'relabel']),
            reviewer: Type.Optional(Type.Number({ description: 'The largest value a reviewer may decide.' })),
            lead: Type.Optional(Type.Number({ description: 'The largest value a lead may decide.' })),
            admin: Type.Optional(Type.Number({ description: 'The largest value an admin may decide.' })),
          },
          { additionalProperties: false },
        ),
        {
          description: 'Limits on deciding actions by a field of the record, per role (e.g. { field: amount, reviewer: 500, lead: 5000 }).',
        },
      ),
      [],
    ),
    escalation: Type.Optional(
      Type.Object(
        {
          levels: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  after: duration('Delay from the case opening (or the previous repeat of the chain).'),
                  notify: Type.Array(
                    Type.String({
                      pattern: '^(team:|user:|oncall:|webhook:)|^(owner|backup)$',
                      [EXPECTED]: 'team:NAME, user:NAME, oncall:TEAM, webhook:URL, owner or backup',
                    }),
                    { minItems: 1, description: 'Who is told: team:NAME, user:NAME, oncall:TEAM, webhook:URL, owner or backup.' },
                  ),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, description: 'The levels, in the order they fire.' },
            ),
          ),
          repeat: withDefault(
            Type.Integer({ minimum: 0, maximum: 10, description: 'Times the whole chain runs again after its last level.' }),
            0,
          ),
          on_breach: withDefault(
            choice(['escalate', 'notify'], {
              description:
                'On an SLA breach: notify the owner and the on-call (notify), or also move the case to the backup team (escalate).',
            }),
            'notify',
          ),
        },
        {
          additionalProperties: false,
          description:
            'Escalation policy, in the manner of PagerDuty: levels fire in order, each after its delay from the case opening; the whole chain repeats `repeat` times.',
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'One case type: who owns its cases, how fast they are due, who may decide them.' },
);

export const reviewSettings = Type.Object(
  {
    case_types: withDefault(
      mapOf(caseTypeSettings, {
        description:
          'Case types by name: the built-in ones (low_confidence, model_failure, quarantine, schema_halt, dead_letter, audit_sample, …) or your own.',
      }),
      {},
    ),
  },
  { additionalProperties: false, description: 'The human review queue of this pipeline.' },
);

type ReviewSettings = Static<typeof reviewSettings>;
type CaseTypeSettings = Static<typeof caseTypeSettings>;

/** One case type, resolved. */
export interface CaseTypeConfig {
  owner?: string;
  backup?: string;
  priority: 'critical' | 'high' | 'normal' | 'low';
  /** Time to resolution (ms); undefined: no SLA. */
  slaMs?: number;
  /** Time to first action (ms). */
  firstActionMs?: number;
  /** Whether the SLA counts calendar time or the owner team's business hours. */
  slaHours: 'calendar' | 'business';
  reviews: { required: number; agreement: 'unanimous' | 'majority' };
  /** Actions per role; viewers have none. */
  actions: Record<Exclude<Role, 'viewer'>, ReviewAction[]>;
  limits: { field: string; actions: ReviewAction[]; max: Partial<Record<Exclude<Role, 'viewer'>, number>> }[];
  escalation?: { levels: { afterMs: number; notify: string[] }[]; repeat: number; onBreach: 'escalate' | 'notify' };
  /** True when the config names this case type (false: a built-in type with defaults). */
  configured: boolean;
  /** With `hours: business`: the owner team whose working hours the SLA counts in. */
  calendarTeam?: TeamConfig;
}

/** `review:`, resolved. */
export interface ReviewConfig {
  caseTypes: Record<string, CaseTypeConfig>;
}

/** The settings a case type has when the config does not name it: the schema's defaults. */
export function defaultCaseType(): CaseTypeConfig {
  return { ...resolveCaseType(Value.Default(caseTypeSettings, {}) as CaseTypeSettings), configured: false };
}

/** Resolves one case type (durations parsed). */
function resolveCaseType(c: CaseTypeSettings): CaseTypeConfig {
  const sla: Partial<Static<typeof slaTargets>> | undefined = typeof c.sla === 'string' ? { resolution: c.sla } : c.sla;
  return {
    ...(c.owner !== undefined ? { owner: c.owner } : {}),
    ...(c.backup !== undefined ? { backup: c.backup } : {}),
    priority: c.priority,
    ...(sla?.resolution ? { slaMs: parseDuration(sla.resolution) } : {}),
    ...(sla?.first_action ? { firstActionMs: parseDuration(sla.first_action) } : {}),
    // The validator fills no default inside a oneOf (either form of `sla:`): the declaration's default is read here.
    slaHours: sla?.hours ?? slaTargets.properties.hours.default,
    reviews: { required: c.reviews.required, agreement: c.reviews.agreement },
    actions: { reviewer: c.actions.reviewer, lead: c.actions.lead, admin: c.actions.admin },
    limits: c.limits.map((l) => ({
      field: l.field,
      actions: l.actions,
      max: Object.fromEntries((['reviewer', 'lead', 'admin'] as const).filter((r) => l[r] !== undefined).map((r) => [r, l[r] as number])),
    })),
    ...(c.escalation?.levels
      ? {
          escalation: {
            levels: c.escalation.levels.map((l) => ({ afterMs: parseDuration(l.after), notify: l.notify })),
            repeat: c.escalation.repeat,
            onBreach: c.escalation.on_breach,
          },
        }
      : {}),
    configured: true,
  };
}

/**
 * `review:`, resolved. `teams` are the team names of `teams:` when the config has that block: an owner or backup
 * must then be one of them.
 */
export function resolveReview(s: ReviewSettings, at: SettingPath, teams: string[] | undefined, { report }: ResolveContext): ReviewConfig {
  const caseTypes: Record<string, CaseTypeConfig> = {};
  for (const [name, c] of Object.entries(s.case_types)) {
    caseTypes[name] = resolveCaseType(c);
    for (const key of ['owner', 'backup'] as const) {
      const team = c[key];
      if (team !== undefined && teams !== undefined && !teams.includes(team)) {
        report([...at, 'case_types', name, key], `team "${team}" is not in teams: (it has ${teams.join(', ') || 'none'})`);
      }
    }
  }
  return { caseTypes };
}
