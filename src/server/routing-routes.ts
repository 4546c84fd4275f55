import { Type } from '@sinclair/typebox';
import { parseDuration } from '../config/units.js';
import { AirlockError } from '../errors.js';
import type { Airlock } from '../pipeline/airlock.js';
import { accuracyWindows, refitSchedule, runRefit } from '../pipeline/refit.js';
import { misclassifications } from '../store/labels.js';
import { LEADS, PEOPLE, read, write } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, knownPipeline, PipelineParam } from './api.js';
import { actorOf } from './auth.js';
import { AccuracyWindows, Misclassifications, RefitRun, RefitSchedule } from './schemas/routing.js';

const DAY = 86_400_000;
const Params = Type.Object({ pipeline: PipelineParam });

/** A count parameter: a whole number from 1 to `max`. */
const count = (max: number, dflt: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: max, default: dflt, description, 'x-expected': `a whole number from 1 to ${max}` });

/**
 * The feedback loop's routes: refit on demand, the refit schedule and its outcomes, estimated vs realised accuracy per
 * window, and the production misclassifications reviewers found.
 */
export function registerRoutingRoutes(app: Api, airlock: Airlock): void {
  const rt = airlock.runtime;

  app.post(
    '/v1/pipelines/:pipeline/refit',
    {
      schema: {
        operationId: 'refit',
        summary: 'Refit calibrator and threshold now from the labels gathered (feedback loop); proposes or applies a routing version',
        tags: ['routing'],
        params: Params,
        response: {
          200: ok(RefitRun, 'The refit: outcome, before/after coverage and error bound, the version made (if any).'),
          ...problems({ 404: 'Unknown pipeline.' }),
        },
      },
      config: { access: write(LEADS), review: null },
    },
    async (req) => {
      const run = await runRefit(rt, knownPipeline(rt, req.params.pipeline), { now: rt.clock.now(), by: actorOf(req, undefined) });
      if (run.version_status === 'active') airlock.workers.policies.invalidate();
      return run;
    },
  );

  app.get(
    '/v1/pipelines/:pipeline/refits',
    {
      schema: {
        operationId: 'getRefitSchedule',
        summary: 'The refit schedule from go-live (weekly for 60 days, then the cadence) and the refits that ran',
        tags: ['routing'],
        params: Params,
        response: { 200: ok(RefitSchedule, 'The schedule and the refits that ran.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => refitSchedule(rt.store, rt.config, knownPipeline(rt, req.params.pipeline), rt.clock.now()),
  );

  app.get(
    '/v1/pipelines/:pipeline/accuracy',
    {
      schema: {
        operationId: 'getAccuracy',
        summary:
          'Per window: estimated accuracy without labels (mean calibrated confidence, CBPE) beside realised accuracy from audit and review labels',
        tags: ['routing'],
        params: Params,
        querystring: Type.Object({
          window: Type.Optional(Type.String({ default: '1d', description: 'Window size: a duration such as 1h, 1d or 7d.' })),
          windows: Type.Optional(count(1000, 30, 'How many windows, newest last.')),
        }),
        response: { 200: ok(AccuracyWindows, 'The windows.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const pipeline = knownPipeline(rt, req.params.pipeline);
      const window = req.query.window ?? '1d';
      let windowMs: number;
      try {
        windowMs = parseDuration(window);
      } catch {
        throw new AirlockError('BAD_REQUEST', `window must be a duration such as 1h, 1d or 7d, got "${window}"`);
      }
      const windows = req.query.windows ?? 30;
      return { pipeline, window, windows: await accuracyWindows(rt.store, pipeline, { now: rt.clock.now(), windowMs, windows }) };
    },
  );

  app.get(
    '/v1/pipelines/:pipeline/misclassifications',
    {
      schema: {
        operationId: 'listMisclassifications',
        summary: 'Production misclassifications found by reviewers (verdict differs from the model), newest first',
        tags: ['routing'],
        params: Params,
        querystring: Type.Object({
          days: Type.Optional(count(3650, 7, 'How far back, in days.')),
          limit: Type.Optional(count(1000, 100, 'At most this many.')),
        }),
        response: { 200: ok(Misclassifications, 'The misclassifications.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const pipeline = knownPipeline(rt, req.params.pipeline);
      const days = req.query.days ?? 7;
      const rows = await misclassifications(rt.store.db, pipeline, rt.clock.now() - days * DAY, req.query.limit ?? 100);
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
