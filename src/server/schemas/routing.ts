/** Schemas of routing versions (calibrator + threshold), their evidence, and the feedback loop that refits them. */
import { type Static, Type } from '@sinclair/typebox';
import { JsonObject, Nullable, Timestamp } from './common.js';

/** The threshold a routing version applies, with its guarantee. */
export const StoredThreshold = Type.Object(
  {
    value: Type.Optional(Type.Number()),
    coverage: Type.Optional(Type.Number()),
    error: Type.Optional(Nullable(Type.Number())),
    error_upper_bound: Type.Optional(Type.Number()),
    alpha: Type.Optional(Type.Number()),
    delta: Type.Optional(Type.Number()),
    method: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type StoredThreshold = Static<typeof StoredThreshold>;

/** A routing version: the calibrator and threshold routing uses, and its life (proposed, active, retired, rejected). */
export const RoutingVersion = Type.Object({
  version: Type.Integer(),
  status: Type.Union([Type.Literal('proposed'), Type.Literal('active'), Type.Literal('retired'), Type.Literal('rejected')]),
  threshold: StoredThreshold,
  calibrator: Nullable(Type.Object({ method: Type.String(), hash: Nullable(Type.String()) })),
  evidence_id: Nullable(Type.Integer()),
  created_at: Timestamp,
  created_by: Nullable(Type.String()),
  activated_at: Nullable(Timestamp),
  activated_by: Nullable(Type.String()),
  note: Nullable(Type.String()),
});
export type RoutingVersion = Static<typeof RoutingVersion>;

/** The routing versions of a pipeline and the threshold in effect (a version's, else the config's). */
export const Thresholds = Type.Object({
  pipeline: Type.String(),
  effective: Type.Union([
    Type.Object({
      source: Type.Literal('version'),
      version: Type.Integer(),
      threshold: Type.Number(),
      calibrator: Nullable(Type.Object({ method: Type.String(), hash: Nullable(Type.String()) })),
    }),
    Type.Object({ source: Type.Literal('config'), threshold: Type.Number(), calibrator: Type.Null() }),
  ]),
  versions: Type.Array(RoutingVersion),
});
export type Thresholds = Static<typeof Thresholds>;

/** One bin of a reliability diagram. */
export const ReliabilityBin = Type.Object(
  {
    lo: Type.Number(),
    hi: Type.Number(),
    count: Type.Integer(),
    meanConfidence: Nullable(Type.Number()),
    accuracy: Nullable(Type.Number()),
  },
  { additionalProperties: true },
);
export type ReliabilityBin = Static<typeof ReliabilityBin>;

/** The calibration evidence a routing version was made from: summary, hashes and the whole report. */
export const ThresholdEvidence = Type.Object({
  pipeline: Type.String(),
  version: Type.Integer(),
  evidence: Type.Object({
    id: Type.Integer(),
    kind: Type.String(),
    created_at: Timestamp,
    hashes: Type.Object({
      config: Nullable(Type.String()),
      contract: Nullable(Type.String()),
      model: Nullable(Type.String()),
      calibrator: Nullable(Type.String()),
    }),
    summary: JsonObject,
    report: Type.Object(
      {
        rows: Type.Optional(Type.Integer()),
        ece: Type.Optional(Type.Number()),
        reliability: Type.Optional(Type.Array(ReliabilityBin)),
        calibrated: Type.Optional(
          Nullable(
            Type.Object(
              {
                method: Type.Optional(Type.String()),
                ece: Type.Optional(Type.Number()),
                reliability: Type.Optional(Type.Array(ReliabilityBin)),
              },
              { additionalProperties: true },
            ),
          ),
        ),
      },
      { additionalProperties: true, description: 'The calibration report (as airlock calibrate --json).' },
    ),
  }),
});
export type ThresholdEvidence = Static<typeof ThresholdEvidence>;

const PolicyMeasure = Nullable(
  Type.Object({
    threshold: Type.Number(),
    n: Type.Integer(),
    accepted: Type.Integer(),
    coverage: Type.Number(),
    error: Nullable(Type.Number()),
    error_upper_bound: Type.Number(),
  }),
);

/** A refit: its outcome, the policy before and after on held-out labels, and the routing version it made. */
export const RefitRun = Type.Object({
  pipeline: Type.String(),
  status: Type.Union([Type.Literal('ran'), Type.Literal('skipped'), Type.Literal('taken')]),
  outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('insufficient'), Type.Literal('infeasible')])),
  reason: Type.String(),
  due_at: Nullable(Timestamp),
  evidence_id: Nullable(Type.Integer()),
  version: Nullable(Type.Integer()),
  version_status: Nullable(Type.Union([Type.Literal('active'), Type.Literal('proposed')])),
  auto_apply: Nullable(Type.String()),
  before: PolicyMeasure,
  after: PolicyMeasure,
  rows: Nullable(Type.Object({ calibration: Type.Integer(), audit: Type.Integer(), review: Type.Integer() })),
  misclassified: Type.Integer(),
});
export type RefitRun = Static<typeof RefitRun>;

/** The refit schedule from go-live and the refits that ran. */
export const RefitSchedule = Type.Object({
  pipeline: Type.String(),
  go_live: Nullable(Timestamp),
  enabled: Type.Boolean(),
  next_at: Nullable(Timestamp),
  refits: Type.Array(
    Type.Object({
      due_at: Timestamp,
      ran_at: Timestamp,
      outcome: Type.String(),
      evidence_id: Nullable(Type.Integer()),
      version: Nullable(Type.Integer()),
    }),
  ),
});
export type RefitSchedule = Static<typeof RefitSchedule>;

/** Per window: accuracy estimated without labels beside accuracy realised from audit and review labels. */
export const AccuracyWindows = Type.Object({
  pipeline: Type.String(),
  window: Type.String(),
  windows: Type.Array(
    Type.Object({
      start: Timestamp,
      end: Timestamp,
      scored: Type.Integer(),
      auto: Type.Integer(),
      review: Type.Integer(),
      estimated_accuracy: Nullable(Type.Number()),
      estimated_accuracy_auto: Nullable(Type.Number()),
      audit_labels: Type.Integer(),
      review_labels: Type.Integer(),
      realised_accuracy_auto: Nullable(Type.Number()),
      realised_accuracy_review: Nullable(Type.Number()),
      realised_accuracy: Nullable(Type.Number()),
    }),
  ),
});
export type AccuracyWindows = Static<typeof AccuracyWindows>;

/** Production misclassifications found by reviewers (verdict ≠ the model's label), newest first. */
export const Misclassifications = Type.Object({
  pipeline: Type.String(),
  days: Type.Integer(),
  misclassifications: Type.Array(
    Type.Object({
      record_id: Nullable(Type.String()),
      source: Type.String(),
      predicted: Type.String(),
      verdict: Type.String(),
      raw_confidence: Type.Number(),
      segment: Nullable(Type.String()),
      routing_version: Nullable(Type.Integer()),
      at: Timestamp,
    }),
  ),
});
export type Misclassifications = Static<typeof Misclassifications>;
