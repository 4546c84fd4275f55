import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import { casesOfRecord } from '../store/cases.js';
import {
  caseReason,
  caseResolution,
  decision,
  deliveryResponse,
  eventDetail,
  prediction,
  recordBody,
  violations,
} from '../store/codecs.js';
import { deliveriesOf } from '../store/deliveries.js';
import { eventsOf } from '../store/events.js';
import { findRecordsById, getRecord } from '../store/records.js';
import type { RecordRow, ReviewCaseRow } from '../store/tables.js';
import { redactedValues, redactionFor, redactPaths, scrubValues } from './redaction.js';
import { purgeNote } from './retention.js';

/** Who the view is for: the viewer role gets the pipeline's `redact:` paths as "[redacted]". */
export interface ViewOptions {
  role?: string;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function caseView(c: ReviewCaseRow) {
  return {
    id: c.id,
    pipeline: c.pipeline,
    record_id: c.record_id,
    type: c.type,
    owner: c.owner,
    status: c.status,
    reason: caseReason.decode(c.reason),
    sla_due_at: iso(c.sla_due_at),
    created_at: iso(c.created_at),
    resolved_at: iso(c.resolved_at),
    resolution: caseResolution.decodeOrNull(c.resolution),
  };
}

/**
 * The canonical view of one record: its state, prediction, decision, deliveries, cases and audit trail. A purged
 * record shows `record: null` and `payload_purged` (when, by which run and policy); for the viewer role the
 * pipeline's `redact:` paths read "[redacted]".
 */
export async function recordView(rt: Runtime, row: RecordRow, options: ViewOptions = {}) {
  const view = await fullRecordView(rt, row);
  const paths = redactionFor(rt.config, options.role, row.pipeline);
  if (!paths) return view;
  const secrets = new Set([...redactedValues(view.record, paths), ...redactedValues(view.original_record, paths)]);
  return {
    ...view,
    record: redactPaths(view.record, paths),
    original_record: redactPaths(view.original_record, paths),
    deliveries: view.deliveries.map((d) => ({ ...d, response: scrubValues(d.response, secrets) })),
  };
}

async function fullRecordView(rt: Runtime, row: RecordRow) {
  const { db } = rt.store;
  const [deliveries, events, cases] = await Promise.all([
    deliveriesOf(db, row.pipeline, row.id),
    eventsOf(db, row.pipeline, row.id),
    casesOfRecord(db, row.pipeline, row.id),
  ]);
  return {
    id: row.id,
    pipeline: row.pipeline,
    status: row.status,
    record: row.purged_at === null ? recordBody.decode(row.body) : null,
    payload_purged: purgeNote(row),
    contract_hash: row.contract_hash,
    contract_version: row.contract_version,
    violations: violations.decodeOrNull(row.violations),
    original_record: recordBody.decodeOrNull(row.original_body),
    prediction: prediction.decodeOrNull(row.prediction),
    decision: decision.decodeOrNull(row.decision),
    deliveries: deliveries.map((d) => ({
      destination: d.destination,
      status: d.status,
      attempts: d.attempts,
      idempotency_key: d.idempotency_key,
      last_status: d.last_status,
      last_error: d.last_error,
      next_attempt_at: d.status === 'pending' ? iso(d.next_attempt_at) : null,
      response: deliveryResponse.decodeOrNull(d.response),
    })),
    cases: cases.map(caseView),
    events: events.map((e) => ({ at: iso(e.at), kind: e.kind, detail: eventDetail.decode(e.detail) })),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export async function getRecordView(rt: Runtime, pipeline: string, id: string, options: ViewOptions = {}) {
  const row = await getRecord(rt.store.db, pipeline, id);
  if (!row) throw new AirlockError('NOT_FOUND', `record ${id} does not exist in pipeline ${pipeline}`);
  return recordView(rt, row, options);
}

/** `/v1/records/:id`: the record when the id names exactly one; 409 listing pipelines when it is ambiguous. */
export async function getRecordViewById(rt: Runtime, id: string, options: ViewOptions = {}) {
  const rows = await findRecordsById(rt.store.db, id);
  if (rows.length === 0) throw new AirlockError('NOT_FOUND', `no record has id ${id}`);
  if (rows.length > 1) {
    throw new AirlockError('CONFLICT', `id ${id} names records in several pipelines; use /v1/pipelines/:pipeline/records/${id}`, {
      pipelines: rows.map((r) => r.pipeline),
    });
  }
  return recordView(rt, rows[0], options);
}
