/** Schemas of the review queue: cases, their SLA clocks and leases, decisions, authority and the queue's figures. */
import { type Static, Type } from '@sinclair/typebox';
import { Json, Nullable, Timestamp } from './common.js';
import { RecordView } from './records.js';

/** What a person may do on a case. */
export const ReviewAction = Type.Union([
  Type.Literal('approve'),
  Type.Literal('relabel'),
  Type.Literal('reject'),
  Type.Literal('request_info'),
  Type.Literal('escalate'),
]);
export type ReviewAction = Static<typeof ReviewAction>;

/** Why a case exists; its members depend on the case type (confidence and threshold, the model's error, the violations …). */
export const CaseReason = Type.Object(
  {
    label: Type.Optional(Type.String({ description: "The model's label." })),
    confidence: Type.Optional(Type.Number({ description: 'Calibrated confidence.' })),
    raw_confidence: Type.Optional(Type.Number()),
    threshold: Type.Optional(Type.Number()),
    reason: Type.Optional(Type.String({ description: 'confidence, never_auto or review_when.' })),
    rule: Type.Optional(Json),
  },
  { additionalProperties: true },
);
export type CaseReason = Static<typeof CaseReason>;

/** How a case was resolved: the label (or replayed, discarded, released …), by whom, with what note. */
export const CaseResolution = Type.Object({
  label: Type.Optional(Type.String()),
  by: Type.Optional(Nullable(Type.String())),
  note: Type.Optional(Nullable(Type.String())),
});
export type CaseResolution = Static<typeof CaseResolution>;

/** A case as the queue shows it: its SLA clocks (pause-adjusted), who holds it and until when. */
export const ReviewCase = Type.Object({
  id: Type.Integer(),
  pipeline: Type.String(),
  record_id: Type.String(),
  type: Type.String({ description: 'low_confidence, policy_review, audit_sample, model_failure, quarantine, schema_halt, dead_letter' }),
  owner: Nullable(Type.String({ description: 'The team that owns the case type.' })),
  status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  reason: Nullable(CaseReason),
  sla_due_at: Nullable(Timestamp),
  created_at: Timestamp,
  resolved_at: Nullable(Timestamp),
  resolution: Nullable(CaseResolution),
  priority: Type.Union([Type.Literal('critical'), Type.Literal('high'), Type.Literal('normal'), Type.Literal('low')]),
  state: Type.String({ description: 'open, waiting_info, needs_adjudication or resolved.' }),
  reviews_required: Type.Integer(),
  held_by: Nullable(Type.String()),
  lease_until: Nullable(Timestamp),
  first_action_at: Nullable(Timestamp),
  sla: Type.Object({
    due_at: Nullable(Timestamp),
    first_action_due_at: Nullable(Timestamp),
    remaining_ms: Nullable(Type.Number()),
    paused: Type.Boolean({ description: 'The case waits for information: its clock is stopped.' }),
    breached: Type.Boolean(),
  }),
});
export type ReviewCase = Static<typeof ReviewCase>;

export const ReviewCaseList = Type.Object({ cases: Type.Array(ReviewCase) });
export type ReviewCaseList = Static<typeof ReviewCaseList>;

/** What the body of a decision must carry for an action, besides `action`. */
export const ActionNeeds = Type.Array(Type.Union([Type.Literal('label'), Type.Literal('reason')]));
export type ActionNeeds = Static<typeof ActionNeeds>;

/** The actions the caller may take now, each with what its body needs (as the server checks it). */
export const AllowedActions = {
  allowed_actions: Type.Array(ReviewAction, { description: "What the caller may do now (role, the case type's authority and limits)." }),
  action_needs: Type.Partial(
    Type.Object({
      approve: ActionNeeds,
      relabel: ActionNeeds,
      reject: ActionNeeds,
      request_info: ActionNeeds,
      escalate: ActionNeeds,
    }),
    { description: 'For each allowed action, what its body needs besides `action` (e.g. reject: ["reason"]).' },
  ),
  type_text: Type.Object(
    {
      title: Type.String(),
      explanation: Type.String({ description: 'Why a case of this type exists, in one line.' }),
      actions: Type.Object(
        {
          approve: Type.String(),
          relabel: Type.String(),
          reject: Type.String(),
          request_info: Type.String(),
          escalate: Type.String(),
        },
        { description: 'The name of each action on this case type (on a quarantine case approve is "Release").' },
      ),
    },
    { description: "The case type's words for people, from the catalog of case types (src/review/case-types.ts)." },
  ),
};

