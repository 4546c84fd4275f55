/**
 * The JSON columns of the database, one codec per stored shape: the type a column holds, `encode` for its writers and
 * `decode` for its readers. A column's text is only ever written by its codec, so `decode` trusts it (one parse, no
 * checks in the hot paths); `tryDecode` is for readers that must survive a row written by hand.
 */
import type { Calibrator } from '../calibration/calibrators.js';
import type { ThresholdMethod } from '../calibration/threshold.js';
import { canonicalJson, type Violation, type ViolationKind } from '../contract/gate.js';
import type { OutputCounts } from '../drift/monitor.js';
import type { DriftSpec, DriftSummaryJson } from '../drift/summary.js';
import type { EventDetail, EventDetails, EventKind, StoredViolation } from './event-details.js';
import type { TokenScopeGrant } from './tables.js';

/** How one JSON column is written and read. */
export interface JsonColumn<T> {
  encode(value: T): string;
  decode(text: string): T;
  /** decode, with an empty (null) column as null. */
  decodeOrNull(text: string | null): T | null;
  /** decode, with an empty column or text that is not JSON as null. */
  tryDecode(text: string | null): T | null;
}

/** A codec of `T` (`project` shapes what is written: a fixed key order, no extra keys). */
export function jsonColumn<T>(project: (value: T) => unknown = (v) => v): JsonColumn<T> {
  const decode = (text: string) => JSON.parse(text) as T;
  return {
    encode: (value) => JSON.stringify(project(value)),
    decode,
    decodeOrNull: (text) => (text === null ? null : decode(text)),
    tryDecode: (text) => {
      if (text === null) return null;
      try {
        return decode(text);
      } catch {
        return null;
      }
    },
  };
}

// ------------------------------------------------------------------------------------------------ records

/** records.body and original_body: the record as received (or as a person edited it), any JSON value. */
export const recordBody = jsonColumn<unknown>();

/** A violation as stored and shown: kind, JSON Pointer, field, message and keyword (never the value). */
export const violationView = (v: StoredViolation): StoredViolation => ({
  kind: v.kind,
  path: v.path,
  field: v.field,
  message: v.message,
  keyword: v.keyword,
});

/** records.violations: what the gate found (quarantined, halted, or accepted by policy). */
export const violations = jsonColumn<StoredViolation[]>((vs) => vs.map(violationView));

/** records.prediction: the model's answer and how it was routed. */
export interface StoredPrediction {
  label: string;
  /** The model's own confidence in `label`. */
  confidence: number;
  probs?: Record<string, number>;
  model_version?: string;
  /** The confidence routing compared with the threshold (raw when no calibrator applies); absent on old rows. */
  calibrated_confidence?: number;
  routing_version?: number | null;
  segment?: string;
  /** `unavailable`: the calibrator could not apply, the raw confidence routed. */
  calibration?: 'unavailable';
  latency_ms?: number;
}
export const prediction = jsonColumn<StoredPrediction>();

/** records.decision: the decision taken on a record, by the router or by a person. */
export interface StoredDecision {
  label: string;
  source: 'auto' | 'review';
  at: string;
  case_id?: number;
  by?: string;
  /** Calibrated confidence (raw when no calibrator applies). */
  confidence?: number;
  raw_confidence?: number;
  /** The routing version (calibrator + threshold) that decided, null for the config's fallback threshold. */
  routing_version?: number | null;
}
export const decision = jsonColumn<StoredDecision>();

/** records.purge: what retention left in place of the content. */
export interface StoredPurge {
  run: number;
  policy: string;
  cutoff: string;
  by: string;
}
export const purge = jsonColumn<StoredPurge>();

// ------------------------------------------------------------------------------------------------- events

/** events.detail (src/store/event-details.ts has the shape of each kind). */
export const eventDetail = jsonColumn<EventDetail>();

/** events.detail of an event known to be of `kind` (e.g. selected by kind). */
export function eventDetailOf<K extends EventKind>(_kind: K, text: string): EventDetails[K] {
  return eventDetail.decode(text) as EventDetails[K];
}

// ------------------------------------------------------------------------------------------- review cases

/** Why a case of each built-in type exists (review_cases.reason); src/review/case-types.ts has the same names. */
export interface CaseReasons {
  low_confidence: RoutingReason;
  policy_review: RoutingReason;
  audit_sample: { label: string; confidence: number };
  model_failure: { error: string; status: number | null };
  quarantine:
    | {
        violations: number;
        kinds: ViolationKind[];
        structural_change?: { kind: ViolationKind; field: string; count: number; halt_after: number }[];
      }
    | { rejected_change: { kind: string; field: string; halt: number } };
  schema_halt: { halt: number; kind: string; field: string; records: number };
  dead_letter: { destination: string; delivery: number; status: number | null; error: string | null; attempts: number };
}

/** Why the router sent a record to a person. */
interface RoutingReason {
  confidence: number;
  raw_confidence: number;
  threshold: number | null;
  label: string;
  reason: string;
  rule?: unknown;
}

