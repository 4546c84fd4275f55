import { Type } from '@sinclair/typebox';
import type { AirlockError } from '../errors.js';
import { actOnCase } from '../pipeline/decisions.js';
import { getRecordView } from '../pipeline/view.js';
import type { Runtime } from '../runtime/context.js';
import { DECIDERS, write } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, positiveId } from './api.js';
import { callerOf } from './auth.js';

import type { RecordView } from './schemas/records.js';
import { BulkResult, DecidedRecord, ReviewAction } from './schemas/review.js';

/** A decision's body; the server checks what each action needs (GET /v1/review/cases/:id answers `action_needs`). */
const DecisionFields = {
  by: Type.Optional(Type.String({ description: 'With server.auth: off, who decides (else the signed-in user).' })),
  action: Type.Optional(ReviewAction),
  label: Type.Optional(
    Type.Union([Type.String(), Type.Number(), Type.Boolean()], {
      description: 'The label (approve, relabel); `{ label }` alone approves the model’s label or relabels.',
      'x-expected': 'a string',
    }),
  ),
  reason: Type.Optional(Type.String({ description: 'Why (reject, request_info and escalate need one).' })),
  note: Type.Optional(Type.String({ description: 'Another name for reason.' })),
};

/** A person's decision on a case, one or many at a time; the record moves on (delivery, the gate, a halted backlog). */
export function registerDecisionRoutes(app: Api, rt: Runtime): void {
  app.post(
    '/v1/review/cases/:id/decision',
    {
      schema: {
        operationId: 'decideCase',
        summary: 'Decide a case: approve, relabel, reject, request info or escalate; the record moves on',
        tags: ['review'],
        params: Type.Object({ id: Type.String({ description: 'A review case id (a positive whole number).' }) }),
        body: Type.Object(DecisionFields),
        response: {
          200: ok(DecidedRecord, 'The record after the decision, and what became of the case.'),
          ...problems({
            404: 'No such case.',
            409: 'The case is already resolved, held by someone else, or decided by someone else meanwhile.',
          }),
        },
      },
      config: { access: write(DECIDERS), review: { case: 'case', act: 'from_body', edits: true } },
    },
    async (req) => {
      const body = req.body;
      const out = await actOnCase(rt, positiveId(req.params.id, 'review case'), callerOf(req, body.by), body);
      rt.wake();
      const record = (await getRecordView(rt, out.pipeline, out.record_id, { role: req.principal?.role })) as RecordView;
      return { ...record, case_outcome: out };
    },
  );

  // Bulk: the same decision on many cases, each checked and applied on its own (one failure does not stop the rest).
  app.post(
    '/v1/review/cases/bulk',
    {
      schema: {
        operationId: 'decideCases',
        summary: 'One decision on many cases, each checked and applied on its own',
        tags: ['review'],
        body: Type.Object({
          ids: Type.Array(Type.Union([Type.Integer(), Type.String()]), {
            minItems: 1,
            maxItems: 500,
            description: 'Case ids.',
            'x-expected': '1 to 500 case ids',
          }),
          ...DecisionFields,
        }),
        response: { 200: ok(BulkResult, 'How many were done, how many failed, and each case’s result.') },
      },
      config: { access: write(DECIDERS), review: { case: 'cases', act: 'from_body' } },
    },
    async (req) => {
      const { ids, ...decision } = req.body;
      const me = callerOf(req, decision.by);
      const results = [];
      for (const raw of ids) {
        const id = Number(raw);
        try {
          const out = await actOnCase(rt, positiveId(String(raw), 'review case'), me, decision);
          results.push({ id, ok: true, case_state: out.case_state });
        } catch (err) {
          const e = err as AirlockError;
          results.push({ id, ok: false, code: e.code ?? 'INTERNAL', error: e.message });
        }
      }
      rt.wake();
      return { done: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, results };
    },
  );
}
