import type { Kysely } from 'kysely';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { REVIEW_ACTIONS, type ReviewAction } from '../config/sections/review.js';
import { discardDeadLetter, replayDeadLetters } from '../delivery/dead-letters.js';
import { AirlockError } from '../errors.js';
import { consensus, verdictOutcome } from '../review/agreement.js';
import { type Actor, authorizationsOf, checkCaseAct } from '../review/case-authority.js';
import { caseTypeDefinition } from '../review/case-types.js';
import { caseTypeOf } from '../review/cases.js';
import type { Runtime } from '../runtime/context.js';
import { getCase, resolveCase } from '../store/cases.js';
import { decision as decisionColumn, prediction as predictionColumn, recordBody } from '../store/codecs.js';
import { appendEvents } from '../store/events.js';
import { insertLabels } from '../store/labels.js';
import { lockRecord, recordBodyOf } from '../store/records.js';
import type { RecordRow, ReviewCaseRow, Tables } from '../store/tables.js';
import { acceptHalt, rejectHalt } from './halts.js';
import { applyDecision } from './lifecycle.js';
import { discardQuarantined, releaseQuarantined } from './quarantine.js';

/** A person's decision on a case (the issue's shape); `{ label }` alone is the short form of approve/relabel. */
export interface CaseDecision {
  action: ReviewAction;
  label?: string;
  reason?: string;
}

export interface ActionOutcome {
  case_id: number;
  action: ReviewAction;
  /** What became of the case: resolved, pending (more reviews needed), needs_adjudication, waiting_info, escalated. */
  case_state: 'resolved' | 'pending' | 'needs_adjudication' | 'waiting_info' | 'escalated';
  pipeline: string;
  record_id: string;
}

/** Turns an API body into a decision, or says what is wrong with it. */
export function parseDecision(body: Record<string, unknown>, modelLabel: string | null): CaseDecision {
  const label = body.label;
  if (label !== undefined && typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'boolean') {
    throw new AirlockError('BAD_REQUEST', '"label" must be a string');
  }
  const reason = body.reason ?? body.note;
  if (reason !== undefined && typeof reason !== 'string') throw new AirlockError('BAD_REQUEST', '"reason" must be a string');
  let action = body.action as ReviewAction | undefined;
  if (action === undefined) {
    if (label === undefined)
      throw new AirlockError('BAD_REQUEST', `send { action: ${REVIEW_ACTIONS.join(' | ')}, label?, reason? } or { label }`);
    action = modelLabel !== null && String(label) === modelLabel ? 'approve' : 'relabel';
  }
  if (!REVIEW_ACTIONS.includes(action))
    throw new AirlockError('BAD_REQUEST', `"action" must be one of ${REVIEW_ACTIONS.join(', ')} (got ${JSON.stringify(action)})`);
  if (action === 'relabel' && (label === undefined || String(label).trim() === ''))
    throw new AirlockError('BAD_REQUEST', 'relabel needs a "label"');
  if ((action === 'reject' || action === 'request_info' || action === 'escalate') && (!reason || reason.trim() === '')) {
    throw new AirlockError('BAD_REQUEST', `${action} needs a "reason"`);
  }
  return { action, label: label === undefined ? undefined : String(label), reason: reason as string | undefined };
}

function modelLabelOf(record: { prediction: string | null } | undefined): string | null {
  if (!record?.prediction) return null;
  const p = predictionColumn.decode(record.prediction);
  return typeof p.label === 'string' ? p.label : p.label === undefined ? null : String(p.label);
}

/** What a person may do on a case now (the console's buttons): every rule of authorize(), on the record's values. */
export async function actionsFor(rt: Runtime, c: ReviewCaseRow, r: Actor): Promise<ReviewAction[]> {
  if (c.status !== 'open') return [];
  const body = await recordBodyOf(rt.store.db, c.pipeline, c.record_id);
  const answers = await authorizationsOf(rt.store.db, rt.config, r, c, body ?? {}, rt.clock.now());
  return REVIEW_ACTIONS.filter((a) => answers[a].allowed);
}

/**
 * Acts on a case: checks the actor's role and the case type's authority (limits on the record's values) on the
 * server, records the action (who, what, when, before and after), and moves the case on — resolved and its record
 * decided, waiting for more reviews or a lead's adjudication, waiting for information (its SLA clock paused), or
 * escalated to the backup team.
 */
