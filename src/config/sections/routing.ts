/**
 * A pipeline's `routing:`: which predictions are decided automatically and which go to a person, and `refit:`, the
 * feedback loop that re-fits the calibrator and threshold on a schedule.
 */
import { type Static, Type } from '@sinclair/typebox';
import { parseDuration } from '../units.js';
import { choice, defaultBlock, duration, withDefault } from './kinds.js';

const reviewRule = Type.Object(
  {
    field: Type.String({ minLength: 1, description: 'Dotted path in the record, e.g. order.amount.' }),
    above: Type.Optional(Type.Number({ description: 'Matches when the field is a number above this.' })),
    below: Type.Optional(Type.Number({ description: 'Matches when the field is a number below this.' })),
    equals: Type.Optional(Type.Unknown({ description: 'Matches when the field equals this value.' })),
    in: Type.Optional(Type.Array(Type.Unknown(), { description: 'Matches when the field is one of these values.' })),
  },
  { additionalProperties: false },
);

const refitSettings = Type.Object(
  {
    enabled: withDefault(Type.Boolean({ description: 'Refit on the schedule (needs launch.go_live).' }), true),
    cadence: withDefault(duration('Refit interval after the first 60 days (weekly before).'), '30d'),
    method: Type.Optional(
      choice(['temperature', 'platt', 'isotonic', 'histogram'], {
        description: "Calibrator method; default: the active version's method, else platt.",
      }),
    ),
    min_labels: withDefault(Type.Integer({ minimum: 1, description: 'Fewer unbiased labels than this: no refit, say so.' }), 100),
    auto_apply: Type.Optional(
      Type.Object(
        {
          max_threshold_change: withDefault(
            Type.Number({ minimum: 0, maximum: 1, description: 'The largest move of the threshold applied without a person.' }),
            0.05,
          ),
          max_coverage_drop: withDefault(
            Type.Number({
              minimum: 0,
              maximum: 1,
              description: 'The largest drop in the share decided automatically applied without a person.',
            }),
            0.05,
          ),
        },
        {
          additionalProperties: false,
          description:
            'Apply a refit without a person when it stays within these bounds; absent: every refit waits for `airlock thresholds approve`.',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'The feedback loop: from launch.go_live the calibrator and threshold are refitted weekly for 60 days, then every `cadence`, from the calibration set, audit samples (the guarantee) and review verdicts (the calibrator only).',
  },
);

export const routingSettings = Type.Object(
  {
    auto_accept_at: withDefault(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description:
          'Confidence at or above which a prediction is decided automatically; below it, a review case. A threshold version made by `airlock calibrate --apply` (or approved) wins over this fallback.',
      }),
      0.9,
    ),
    never_auto: withDefault(Type.Array(Type.String(), { description: 'Labels that always go to a person, whatever the confidence.' }), []),
    review_when: withDefault(
      Type.Array(reviewRule, {
        description: 'Rules on the record: any that matches sends it to a person (e.g. { field: amount, above: 500 }).',
      }),
      [],
    ),
    audit_rate: withDefault(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'Share of automatic decisions also sent to review as audit_sample cases (unbiased accuracy of auto decisions).',
      }),
      0,
    ),
    segment_by: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Per-segment thresholds: a dotted path in the record (e.g. region), or $label for the predicted label (per class). The calibration set carries the same `segment`; a segment the calibration did not see uses the overall threshold, a segment where no threshold carries the guarantee always goes to review.',
      }),
    ),
    refit: defaultBlock(refitSettings),
  },
  { additionalProperties: false, description: 'Which predictions are decided automatically and which go to a person.' },
);

type RoutingSettings = Static<typeof routingSettings>;

/** A rule on the record that sends it to a person: any that matches wins over confidence. */
export type ReviewRule = Static<typeof reviewRule>;

/** `routing.refit`: the feedback loop's schedule and the bounds within which a refit applies itself. */
export interface RefitConfig {
  enabled: boolean;
  cadenceMs: number;
  method?: 'temperature' | 'platt' | 'isotonic' | 'histogram';
  minLabels: number;
  autoApply?: { maxThresholdChange: number; maxCoverageDrop: number };
}

/** `routing:`, resolved. */
export interface RoutingConfig {
  autoAcceptAt: number;
  neverAuto: string[];
  reviewWhen: ReviewRule[];
  auditRate: number;
  /** Dotted record path, or `$label` (the predicted label), whose value picks a per-segment threshold. */
  segmentBy?: string;
  refit: RefitConfig;
}

export function resolveRouting(s: RoutingSettings): RoutingConfig {
  const r = s.refit;
  return {
    autoAcceptAt: s.auto_accept_at,
    neverAuto: s.never_auto,
    reviewWhen: s.review_when,
    auditRate: s.audit_rate,
    ...(s.segment_by ? { segmentBy: s.segment_by } : {}),
    refit: {
      enabled: r.enabled,
      cadenceMs: parseDuration(r.cadence),
      ...(r.method ? { method: r.method } : {}),
      minLabels: r.min_labels,
      ...(r.auto_apply
        ? { autoApply: { maxThresholdChange: r.auto_apply.max_threshold_change, maxCoverageDrop: r.auto_apply.max_coverage_drop } }
        : {}),
    },
  };
}
