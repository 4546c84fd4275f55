import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { EventKind } from './event-details.js';

/** Record states (docs/design.md, shared vocabulary). */
export const RECORD_STATES = [
  'received',
  'scoring',
  'decided',
  'halted',
  'quarantined',
  'in_review',
  'delivered',
  'dead_lettered',
  'discarded',
] as const;
export type RecordStatus = (typeof RECORD_STATES)[number];

export const TERMINAL_STATES: readonly RecordStatus[] = ['delivered', 'dead_lettered', 'discarded'];
export const WAITING_ON_PERSON_STATES: readonly RecordStatus[] = ['halted', 'quarantined', 'in_review'];

export interface RecordsTable {
  seq: Generated<number>;
  pipeline: string;
  id: string;
  /** The record as received, JSON text. */
  body: string;
  /** sha256 of the canonical JSON of the body: same id + same hash = the same record. */
  body_hash: string;
  status: RecordStatus;
  contract_hash: string | null;
  /** The contract version (per pipeline) that checked the record. */
  contract_version: number | null;
  /** JSON array of the violations the gate found (quarantined, halted, or accepted by policy). */
  violations: string | null;
  /** The body as received, when a person edited the record in quarantine (`body` is then the edited one). */
  original_body: string | null;
  /** JSON: { label, confidence, probs?, model_version?, latency_ms }. */
  prediction: string | null;
  /** JSON: { label, source: 'auto' | 'review', case_id?, by?, at }. */
  decision: string | null;
  score_attempts: number;
  available_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  /** When retention purged the record's content (body, original_body), migration 0010; null: not purged. */
  purged_at: ColumnType<number | null, number | null | undefined, number | null>;
  /** JSON: { run, policy, cutoff, by } of the purge (src/pipeline/retention.ts). */
  purge: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface EventsTable {
  seq: Generated<number>;
  pipeline: string;
  record_id: string;
  at: number;
  kind: EventKind;
  /** JSON object with the event's detail (field names, kinds, counts; never record values). */
  detail: string;
}

export interface ReviewCasesTable {
  id: Generated<number>;
  pipeline: string;
  record_id: string;
  type: string;
  owner: string | null;
  status: 'open' | 'resolved';
  /** JSON: why the case exists (e.g. confidence and threshold, the model's error). */
  reason: string;
  sla_due_at: number | null;
  created_at: number;
  resolved_at: number | null;
  /** JSON: { label, by, note }. */
  resolution: string | null;
  /** 0 critical, 1 high, 2 normal, 3 low. */
  priority: Generated<number>;
  /** The reviewer holding the case, until `lease_until`. */
  claimed_by: string | null;
  lease_until: number | null;
  first_action_at: number | null;
  first_action_due_at: number | null;
  /** Set while the case waits for information (its SLA clock is paused). */
  waiting_since: number | null;
  /** Time spent waiting for information so far (added to the SLA deadlines). */
  paused_ms: Generated<number>;
  breached_at: number | null;
  /** When the SLA stage next has something to do for the case; null: nothing (resolved, waiting, or no SLA left). */
  next_check_at: number | null;
  reviews_required: Generated<number>;
  /** `open`, `waiting_info`, `needs_adjudication`, `resolved`. */
  state: Generated<string>;
}

export interface UsersTable {
  id: Generated<number>;
  name: string;
  role: 'admin' | 'lead' | 'reviewer' | 'viewer' | 'ingest';
  /** scrypt: `scrypt$N$r$p$salt$hash` (base64); null for token-only accounts. */
  password_hash: string | null;
  created_at: number;
  disabled_at: number | null;
}

export interface SessionsTable {
  /** sha256 of the session id (the cookie holds the id; the database only its hash). */
  id_hash: string;
  user_id: number;
  csrf: string;
  created_at: number;
  expires_at: number;
  /** The last request of the session (idle expiry); null until its first use after sign-in. */
  last_seen_at: number | null;
}

/** What a token may do: `ingest` records, `read` what the user's role may read, `write` (act) as the role may. */
export const TOKEN_SCOPES = ['ingest', 'read', 'write'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];
/** A token's stored scope: one action, or `*` for every action the user's role may take. */
export type TokenScopeGrant = TokenScope | '*';

export interface ApiTokensTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
  /** JSON list of pipeline names the token may act on; ["*"] for all. */
  pipelines: Generated<string>;
  /** JSON list of actions (ingest, read, write); ["*"] for every action the user's role may take. */
  scopes: Generated<string>;
  /** When the token stops working; null: never. */
  expires_at: number | null;
}