export async function actOnCase(rt: Runtime, caseId: number, actor: Actor, body: Record<string, unknown>): Promise<ActionOutcome> {
  const db = rt.store.db;
  const peek = await getCase(db, caseId);
  if (!peek) throw new AirlockError('NOT_FOUND', `review case ${caseId} does not exist`);
  // Cases that stand for a record in quarantine, a schema halt or a dead letter act through their own services.
  if (!caseTypeDefinition(peek.type).takesLabel) return actOnBoundaryCase(rt, peek, actor, body);
  const now = rt.clock.now();
  return db.transaction().execute(async (trx) => {
    const c = await lockCase(trx, rt, caseId);
    const pipeline = rt.config.pipelines[c.pipeline];
    if (!pipeline) throw new AirlockError('CONFLICT', `pipeline ${c.pipeline} is no longer in the config`);
    const record = await lockRecord(trx, rt.store.kind, c.pipeline, c.record_id);
    const modelLabel = modelLabelOf(record);
    // Approving an audit sample confirms the automatic decision; approving any other case, the model's label.
    const d = parseDecision(
      body,
      caseTypeDefinition(c.type).approve === 'confirm' && record?.decision ? decisionColumn.decode(record.decision).label : modelLabel,
    );
    await checkCaseAct(trx, rt.config, actor, c, d.action, { before: record ? recordBody.decode(record.body) : {} }, now);
    const before = { state: c.state, owner: c.owner, claimed_by: c.claimed_by };
    const set: Record<string, unknown> = {};
    if (c.first_action_at === null) set.first_action_at = now;
    if (c.state === 'waiting_info' && d.action !== 'request_info') {
      set.paused_ms = Number(c.paused_ms) + (now - Number(c.waiting_since));
      set.waiting_since = null;
      // The clock runs again: the SLA stage recomputes what is due, now.
      set.next_check_at = now;
      set.state = 'open';
    }
    await recordAction(trx, c, actor, d, now);
    let state: ActionOutcome['case_state'];
    if (d.action === 'request_info') {
      Object.assign(set, {
        state: 'waiting_info',
        waiting_since: c.waiting_since ?? now,
        claimed_by: null,
        lease_until: null,
        next_check_at: null,
      });
      state = 'waiting_info';
    } else if (d.action === 'escalate') {
      const ct = caseTypeOf(pipeline, c.type);
      Object.assign(set, {
        owner: ct.backup ?? c.owner,
        priority: Math.max(0, Number(c.priority) - 1),
        claimed_by: null,
        lease_until: null,
      });
      state = 'escalated';
    } else {
      state = await decide(trx, rt, c, pipeline, actor, d, modelLabel, now, set);
    }
    if (Object.keys(set).length > 0) await trx.updateTable('review_cases').set(set).where('id', '=', caseId).execute();
    await appendEvents(
      trx,
      [
        {
          pipeline: c.pipeline,
          recordId: c.record_id,
          at: now,
          kind: 'case_action',
          detail: {
            case_id: caseId,
            by: actor.name,
            role: actor.role,
            action: d.action,
            label: d.label ?? null,
            reason: d.reason ?? null,
            before,
            after: { state, owner: (set.owner as string | undefined) ?? c.owner },
          },
        },
      ],
      rt.store.kind,
    );
    return { case_id: caseId, action: d.action, case_state: state, pipeline: c.pipeline, record_id: c.record_id };
  });
}

async function lockCase(trx: Kysely<Tables>, rt: Runtime, caseId: number): Promise<ReviewCaseRow> {
  let q = trx.selectFrom('review_cases').selectAll().where('id', '=', caseId);
  if (rt.store.kind === 'postgres') q = q.forUpdate();
  const c = await q.executeTakeFirst();
  if (!c) throw new AirlockError('NOT_FOUND', `review case ${caseId} does not exist`);
  if (c.status !== 'open') throw new AirlockError('CONFLICT', `review case ${caseId} is already ${c.status}`);
  return c;
}

