import { type Kysely, sql } from 'kysely';
import { type CaseReason, caseReason, caseResolution } from './codecs.js';
import type { ReviewCaseRow, Tables } from './tables.js';

export interface NewReviewCase {
  pipeline: string;
  recordId: string;
  type: string;
  owner: string | null;
  /** Why the case exists (src/store/codecs.ts CaseReasons, per type). */
  reason: Partial<CaseReason>;
  slaDueAt: number | null;
  now: number;
  /** 0 critical … 3 low (default 2, normal). */
  priority?: number;
  firstActionDueAt?: number | null;
  reviewsRequired?: number;
}

export async function insertCases(db: Kysely<Tables>, cases: NewReviewCase[]): Promise<void> {
  for (let i = 0; i < cases.length; i += 200) {
    await db
      .insertInto('review_cases')
      .values(
        cases.slice(i, i + 200).map((c) => ({
          pipeline: c.pipeline,
          record_id: c.recordId,
          type: c.type,
          owner: c.owner,
          status: 'open' as const,
          reason: caseReason.encode(c.reason as CaseReason),
          sla_due_at: c.slaDueAt,
          created_at: c.now,
          priority: c.priority ?? 2,
          first_action_due_at: c.firstActionDueAt ?? null,
          reviews_required: c.reviewsRequired ?? 1,
          next_check_at: c.now,
        })),
      )
      .execute();
  }
}

export async function getCase(db: Kysely<Tables>, id: number): Promise<ReviewCaseRow | undefined> {
  return db.selectFrom('review_cases').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface CaseFilter {
  status?: 'open' | 'resolved';
  pipeline?: string;
  type?: string;
  limit?: number;
  /** Text that the record id or the record's content contains (case-insensitive). */
  search?: string;
  /** Only cases owned by one of these (or by nobody). */
  owners?: string[];
}

export async function listCases(db: Kysely<Tables>, f: CaseFilter): Promise<ReviewCaseRow[]> {
  let q = db.selectFrom('review_cases').selectAll('review_cases');
  if (f.status) q = q.where('review_cases.status', '=', f.status);
  if (f.pipeline) q = q.where('review_cases.pipeline', '=', f.pipeline);
  if (f.type) q = q.where('review_cases.type', '=', f.type);
  if (f.owners) {
    const owners = f.owners.length > 0 ? f.owners : [''];
    q = q.where((eb) => eb.or([eb('review_cases.owner', 'is', null), eb('review_cases.owner', 'in', owners)]));
  }
  if (f.search) {
    const pattern = `%${f.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q
      .innerJoin('records', (j) =>
        j.onRef('records.pipeline', '=', 'review_cases.pipeline').onRef('records.id', '=', 'review_cases.record_id'),
      )
      .where((eb) =>
        eb.or([
          eb(sql`lower(review_cases.record_id)`, 'like', sql`${pattern} escape '\\'`),
          eb(sql`lower(records.body)`, 'like', sql`${pattern} escape '\\'`),
        ]),
      );
  }
  return q
    .orderBy('review_cases.sla_due_at')
    .orderBy('review_cases.id')
    .limit(f.limit ?? 100)
    .execute();
}

export async function casesOfRecord(db: Kysely<Tables>, pipeline: string, recordId: string): Promise<ReviewCaseRow[]> {
  return db
    .selectFrom('review_cases')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('record_id', '=', recordId)
    .orderBy('id')
    .execute();
}

export async function countOpenCases(db: Kysely<Tables>): Promise<{ pipeline: string; type: string; n: number }[]> {
  const rows = await db
    .selectFrom('review_cases')
    .select(['pipeline', 'type', (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'open')
    .groupBy(['pipeline', 'type'])
    .execute();
  return rows.map((r) => ({ pipeline: r.pipeline, type: r.type, n: Number(r.n) }));
}

/** Resolves an open case with a verdict; false when it was no longer open (someone else decided it). */
export async function resolveCase(
  db: Kysely<Tables>,
  id: number,
  verdict: { label: string; by?: string; note?: string },
  now: number,
): Promise<boolean> {
  const res = await db
    .updateTable('review_cases')
    .set({
      status: 'resolved',
      resolved_at: now,
      resolution: caseResolution.encode({ label: verdict.label, by: verdict.by ?? null, note: verdict.note ?? null }),
    })
    .where('id', '=', id)
    .where('status', '=', 'open')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}
