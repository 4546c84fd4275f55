/** Schemas of pipelines and records: what ingest answers and the canonical view of one record. */
import { type Static, Type } from '@sinclair/typebox';
import { Json, Nullable, Timestamp, Violation } from './common.js';

/** The record states of docs/design.md (shared vocabulary). */
export const RecordStatus = Type.Union([
  Type.Literal('received'),
  Type.Literal('scoring'),
  Type.Literal('decided'),
  Type.Literal('halted'),
  Type.Literal('quarantined'),
  Type.Literal('in_review'),
  Type.Literal('delivered'),
  Type.Literal('dead_lettered'),
  Type.Literal('discarded'),
]);
export type RecordStatus = Static<typeof RecordStatus>;

/** A pipeline of the config with its record counts by status. */
export const Pipeline = Type.Object({
  name: Type.String(),
  contract: Nullable(Type.Object({ hash: Type.String(), source: Type.String() })),
  halted: Type.Boolean({ description: 'A schema change holds its records until a person decides.' }),
  model: Type.Object({ type: Type.String(), version: Nullable(Type.String()) }),
  auto_accept_at: Type.Number({ description: "The config's auto-accept threshold (a routing version may override it)." }),
  destinations: Type.Array(Type.String()),
  records: Type.Record(Type.String(), Type.Integer(), { description: 'Records by status.' }),
});
export type Pipeline = Static<typeof Pipeline>;

export const PipelineList = Type.Object({ pipelines: Type.Array(Pipeline) });
export type PipelineList = Static<typeof PipelineList>;

/** What POST …/records answers: the records stored (by their index in the body) and the ones refused, with why. */
export const IngestResult = Type.Object({
  pipeline: Type.String(),
  accepted: Type.Integer(),
  ids: Type.Array(Type.String()),
  records: Type.Array(
    Type.Object({
      index: Type.Integer({ description: 'Position of the item in the body (0-based).' }),
      id: Type.String(),
      status: RecordStatus,
      existing: Type.Boolean({ description: 'This id was already stored with the same body: the existing record is answered.' }),
    }),
  ),
  refused: Type.Array(
    Type.Object({
      index: Type.Integer(),
      id: Type.Optional(Type.String()),
      code: Type.Union([Type.Literal('CONFLICT'), Type.Literal('NOT_AN_OBJECT'), Type.Literal('BAD_ID'), Type.Literal('LIMIT_EXCEEDED')]),
      message: Type.String(),
    }),
  ),
});
export type IngestResult = Static<typeof IngestResult>;

/** The model's answer as stored, with the calibrated confidence routing compared with the threshold. */
export const Prediction = Type.Object({
  label: Type.Optional(Type.String()),
  confidence: Type.Optional(Type.Number()),
  calibrated_confidence: Type.Optional(Type.Number()),
  routing_version: Type.Optional(Nullable(Type.Integer())),
  probs: Type.Optional(Type.Record(Type.String(), Type.Number())),
  model_version: Type.Optional(Type.String()),
  latency_ms: Type.Optional(Type.Number()),
});
export type Prediction = Static<typeof Prediction>;

/** The decision on a record: by the router (`auto`) or by a person (`review`). */
export const Decision = Type.Object({
  label: Type.String(),
  source: Type.Union([Type.Literal('auto'), Type.Literal('review')]),
  at: Type.Optional(Timestamp),
  case_id: Type.Optional(Type.Integer()),
  by: Type.Optional(Type.String()),
  confidence: Type.Optional(Type.Number()),
  raw_confidence: Type.Optional(Type.Number()),
  routing_version: Type.Optional(Nullable(Type.Integer())),
});
export type Decision = Static<typeof Decision>;

/** A case as a record's view lists it. */
export const CaseSummary = Type.Object({
  id: Type.Integer(),
  pipeline: Type.String(),
  record_id: Type.String(),
  type: Type.String({ description: 'low_confidence, policy_review, audit_sample, model_failure, quarantine, schema_halt, dead_letter' }),
  owner: Nullable(Type.String()),
  status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  reason: Json,
  sla_due_at: Nullable(Timestamp),
  created_at: Nullable(Timestamp),
  resolved_at: Nullable(Timestamp),
  resolution: Json,
});
export type CaseSummary = Static<typeof CaseSummary>;

/** One entry of a record's audit trail. */
export const RecordEvent = Type.Object({ at: Nullable(Timestamp), kind: Type.String(), detail: Json });
export type RecordEvent = Static<typeof RecordEvent>;

/** The canonical view of one record: its state, prediction, decision, deliveries, cases and audit trail. */
export const RecordView = Type.Object({
  id: Type.String(),
  pipeline: Type.String(),
  status: RecordStatus,
  record: Type.Unknown({
    description: 'The body as stored (null once purged); for the viewer role the `redact:` paths read "[redacted]".',
  }),
  payload_purged: Nullable(
    Type.Object({ at: Timestamp }, { description: 'When the payload was purged, by which run and policy.', additionalProperties: true }),
  ),
  contract_hash: Nullable(Type.String()),
  contract_version: Nullable(Type.Integer()),
  violations: Nullable(Type.Array(Violation)),
  original_record: Type.Unknown({ description: 'The body as received, when a person edited it before release.' }),
  prediction: Nullable(Prediction),
  decision: Nullable(Decision),
  deliveries: Type.Array(
    Type.Object({
      destination: Type.String(),
      status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('dead_lettered'), Type.Literal('discarded')]),
      attempts: Type.Integer(),
      idempotency_key: Type.String(),
      last_status: Nullable(Type.Integer()),
      last_error: Nullable(Type.String()),
      next_attempt_at: Nullable(Timestamp),
      response: Json,
    }),
  ),
  cases: Type.Array(CaseSummary),
  events: Type.Array(RecordEvent),
  created_at: Nullable(Timestamp),
  updated_at: Nullable(Timestamp),
});
export type RecordView = Static<typeof RecordView>;
