/**
 * A pipeline's `readiness:` block: which checks block the gate, and the bounds the checks hold evidence to.
 * The config loader validates it with `readinessConfigSchema` and resolves it with `resolveReadinessConfig`.
 */

import { MANUAL_CHECK_IDS, READINESS_CHECK_IDS, type ReadinessCheckId } from './readiness-ids.js';
import { DURATION_PATTERN, parseDuration } from './units.js';

export interface ReadinessConfig {
  /** Checks whose failure (fail or stale) makes `airlock readiness` exit non-zero whatever the score. */
  blocking: ReadinessCheckId[];
  /** The gate's minimum score when `--min-score` is not given; undefined: no minimum. */
  minScore?: number;
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

export interface RawReadinessConfig {
  blocking?: string[];
  min_score?: number;
  max_age?: string;
  min_labelled?: number;
  max_ece?: number;
  peak_factor?: number;
  min_sla_attainment?: number;
  thirty_day_review?: string;
  triaged?: Record<string, string>;
  confirmed?: Record<string, string>;
}

/** JSON Schema of a pipeline's `readiness:` block (referred to by config/schema.ts). */
export const readinessConfigSchema = {
  type: 'object',
  additionalProperties: false,
  description: 'Production readiness (`airlock readiness`): the gate, and the bounds its checks hold the evidence to.',
  properties: {
    blocking: {
      type: 'array',
      description: 'Check ids that fail the gate (exit 1) when they fail or are stale, whatever the score; `all` for every check.',
      items: { enum: ['all', ...READINESS_CHECK_IDS], 'x-expected': `all or a check id (${READINESS_CHECK_IDS.join(', ')})` },
    },
    min_score: { type: 'number', minimum: 0, description: 'The minimum score when --min-score is not given.' },
    max_age: {
      type: 'string',
      pattern: DURATION_PATTERN,
      default: '30d',
      description: 'Evidence older than this does not count.',
      'x-expected': 'a duration such as 500ms, 2s, 5m, 4h or 1d',
    },
    min_labelled: { type: 'integer', minimum: 1, default: 500, description: 'Labelled records a calibration needs.' },
    max_ece: { type: 'number', minimum: 0, maximum: 1, default: 0.05, description: 'Largest expected calibration error allowed.' },
    peak_factor: { type: 'number', minimum: 1, default: 2, description: 'The load test must offer this multiple of launch.expected_peak.' },
    min_sla_attainment: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0.95,
      description: 'Share of review cases resolved within their SLA after launch.',
    },
    thirty_day_review: {
      type: 'string',
      format: 'date',
      description: 'When the 30-day review after launch is scheduled.',
      'x-expected': 'a date like 2026-12-31',
    },
    triaged: {
      type: 'object',
      description: 'Audit issues a person has triaged: `kind` or `kind:field` → what was decided.',
      additionalProperties: { type: 'string', minLength: 1 },
    },
    confirmed: {
      type: 'object',
      description: `Manual checks a person has done (${MANUAL_CHECK_IDS.join(', ')}) → what was done, when and by whom.`,
      propertyNames: { enum: [...MANUAL_CHECK_IDS], 'x-expected': `one of ${MANUAL_CHECK_IDS.join(', ')}` },
      additionalProperties: { type: 'string', minLength: 1 },
    },
  },
} as const;

/** Resolves a validated `readiness:` block (defaults filled, durations parsed). */
export function resolveReadinessConfig(raw: RawReadinessConfig | undefined): ReadinessConfig {
  const r = raw ?? {};
  const blocking = r.blocking ?? [];
  return {
    blocking: blocking.includes('all') ? [...READINESS_CHECK_IDS] : (blocking as ReadinessCheckId[]),
    minScore: r.min_score,
    maxAgeMs: parseDuration(r.max_age ?? '30d'),
    minLabelled: r.min_labelled ?? 500,
    maxEce: r.max_ece ?? 0.05,
    peakFactor: r.peak_factor ?? 2,
    minSlaAttainment: r.min_sla_attainment ?? 0.95,
    thirtyDayReview: r.thirty_day_review,
    triaged: r.triaged ?? {},
    confirmed: (r.confirmed ?? {}) as ReadinessConfig['confirmed'],
  };
}
