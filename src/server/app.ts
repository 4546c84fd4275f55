import { isUtf8 } from 'node:buffer';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import { type AirlockConfig, DEFAULT_INGEST_LIMITS } from '../config/load.js';
import { AirlockError, describeJsonError, findInvalidUtf8 } from '../errors.js';
import { type Airlock, createAirlock } from '../pipeline/airlock.js';
import { acceptHalt, contractVersionViews, haltStatus, rejectHalt } from '../pipeline/halts.js';
import { nestingBeyond, OverLimitLine, UnparseableLine } from '../pipeline/ingest.js';
import { discardQuarantined, listQuarantine, releaseQuarantined, showQuarantined } from '../pipeline/quarantine.js';
import { redactionFor, redactPaths } from '../pipeline/redaction.js';
import { activateVersion, routingHistory } from '../pipeline/routing-versions.js';
import { getRecordView, getRecordViewById } from '../pipeline/view.js';
import type { Clock } from '../runtime/context.js';
import type { Store } from '../store/db.js';
import { countRecordsByStatus } from '../store/records.js';
import { actorOf, registerAuth } from './auth.js';
import { registerConsole } from './console.js';
import { registerConsoleRoutes } from './console-routes.js';
import { registerDeliveryRoutes } from './delivery-routes.js';
import { registerDriftRoutes } from './drift-routes.js';
import { openApiDocument } from './openapi.js';
import { problem, sendProblem, toProblem } from './problem.js';
import { registerReadinessRoutes } from './readiness-routes.js';
import { registerReviewRoutes } from './review-routes.js';
import { registerRoutingRoutes } from './routing-routes.js';

export type ServerRole = 'api' | 'worker' | 'all';

export interface CreateServerOptions {
  /** api: HTTP only; worker: stages only (no HTTP); all (default): both. */
  role?: ServerRole;
  clock?: Clock;
  logger?: Logger;
  store?: Store;
}

export interface AirlockServer {
  app: FastifyInstance;
  airlock: Airlock;
  role: ServerRole;
  /** Every route as `METHOD /path` (HEAD left out). */
  routes: string[];
  /** Starts the workers (roles worker and all) and the HTTP listener (roles api and all); resolves to its URL. */
  listen(options?: { port?: number; host?: string }): Promise<string | undefined>;
  close(): Promise<void>;
}

interface ParsedBody {
  items: unknown[];
  /** True when the body was one JSON object (not an array or NDJSON). */
  single: boolean;
}

