import type { Kysely } from 'kysely';
import type { PipelineConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../pipeline/context.js';
import { applyDecision } from '../pipeline/lifecycle.js';
import { getCase, type NewReviewCase, resolveCase } from '../store/cases.js';
import { appendEvents } from '../store/events.js';
import { insertLabels } from '../store/labels.js';
import { lockRecord } from '../store/records.js';
import type { RecordRow, ReviewCaseRow, Tables } from '../store/tables.js';
import { addWorkingTime } from './calendar.js';

/** Case types Airlock itself opens; each exists even when the config does not name it. */
export const BUILT_IN_CASE_TYPES = [
  'low_confidence',
  'policy_review',
  'audit_sample',
  'model_failure',
  'quarantine',
  'schema_halt',
  'dead_letter',
] as const;

/** Queue order: lower first. */
export const PRIORITY_RANK = { critical: 0, high: 1, normal: 2, low: 3 } as const;

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
    // Business-hours SLAs count the owner team's working hours (holidays and weekends skipped), in its time zone.
    slaDueAt: ct?.slaMs !== undefined ? addWorkingTime(now, ct.slaMs, ct.calendarTeam ?? null) : null,
    firstActionDueAt: ct?.firstActionMs !== undefined ? addWorkingTime(now, ct.firstActionMs, ct.calendarTeam ?? null) : null,
    priority: PRIORITY_RANK[ct?.priority ?? 'normal'],
    reviewsRequired: ct?.reviews.required ?? 1,
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
 * in one transaction. (The short form of approve / relabel; reviewActions.ts has the whole set of actions.)
 */
export async function decideCase(rt: Runtime, caseId: number, verdict: CaseVerdict): Promise<{ pipeline: string; recordId: string }> {
  if (typeof verdict.label !== 'string' || verdict.label.trim() === '') {
    throw new AirlockError('BAD_REQUEST', 'a decision needs a non-empty "label"');
  }
  const now = rt.clock.now();
  return rt.store.db.transaction().execute(async (trx) => {
    const c = await getCase(trx, caseId);
    if (!c) throw new AirlockError('NOT_FOUND', `review case ${caseId} does not exist`);
    return resolveWithLabel(trx, rt, c, verdict, now);
  });
}

/** Resolves an open case with a label inside the caller's transaction (audit samples record a verdict only). */
export async function resolveWithLabel(
  trx: Kysely<Tables>,
  rt: Runtime,
  c: ReviewCaseRow,
  verdict: CaseVerdict,
  now: number,
): Promise<{ pipeline: string; recordId: string }> {
  const { kind } = rt.store;
  const caseId = Number(c.id);
  if (c.status !== 'open') throw new AirlockError('CONFLICT', `review case ${caseId} is already ${c.status}`);
  if (c.type === 'dead_letter') {
    throw new AirlockError('CONFLICT', `review case ${caseId} is a dead letter: its delivery is replayed or abandoned, not labelled`);
  }
  if (c.type === 'quarantine') {
    throw new AirlockError('CONFLICT', `review case ${caseId} is a quarantine case: its record is released or discarded, not labelled`);
  }
  if (c.type === 'schema_halt') {
    throw new AirlockError('CONFLICT', `review case ${caseId} is a schema halt: the change is accepted or rejected, not labelled`);
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
    await recordVerdictLabel(trx, c.pipeline, record, 'audit', verdict.label, now);
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
  await recordVerdictLabel(trx, c.pipeline, record, 'review', verdict.label, now);
  return { pipeline: c.pipeline, recordId: c.record_id };
}

/**
 * A person's verdict on a scored record is a label for the feedback loop (src/pipeline/refit.ts), stored with the
 * model's prediction as it was: audit verdicts are unbiased above the threshold, review verdicts only below it.
 */
async function recordVerdictLabel(
  trx: Kysely<Tables>,
  pipeline: string,
  record: RecordRow | undefined,
  source: 'audit' | 'review',
  label: string,
  now: number,
): Promise<void> {
  if (!record?.prediction) return;
  const p = JSON.parse(record.prediction) as {
    label?: unknown;
    confidence?: unknown;
    probs?: Record<string, number>;
    segment?: string;
    routing_version?: number | null;
  };
  if (typeof p.label !== 'string' || typeof p.confidence !== 'number') return;
  await insertLabels(trx, [
    {
      pipeline,
      source,
      recordId: record.id,
      label,
      predicted: p.label,
      rawConfidence: p.confidence,
      probs: p.probs ?? null,
      segment: p.segment ?? null,
      routingVersion: p.routing_version ?? null,
      now,
    },
  ]);
}
