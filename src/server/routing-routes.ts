import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseDuration } from '../config/units.js';
import { AirlockError } from '../errors.js';
import { accuracyWindows, refitSchedule, runRefit } from '../pipeline/refit.js';
import type { Runtime } from '../runtime/context.js';
import { misclassifications } from '../store/labels.js';
import { actorOf } from './auth.js';

type Query = Record<string, string | undefined>;

const DAY = 86_400_000;

function durationParam(value: string | undefined, name: string, dflt: string): number {
  try {
    return parseDuration(value ?? dflt);
  } catch {
    throw new AirlockError('BAD_REQUEST', `"${name}" must be a duration such as 1h, 1d or 7d, got "${value}"`);
  }
}

function countParam(value: string | undefined, name: string, dflt: number, max: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new AirlockError('BAD_REQUEST', `"${name}" must be a whole number from 1 to ${max}, got "${value}"`);
  return n;
}

/**
 * The feedback loop's routes: refit on demand, the refit schedule and its outcomes, estimated vs realised accuracy per
 * window, and the production misclassifications reviewers found.
 */
export function registerRoutingRoutes(app: FastifyInstance, rt: Runtime, options: { invalidate(): void }): void {
  const pipelineParam = (name: string) => {
    if (!rt.config.pipelines[name]) throw new AirlockError('NOT_FOUND', `pipeline "${name}" is not in the config`);
    return name;
  };

  app.post('/v1/pipelines/:pipeline/refit', async (req: FastifyRequest<{ Params: { pipeline: string } }>) => {
    const pipeline = pipelineParam(req.params.pipeline);
    const run = await runRefit(rt, pipeline, { now: rt.clock.now(), by: actorOf(req, undefined) });
    if (run.version_status === 'active') options.invalidate();
    return run;
  });

  app.get('/v1/pipelines/:pipeline/refits', async (req: FastifyRequest<{ Params: { pipeline: string } }>) =>
    refitSchedule(rt.store, rt.config, pipelineParam(req.params.pipeline), rt.clock.now()),
  );

  app.get('/v1/pipelines/:pipeline/accuracy', async (req: FastifyRequest<{ Params: { pipeline: string }; Querystring: Query }>) => {
    const pipeline = pipelineParam(req.params.pipeline);
    const windowMs = durationParam(req.query.window, 'window', '1d');
    const windows = countParam(req.query.windows, 'windows', 30, 1000);
    return {
      pipeline,
      window: req.query.window ?? '1d',
      windows: await accuracyWindows(rt.store, pipeline, { now: rt.clock.now(), windowMs, windows }),
    };
  });

  app.get(
    '/v1/pipelines/:pipeline/misclassifications',
    async (req: FastifyRequest<{ Params: { pipeline: string }; Querystring: Query }>) => {
      const pipeline = pipelineParam(req.params.pipeline);
      const days = countParam(req.query.days, 'days', 7, 3650);
      const rows = await misclassifications(
        rt.store.db,
        pipeline,
        rt.clock.now() - days * DAY,
        countParam(req.query.limit, 'limit', 100, 1000),
      );
      return {
        pipeline,
        days,
        misclassifications: rows.map((r) => ({
          record_id: r.record_id,
          source: r.source,
          predicted: r.predicted,
          verdict: r.label,
          raw_confidence: r.raw_confidence,
          segment: r.segment,
          routing_version: r.routing_version,
          at: new Date(r.created_at).toISOString(),
        })),
      };
    },
  );
}