/** Builds the Airlock HTTP server (Fastify) and the workers of the config's pipelines. */
export async function createServer(config: AirlockConfig, options: CreateServerOptions = {}): Promise<AirlockServer> {
  const role = options.role ?? 'all';
  const airlock = await createAirlock(config, { clock: options.clock, logger: options.logger, store: options.store });
  const rt = airlock.runtime;
  const app = Fastify({
    loggerInstance: rt.logger as unknown as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });

  // Every route, for the test that keeps the OpenAPI document complete.
  const routes: string[] = [];
  app.addHook('onRoute', (r) => {
    for (const m of ([] as string[]).concat(r.method)) if (m !== 'HEAD') routes.push(`${m} ${r.url}`);
  });

  app.removeAllContentTypeParsers();
  // Bodies are read as bytes so that invalid UTF-8 is answered (JSON) or kept as unparseable (NDJSON), never
  // silently replaced with U+FFFD.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, config.server.limits.maxDepth));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/jsonl', 'application/jsonlines'],
    { parseAs: 'buffer' },
    (_req, body, done) => {
      try {
        done(null, parseNdjsonBody(body as Buffer, config.server.limits.maxDepth));
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );

  await registerAuth(app, rt);

  app.setErrorHandler((err, req, reply) => {
    const { problem: p, headers } = toProblem(err);
    if (p.status >= 500 && p.code !== 'DATABASE_UNAVAILABLE') req.log.error({ err }, 'request failed');
    return sendProblem(reply, { ...p, instance: req.url }, headers);
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, problem(404, 'NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await withTimeout(rt.store.ping(), 2000);
      return { status: 'ready', database: rt.store.kind };
    } catch (err) {
      return sendProblem(reply, problem(503, 'DATABASE_UNAVAILABLE', `the database is not answering: ${(err as Error).message}`), {
        'retry-after': '5',
      });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    reply.type(rt.metrics.registry.contentType);
    return rt.metrics.registry.metrics();
  });
  app.get('/openapi.json', async () => openApiDocument(config));
  registerDeliveryRoutes(app, rt, airlock.workers.deliveryStages);

  app.get('/v1/pipelines', async () => {
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
  });

  app.post('/v1/pipelines/:pipeline/records', async (req: FastifyRequest<{ Params: { pipeline: string } }>, reply) => {
    const { pipeline } = req.params;
    if (!config.pipelines[pipeline]) throw new AirlockError('NOT_FOUND', `pipeline "${pipeline}" is not in the config`);
    const body = req.body as ParsedBody | undefined;
    if (!body) throw new AirlockError('BAD_REQUEST', 'send the records as application/json or application/x-ndjson');
    if (body.items.length === 0) throw new AirlockError('BAD_REQUEST', 'the body holds no records');
    const maxRecords = config.server.limits.maxRecords;
    if (body.items.length > maxRecords) {
      throw new AirlockError(
        'PAYLOAD_TOO_LARGE',
        `the body holds ${body.items.length} records; at most ${maxRecords} are accepted per request (server.limits.max_records): send them in smaller batches`,
      );
    }
    const key = req.headers['idempotency-key'];
    const idempotencyKey = typeof key === 'string' && key.length > 0 ? key : undefined;
    const result = await airlock.ingestor.ingest(pipeline, body.items, { idempotencyKey });
    const records = result.accepted.map((a) => ({ index: a.index, id: a.id, status: a.status, existing: a.existing }));
    const payload = {
      pipeline,
      accepted: result.accepted.length,
      ids: result.accepted.map((a) => a.id),
      records,
      refused: result.refused,
    };
    if (result.refused.length > 0 && result.accepted.length === 0) {
      const allConflicts = result.refused.every((r) => r.code === 'CONFLICT');
      const status = allConflicts ? 409 : 400;
      const detail =
        result.refused.length === 1 ? result.refused[0].message : `all ${result.refused.length} records were refused; see "refused"`;
      return sendProblem(reply, problem(status, allConflicts ? 'CONFLICT' : 'BAD_REQUEST', detail, { refused: result.refused }));
    }
    // 207: part of the batch was stored, part refused (each refused item says why).
    reply.code(result.refused.length > 0 ? 207 : 202);
    return payload;
  });

  app.get('/v1/pipelines/:pipeline/records/:id', async (req: FastifyRequest<{ Params: { pipeline: string; id: string } }>) => {
    if (!config.pipelines[req.params.pipeline])
      throw new AirlockError('NOT_FOUND', `pipeline "${req.params.pipeline}" is not in the config`);
    return getRecordView(rt, req.params.pipeline, req.params.id, { role: req.principal?.role });
  });
  app.get('/v1/records/:id', async (req: FastifyRequest<{ Params: { id: string } }>) =>
    getRecordViewById(rt, req.params.id, { role: req.principal?.role }),
  );

  app.get('/v1/pipelines/:pipeline/thresholds', async (req: FastifyRequest<{ Params: { pipeline: string } }>) => {
    if (!config.pipelines[req.params.pipeline])
      throw new AirlockError('NOT_FOUND', `pipeline "${req.params.pipeline}" is not in the config`);
    const versions = await routingHistory(rt.store, req.params.pipeline);
    const active = versions.find((v) => v.status === 'active');
    return {
      pipeline: req.params.pipeline,
      effective: active
        ? { source: 'version', version: active.version, threshold: active.threshold.value, calibrator: active.calibrator }
        : { source: 'config', threshold: config.pipelines[req.params.pipeline].routing.autoAcceptAt, calibrator: null },
      versions,
    };
  });
  app.post(
    '/v1/pipelines/:pipeline/thresholds/:version/approve',
    async (req: FastifyRequest<{ Params: { pipeline: string; version: string } }>) => {
      if (!config.pipelines[req.params.pipeline])
        throw new AirlockError('NOT_FOUND', `pipeline "${req.params.pipeline}" is not in the config`);
      const version = Number(req.params.version);
      if (!Number.isInteger(version) || version < 1) throw new AirlockError('NOT_FOUND', `no routing version ${req.params.version}`);
      const body = req.body as ParsedBody | undefined;
      const by = body?.single ? (body.items[0] as { by?: unknown }).by : undefined;
      const v = await activateVersion(rt.store, req.params.pipeline, version, actorOf(req, by), rt.clock.now());
      airlock.workers.policies.invalidate();
      return v;
    },
  );

  registerReviewRoutes(app, rt);
  registerConsoleRoutes(app, rt);
  await registerConsole(app);
  registerDriftRoutes(app, rt);
  registerReadinessRoutes(app, rt);
  registerRoutingRoutes(app, rt, { invalidate: () => airlock.workers.policies.invalidate() });

  const pipelineParam = (name: string) => {
    if (!config.pipelines[name]) throw new AirlockError('NOT_FOUND', `pipeline "${name}" is not in the config`);
    return name;
  };
  const jsonObject = (req: FastifyRequest): Record<string, unknown> => {
    const body = req.body as ParsedBody | undefined;
    if (!body) return {};
    const v = body.items[0];
    if (!body.single || v === null || typeof v !== 'object' || Array.isArray(v))
      throw new AirlockError('BAD_REQUEST', 'send one JSON object');
    return v as Record<string, unknown>;
  };
  const optionalString = (o: Record<string, unknown>, key: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new AirlockError('BAD_REQUEST', `"${key}" must be a string`);
    return v;
  };

  app.get('/v1/pipelines/:pipeline/contract', async (req: FastifyRequest<{ Params: { pipeline: string } }>) => {
    const name = pipelineParam(req.params.pipeline);
    return { pipeline: name, versions: await contractVersionViews(rt, name) };
  });
  app.get('/v1/pipelines/:pipeline/halt', async (req: FastifyRequest<{ Params: { pipeline: string } }>) =>
    haltStatus(rt, pipelineParam(req.params.pipeline)),
  );
  app.post('/v1/pipelines/:pipeline/halt/accept', async (req: FastifyRequest<{ Params: { pipeline: string } }>) => {
    const body = jsonObject(req);
    const schema = body.contract;
    if (schema !== undefined && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
      throw new AirlockError('BAD_REQUEST', '"contract" must be a JSON Schema object');
    }
    return acceptHalt(rt, pipelineParam(req.params.pipeline), {
      by: actorOf(req, body.by),
      note: optionalString(body, 'note'),
      schema: schema as object | undefined,
    });
  });
  app.post('/v1/pipelines/:pipeline/halt/reject', async (req: FastifyRequest<{ Params: { pipeline: string } }>) => {
    const body = jsonObject(req);
    return rejectHalt(rt, pipelineParam(req.params.pipeline), {
      by: actorOf(req, body.by),
      note: optionalString(body, 'note'),
    });
  });

  app.get('/v1/quarantine', async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
    const q = req.query;
    const limit = Math.min(1000, Math.max(1, Number(q.limit ?? 100) || 100));
    return listQuarantine(rt, { pipeline: q.pipeline, kind: q.kind, field: q.field, limit });
  });
  app.get('/v1/pipelines/:pipeline/quarantine/:id', async (req: FastifyRequest<{ Params: { pipeline: string; id: string } }>) => {
    const shown = await showQuarantined(rt, pipelineParam(req.params.pipeline), req.params.id);
    // The viewer role sees the pipeline's `redact:` paths as "[redacted]".
    const paths = redactionFor(config, req.principal?.role, shown.pipeline);
    return paths ? { ...shown, body: redactPaths(shown.body, paths), original_body: redactPaths(shown.original_body, paths) } : shown;
  });
  app.post(
    '/v1/pipelines/:pipeline/quarantine/:id/release',
    async (req: FastifyRequest<{ Params: { pipeline: string; id: string } }>, reply) => {
      const body = jsonObject(req);
      const out = await releaseQuarantined(rt, pipelineParam(req.params.pipeline), req.params.id, {
        by: actorOf(req, body.by),
        note: optionalString(body, 'note'),
        body: body.record,
      });
      // 422: the record (as edited) still breaks the contract; it stays quarantined and unchanged.
      if (!out.released) reply.code(422);
      return out;
    },
  );
  app.post('/v1/pipelines/:pipeline/quarantine/:id/discard', async (req: FastifyRequest<{ Params: { pipeline: string; id: string } }>) => {
    const body = jsonObject(req);
    return discardQuarantined(rt, pipelineParam(req.params.pipeline), req.params.id, {
      by: actorOf(req, body.by),
      reason: optionalString(body, 'reason') ?? '',
    });
  });

  let listening = false;
  return {
    app,
    airlock,
    role,
    routes,
    async listen(opts = {}) {
      if (role !== 'api') airlock.workers.start();
      if (role === 'worker') return undefined;
      const address = await app.listen({ port: opts.port ?? config.server.port, host: opts.host ?? config.server.host });
      listening = true;
      return address;
    },
    async close() {
      if (listening) await app.close();
      else await app.close().catch(() => {});
      await airlock.close();
    },
  };
}

function _parseCaseId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new AirlockError('NOT_FOUND', `review case ${raw} does not exist`);
  return id;
}

