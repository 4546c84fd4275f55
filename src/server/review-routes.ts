import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AirlockError } from '../errors.js';
import { actionsFor, actOnCase } from '../pipeline/decisions.js';
import { redactionFor, visibleMatch } from '../pipeline/redaction.js';
import { caseView, getRecordView } from '../pipeline/view.js';
import { claimNextCase, heartbeat, holderOf, type Reviewer, releaseClaim, teamsOf } from '../review/queue.js';
import { type QueueAction, type QueueCase, queueCaseOf, queueMetrics } from '../review/queue-stats.js';
import type { Runtime } from '../runtime/context.js';
import { getCase, listCases } from '../store/cases.js';
import type { ReviewCaseRow } from '../store/tables.js';
import { actorOf, type Principal } from './auth.js';

function parseCaseId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new AirlockError('NOT_FOUND', `review case ${raw} does not exist`);
  return id;
}

function bodyOf(req: FastifyRequest): Record<string, unknown> {
  const b = req.body as { items?: unknown[]; single?: boolean } | undefined;
  if (!b) return {};
  const v = b.items?.[0];
  if (!b.single || v === null || typeof v !== 'object' || Array.isArray(v)) throw new AirlockError('BAD_REQUEST', 'send one JSON object');
  return v as Record<string, unknown>;
}

/** The acting reviewer: the signed-in user (with auth off: the `by` the client names, as an admin). */
function reviewerOf(req: FastifyRequest, body: Record<string, unknown> = {}): Reviewer {
  const p = req.principal as Principal;
  return { name: actorOf(req, body.by) ?? p.name, role: p.role };
}