/** One case with what the caller may do on it and every action taken so far. */
export const CaseDetail = Type.Composite([
  ReviewCase,
  Type.Object({
    ...AllowedActions,
    actions: Type.Array(
      Type.Object({
        by: Type.String(),
        role: Type.String(),
        action: Type.String(),
        label: Nullable(Type.String()),
        reason: Nullable(Type.String()),
        at: Timestamp,
      }),
    ),
  }),
]);
export type CaseDetail = Static<typeof CaseDetail>;

/** The case claimed (with its lease) and its record, or none when nothing waits for the caller. */
export const NextCase = Type.Union([
  Type.Object({ case: Type.Composite([ReviewCase, Type.Object(AllowedActions)]), record: RecordView }),
  Type.Object({ case: Type.Null(), message: Type.String() }),
]);
export type NextCase = Static<typeof NextCase>;

/** What became of a case after an action. */
export const CaseOutcome = Type.Object({
  case_id: Type.Integer(),
  action: ReviewAction,
  case_state: Type.Union([
    Type.Literal('resolved'),
    Type.Literal('pending'),
    Type.Literal('needs_adjudication'),
    Type.Literal('waiting_info'),
    Type.Literal('escalated'),
  ]),
  pipeline: Type.String(),
  record_id: Type.String(),
});
export type CaseOutcome = Static<typeof CaseOutcome>;

/** The record after a decision, with what became of the case. */
export const DecidedRecord = Type.Composite([RecordView, Type.Object({ case_outcome: CaseOutcome })]);
export type DecidedRecord = Static<typeof DecidedRecord>;

export const BulkResult = Type.Object({
  done: Type.Integer(),
  failed: Type.Integer(),
  results: Type.Array(
    Type.Object({
      id: Type.Number(),
      ok: Type.Boolean(),
      case_state: Type.Optional(Type.String()),
      code: Type.Optional(Type.String()),
      error: Type.Optional(Type.String()),
    }),
  ),
});
export type BulkResult = Static<typeof BulkResult>;

/** The caller's authority on a case: per action yes, no, or its limit ("amount ≤ 500"), and why each refused action is refused. */
export const Authority = Type.Object({
  case_id: Type.Integer(),
  type: Type.String(),
  role: Type.String(),
  actions: Type.Partial(
    Type.Object({
      approve: Type.String(),
      relabel: Type.String(),
      reject: Type.String(),
      request_info: Type.String(),
      escalate: Type.String(),
    }),
  ),
  refused: Type.Record(Type.String(), Type.String()),
});
export type Authority = Static<typeof Authority>;

const Quantiles = Type.Object({ p50: Nullable(Type.Number()), p95: Nullable(Type.Number()), n: Type.Integer() });

/** Queue figures over a window: depth and age, time to first action, SLA attainment, overturn rate, throughput, agreement. */
export const QueueFigures = Type.Object({
  window: Type.Object({ from: Timestamp, to: Timestamp, days: Type.Integer() }),
  by_type: Type.Array(
    Type.Object({
      type: Type.String(),
      open: Type.Integer(),
      oldest_open_ms: Nullable(Type.Number()),
      time_to_first_action_ms: Quantiles,
      sla_attainment: Type.Object({ share: Nullable(Type.Number()), met: Type.Integer(), n: Type.Integer() }),
      breached_open: Type.Integer(),
    }),
  ),
  overturn_rate: Type.Array(Type.Object({ label: Type.String(), overturned: Type.Integer(), n: Type.Integer(), rate: Type.Number() })),
  throughput: Type.Array(Type.Object({ reviewer: Type.String(), decisions: Type.Integer(), per_hour: Type.Number() })),
  agreement: Type.Object({
    items: Type.Integer(),
    krippendorff_alpha: Nullable(Type.Number()),
    pairs: Type.Array(Type.Object({ a: Type.String(), b: Type.String(), items: Type.Integer(), cohen_kappa: Type.Number() })),
  }),
});
export type QueueFigures = Static<typeof QueueFigures>;