/** approve / relabel / reject: one more verdict; resolves the case when the required reviews agree (or a lead adjudicates). */
async function decide(
  trx: Kysely<Tables>,
  rt: Runtime,
  c: ReviewCaseRow,
  pipeline: PipelineConfig,
  actor: Actor,
  d: CaseDecision,
  modelLabel: string | null,
  now: number,
  set: Record<string, unknown>,
): Promise<ActionOutcome['case_state']> {
  const type = caseTypeDefinition(c.type);
  if (d.action === 'approve' && !d.label && modelLabel === null && type.approve !== 'confirm') {
    throw new AirlockError('BAD_REQUEST', `case ${c.id} has no model label to approve: relabel it with a "label"`);
  }
  if (!type.accepts.includes(d.action))
    throw new AirlockError('BAD_REQUEST', type.refusal ?? `${d.action} is not taken on ${c.type} cases`);
  let outcome = verdictOutcome(d, modelLabel) as string;
  const adjudicating = c.state === 'needs_adjudication';
  const ct = caseTypeOf(pipeline, c.type);
  if (!adjudicating && Number(c.reviews_required) > 1) {
    // One verdict per person, their latest: authorize() refuses a second verdict from one person, and the count
    // holds even for rows written before it did.
    const latest = new Map<string, string>();
    for (const a of await trx
      .selectFrom('case_actions')
      .select(['actor', 'action', 'label'])
      .where('case_id', '=', Number(c.id))
      .orderBy('id')
      .execute()) {
      const v = verdictOutcome({ action: a.action, label: a.label }, modelLabel);
      if (v !== null) latest.set(a.actor, v);
    }
    const verdicts = [...latest.values()];
    const cons = consensus(verdicts, ct.reviews);
    if (cons.status === 'pending') {
      Object.assign(set, { claimed_by: null, lease_until: null });
      return 'pending';
    }
    if (cons.status === 'needs_adjudication') {
      Object.assign(set, {
        state: 'needs_adjudication',
        claimed_by: null,
        lease_until: null,
        priority: Math.max(0, Number(c.priority) - 1),
      });
      return 'needs_adjudication';
    }
    outcome = cons.outcome;
  }
  const by = actor.name;
  if (outcome === 'reject') {
    if (!(await resolveCase(trx, Number(c.id), { label: 'rejected', by, note: d.reason }, now))) {
      throw new AirlockError('CONFLICT', `review case ${c.id} was decided by someone else`);
    }
    await trx
      .updateTable('records')
      .set({ status: 'discarded', updated_at: now })
      .where('pipeline', '=', c.pipeline)
      .where('id', '=', c.record_id)
      .execute();
    await appendEvents(
      trx,
      [
        {
          pipeline: c.pipeline,
          recordId: c.record_id,
          at: now,
          kind: 'discarded',
          detail: { by, reason: d.reason ?? null, case_id: Number(c.id) },
        },
      ],
      rt.store.kind,
    );
  } else {
    const label = outcome.startsWith('label:') ? outcome.slice('label:'.length) : (d.label ?? modelLabel ?? '');
    await resolveWithLabel(trx, rt, c, { label, by, note: d.reason }, now);
  }
  Object.assign(set, { state: 'resolved', claimed_by: null, lease_until: null });
  return 'resolved';
}

/**
 * Quarantine, schema-halt and dead-letter cases: approve releases / accepts / replays, reject discards / rejects /
 * discards, through their services — which authorize the actor themselves, as they do when their own routes or the
 * CLI call them.
 */
