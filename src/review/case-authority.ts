/**
 * authorize() with what it needs read from the database: the case type's settings for the pipeline and, for a case
 * that needs several reviews, who already gave it a verdict. Every door calls this (src/review/authorize.ts says which).
 */
import type { Kysely } from 'kysely';
import type { AirlockConfig } from '../config/airlock-config.js';
import type { ReviewAction } from '../config/sections/review.js';
import { REVIEW_ACTIONS } from '../config/sections/review.js';
import type { ReviewCaseRow, Tables } from '../store/tables.js';
import { type Authorization, assertAuthorized, authorize, type CaseAct, type Person, VERDICTS } from './authorize.js';
import { caseTypeOf } from './cases.js';

/** The people who already gave the case a verdict (approve, relabel or reject). */
export async function reviewersOf(db: Kysely<Tables>, caseId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('case_actions')
    .select('actor')
    .where('case_id', '=', caseId)
    .where('action', 'in', [...VERDICTS])
    .execute();
  return [...new Set(rows.map((r) => r.actor))];
}

/** What authorize() reads of a case. */
export type CaseUnderCheck = Pick<
  ReviewCaseRow,
  'id' | 'pipeline' | 'type' | 'status' | 'state' | 'owner' | 'claimed_by' | 'lease_until' | 'reviews_required'
>;

/**
 * Checks an action on the open case of `type` that stands for a record (its quarantine case, the schema-halt case of
 * its halt, its dead-letter case), for the doors that act on the record rather than on a case id. A record whose case
 * was never opened (e.g. quarantined before its pipeline had case types) is checked as a new case of that type would
 * be: its configured owner, the type's actions and limits.
 */
export async function checkRecordCaseAct(
  db: Kysely<Tables>,
  config: AirlockConfig,
  actor: Actor,
  target: { pipeline: string; recordId: string; type: string },
  action: CaseAct,
  record: { before: unknown; after?: unknown },
  now: number,
): Promise<void> {
  const open = await db
    .selectFrom('review_cases')
    .selectAll()
    .where('pipeline', '=', target.pipeline)
    .where('record_id', '=', target.recordId)
    .where('type', '=', target.type)
    .where('status', '=', 'open')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  const pipeline = config.pipelines[target.pipeline];
  const standIn: CaseUnderCheck = {
    id: 0,
    pipeline: target.pipeline,
    type: target.type,
    status: 'open',
    state: 'open',
    owner: pipeline?.review.caseTypes[target.type]?.owner ?? null,
    claimed_by: null,
    lease_until: null,
    reviews_required: 1,
  };
  await checkCaseAct(db, config, actor, open ?? standIn, action, record, now);
}

/** Who acts, as the doors know them: a name and a role (the teams come from the config). */
export interface Actor {
  name: string;
  role: Person['role'];
}

/** Throws 403/409 unless `actor` may take `action` on case `c` (its record as stored, and as edited when `after` is given). */
export async function checkCaseAct(
  db: Kysely<Tables>,
  config: AirlockConfig,
  actor: Actor,
  c: CaseUnderCheck,
  action: CaseAct,
  record: { before: unknown; after?: unknown },
  now: number,
): Promise<void> {
  const reviewedBy = Number(c.reviews_required) > 1 ? await reviewersOf(db, Number(c.id)) : [];
  assertAuthorized({
    person: personOf(config, actor),
    case: c,
    caseType: caseTypeOf(config.pipelines[c.pipeline], c.type),
    action,
    before: record.before,
    after: record.after,
    reviewedBy,
    now,
  });
}

/** The teams a user belongs to (team membership lives in the config). */
export function teamsOf(config: AirlockConfig, user: string): string[] {
  return Object.values(config.teams)
    .filter((t) => t.members.includes(user))
    .map((t) => t.name);
}

/** A person as the config knows them: their name and role, and the teams the config lists them in. */
export function personOf(config: AirlockConfig, user: Actor): Person {
  return { name: user.name, role: user.role, teams: teamsOf(config, user.name) };
}

/** What authorize() answers for each review action on the case now (the console's buttons, the authority API). */
export async function authorizationsOf(
  db: Kysely<Tables>,
  config: AirlockConfig,
  actor: Actor,
  c: CaseUnderCheck,
  before: unknown,
  now: number,
): Promise<Record<ReviewAction, Authorization>> {
  const reviewedBy = Number(c.reviews_required) > 1 ? await reviewersOf(db, Number(c.id)) : [];
  const person = personOf(config, actor);
  const caseType = caseTypeOf(config.pipelines[c.pipeline], c.type);
  return Object.fromEntries(
    REVIEW_ACTIONS.map((action) => [action, authorize({ person, case: c, caseType, action, before, reviewedBy, now })]),
  ) as Record<ReviewAction, Authorization>;
}
