import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AirlockError } from '../errors.js';
import { driftOverview, fieldSeries } from '../pipeline/drift-views.js';
import type { Runtime } from '../runtime/context.js';

/** Drift of a pipeline: the latest window against the reference, and one field's series for the console's charts. */
export function registerDriftRoutes(app: FastifyInstance, rt: Runtime): void {
  app.get('/v1/pipelines/:pipeline/drift', async (req: FastifyRequest<{ Params: { pipeline: string } }>) =>
    driftOverview(rt, req.params.pipeline),
  );

  app.get(
    '/v1/pipelines/:pipeline/drift/:field/series',
    async (req: FastifyRequest<{ Params: { pipeline: string; field: string }; Querystring: { windows?: string } }>) => {
      const raw = req.query.windows ?? '48';
      const windows = Number(raw);
      if (!Number.isInteger(windows) || windows < 1 || windows > 1000) {
        throw new AirlockError('BAD_REQUEST', `windows must be a whole number from 1 to 1000, got "${raw}"`);
      }
      return fieldSeries(rt, req.params.pipeline, req.params.field, windows);
    },
  );
}
