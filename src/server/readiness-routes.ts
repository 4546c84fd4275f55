import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AirlockError } from '../errors.js';
import { readinessReport } from '../readiness/index.js';
import type { Runtime } from '../runtime/context.js';

/** The production-readiness report of a pipeline: the same JSON as `airlock readiness --json`. */
export function registerReadinessRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get(
    '/v1/pipelines/:pipeline/readiness',
    async (req: FastifyRequest<{ Params: { pipeline: string }; Querystring: { min_score?: string } }>) => {
      const { pipeline } = req.params;
      if (!rt.config.pipelines[pipeline]) throw new AirlockError('NOT_FOUND', `pipeline "${pipeline}" is not in the config`);
      let minScore: number | undefined;
      if (req.query.min_score !== undefined) {
        minScore = Number(req.query.min_score);
        if (req.query.min_score.trim() === '' || !Number.isFinite(minScore) || minScore < 0)
          throw new AirlockError('BAD_REQUEST', `min_score must be a number of points, 0 or more, got "${req.query.min_score}"`);
      }
      return readinessReport(rt.store, rt.config, pipeline, { now: rt.clock.now(), minScore });
    },
  );
}
