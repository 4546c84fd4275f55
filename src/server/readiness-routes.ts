import { Type } from '@sinclair/typebox';
import { readinessReport } from '../readiness/index.js';
import type { Runtime } from '../runtime/context.js';
import { PEOPLE, read } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, knownPipeline, PipelineParam } from './api.js';
import { ReadinessReport } from './schemas/readiness.js';

/** The production-readiness report of a pipeline: the same JSON as `airlock readiness --json`. */
export function registerReadinessRoutes(app: Api, rt: Runtime): void {
  app.get(
    '/v1/pipelines/:pipeline/readiness',
    {
      schema: {
        operationId: 'getReadiness',
        summary: 'The production-readiness report: score, sections and checks with evidence and fix (as airlock readiness --json)',
        tags: ['readiness'],
        params: Type.Object({ pipeline: PipelineParam }),
        querystring: Type.Object({
          min_score: Type.Optional(
            Type.Number({ minimum: 0, 'x-expected': 'a number of points, 0 or more', description: 'The score the gate needs.' }),
          ),
        }),
        response: { 200: ok(ReadinessReport, 'The report.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) =>
      readinessReport(rt.store, rt.config, knownPipeline(rt, req.params.pipeline), { now: rt.clock.now(), minScore: req.query.min_score }),
  );
}
