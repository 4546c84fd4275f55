import type { Kysely } from 'kysely';
import { labelProbs } from './codecs.js';
import type { LabelRow, LabelSource, Tables } from './tables.js';

export interface NewLabel {
  pipeline: string;
  source: LabelSource;
  recordId: string | null;
  label: string;
  predicted: string;
  rawConfidence: number;
  probs?: Record<string, number> | null;
  segment?: string | null;
  routingVersion?: number | null;
  now: number;
}

const CHUNK = 500;

export async function insertLabels(db: Kysely<Tables>, labels: readonly NewLabel[]): Promise<void> {
  for (let i = 0; i < labels.length; i += CHUNK) {
    await db
      .insertInto('labels')
      .values(
        labels.slice(i, i + CHUNK).map((l) => ({
          pipeline: l.pipeline,
          source: l.source,
          record_id: l.recordId,
          label: l.label,
          predicted: l.predicted,
          raw_confidence: l.rawConfidence,
          probs: l.probs ? labelProbs.encode(l.probs) : null,
          segment: l.segment ?? null,
          routing_version: l.routingVersion ?? null,
          created_at: l.now,
        })),
      )
      .execute();
  }
}

/** Every label of a pipeline (optionally since a time), oldest first. */
export async function labelsOf(db: Kysely<Tables>, pipeline: string, since?: number): Promise<LabelRow[]> {
  let q = db.selectFrom('labels').selectAll().where('pipeline', '=', pipeline);
  if (since !== undefined) q = q.where('created_at', '>=', since);
  return q.orderBy('id').execute();
}

/** Production misclassifications found by people (review or audit verdict ≠ the model's label), newest first. */
export async function misclassifications(db: Kysely<Tables>, pipeline: string, since: number, limit = 500): Promise<LabelRow[]> {
  return db
    .selectFrom('labels')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('source', 'in', ['review', 'audit'])
    .where('created_at', '>=', since)
    .whereRef('label', '<>', 'predicted')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** Claims a scheduled refit: true for exactly one caller per (pipeline, due time). */
export async function claimRefit(db: Kysely<Tables>, pipeline: string, dueAt: number, now: number): Promise<boolean> {
  const r = await db
    .insertInto('refits')
    .values({ pipeline, due_at: dueAt, ran_at: now, outcome: 'running', evidence_id: null, version: null })
    .onConflict((oc) => oc.columns(['pipeline', 'due_at']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function finishRefit(
  db: Kysely<Tables>,
  pipeline: string,
  dueAt: number,
  outcome: string,
  evidenceId: number | null,
  version: number | null,
): Promise<void> {
  await db
    .updateTable('refits')
    .set({ outcome, evidence_id: evidenceId, version })
    .where('pipeline', '=', pipeline)
    .where('due_at', '=', dueAt)
    .execute();
}

export async function refitsOf(db: Kysely<Tables>, pipeline: string) {
  return db.selectFrom('refits').selectAll().where('pipeline', '=', pipeline).orderBy('due_at', 'desc').execute();
}
