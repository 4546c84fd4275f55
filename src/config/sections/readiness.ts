/** A pipeline's `readiness:`: which checks block the gate, and the bounds the checks hold evidence to. */
import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_MIN_SCORE, ESSENTIAL_CHECK_IDS, MANUAL_CHECK_IDS, READINESS_CHECK_IDS, type ReadinessCheckId } from '../readiness-ids.js';
import { parseDuration } from '../units.js';
import { choice, duration, EXPECTED, withDefault } from './kinds.js';

export const readinessSettings = Type.Object(
  {
    blocking: Type.Optional(
      Type.Array(
        choice(['all', ...READINESS_CHECK_IDS] as const, { [EXPECTED]: `all or a check id (${READINESS_CHECK_IDS.join(', ')})` }),
        {
          description: `Check ids that fail the gate (exit 1) when they do not pass, whatever the score; \`all\` for every check. Without blocking and min_score the default gate applies: the essential checks (${ESSENTIAL_CHECK_IDS.join(', ')}) must pass on stored evidence and every section score at least ${DEFAULT_MIN_SCORE}.`,
        },
      ),
    ),
    min_score: Type.Optional(
      Type.Number({
        minimum: 0,
        description: `The minimum score (the lowest section's points) when --min-score is not given; without blocking and min_score, ${DEFAULT_MIN_SCORE} and the essential checks (the default gate).`,
      }),
    ),
    max_age: withDefault(duration('Evidence older than this does not count.'), '30d'),
    min_labelled: withDefault(Type.Integer({ minimum: 1, description: 'Labelled records a calibration needs.' }), 500),
    max_ece: withDefault(Type.Number({ minimum: 0, maximum: 1, description: 'Largest expected calibration error allowed.' }), 0.05),
    peak_factor: withDefault(
      Type.Number({ minimum: 1, description: 'The load test must offer this multiple of launch.expected_peak.' }),
      2,
    ),
    min_sla_attainment: withDefault(
      Type.Number({ minimum: 0, maximum: 1, description: 'Share of review cases resolved within their SLA after launch.' }),
      0.95,
    ),
    thirty_day_review: Type.Optional(
      Type.String({
        format: 'date',
        description: 'When the 30-day review after launch is scheduled.',
        [EXPECTED]: 'a date like 2026-12-31',
      }),
    ),
    triaged: withDefault(
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        description: 'Audit issues a person has triaged: `kind` or `kind:field` → what was decided.',
        additionalProperties: { type: 'string', minLength: 1 },
      }),
      {},
    ),
    confirmed: withDefault(
      Type.Unsafe<Partial<Record<ReadinessCheckId, string>>>({
        type: 'object',
        description: `Manual checks a person has done (${MANUAL_CHECK_IDS.join(', ')}) → what was done, when and by whom.`,
        propertyNames: { enum: [...MANUAL_CHECK_IDS], [EXPECTED]: `one of ${MANUAL_CHECK_IDS.join(', ')}` },
        additionalProperties: { type: 'string', minLength: 1 },
      }),
      {},
    ),
  },
  {
    additionalProperties: false,
    description: 'Production readiness (`airlock readiness`): the gate, and the bounds its checks hold the evidence to.',
  },
);

type ReadinessSettings = Static<typeof readinessSettings>;

/** A pipeline's `readiness:` block, resolved. */
export interface ReadinessConfig {
  /** Checks that must pass (not fail, stale or wait for a person) for the gate, whatever the score. */
  blocking: ReadinessCheckId[];
  /** The gate's minimum score when `--min-score` is not given; undefined: no minimum. */
  minScore?: number;
  /** True when the config names neither blocking nor min_score: the default gate (essential checks, score ½). */
  defaultGate: boolean;
  /** Evidence older than this does not count (default 30 days). */
  maxAgeMs: number;
  /** Labelled records a calibration needs (default 500). */
  minLabelled: number;
  /** Largest ECE allowed for the confidence routing decides on: calibrated when there is a calibrator (default 0.05). */
  maxEce: number;
  /** The load test must offer at least this multiple of `launch.expected_peak` (default 2). */
  peakFactor: number;
  /** Share of review cases resolved within their SLA after launch (default 0.95). */
  minSlaAttainment: number;
  /** The date of the 30-day review after launch (YYYY-MM-DD), when it is scheduled by hand. */
  thirtyDayReview?: string;
  /** Audit issues a person has looked at: `kind` or `kind:field` → what was decided. */
  triaged: Record<string, string>;
  /** Manual checks a person has done: check id → what was done, when, by whom. */
  confirmed: Partial<Record<ReadinessCheckId, string>>;
}

export function resolveReadiness(s: ReadinessSettings): ReadinessConfig {
  return {
    // Neither set: the gate refuses by default (ESSENTIAL_CHECK_IDS, DEFAULT_MIN_SCORE); one set: the config's gate.
    ...(s.blocking === undefined && s.min_score === undefined
      ? { blocking: [...ESSENTIAL_CHECK_IDS], minScore: DEFAULT_MIN_SCORE, defaultGate: true }
      : {
          blocking: (s.blocking ?? []).includes('all') ? [...READINESS_CHECK_IDS] : ((s.blocking ?? []) as ReadinessCheckId[]),
          minScore: s.min_score,
          defaultGate: false,
        }),
    maxAgeMs: parseDuration(s.max_age),
    minLabelled: s.min_labelled,
    maxEce: s.max_ece,
    peakFactor: s.peak_factor,
    minSlaAttainment: s.min_sla_attainment,
    thirtyDayReview: s.thirty_day_review,
    triaged: s.triaged,
    confirmed: s.confirmed,
  };
}
