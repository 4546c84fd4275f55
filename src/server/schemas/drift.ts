/** Schemas of drift: the latest window against the reference, and one field's series for charts. */
import { type Static, Type } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

/** A field's figures on one side (reference or window). */
export const SideStats = Type.Object({
  rows: Type.Integer(),
  present: Type.Integer(),
  missing_share: Type.Number(),
  distinct: Type.Integer(),
  mean: Type.Optional(Type.Number()),
  std: Type.Optional(Type.Number()),
  min: Type.Optional(Type.Number()),
  max: Type.Optional(Type.Number()),
});
export type SideStats = Static<typeof SideStats>;

/** The reference profile drift is measured against. */
export const DriftReference = Type.Object({
  version: Type.Integer(),
  source: Type.String(),
  rows: Type.Integer(),
  created_at: Timestamp,
  created_by: Nullable(Type.String()),
  note: Nullable(Type.String()),
});
export type DriftReference = Static<typeof DriftReference>;

const Figure = Type.Optional(Nullable(Type.Number()));

/** One field's drift in the latest window: the test that decides, its statistic, and the distance measures. */
export const FieldDrift = Type.Object({
  name: Type.String({ description: 'Dotted path; model outputs as @model.label, @model.confidence, @model.route.' }),
  type: Type.String({ description: 'numeric, categorical, binary, text or empty.' }),
  test: Type.String({ description: 'ks, chi_square, z, wasserstein, jensen_shannon, psi, text_features or none.' }),
  derived_from: Type.Optional(Type.String()),
  statistic: Nullable(Type.Number()),
  p_value: Nullable(Type.Number()),
  p_value_adjusted: Figure,
  threshold: Nullable(Type.Number()),
  drift: Type.Boolean(),
  severity: Figure,
  ks: Figure,
  psi: Figure,
  wasserstein_norm: Figure,
  jensen_shannon: Figure,
  chi_square: Figure,
  z: Figure,
  oov_rate: Type.Optional(Type.Object({ reference: Type.Number(), current: Type.Number() })),
  exact: Type.Optional(Type.Boolean()),
  reference: SideStats,
  current: SideStats,
  note: Type.Optional(Type.String()),
  episode: Nullable(
    Type.Object({
      state: Type.Union([Type.Literal('open'), Type.Literal('clear')]),
      opened_at: Nullable(Timestamp),
      episodes: Type.Integer(),
    }),
  ),
  link: Type.String({ description: "The field's page in the console." }),
});
export type FieldDrift = Static<typeof FieldDrift>;

const Share = Nullable(Type.Number());

/** Drift of the latest window: fields most drifted first, the dataset verdict, and the model's outputs. */
export const DriftOverview = Type.Object({
  pipeline: Type.String(),
  reference: DriftReference,
  window: Type.Object({
    start: Timestamp,
    end: Timestamp,
    size: Type.Union([Type.Literal('hourly'), Type.Literal('daily')]),
    complete: Type.Boolean(),
  }),
  rows: Type.Integer(),
  dataset_drift: Type.Boolean(),
  drift_share: Type.Number(),
  share_threshold: Type.Number(),
  drifted_fields: Type.Integer(),
  tested_fields: Type.Integer(),
  outputs: Type.Object({
    reference: Type.Object({
      records: Type.Integer(),
      auto_share: Share,
      review_share: Share,
      model_failure_share: Share,
      estimated_accuracy: Share,
    }),
    records: Type.Integer(),
    auto_share: Share,
    review_share: Share,
    model_failure_share: Share,
    estimated_accuracy: Share,
    verdicts: Type.Integer(),
    realised_accuracy: Share,
    estimated_accuracy_reviewed: Share,
    audit_verdicts: Type.Integer(),
    audit_accuracy: Share,
  }),
  fields: Type.Array(FieldDrift),
});
export type DriftOverview = Static<typeof DriftOverview>;

/** One field's drift per window, and the reference against the latest distribution. */
export const FieldSeries = Type.Object({
  pipeline: Type.String(),
  field: Type.String(),
  type: Nullable(Type.String()),
  window_size: Type.Union([Type.Literal('hourly'), Type.Literal('daily')]),
  reference: DriftReference,
  series: Type.Array(
    Type.Object({
      start: Timestamp,
      end: Timestamp,
      rows: Type.Integer(),
      test: Type.String(),
      statistic: Nullable(Type.Number()),
      p_value: Nullable(Type.Number()),
      p_value_adjusted: Nullable(Type.Number()),
      threshold: Nullable(Type.Number()),
      drift: Type.Boolean(),
      psi: Nullable(Type.Number()),
      jensen_shannon: Nullable(Type.Number()),
      wasserstein_norm: Nullable(Type.Number()),
      present: Type.Integer(),
      missing_share: Nullable(Type.Number()),
      mean: Nullable(Type.Number()),
      note: Nullable(Type.String()),
    }),
  ),
  distribution: Nullable(
    Type.Object({
      window_start: Timestamp,
      labels: Type.Array(Type.String()),
      reference: Type.Array(Type.Number()),
      current: Type.Array(Type.Number()),
      reference_counts: Type.Array(Type.Number()),
      current_counts: Type.Array(Type.Number()),
    }),
  ),
  reference_stats: Nullable(SideStats),
  current_stats: Nullable(SideStats),
  episode: Nullable(
    Type.Object({
      state: Type.Union([Type.Literal('open'), Type.Literal('clear')]),
      episodes: Type.Integer(),
      opened_at: Nullable(Timestamp),
      resolved_at: Nullable(Timestamp),
    }),
  ),
  link: Type.String(),
});
export type FieldSeries = Static<typeof FieldSeries>;
