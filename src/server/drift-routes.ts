import { Type } from '@sinclair/typebox';
import { driftOverview, fieldSeries } from '../pipeline/drift-views.js';
import { fieldIsRedacted, REDACTED, redactionFor } from '../pipeline/redaction.js';
import type { Runtime } from '../runtime/context.js';
import { PEOPLE, read } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, PipelineParam } from './api.js';
import { DriftOverview, FieldSeries } from './schemas/drift.js';

/** A side's figures without the values of a redacted field (its counts stay). */
const countsOnly = <T extends { mean?: number; std?: number; min?: number; max?: number }>(s: T): T => {
  const { mean: _m, std: _s, min: _lo, max: _hi, ...rest } = s;
  return rest as T;
};

// Drift is read by people only: its distributions show values of the records. For the viewer role a field under a
// `redact:` path keeps its test, statistics and counts but shows no value (no category, bin edge, minimum or mean).

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
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const out = await driftOverview(rt, req.params.pipeline);
      const paths = redactionFor(rt.config, req.principal?.role, req.params.pipeline);
      if (!paths) return out;
      return {
        ...out,
        fields: out.fields.map((f) =>
          fieldIsRedacted(f.name, paths) ? { ...f, reference: countsOnly(f.reference), current: countsOnly(f.current) } : f,
        ),
      };
    },
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
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const out = await fieldSeries(rt, req.params.pipeline, req.params.field, req.query.windows ?? 48);
      const paths = redactionFor(rt.config, req.principal?.role, req.params.pipeline);
      if (!paths || !fieldIsRedacted(req.params.field, paths)) return out;
      return {
        ...out,
        series: out.series.map((w) => ({ ...w, mean: null })),
        distribution: out.distribution ? { ...out.distribution, labels: out.distribution.labels.map(() => REDACTED) } : null,
        reference_stats: out.reference_stats ? countsOnly(out.reference_stats) : null,
        current_stats: out.current_stats ? countsOnly(out.current_stats) : null,
      };
    },
  );
}
