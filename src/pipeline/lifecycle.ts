import type { Kysely } from 'kysely';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { enqueueDeliveries } from '../delivery/outbox.js';
import { decision as decisionColumn, type StoredDecision } from '../store/codecs.js';
import { appendEvents, type NewEvent } from '../store/events.js';
import { updateRecord } from '../store/records.js';
import type { DatabaseKind, Tables } from '../store/tables.js';

/**
 * Commits a decision: the record becomes `decided` with one outbox row per destination (or `delivered` when
 * the pipeline has no destination), in the caller's transaction.
 */
export async function applyDecision(
  trx: Kysely<Tables>,
  dialect: DatabaseKind,
  pipeline: PipelineConfig,
  recordId: string,
  decision: StoredDecision,
  now: number,
  extra: { prediction?: string; leaseOwner?: string; eventsBefore?: NewEvent[] } = {},
): Promise<boolean> {
  const next = Object.keys(pipeline.destinations).length > 0 ? 'decided' : 'delivered';
  const ok = await updateRecord(
    trx,
    pipeline.name,
    recordId,
    {
      status: next,
      decision: decisionColumn.encode(decision),
      ...(extra.prediction !== undefined ? { prediction: extra.prediction } : {}),
      lease_owner: null,
      lease_until: null,
      updated_at: now,
    },
    extra.leaseOwner,
  );
  if (!ok) return false;
  await enqueueDeliveries(trx, pipeline, recordId, now);
  const events: NewEvent[] = [
    ...(extra.eventsBefore ?? []),
    {
      pipeline: pipeline.name,
      recordId,
      at: now,
      kind: 'decided',
      detail: { label: decision.label, source: decision.source, ...(decision.case_id ? { case_id: decision.case_id } : {}) },
    },
  ];
  if (next === 'delivered') events.push({ pipeline: pipeline.name, recordId, at: now, kind: 'delivered', detail: { destinations: 0 } });
  await appendEvents(trx, events, dialect);
  return true;
}