/** Parses a JSON body; a syntax error (or a byte that is not UTF-8) names the line, column and offset. */
export function parseJsonBody(body: string | Buffer, maxDepth = DEFAULT_INGEST_LIMITS.maxDepth): ParsedBody {
  let text: string;
  if (typeof body === 'string') text = body;
  else {
    if (!isUtf8(body)) {
      const at = findInvalidUtf8(body);
      throw new AirlockError(
        'BAD_REQUEST',
        `body is not valid UTF-8${at ? `: invalid byte 0x${body[at.offset].toString(16).padStart(2, '0')} at line ${at.line}, byte ${at.column} (offset ${at.offset})` : ''}`,
      );
    }
    text = body.toString('utf8');
  }
  // A leading byte-order mark is not part of the JSON text (RFC 8259 §8.1 lets a parser ignore it).
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // Records sit one level below an array body: the body may nest one level deeper than a record.
  const allowed = text.trimStart().startsWith('[') ? maxDepth + 1 : maxDepth;
  const deep = nestingBeyond(text, allowed);
  if (deep) {
    throw new AirlockError(
      'BAD_REQUEST',
      `body nests deeper than a record may (${maxDepth} levels, server.limits.max_depth) at line ${deep.line}, column ${deep.column}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new AirlockError('BAD_REQUEST', `body is not valid JSON: ${describeJsonError(text, err as Error)}`);
  }
  if (Array.isArray(value)) return { items: value, single: false };
  return { items: [value], single: true };
}

/**
 * Parses NDJSON: one JSON value per line; blank lines are skipped. A line that is not JSON (or not UTF-8) does not
 * fail the batch: it becomes an UnparseableLine (kept as a quarantined `unparseable` record, with its line and the
 * reason), so the good lines of the same body are stored.
 */
export function parseNdjsonBody(body: string | Buffer, maxDepth = DEFAULT_INGEST_LIMITS.maxDepth): ParsedBody {
  const items: unknown[] = [];
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const allValid = isUtf8(bytes);
  let start = 0;
  for (let i = 0; start < bytes.length || i === 0; i++) {
    let end = bytes.indexOf(0x0a, start);
    if (end === -1) end = bytes.length;
    let raw = bytes.subarray(start, end);
    start = end + 1;
    if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
    if (i === 0 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) raw = raw.subarray(3);
    const line = raw.toString('utf8');
    if (line.trim() === '') {
      if (start >= bytes.length) break;
      continue;
    }
    const deep = nestingBeyond(line, maxDepth);
    if (!allValid && !isUtf8(raw)) {
      const at = findInvalidUtf8(raw);
      items.push(new UnparseableLine(i + 1, line, `not valid UTF-8${at ? `: invalid byte at column ${at.column}` : ''}`));
    } else if (deep) {
      items.push(new OverLimitLine(i + 1, `nests deeper than ${maxDepth} levels at column ${deep.column} (server.limits.max_depth)`));
    } else {
      try {
        items.push(JSON.parse(line));
      } catch (err) {
        const reason = `not valid JSON: ${describeJsonError(line, err as Error).replace(/at line 1, column (\d+) \(offset \d+\)/, 'at column $1')}`;
        items.push(new UnparseableLine(i + 1, line, reason));
      }
    }
    if (start >= bytes.length) break;
  }
  return { items, single: false };
}

export { describeJsonError };

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms}ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