export interface CaseActionsTable {
  id: Generated<number>;
  case_id: number;
  actor: string;
  role: string;
  action: string;
  label: string | null;
  reason: string | null;
  at: number;
}

export interface CaseEscalationsTable {
  case_id: number;
  repeat: number;
  level: number;
  fired_at: number;
  /** JSON array of the targets notified. */
  targets: string;
}

/** `discarded`: a dead letter a person gave up on, with a reason (it counts as refused for good). */
export type DeliveryStatus = 'pending' | 'delivered' | 'dead_lettered' | 'discarded';

export interface DeliveriesTable {
  seq: Generated<number>;
  pipeline: string;
  record_id: string;
  destination: string;
  idempotency_key: string;
  status: DeliveryStatus;
  attempts: number;
  first_attempt_at: number | null;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_status: number | null;
  last_error: string | null;
  /** JSON: { status, headers, body } of the response that dead-lettered it. */
  response: string | null;
  /** The destination's `order_by` value of the record (null: not ordered). */
  order_key: ColumnType<string | null, string | null | undefined, string | null>;
  /** The record's arrival position (records.seq): deliveries of one key go out in this order. */
  order_seq: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: number;
  updated_at: number;
}

export interface AlertsTable {
  key: string;
  first_raised_at: number;
  last_raised_at: number;
  last_sent_at: number | null;
  count: number;
  message: string;
}

export interface EvidenceTable {
  id: Generated<number>;
  /** calibration (later: audit, probe, loadtest, runbook). */
  kind: string;
  pipeline: string | null;
  created_at: number;
  config_hash: string | null;
  contract_hash: string | null;
  model_hash: string | null;
  calibrator_hash: string | null;
  /** JSON: the few figures a check cites. */
  summary: string;
  /** JSON: the whole report. */
  report: string;
}

export type RoutingVersionStatus = 'proposed' | 'active' | 'retired' | 'rejected';

export interface RoutingVersionsTable {
  id: Generated<number>;
  pipeline: string;
  /** 1, 2, … per pipeline. */
  version: number;
  status: RoutingVersionStatus;
  /** JSON calibrator (src/calibration/calibrators.ts), or null to route on raw confidence. */
  calibrator: string | null;
  /** JSON: { value, alpha, delta, method, coverage, error, error_upper_bound, n }. */
  threshold: string;
  evidence_id: number | null;
  created_at: number;
  created_by: string | null;
  activated_at: number | null;
  activated_by: string | null;
  note: string | null;
}

export interface Tables {
  records: RecordsTable;
  events: EventsTable;
  review_cases: ReviewCasesTable;
  deliveries: DeliveriesTable;
  alerts: AlertsTable;
  evidence: EvidenceTable;
  routing_versions: RoutingVersionsTable;
  contract_versions: ContractVersionsTable;
  change_sightings: ChangeSightingsTable;
  halts: HaltsTable;
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  case_actions: CaseActionsTable;
  case_escalations: CaseEscalationsTable;
  delivery_limits: DeliveryLimitsTable;
  delivery_breakers: DeliveryBreakersTable;
  delivery_budgets: DeliveryBudgetsTable;
  delivery_quotas: DeliveryQuotasTable;
  labels: LabelsTable;
  refits: RefitsTable;
  purge_runs: PurgeRunsTable;
}

/** One purge of a pipeline's expired payloads (migration 0010): scheduled (due_at set, one process per due time) or from the CLI. */
export interface PurgeRunsTable {
  id: Generated<number>;
  pipeline: string;
  due_at: number | null;
  started_at: number;
  finished_at: number | null;
  /** Records last changed before this were due. */
  cutoff: number;
  /** The setting that made the cutoff, e.g. `retention.payloads: 30d`. */
  policy: string;
  /** `scheduler` or the person who ran `airlock purge`. */
  actor: string;
  purged: number;
}

export type LabelSource = 'calibration' | 'review' | 'audit';

