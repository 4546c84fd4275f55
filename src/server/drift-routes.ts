import { Type } from '@sinclair/typebox';
import { driftOverview, fieldSeries } from '../pipeline/drift-views.js';
import type { Runtime } from '../runtime/context.js';
import { EVERYONE, read } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, PipelineParam } from './api.js';
import { DriftOverview, FieldSeries } from './schemas/drift.js';

// Drift is read by every signed-in role: a machine that sends records may watch their drift.

/** Drift of a pipeline: the latest window against the reference, and one field's series for the console's charts. */
export function registerDriftRoutes(app: Api, rt: Runtime): void {
  app.get(
    '/v1/pipelines/:pipeline/drift',
    {
      schema: {
        operationId: 'getDrift',
        summary: 'Drift of the latest window against the reference profile, fields most drifted first',
        description:
          'The window holding now (or the latest with records), compared field by field with the active reference: the test that decides, its statistic and p-value (adjusted), severity (≥ 1 is drift), the distance measures, the field’s episode and console link; model outputs as `@model.label`, `@model.confidence`, `@model.route`; `outputs` with the auto/review shares, estimated accuracy (mean calibrated confidence) and realised accuracy from reviewers’ verdicts.',
        tags: ['drift'],
        params: Type.Object({ pipeline: PipelineParam }),
        response: { 200: ok(DriftOverview, 'The latest window.'), ...problems({ 404: 'Unknown pipeline, or no reference profile yet.' }) },
      },
      config: { access: read(EVERYONE) },
    },
    async (req) => driftOverview(rt, req.params.pipeline),
  );

  app.get(
    '/v1/pipelines/:pipeline/drift/:field/series',
    {
      schema: {
        operationId: 'getDriftSeries',
        summary: 'One field’s drift statistic and flag per window, and the reference vs latest distribution (for charts)',
        tags: ['drift'],
        params: Type.Object({
          pipeline: PipelineParam,
          field: Type.String({ description: 'Dotted path, e.g. `amount` or `@model.label`.' }),
        }),
        querystring: Type.Object({
          windows: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: 1000,
              default: 48,
              'x-expected': 'a whole number from 1 to 1000',
              description: 'How many windows.',
            }),
          ),
        }),
        response: {
          200: ok(FieldSeries, "The field's series."),
          ...problems({ 404: 'Unknown pipeline or field, or no reference profile yet.' }),
        },
      },
      config: { access: read(EVERYONE) },
    },
    async (req) => fieldSeries(rt, req.params.pipeline, req.params.field, req.query.windows ?? 48),
  );
}