/** The queue's view of a case: its SLA clocks (pause-adjusted), who holds it and until when. */
function queueCaseView(c: ReviewCaseRow, now: number) {
  const paused = Number(c.paused_ms) + (c.waiting_since !== null ? now - Number(c.waiting_since) : 0);
  const due = c.sla_due_at === null ? null : Number(c.sla_due_at) + paused;
  const firstDue = c.first_action_due_at === null || c.first_action_at !== null ? null : Number(c.first_action_due_at) + paused;
  const holder = holderOf(c, now);
  return {
    ...caseView(c),
    priority: ['critical', 'high', 'normal', 'low'][Number(c.priority)] ?? 'normal',
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

/** The queue, the claim with its lease, decisions with authority, and the queue's figures. */
export function registerReviewRoutes(app: FastifyInstance, rt: Runtime): void {
  const db = rt.store.db;

  app.get('/v1/review/cases', async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
    const q = req.query;
    const status = q.status === 'resolved' ? 'resolved' : q.status === 'all' ? undefined : 'open';
    const limit = Math.min(1000, Math.max(1, Number(q.limit ?? 100) || 100));
    let rows = await listCases(db, { status, pipeline: q.pipeline, type: q.type, search: q.q, limit: q.mine || q.team ? 5000 : limit });
    const me = reviewerOf(req);
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
    // Most urgent first: priority, then the deadline.
    rows.sort(
      (a, b) =>
        Number(a.priority) - Number(b.priority) ||
        Number(a.sla_due_at ?? Infinity) - Number(b.sla_due_at ?? Infinity) ||
        Number(a.id) - Number(b.id),
    );
    return { cases: rows.slice(0, limit).map((c) => queueCaseView(c, now)) };
  });

  app.get('/v1/review/cases/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const c = await getCase(db, parseCaseId(req.params.id));
    if (!c) throw new AirlockError('NOT_FOUND', `review case ${req.params.id} does not exist`);
    const actions = await db.selectFrom('case_actions').selectAll().where('case_id', '=', Number(c.id)).orderBy('id').execute();
    return {
      ...queueCaseView(c, rt.clock.now()),
      allowed_actions: await actionsFor(rt, c, reviewerOf(req)),
      actions: actions.map((a) => ({
        by: a.actor,
        role: a.role,
        action: a.action,
        label: a.label,
        reason: a.reason,
        at: new Date(Number(a.at)).toISOString(),
      })),
    };
  });

  app.post('/v1/review/next', async (req) => {
    const body = bodyOf(req);
    const exclude = Array.isArray(body.exclude) ? body.exclude.map(Number).filter(Number.isSafeInteger) : [];
    const me = reviewerOf(req, body);
    const c = await claimNextCase(rt, me, {
      pipeline: typeof body.pipeline === 'string' ? body.pipeline : undefined,
      type: typeof body.type === 'string' ? body.type : undefined,
      exclude,
    });
    if (!c) return { case: null, message: 'no case is waiting for you' };
    return {
      case: { ...queueCaseView(c, rt.clock.now()), allowed_actions: await actionsFor(rt, c, me) },
      record: await getRecordView(rt, c.pipeline, c.record_id, { role: me.role }),
    };
  });

  // Bulk: the same decision on many cases, each checked and applied on its own (one failure does not stop the rest).
  app.post('/v1/review/cases/bulk', async (req) => {
    const body = bodyOf(req);
    const ids = body.ids;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 500)
      throw new AirlockError('BAD_REQUEST', '"ids" must list 1 to 500 case ids');
    const { ids: _ids, ...decision } = body;
    const me = reviewerOf(req, body);
    const results = [];
    for (const raw of ids) {
      const id = Number(raw);
      try {
        const out = await actOnCase(rt, parseCaseId(String(raw)), me, decision);
        results.push({ id, ok: true, case_state: out.case_state });
      } catch (err) {
        const e = err as AirlockError;
        results.push({ id, ok: false, code: e.code ?? 'INTERNAL', error: e.message });
      }
    }
    rt.wake();
    return { done: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, results };
  });

  app.post('/v1/review/cases/:id/heartbeat', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const c = await heartbeat(rt, parseCaseId(req.params.id), reviewerOf(req, bodyOf(req)));
    return queueCaseView(c, rt.clock.now());
  });

  app.post('/v1/review/cases/:id/release', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const id = parseCaseId(req.params.id);
    await releaseClaim(rt, id, reviewerOf(req, bodyOf(req)));
    return { case_id: id, released: true };
  });

  app.post('/v1/review/cases/:id/decision', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const body = bodyOf(req);
    const out = await actOnCase(rt, parseCaseId(req.params.id), reviewerOf(req, body), body);
    rt.wake();
    return { ...(await getRecordView(rt, out.pipeline, out.record_id, { role: req.principal?.role })), case_outcome: out };
  });

  app.get('/v1/review/metrics', async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
    const days = Math.min(365, Math.max(1, Number(req.query.days ?? 30) || 30));
    const now = rt.clock.now();
    const from = now - days * 86_400_000;
    let q = db
      .selectFrom('review_cases as c')
      .leftJoin('records as r', (j) => j.onRef('r.pipeline', '=', 'c.pipeline').onRef('r.id', '=', 'c.record_id'))
      .select([
        'c.id',
        'c.type',
        'c.status',
        'c.created_at',
        'c.first_action_at',
        'c.resolved_at',
        'c.sla_due_at',
        'c.first_action_due_at',
        'c.paused_ms',
        'c.waiting_since',
        'c.resolution',
        'r.prediction',
      ])
      .where((eb) => eb.or([eb('c.status', '=', 'open'), eb('c.resolved_at', '>=', from)]));
    if (req.query.pipeline) q = q.where('c.pipeline', '=', req.query.pipeline);
    const rows = await q.execute();
    const labelOf = (prediction: string | null) => {
      if (!prediction) return null;
      const l = (JSON.parse(prediction) as { label?: unknown }).label;
      return l === undefined || l === null ? null : String(l);
    };
    const cases: QueueCase[] = rows.map((r) =>
      queueCaseOf(r, {
        model_label: ['low_confidence', 'policy_review', 'audit_sample'].includes(r.type) ? labelOf(r.prediction) : null,
        final_label: r.resolution ? ((JSON.parse(r.resolution) as { label?: string }).label ?? null) : null,
      }),
    );
    const modelById = new Map(cases.map((c) => [c.id, c.model_label]));
    const actions: QueueAction[] = (await db.selectFrom('case_actions').selectAll().where('at', '>=', from).execute()).map((a) => ({
      case_id: Number(a.case_id),
      actor: a.actor,
      action: a.action,
      label: a.label,
      at: Number(a.at),
      model_label: modelById.get(Number(a.case_id)) ?? null,
    }));
    return {
      window: { from: new Date(from).toISOString(), to: new Date(now).toISOString(), days },
      ...queueMetrics(cases, actions, { from, now }),
    };
  });
}