export type CaseReason = CaseReasons[keyof CaseReasons];

/** review_cases.reason. */
export const caseReason = jsonColumn<CaseReason>();

/** review_cases.reason of a case known to be of `type` (e.g. selected by type). */
export function caseReasonOf<T extends keyof CaseReasons>(_type: T, text: string): Partial<CaseReasons[T]> {
  return JSON.parse(text) as Partial<CaseReasons[T]>;
}

/** review_cases.resolution: the verdict that closed a case. */
export interface CaseResolution {
  label: string;
  by: string | null;
  note: string | null;
}
export const caseResolution = jsonColumn<CaseResolution>((r) => ({ label: r.label, by: r.by, note: r.note }));

/** case_escalations.targets: the targets a step notified, as written in the config. */
export const escalationTargets = jsonColumn<string[]>();

// ---------------------------------------------------------------------------------------------- accounts

/** api_tokens.pipelines: pipeline names, or `*`. */
export const tokenPipelines = jsonColumn<string[]>();
/** api_tokens.scopes: what a token may do, or `*`. */
export const tokenScopes = jsonColumn<TokenScopeGrant[]>();

// --------------------------------------------------------------------------------------------- deliveries

/** deliveries.response: the destination's answer that dead-lettered (or last retried) a delivery. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}
export const deliveryResponse = jsonColumn<StoredResponse>();

/** delivery_limits.signal: the last rate-limit signal a destination sent (src/delivery/signals.ts). */
export interface StoredRateSignal {
  limit?: number;
  remaining?: number;
  resetMs?: number;
  windowMs?: number;
  retryAfterMs?: number;
  source?: string;
  at: number;
}
export const rateSignal = jsonColumn<StoredRateSignal>();

/** delivery_budgets.buckets: the shared retry budget's seconds. */
/** One second of a retry budget: first attempts (deposits) and retries (withdrawals). */
export interface BudgetBucket {
  second: number;
  requests: number;
  retries: number;
}

export const budgetBuckets = jsonColumn<BudgetBucket[]>();

// ------------------------------------------------------------------------------------- evidence, routing

/** evidence.summary: the few figures a check cites (per kind). */
export const evidenceSummary = jsonColumn<Record<string, unknown>>();
/** evidence.report: the whole report (per kind). */
export const evidenceReport = jsonColumn<unknown>();

/** routing_versions.threshold: the auto-accept threshold and its guarantee. */
export interface StoredThreshold {
  value: number;
  alpha: number;
  delta: number;
  method: ThresholdMethod;
  coverage: number;
  error: number;
  error_upper_bound: number;
  n: number;
  /** Which confidence the threshold applies to. */
  confidence?: 'calibrated' | 'raw';
  segments?: Record<string, StoredSegmentThreshold>;
}
export type StoredSegmentThreshold =
  | { feasible: true; value: number; coverage: number; error: number; error_upper_bound: number; n: number }
  | { feasible: false; n: number; reason: string; labels_needed: number | null; value?: undefined };
export const routingThreshold = jsonColumn<StoredThreshold>();

/** routing_versions.calibrator (src/calibration/calibrators.ts; `parseCalibrator` checks one read from elsewhere). */
export const calibrator = jsonColumn<Calibrator>();

/** labels.probs: class probabilities, when the model gave them. */
export const labelProbs = jsonColumn<Record<string, number>>();

// ------------------------------------------------------------------------------------------------- contracts

/**
 * contract_versions.schema: a JSON Schema, as the config file wrote it; a contract a person accepted is stored as its
 * canonical JSON (keys sorted, the text its hash is computed over).
 */
export const contractSchema = { ...jsonColumn<object>(), encodeCanonical: (schema: object) => canonicalJson(schema) };

/** halts.detail: the change that halted a pipeline. */
export interface HaltDetail {
  records: number;
  window_ms: number;
  example_ids: string[];
  violations: { kind: ViolationKind; field: string }[];
}
export const haltDetail = jsonColumn<HaltDetail>();

/** halts.resolution: what a person decided on a halt (accepted: the new version; rejected: what was quarantined). */
export type HaltResolution =
  | { version: number; changes: string[]; released: number; note: string | null }
  | { quarantined: number; note: string | null };
export const haltResolution = jsonColumn<HaltResolution>();

// ---------------------------------------------------------------------------------------------------- drift

/** drift_references.spec. */
export const driftSpec = jsonColumn<DriftSpec>();
/** drift_references.summary and drift_windows.summary. */
export const driftSummary = jsonColumn<DriftSummaryJson>();
/** drift_references.outputs and drift_windows.outputs. */
export const driftOutputs = jsonColumn<OutputCounts>();

/** drift_evaluations.result: one window's verdict. */
export interface DriftEvaluationResult {
  dataset_drift: boolean;
  drift_share: number;
  skipped?: string;
  drifted: { field: string; test: string; statistic: number | null; threshold: number | null }[];
}
export const driftEvaluation = jsonColumn<DriftEvaluationResult>();
