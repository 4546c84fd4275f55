/** A pipeline's `probe:`: the limits `airlock probe` holds its findings to. */
import { type Static, Type } from '@sinclair/typebox';
import { parseDuration } from '../units.js';
import { defaultBlock, duration, withDefault } from './kinds.js';

const limit = (description: string) => Type.Integer({ minimum: 0, description });

export const probeSettings = Type.Object(
  {
    limits: defaultBlock(
      Type.Object(
        {
          crashes: withDefault(
            limit('Most crashes allowed: the model failed instead of answering (threw, dropped the connection, answered 5xx).'),
            0,
          ),
          errors: withDefault(
            limit('Most errors allowed: the model answered with a refusal (4xx) or something that is not a prediction.'),
            0,
          ),
          timeouts: withDefault(limit('Most timeouts allowed: no answer within `timeout`.'), 0),
          latency_outliers: Type.Optional(limit('Most latency outliers allowed: answers far slower than the rest (default: no limit).')),
          confident_garbage: withDefault(limit('Most confident answers allowed on garbage (cases with the signal removed).'), 0),
          confident_errors: Type.Optional(limit('Most confident wrong answers allowed on labelled hard cases (default: no limit).')),
        },
        { additionalProperties: false, description: 'The most findings of each kind `airlock probe` allows.' },
      ),
    ),
    timeout: withDefault(duration('A model call slower than this counts as a timeout.'), '5s'),
  },
  { additionalProperties: false, description: 'Limits for `airlock probe`: it exits 1 when a count of findings is above its limit.' },
);

type ProbeSettings = Static<typeof probeSettings>;

export interface ProbeLimits {
  crashes: number;
  errors: number;
  timeouts: number;
  latencyOutliers: number;
  confidentGarbage: number;
  confidentErrors: number;
}

/** `probe:`, resolved. */
export interface ProbeConfig {
  limits: ProbeLimits;
  timeoutMs: number;
}

export function resolveProbe(s: ProbeSettings): ProbeConfig {
  const l = s.limits;
  return {
    limits: {
      crashes: l.crashes,
      errors: l.errors,
      timeouts: l.timeouts,
      // "No limit" is Infinity, which JSON (and so a schema default) cannot hold.
      latencyOutliers: l.latency_outliers ?? Number.POSITIVE_INFINITY,
      confidentGarbage: l.confident_garbage,
      confidentErrors: l.confident_errors ?? Number.POSITIVE_INFINITY,
    },
    timeoutMs: parseDuration(s.timeout),
  };
}
