import { Type } from '@sinclair/typebox';
import { caseTypeDefinition } from '../review/case-types.js';
import { type QueueAction, type QueueCase, queueCaseOf, queueMetrics } from '../review/queue-stats.js';
import type { Runtime } from '../runtime/context.js';
import { caseResolution, prediction as predictionColumn } from '../store/codecs.js';
import { PEOPLE, read } from './access.js';
import { ok } from './answers.js';
import type { Api } from './api.js';
import { QueueFigures } from './schemas/review.js';

const DAY = 86_400_000;

/** The queue's figures over a window: depth and age, time to first action, SLA attainment, overturn rate, agreement. */
export function registerReviewMetricsRoutes(app: Api, rt: Runtime): void {
  const db = rt.store.db;
  app.get(
    '/v1/review/metrics',
    {
      schema: {
        operationId: 'getQueueFigures',
        summary: 'Queue figures: depth and age, time to first action p50/p95, SLA attainment, overturn rate, throughput, agreement',
        tags: ['review'],
        querystring: Type.Object({
          pipeline: Type.Optional(Type.String()),
          days: Type.Optional(Type.Integer({ default: 30, description: 'The window, in days (1 to 365).' })),
        }),
        response: { 200: ok(QueueFigures, 'The figures.') },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const days = Math.min(365, Math.max(1, req.query.days || 30));
      const now = rt.clock.now();
      const from = now - days * DAY;
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
      const labelOf = (stored: string | null) => {
        const l = predictionColumn.decodeOrNull(stored)?.label;
        return l === undefined || l === null ? null : String(l);
      };
      const cases: QueueCase[] = rows.map((r) =>
        queueCaseOf(r, {
          model_label: caseTypeDefinition(r.type).judgesModel ? labelOf(r.prediction) : null,
          final_label: caseResolution.decodeOrNull(r.resolution)?.label ?? null,
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
    },
  );
}
