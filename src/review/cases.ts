import type { PipelineConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../pipeline/context.js';
import { applyDecision } from '../pipeline/lifecycle.js';
import { getCase, type NewReviewCase, resolveCase } from '../store/cases.js';
import { appendEvents } from '../store/events.js';
import { lockRecord } from '../store/records.js';

/** Case types Airlock itself opens; each exists even when the config does not name it. */
export const BUILT_IN_CASE_TYPES = [
  'low_confidence',
  'policy_review',
  'audit_sample',
  'model_failure',
  'quarantine',
  'dead_letter',
] as const;

/** Builds a new open case of `type` for a record, with the owner and SLA the config gives that type. */
export function newCase(
  pipeline: PipelineConfig,
  recordId: string,
  type: string,
  reason: Record<string, unknown>,
  now: number,
): NewReviewCase {
  const ct = pipeline.review.caseTypes[type];
  return {
    pipeline: pipeline.name,
    recordId,
    type,
    owner: ct?.owner ?? null,
    reason,
    slaDueAt: ct?.slaMs !== undefined ? now + ct.slaMs : null,
    now,
  };
}

export interface CaseVerdict {
  label: string;
  by?: string;
  note?: string;
}

/**
 * Decides an open case with a label: the case is resolved and its record decided, with its deliveries queued,
 * in one transaction.
 */
export async function decideCase(rt: Runtime, caseId: number, verdict: CaseVerdict): Promise<{ pipeline: string; recordId: string }> {
  if (typeof verdict.label !== 'string' || verdict.label.trim() === '') {
    throw new AirlockError('BAD_REQUEST', 'a decision needs a non-empty "label"');
  }
  const { db, kind } = rt.store;
  const now = rt.clock.now();
  return db.transaction().execute(async (trx) => {
    const c = await getCase(trx, caseId);
    if (!c) throw new AirlockError('NOT_FOUND', `review case ${caseId} does not exist`);
    if (c.status !== 'open') throw new AirlockError('CONFLICT', `review case ${caseId} is already ${c.status}`);
    if (c.type === 'dead_letter') {
      throw new AirlockError('CONFLICT', `review case ${caseId} is a dead letter: its delivery is replayed or abandoned, not labelled`);
    }
    if (c.type === 'quarantine') {
      throw new AirlockError('CONFLICT', `review case ${caseId} is a quarantine case: its record is released or discarded, not labelled`);
    }
    const pipeline = rt.config.pipelines[c.pipeline];
    if (!pipeline) throw new AirlockError('CONFLICT', `pipeline ${c.pipeline} is no longer in the config`);
    const record = await lockRecord(trx, kind, c.pipeline, c.record_id);
    if (c.type === 'audit_sample') {
      // An audit verdict is a label for measuring automatic decisions; the decision itself stands.
      const decision = record?.decision ? (JSON.parse(record.decision) as { label: string }) : null;
      if (!(await resolveCase(trx, caseId, verdict, now)))
        throw new AirlockError('CONFLICT', `review case ${caseId} was decided by someone else`);
      await appendEvents(
        trx,
        [
          {
            pipeline: c.pipeline,
            recordId: c.record_id,
            at: now,
            kind: 'audit_verdict',
            detail: {
              case_id: caseId,
              label: verdict.label,
              agrees: decision ? decision.label === verdict.label : null,
              by: verdict.by ?? null,
            },
          },
        ],
        kind,
      );
      return { pipeline: c.pipeline, recordId: c.record_id };
    }
    if (record?.status !== 'in_review') {
      throw new AirlockError('CONFLICT', `record ${c.record_id} is ${record?.status ?? 'missing'}, not in review`);
    }
    if (!(await resolveCase(trx, caseId, verdict, now)))
      throw new AirlockError('CONFLICT', `review case ${caseId} was decided by someone else`);
    await appendEvents(
      trx,
      [
        {
          pipeline: c.pipeline,
          recordId: c.record_id,
          at: now,
          kind: 'case_resolved',
          detail: { case_id: caseId, type: c.type, by: verdict.by ?? null },
        },
      ],
      kind,
    );
    await applyDecision(
      trx,
      kind,
      pipeline,
      c.record_id,
      { label: verdict.label, source: 'review', case_id: caseId, by: verdict.by, at: new Date(now).toISOString() },
      now,
    );
    return { pipeline: c.pipeline, recordId: c.record_id };
  });
}
