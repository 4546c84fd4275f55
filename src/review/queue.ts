import { sql } from 'kysely';
import type { AirlockConfig } from '../config/airlock-config.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import { getCase } from '../store/cases.js';
import { appendEvents } from '../store/events.js';
import { NO_DEADLINE } from '../store/migrations.js';
import type { ReviewCaseRow } from '../store/tables.js';
import { type Actor, checkCaseAct, teamsOf } from './case-authority.js';

/** A claim on a case lasts this long unless the reviewer's page sends a heartbeat (which extends it). */
export const DEFAULT_LEASE_MS = 5 * 60_000;

/**
 * Cases a reviewer may take: leads and admins may take any; a reviewer takes cases owned by one of their teams,
 * by themselves, or by nobody. Viewers and machines take none.
 */
function ownerFilter(config: AirlockConfig, r: Actor): { any: boolean; owners: string[] } | null {
  if (r.role === 'admin' || r.role === 'lead') return { any: true, owners: [] };
  if (r.role !== 'reviewer') return null;
  return { any: false, owners: [...teamsOf(config, r.name), r.name] };
}

export interface QueueFilter {
  pipeline?: string;
  type?: string;
  /** Case ids to pass over (the ones this reviewer just skipped). */
  exclude?: number[];
}

/**
 * Claims the next case for a reviewer: the most urgent (priority, then the earliest SLA deadline, then the oldest)
 * open case they may take that nobody holds, with a lease. One UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP
 * LOCKED) — on SQLite one writer at a time — so no case is ever held by two reviewers. A case needing several
 * reviews is not offered again to someone who already reviewed it.
 */
export async function claimNextCase(rt: Runtime, r: Actor, f: QueueFilter = {}, leaseMs = DEFAULT_LEASE_MS): Promise<ReviewCaseRow | null> {
  const scope = ownerFilter(rt.config, r);
  if (!scope) throw new AirlockError('FORBIDDEN', `${r.name} is ${r.role}: only reviewers, leads and admins take cases`);
  const { db, kind } = rt.store;
  const now = rt.clock.now();
  const lock = kind === 'postgres' ? sql`for update skip locked` : sql``;
  const owners = scope.any ? sql`` : sql`and (owner is null or owner in (${sql.join(scope.owners.length > 0 ? scope.owners : [''])}))`;
  const pipeline = f.pipeline ? sql`and pipeline = ${f.pipeline}` : sql``;
  const type = f.type ? sql`and type = ${f.type}` : sql``;
  const exclude = f.exclude && f.exclude.length > 0 ? sql`and id not in (${sql.join(f.exclude)})` : sql``;
  // Adjudication waits for a lead; waiting-for-information cases wait for the information.
  const states = r.role === 'reviewer' ? sql`and state = 'open'` : sql`and state in ('open', 'needs_adjudication')`;
  const pick = sql`
    update review_cases set claimed_by = ${r.name}, lease_until = ${now + leaseMs}
    where id = (
      select id from review_cases
      where status = 'open' ${states} and (lease_until is null or lease_until < ${now}) ${owners} ${pipeline} ${type} ${exclude}
        and not exists (select 1 from case_actions a where a.case_id = review_cases.id and a.actor = ${r.name})
      order by priority, coalesce(sla_due_at, ${sql.raw(String(NO_DEADLINE))}), id
      limit 1
      ${lock}
    )
    and (lease_until is null or lease_until < ${now})
    returning *`;
  const leaseIso = new Date(now + leaseMs).toISOString();
  if (kind === 'postgres') {
    // One round trip: the claim and its audit event in one statement.
    const res = await sql<ReviewCaseRow>`
      with claimed as (${pick}),
      logged as (
        insert into events (pipeline, record_id, at, kind, detail)
        select pipeline, record_id, ${now}, 'case_claimed', json_build_object('case_id', id, 'by', ${r.name}::text, 'lease_until', ${leaseIso}::text)::text
        from claimed
      )
      select * from claimed`.execute(db);
    return res.rows[0] ?? null;
  }
  const c = (await sql<ReviewCaseRow>`${pick}`.execute(db)).rows[0];
  if (!c) return null;
  await appendEvents(
    db,
    [
      {
        pipeline: c.pipeline,
        recordId: c.record_id,
        at: now,
        kind: 'case_claimed',
        detail: { case_id: Number(c.id), by: r.name, lease_until: leaseIso },
      },
    ],
    kind,
  );
  return c;
}

