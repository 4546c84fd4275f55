import { Type } from '@sinclair/typebox';
import { REVIEW_ACTIONS, type ReviewAction } from '../config/sections/review.js';
import { AirlockError } from '../errors.js';
import { actionsFor, parseDecision } from '../pipeline/decisions.js';
import { redactionFor, visibleMatch } from '../pipeline/redaction.js';
import { caseView, getRecordView } from '../pipeline/view.js';
import { authorityMatrix, mayAct } from '../review/authority.js';
import { type Actor, authorizationsOf, teamsOf } from '../review/case-authority.js';
import { caseTypeDefinition } from '../review/case-types.js';
import { caseTypeOf } from '../review/cases.js';
import { claimNextCase, heartbeat, holderOf, releaseClaim } from '../review/queue.js';
import type { Runtime } from '../runtime/context.js';
import { getCase, listCases } from '../store/cases.js';
import { recordBodyOf } from '../store/records.js';
import type { ReviewCaseRow } from '../store/tables.js';
import { DECIDERS, PEOPLE, read, write } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, positiveId } from './api.js';
import { callerOf } from './auth.js';
import type { RecordView } from './schemas/records.js';
import {
  Authority,
  CaseDetail,
  type CaseReason,
  NextCase,
  type ReviewCase,
  ReviewCaseList,
  ReviewCase as ReviewCaseSchema,
} from './schemas/review.js';

const CaseParams = Type.Object({ id: Type.String({ description: 'A review case id (a positive whole number).' }) });
/** With server.auth: off, the reviewer acting (else the signed-in user). */
const by = Type.Optional(Type.String({ description: 'With server.auth: off, who acts (else the signed-in user).' }));

/** The queue's view of a case: its SLA clocks (pause-adjusted), who holds it and until when. */
export function queueCaseView(c: ReviewCaseRow, now: number): ReviewCase {
  const paused = Number(c.paused_ms) + (c.waiting_since !== null ? now - Number(c.waiting_since) : 0);
  const due = c.sla_due_at === null ? null : Number(c.sla_due_at) + paused;
  const firstDue = c.first_action_due_at === null || c.first_action_at !== null ? null : Number(c.first_action_due_at) + paused;
  const holder = holderOf(c, now);
  const view = caseView(c);
  return {
    ...view,
    // A case always has its creation time (the column is not null).
    created_at: view.created_at as string,
    reason: view.reason as CaseReason | null,
    resolution: view.resolution as ReviewCase['resolution'],
    priority: (['critical', 'high', 'normal', 'low'] as const)[Number(c.priority)] ?? 'normal',
    state: c.state,
    reviews_required: Number(c.reviews_required),
    held_by: holder,
    lease_until: holder ? new Date(Number(c.lease_until)).toISOString() : null,
    first_action_at: c.first_action_at === null ? null : new Date(Number(c.first_action_at)).toISOString(),
    sla: {
      due_at: due === null ? null : new Date(due).toISOString(),
      first_action_due_at: firstDue === null ? null : new Date(firstDue).toISOString(),
      remaining_ms: due === null ? null : due - now,
      paused: c.waiting_since !== null,
      breached: (due !== null && now > due) || (firstDue !== null && now > firstDue),
    },
  };
}

/**
 * What each action's body needs besides `action`, asked of the decision parser itself (src/pipeline/decisions.ts):
 * the console marks those inputs required and keeps no copy of the rule.
 */
const NEEDS: Record<ReviewAction, ('label' | 'reason')[]> = Object.fromEntries(
  REVIEW_ACTIONS.map((action) => {
    const accepts = (body: Record<string, unknown>) => {
      try {
        parseDecision({ action, ...body }, null);
        return true;
      } catch {
        return false;
      }
    };
    const needs: ('label' | 'reason')[] = [];
    if (!accepts({ reason: 'r' })) needs.push('label');
    if (!accepts({ label: 'l' })) needs.push('reason');
    return [action, needs];
  }),
) as Record<ReviewAction, ('label' | 'reason')[]>;

/** The actions the reviewer may take on the case now, with what each needs. */
export async function allowedActionsOf(rt: Runtime, c: ReviewCaseRow, r: Actor) {
  const allowed = await actionsFor(rt, c, r);
  const t = caseTypeDefinition(c.type).text;
  return {
    allowed_actions: allowed,
    action_needs: Object.fromEntries(allowed.map((a) => [a, NEEDS[a]])),
    type_text: { title: t.title, explanation: t.explanation, actions: { ...t.actions } },
  };
}