async function actOnBoundaryCase(rt: Runtime, c: ReviewCaseRow, actor: Actor, body: Record<string, unknown>): Promise<ActionOutcome> {
  if (c.status !== 'open') throw new AirlockError('CONFLICT', `review case ${c.id} is already ${c.status}`);
  const d = parseDecision({ action: body.action ?? 'approve', ...body }, null);
  const now = rt.clock.now();
  const record = await rt.store.db
    .selectFrom('records')
    .select('body')
    .where('pipeline', '=', c.pipeline)
    .where('id', '=', c.record_id)
    .executeTakeFirst();
  const base = { case_id: Number(c.id), action: d.action, pipeline: c.pipeline, record_id: c.record_id };
  if (d.action === 'request_info' || d.action === 'escalate') {
    await checkCaseAct(rt.store.db, rt.config, actor, c, d.action, { before: record ? recordBody.decode(record.body) : {} }, now);
    const pipeline = rt.config.pipelines[c.pipeline];
    const set =
      d.action === 'request_info'
        ? {
            state: 'waiting_info',
            waiting_since: c.waiting_since ?? now,
            next_check_at: null,
            claimed_by: null,
            lease_until: null,
            first_action_at: c.first_action_at ?? now,
          }
        : {
            owner: caseTypeOf(pipeline, c.type).backup ?? c.owner,
            priority: Math.max(0, Number(c.priority) - 1),
            claimed_by: null,
            lease_until: null,
            first_action_at: c.first_action_at ?? now,
            // Escalating ends a wait for information: the clock runs again.
            ...(c.waiting_since !== null
              ? { state: 'open', waiting_since: null, paused_ms: Number(c.paused_ms) + (now - Number(c.waiting_since)), next_check_at: now }
              : {}),
          };
    await rt.store.db.updateTable('review_cases').set(set).where('id', '=', Number(c.id)).execute();
    await recordAction(rt.store.db, c, actor, d, now);
    await appendEvents(
      rt.store.db,
      [
        {
          pipeline: c.pipeline,
          recordId: c.record_id,
          at: now,
          kind: 'case_action',
          detail: { case_id: Number(c.id), by: actor.name, action: d.action, reason: d.reason ?? null },
        },
      ],
      rt.store.kind,
    );
    return { ...base, case_state: d.action === 'request_info' ? 'waiting_info' : 'escalated' };
  }
  const type = caseTypeDefinition(c.type);
  const refused = () => new AirlockError('BAD_REQUEST', type.refusal ?? `${d.action} is not taken on ${c.type} cases`);
  if (type.approve === 'replay') {
    const seqs = (
      await rt.store.db
        .selectFrom('deliveries')
        .select('seq')
        .where('pipeline', '=', c.pipeline)
        .where('record_id', '=', c.record_id)
        .where('status', '=', 'dead_lettered')
        .execute()
    ).map((r) => Number(r.seq));
    if (seqs.length === 0) throw new AirlockError('CONFLICT', `record ${c.record_id} has no dead letter left`);
    if (d.action === 'approve') await replayDeadLetters(rt, { ids: seqs }, { actor, note: d.reason });
    else if (d.action === 'reject') for (const id of seqs) await discardDeadLetter(rt, id, { actor, reason: d.reason ?? '' });
    else throw refused();
  } else if (type.approve === 'accept_change') {
    if (d.action === 'approve') await acceptHalt(rt, c.pipeline, { actor, note: d.reason });
    else if (d.action === 'reject') await rejectHalt(rt, c.pipeline, { actor, note: d.reason });
    else throw refused();
  } else if (d.action === 'approve' || d.action === 'relabel') {
    // A quarantine case: approve (or relabel) releases the record, reject discards it.
    const edited = body.record;
    const out = await releaseQuarantined(rt, c.pipeline, c.record_id, { actor, note: d.reason, body: edited, action: d.action });
    if (!out.released) {
      throw new AirlockError(
        'CONTRACT_VIOLATION',
        `record ${c.record_id} still breaks the contract: ${out.violations.map((v) => `${v.kind} at ${v.path}`).join('; ')}`,
        {
          violations: out.violations,
        },
      );
    }
  } else {
    await discardQuarantined(rt, c.pipeline, c.record_id, { actor, reason: d.reason ?? '' });
  }
  await recordAction(rt.store.db, c, actor, d, now);
  return { ...base, case_state: 'resolved' };
}

/** One row of the case's action log: who did what, when, and why. */
async function recordAction(db: Kysely<Tables>, c: ReviewCaseRow, actor: Actor, d: CaseDecision, now: number): Promise<void> {
  await db
    .insertInto('case_actions')
    .values({
      case_id: Number(c.id),
      actor: actor.name,
      role: actor.role,
      action: d.action,
      label: d.label ?? null,
      reason: d.reason ?? null,
      at: now,
    })
    .execute();
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
  const type = caseTypeDefinition(c.type);
  if (!type.takesLabel) throw new AirlockError('CONFLICT', `review case ${caseId} ${type.notLabelled}`);
  const pipeline = rt.config.pipelines[c.pipeline];
  if (!pipeline) throw new AirlockError('CONFLICT', `pipeline ${c.pipeline} is no longer in the config`);
  const record = await lockRecord(trx, kind, c.pipeline, c.record_id);
  if (type.approve === 'confirm') {
    // An audit verdict is a label for measuring automatic decisions; the decision itself stands.
    const decision = decisionColumn.decodeOrNull(record?.decision ?? null);
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
  const p = predictionColumn.decode(record.prediction);
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