/**
 * Extends the lease of a case the reviewer holds (the page's heartbeat), or takes a case nobody holds: the same
 * rules as a claim (authorize: its owner team, not held by another, not already reviewed by this person). 409 when
 * someone else holds it now.
 */
export async function heartbeat(rt: Runtime, caseId: number, r: Actor, leaseMs = DEFAULT_LEASE_MS): Promise<ReviewCaseRow> {
  const now = rt.clock.now();
  const db = rt.store.db;
  const c = await getCase(db, caseId);
  if (!c) throw new AirlockError('NOT_FOUND', `review case ${caseId} does not exist`);
  await checkCaseAct(db, rt.config, r, c, 'hold', { before: undefined }, now);
  const res = await db
    .updateTable('review_cases')
    .set({ lease_until: now + leaseMs, claimed_by: r.name })
    .where('id', '=', caseId)
    .where('status', '=', 'open')
    .where((eb) => eb.or([eb('claimed_by', '=', r.name), eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) {
    // Taken or decided between the check and the update.
    const now2 = await getCase(db, caseId);
    if (!now2 || now2.status !== 'open') throw new AirlockError('CONFLICT', `review case ${caseId} is already ${now2?.status ?? 'gone'}`);
    throw new AirlockError(
      'CONFLICT',
      `review case ${caseId} is held by ${now2.claimed_by} until ${new Date(Number(now2.lease_until)).toISOString()}`,
    );
  }
  return (await getCase(db, caseId)) as ReviewCaseRow;
}

/** Gives a held case back to the queue (its holder, or a lead or an admin). */
export async function releaseClaim(rt: Runtime, caseId: number, r: Actor): Promise<void> {
  const db = rt.store.db;
  const c = await getCase(db, caseId);
  if (!c) throw new AirlockError('NOT_FOUND', `review case ${caseId} does not exist`);
  const now = rt.clock.now();
  await checkCaseAct(db, rt.config, r, c, 'release', { before: undefined }, now);
  await db.updateTable('review_cases').set({ claimed_by: null, lease_until: null }).where('id', '=', caseId).execute();
  await appendEvents(
    db,
    [{ pipeline: c.pipeline, recordId: c.record_id, at: now, kind: 'case_released', detail: { case_id: caseId, by: r.name } }],
    rt.store.kind,
  );
}

/**
 * Leases that end further ahead than a whole lease from now were taken before the clock went back (a claim or a
 * heartbeat never sets more than `leaseMs` ahead). Left alone, such a lease would hold its case for as long as the jump;
 * it is cut to one lease from now instead: the holder keeps the case while they keep sending heartbeats, and when they
 * stop it returns to the queue one lease later, as any other. Returns how many leases were cut.
 */
export async function shortenLeasesFromTheFuture(rt: Runtime, now: number, leaseMs = DEFAULT_LEASE_MS): Promise<number> {
  const res = await rt.store.db
    .updateTable('review_cases')
    .set({ lease_until: now + leaseMs })
    .where('status', '=', 'open')
    .where('lease_until', '>', now + leaseMs)
    .executeTakeFirst();
  return Number(res.numUpdatedRows);
}

/** Who holds a case now (null when nobody, or the lease expired: it is back in the queue). */
export function holderOf(c: ReviewCaseRow, now: number): string | null {
  return c.claimed_by && c.lease_until !== null && Number(c.lease_until) >= now ? c.claimed_by : null;
}