/** The stored bodies of the cases' records, by pipeline and record id. */
async function bodiesOf(db: Runtime['store']['db'], cases: ReviewCaseRow[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of cases) {
    const r = await db
      .selectFrom('records')
      .select('body')
      .where('pipeline', '=', c.pipeline)
      .where('id', '=', c.record_id)
      .executeTakeFirst();
    if (r) out.set(`${c.pipeline}\u0000${c.record_id}`, r.body);
  }
  return out;
}

/** The queue: cases (most urgent first), one case with what the caller may do, the claim with its lease, authority. */
export function registerReviewRoutes(app: Api, rt: Runtime): void {
  const db = rt.store.db;

  app.get(
    '/v1/review/cases',
    {
      schema: {
        operationId: 'listCases',
        summary: 'Review cases, most urgent first (priority, then deadline)',
        tags: ['review'],
        querystring: Type.Object({
          status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved'), Type.Literal('all')], { default: 'open' })),
          pipeline: Type.Optional(Type.String()),
          type: Type.Optional(Type.String({ description: 'A case type, e.g. low_confidence.' })),
          q: Type.Optional(Type.String({ description: "Search the record's id and content (as the caller may see it)." })),
          mine: Type.Optional(Type.String({ description: 'Any value: only cases the caller holds.' })),
          team: Type.Optional(Type.String({ description: 'A team, or `mine` for the caller’s teams: only cases they own.' })),
          limit: Type.Optional(Type.Integer({ default: 100, description: 'At most 1000.' })),
        }),
        response: { 200: ok(ReviewCaseList, 'The cases.') },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const q = req.query;
      const status = q.status === 'resolved' ? 'resolved' : q.status === 'all' ? undefined : 'open';
      const limit = Math.min(1000, Math.max(1, q.limit || 100));
      const me = callerOf(req);
      // A reviewer finds the cases they may act on: owned by one of their teams, by themselves, or by nobody (the
      // owner rule of authorize(), src/review/authorize.ts); leads, admins and viewers see every case.
      const owners = me.role === 'reviewer' ? [...teamsOf(rt.config, me.name), me.name] : undefined;
      let rows = await listCases(db, {
        status,
        pipeline: q.pipeline,
        type: q.type,
        search: q.q,
        owners,
        limit: q.mine || q.team ? 5000 : limit,
      });
      const now = rt.clock.now();
      if (q.mine) rows = rows.filter((c) => holderOf(c, now) === me.name);
      if (q.team) {
        const teams = q.team === 'mine' ? teamsOf(rt.config, me.name) : [q.team];
        rows = rows.filter((c) => c.owner !== null && teams.includes(c.owner));
      }
      // A viewer's search matches the id or the content as the viewer sees it, never a redacted value.
      if (q.q && rows.some((c) => redactionFor(rt.config, me.role, c.pipeline))) {
        const bodies = await bodiesOf(
          db,
          rows.filter((c) => redactionFor(rt.config, me.role, c.pipeline)),
        );
        rows = rows.filter((c) => {
          const paths = redactionFor(rt.config, me.role, c.pipeline);
          return !paths || visibleMatch(c.record_id, bodies.get(`${c.pipeline}\u0000${c.record_id}`) ?? null, paths, q.q as string);
        });
      }
      rows.sort(
        (a, b) =>
          Number(a.priority) - Number(b.priority) ||
          Number(a.sla_due_at ?? Infinity) - Number(b.sla_due_at ?? Infinity) ||
          Number(a.id) - Number(b.id),
      );
      return { cases: rows.slice(0, limit).map((c) => queueCaseView(c, now)) };
    },
  );

  app.get(
    '/v1/review/cases/:id',
    {
      schema: {
        operationId: 'getCase',
        summary: 'One review case, what the caller may do on it, and every action taken',
        tags: ['review'],
        params: CaseParams,
        response: { 200: ok(CaseDetail, 'The case.'), ...problems({ 404: 'No such case.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const c = await getCase(db, positiveId(req.params.id, 'review case'));
      if (!c) throw new AirlockError('NOT_FOUND', `review case ${req.params.id} does not exist`);
      const actions = await db.selectFrom('case_actions').selectAll().where('case_id', '=', Number(c.id)).orderBy('id').execute();
      return {
        ...queueCaseView(c, rt.clock.now()),
        ...(await allowedActionsOf(rt, c, callerOf(req))),
        actions: actions.map((a) => ({
          by: a.actor,
          role: a.role,
          action: a.action,
          label: a.label,
          reason: a.reason,
          at: new Date(Number(a.at)).toISOString(),
        })),
      };
    },
  );

  app.get(
    '/v1/review/cases/:id/authority',
    {
      schema: {
        operationId: 'getCaseAuthority',
        summary:
          'The caller’s authority on a case: per action yes, no, or its limit (e.g. "amount ≤ 500"), and why each refused action is refused',
        tags: ['review'],
        params: CaseParams,
        response: { 200: ok(Authority, "The caller's authority."), ...problems({ 404: 'No such case.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const c = await getCase(db, positiveId(req.params.id, 'review case'));
      if (!c) throw new AirlockError('NOT_FOUND', `review case ${req.params.id} does not exist`);
      const me = callerOf(req);
      const role = me.role;
      const ct = caseTypeOf(rt.config.pipelines[c.pipeline], c.type);
      const body = (await recordBodyOf(db, c.pipeline, c.record_id)) ?? {};
      const row = authorityMatrix(ct).find((r) => r.role === role);
      // Why each action is refused to this caller now: every rule of authorize() (owner team, holder, adjudication,
      // the case type's actions and limits, a second review by the same person), not only the role's.
      const answers = await authorizationsOf(db, rt.config, me, c, body, rt.clock.now());
      const refused: Record<string, string> = {};
      for (const a of REVIEW_ACTIONS) {
        const m = answers[a];
        if (!m.allowed) refused[a] = m.reason;
      }
      return { case_id: Number(c.id), type: c.type, role, actions: row?.actions ?? {}, refused };
    },
  );

  app.post(
    '/v1/review/next',
    {
      schema: {
        operationId: 'claimNextCase',
        summary: 'Claim the most urgent case the caller may take, with a lease',
        tags: ['review'],
        body: Type.Object({
          by,
          pipeline: Type.Optional(Type.String()),
          type: Type.Optional(Type.String({ description: 'A case type.' })),
          exclude: Type.Optional(Type.Array(Type.Integer(), { description: 'Case ids to skip (e.g. the one just shown).' })),
        }),
        response: { 200: ok(NextCase, 'The case claimed and its record, or `case: null` when nothing waits for the caller.') },
      },
      config: { access: write(DECIDERS), review: { case: 'next', act: 'hold' } },
    },
    async (req) => {
      const body = req.body;
      const me = callerOf(req, body.by);
      const c = await claimNextCase(rt, me, { pipeline: body.pipeline, type: body.type, exclude: body.exclude ?? [] });
      if (!c) return { case: null, message: 'no case is waiting for you' };
      return {
        case: { ...queueCaseView(c, rt.clock.now()), ...(await allowedActionsOf(rt, c, me)) },
        record: (await getRecordView(rt, c.pipeline, c.record_id, { role: me.role })) as RecordView,
      };
    },
  );

  app.post(
    '/v1/review/cases/:id/heartbeat',
    {
      schema: {
        operationId: 'extendCaseLease',
        summary: 'Extend the lease of a held case',
        tags: ['review'],
        params: CaseParams,
        body: Type.Object({ by }),
        response: {
          200: ok(ReviewCaseSchema, 'The case with its new lease.'),
          ...problems({ 404: 'No such case.', 409: 'The case is resolved, or held by someone else.' }),
        },
      },
      config: { access: write(DECIDERS), review: { case: 'case', act: 'hold' } },
    },
    async (req) => {
      const c = await heartbeat(rt, positiveId(req.params.id, 'review case'), callerOf(req, req.body.by));
      return queueCaseView(c, rt.clock.now());
    },
  );

  app.post(
    '/v1/review/cases/:id/release',
    {
      schema: {
        operationId: 'releaseCase',
        summary: 'Give a held case back to the queue',
        tags: ['review'],
        params: CaseParams,
        body: Type.Object({ by }),
        response: {
          200: ok(Type.Object({ case_id: Type.Integer(), released: Type.Literal(true) }), 'Released.'),
          ...problems({ 404: 'No such case.', 409: 'The case is not held by the caller.' }),
        },
      },
      config: { access: write(DECIDERS), review: { case: 'case', act: 'release' } },
    },
    async (req) => {
      const id = positiveId(req.params.id, 'review case');
      await releaseClaim(rt, id, callerOf(req, req.body.by));
      return { case_id: id, released: true as const };
    },
  );
}
