import { Type } from '@sinclair/typebox';
import { AirlockError } from '../errors.js';
import type { Airlock } from '../pipeline/airlock.js';
import { getRecordView, getRecordViewById } from '../pipeline/view.js';
import { countRecordsByStatus } from '../store/records.js';
import { EVERYONE, INGESTERS, ingest, read } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, knownPipeline, PipelineParam } from './api.js';
import { NDJSON_TYPES } from './body.js';
import { IngestResult, PipelineList, RecordView, type RecordView as RecordViewType } from './schemas/records.js';

const RecordParams = Type.Object({ pipeline: PipelineParam, id: Type.String({ description: "The record's id." }) });

/** A record's view as the schema declares it: the stored JSON columns (violations, prediction, decision) are typed there. */
const typed = (v: Awaited<ReturnType<typeof getRecordView>>) =>
  v as typeof v & Pick<RecordViewType, 'violations' | 'prediction' | 'decision'>;

const ndjson = { schema: Type.Array(Type.Unknown(), { description: 'One JSON object per line; blank lines are skipped.' }) };

/** Pipelines, ingest, and the canonical view of a record (by pipeline and id, or by id alone). */
export function registerRecordRoutes(app: Api, airlock: Airlock): void {
  const rt = airlock.runtime;
  const { config } = rt;

  app.get(
    '/v1/pipelines',
    {
      schema: {
        operationId: 'listPipelines',
        summary: 'Pipelines with record counts by status',
        tags: ['records'],
        response: { 200: ok(PipelineList, "The config's pipelines.") },
      },
      config: { access: read(EVERYONE, { anyPipeline: true }) },
    },
    async () => {
      const counts = await countRecordsByStatus(rt.store.db);
      const halted = new Set(
        (await rt.store.db.selectFrom('halts').select('pipeline').where('status', '=', 'open').execute()).map((h) => h.pipeline),
      );
      return {
        pipelines: Object.values(config.pipelines).map((p) => ({
          name: p.name,
          contract: p.contract ? { hash: p.contract.hash, source: p.contract.source } : null,
          halted: halted.has(p.name),
          model: { type: p.model.type, version: p.model.version ?? null },
          auto_accept_at: p.routing.autoAcceptAt,
          destinations: Object.keys(p.destinations),
          records: Object.fromEntries(counts.filter((c) => c.pipeline === p.name).map((c) => [c.status, c.n])),
        })),
      };
    },
  );

  app.post(
    '/v1/pipelines/:pipeline/records',
    {
      schema: {
        operationId: 'ingestRecords',
        summary: 'Ingest records',
        description:
          'One JSON object, a JSON array, or NDJSON. Answers only after the records are durably stored. A record’s id is its `id` field, else the Idempotency-Key header (single-record requests), else generated. Each item that is not a record is refused by its index (or line) with the reason.',
        tags: ['records'],
        params: Type.Object({ pipeline: PipelineParam }),
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ description: "The record's id when it has none (single-record requests)." })),
        }),
        body: {
          content: {
            'application/json': {
              schema: Type.Unknown({ description: 'One record (a JSON object) or an array of records.' }),
            },
            ...Object.fromEntries(NDJSON_TYPES.map((t) => [t, ndjson])),
          },
        },
        response: {
          202: ok(IngestResult, 'All records stored.'),
          207: ok(IngestResult, 'Some records stored, some refused (see `refused`).'),
          ...problems({
            400: 'The body is not valid JSON/NDJSON (the line or offset is named), holds no record, or every record was refused (see `refused`).',
            404: 'Unknown pipeline.',
            409: 'Every record was refused because its id exists with a different body.',
            413: 'The body is over server.body_limit, or holds more records than server.limits.max_records.',
            415: 'Unsupported content type.',
          }),
        },
      },
      config: { access: ingest(INGESTERS), review: null },
    },
    async (req, reply) => {
      const { pipeline } = req.params;
      knownPipeline(rt, pipeline);
      const body = req.body;
      if (body === undefined) throw new AirlockError('BAD_REQUEST', 'send the records as application/json or application/x-ndjson');
      // JSON: an array is a batch, anything else one item; NDJSON: one item per line (the parser's array).
      const items = req.mediaType === 'application/json' && !Array.isArray(body) ? [body] : (body as unknown[]);
      if (items.length === 0) throw new AirlockError('BAD_REQUEST', 'the body holds no records');
      const maxRecords = config.server.limits.maxRecords;
      if (items.length > maxRecords) {
        throw new AirlockError(
          'PAYLOAD_TOO_LARGE',
          `the body holds ${items.length} records; at most ${maxRecords} are accepted per request (server.limits.max_records): send them in smaller batches`,
        );
      }
      const key = req.headers['idempotency-key'];
      const idempotencyKey = typeof key === 'string' && key.length > 0 ? key : undefined;
      const result = await airlock.ingestor.ingest(pipeline, items, { idempotencyKey });
      if (result.refused.length > 0 && result.accepted.length === 0) {
        const allConflicts = result.refused.every((r) => r.code === 'CONFLICT');
        const detail =
          result.refused.length === 1 ? result.refused[0].message : `all ${result.refused.length} records were refused; see "refused"`;
        throw new AirlockError(allConflicts ? 'CONFLICT' : 'BAD_REQUEST', detail, { refused: result.refused });
      }
      // 207: part of the batch was stored, part refused (each refused item says why).
      reply.code(result.refused.length > 0 ? 207 : 202);
      return {
        pipeline,
        accepted: result.accepted.length,
        ids: result.accepted.map((a) => a.id),
        records: result.accepted.map((a) => ({ index: a.index, id: a.id, status: a.status, existing: a.existing })),
        refused: result.refused,
      };
    },
  );

  app.get(
    '/v1/pipelines/:pipeline/records/:id',
    {
      schema: {
        operationId: 'getRecord',
        summary: 'One record: status, prediction, decision, deliveries, cases and events',
        tags: ['records'],
        params: RecordParams,
        response: { 200: ok(RecordView, 'The record.'), ...problems({ 404: 'Unknown pipeline, or no such record.' }) },
      },
      config: { access: read(EVERYONE) },
    },
    async (req) => {
      knownPipeline(rt, req.params.pipeline);
      return typed(await getRecordView(rt, req.params.pipeline, req.params.id, { role: req.principal?.role }));
    },
  );

  app.get(
    '/v1/records/:id',
    {
      schema: {
        operationId: 'getRecordById',
        summary: 'Shortcut when the id names one record',
        tags: ['records'],
        params: Type.Object({ id: Type.String({ description: "The record's id." }) }),
        response: {
          200: ok(RecordView, 'The record.'),
          ...problems({ 404: 'No record has this id.', 409: 'The id names records in several pipelines (listed in `pipelines`).' }),
        },
      },
      config: { access: read(EVERYONE) },
    },
    async (req) => typed(await getRecordViewById(rt, req.params.id, { role: req.principal?.role })),
  );
}
