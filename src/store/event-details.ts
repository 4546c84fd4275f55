/**
 * The audit trail's vocabulary: every kind of event Airlock appends to a record's trail, and the detail each carries
 * (events.detail, JSON). Details name fields, kinds and counts, never record values.
 */
import type { Violation, ViolationKind } from '../contract/gate.js';

/** A structural change and how often it was seen. */
interface ChangeSeen {
  kind: ViolationKind;
  field: string;
  count: number;
}

/** Who released a record, and how (from quarantine, or with the backlog of a rejected change). */
type Released =
  | {
      by: string | null;
      edited: boolean;
      body_hash_before?: string;
      changed_fields?: string[];
      note: string | null;
      contract_version: number | null;
    }
  | { by: string | null; reason: string | null | undefined };

/** An SLA step that fired: the escalation level or the breach, and who was told. */
type SlaStep = { case_id: number; notified: string[] } & Record<string, string | number | string[]>;

/** The detail of each event kind. */

/** A violation as stored (records.violations, event details): the gate's Violation, these keys only. */
export type StoredViolation = Pick<Violation, 'kind' | 'path' | 'field' | 'message' | 'keyword'>;

export interface EventDetails {
  /** Stored by ingest, with the contract version that checked it. */
  received: { contract: string | null; contract_version: number | null };
  /** Stored while its pipeline is halted: it waits for the decision on the halt. */
  halted: { reason: 'pipeline halted'; violations: number };
  violations_accepted: { violations: StoredViolation[] };
  /** This record's change crossed gate.halt_after: the pipeline halted. */
  pipeline_halted: { halt: number; change: { kind: string; field: string }; records: number; violations: StoredViolation[] };
  quarantined:
    | { violations: StoredViolation[]; structural_change?: ChangeSeen[] }
    | { reason: 'change rejected'; halt: number; change: { kind: string; field: string }; by: string | null };
  released: Released;
  /** A person threw the record away (from quarantine, or rejecting its case). */
  discarded: { by: string | null; reason: string | null; case_id?: number };
  contract_accepted: { halt: number; version: number; changes: string[]; by: string | null };

  scored: { label: string; confidence: number; model_version: string | null };
  routed: {
    to: 'auto' | 'review';
    reason: string;
    threshold: number | null;
    calibrated_confidence: number;
    routing_version: number | null;
    segment?: string;
    segment_threshold?: 'own' | 'overall' | 'none' | null;
    rule?: string;
    audit?: true;
  };
  model_failed: { error: string; status: number | null };
  decided: { label: string; source: 'auto' | 'review'; case_id?: number };

  case_opened: { type: string; owner: string | null };
  case_claimed: { case_id: number; by: string; lease_until: string };
  case_released: { case_id: number; by: string };
  case_action: {
    case_id: number;
    by: string;
    role?: string;
    action: string;
    label?: string | null;
    reason: string | null;
    before?: { state: string; owner: string | null; claimed_by: string | null };
    after?: { state: string; owner: string | null };
  };
  case_resolved: { case_id: number; type: string; by: string | null };
  audit_verdict: { case_id: number; label: string; agrees: boolean | null; by: string | null };
  case_escalated: SlaStep;
  sla_breached: SlaStep;

  delivery_succeeded: { destination: string; attempt: number; status: number | null };
  delivery_retry_scheduled: { destination: string; attempt: number; status: number | null; error: string | null; retry_in_ms: number };
  delivery_dead_lettered: { destination: string; attempt: number; status: number | null; error: string | null };
  delivery_replayed: {
    destination: string;
    delivery: number;
    by: string | null;
    note: string | null;
    previous_attempts: number;
    previous_status: number | null;
    previous_error: string | null;
  };
  delivery_discarded: { destination: string; delivery: number; by: string | null; reason: string };
  /** Every destination has it (`destinations: 0`: the pipeline has none). */
  delivered: { destinations: number };
  /** At least one destination refused it for good. */
  dead_lettered: { dead_lettered: string[]; delivered: number };

  payload_purged: { run: number; policy: string; by: string };
  /** One per purge run (record id ''). */
  payloads_purged: { run: number; purged: number; cutoff: string; policy: string; by: string; scheduled: boolean };
}

export type EventKind = keyof EventDetails;

/** One event of the trail, its detail typed by its kind. */
export type EventOf<K extends EventKind = EventKind> = {
  [Kind in K]: { pipeline: string; recordId: string; at: number; kind: Kind; detail: EventDetails[Kind] };
}[K];

/** An event's detail as read back, whatever its kind. */
export type EventDetail = EventDetails[EventKind];