/** A labelled prediction for the feedback loop (migration 0008). */
export interface LabelsTable {
  id: Generated<number>;
  pipeline: string;
  /** calibration: the pre-launch set; audit: a random sample of automatic decisions; review: verdicts below the threshold. */
  source: LabelSource;
  record_id: string | null;
  label: string;
  predicted: string;
  /** The model's confidence before any calibrator. */
  raw_confidence: number;
  /** JSON object label → probability, when the model gave it. */
  probs: string | null;
  segment: string | null;
  routing_version: number | null;
  created_at: number;
}

/** One scheduled refit of a pipeline's calibrator and threshold, run by exactly one process. */
export interface RefitsTable {
  pipeline: string;
  due_at: number;
  ran_at: number;
  /** proposed | applied | unchanged | insufficient | infeasible */
  outcome: string;
  evidence_id: number | null;
  version: number | null;
}
export type LabelRow = Selectable<LabelsTable>;

export type ContractVersionRow = Selectable<ContractVersionsTable>;
export type HaltRow = Selectable<HaltsTable>;

export type RecordRow = Selectable<RecordsTable>;
export type NewRecordRow = Insertable<RecordsTable>;
export type RecordUpdate = Updateable<RecordsTable>;
export type EventRow = Selectable<EventsTable>;
export type ReviewCaseRow = Selectable<ReviewCasesTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type EvidenceRow = Selectable<EvidenceTable>;
export type RoutingVersionRow = Selectable<RoutingVersionsTable>;

export interface ContractVersionsTable {
  id: Generated<number>;
  pipeline: string;
  version: number;
  /** sha256 of the schema's canonical JSON (the gate's Contract.hash). */
  hash: string;
  schema: string;
  /** `config` (the config file's contract) or `accepted` (a change a person accepted). */
  source: 'config' | 'accepted';
  status: 'active' | 'superseded';
  created_at: number;
  created_by: string | null;
  note: string | null;
}

export interface ChangeSightingsTable {
  seq: Generated<number>;
  pipeline: string;
  kind: string;
  field: string;
  record_id: string;
  at: number;
}

export interface HaltsTable {
  id: Generated<number>;
  pipeline: string;
  status: 'open' | 'accepted' | 'rejected';
  /** The change that halted the pipeline. */
  kind: string;
  field: string;
  contract_version: number | null;
  /** JSON: { records, window_ms, example_ids, first_seen, violations: [{kind, field, count}] }. */
  detail: string;
  opened_at: number;
  resolved_at: number | null;
  resolved_by: string | null;
  /** JSON: { version?, note?, released, quarantined }. */
  resolution: string | null;
}

/** The shared token bucket of one destination (leased in blocks by every process) and what pacing learned. */
export interface DeliveryLimitsTable {
  pipeline: string;
  destination: string;
  tokens: number;
  refilled_at: number;
  /** The rate the bucket was last refilled at (configured, signalled or adaptive). */
  rate_per_second: number | null;
  /** The limit found without configuration: from the destination's headers or by AIMD. */
  found_per_second: number | null;
  found_source: string | null;
  /** JSON: the last rate-limit signal seen ({ limit, remaining, reset_ms, window_ms, source, at }). */
  signal: string | null;
  updated_at: number;
}

/** The circuit breaker of one destination (src/delivery/breaker.ts), shared by every process. */
export interface DeliveryBreakersTable {
  pipeline: string;
  destination: string;
  state: 'closed' | 'open' | 'half_open';
  window_start: number;
  calls: number;
  failures: number;
  prev_calls: number;
  prev_failures: number;
  opened_at: number | null;
  open_until: number | null;
  probes: number;
  probe_successes: number;
  openings: number;
  updated_at: number;
}

/** The retry budget of one destination, shared by every process: JSON `[{ second, requests, retries }]`. */
export interface DeliveryBudgetsTable {
  pipeline: string;
  destination: string;
  buckets: string;
  updated_at: number;
}

/** A quota counted in fixed windows (e.g. `250000/day`, UTC days), shared by every process. */
export interface DeliveryQuotasTable {
  pipeline: string;
  destination: string;
  /** The quota as configured, e.g. `250000/day`. */
  quota: string;
  window_start: number;
  used: number;
  updated_at: number;
}

/** The two backends of the store. */
export type DatabaseKind = 'sqlite' | 'postgres';
