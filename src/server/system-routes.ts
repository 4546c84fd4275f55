import { Type } from '@sinclair/typebox';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import { EVERYONE, open, read } from './access.js';
import { ok, problems } from './answers.js';
import type { Api } from './api.js';

/** Resolves as `p` does, or rejects after `ms`. */
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

/** Probes for orchestrators (liveness, readiness), Prometheus metrics, and the OpenAPI document of the API. */
export function registerSystemRoutes(app: Api, rt: Runtime): void {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'liveness',
        summary: 'Liveness',
        tags: ['system'],
        response: { 200: ok(Type.Object({ status: Type.Literal('ok') }), 'The process is up.') },
      },
      config: { access: open('liveness probe') },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'readiness',
        summary: 'Readiness: the database answers',
        tags: ['system'],
        response: {
          200: ok(Type.Object({ status: Type.Literal('ready'), database: Type.String({ description: 'sqlite or postgres' }) }), 'Ready.'),
          ...problems({ 503: 'The database is not answering (Retry-After).' }),
        },
      },
      config: { access: open('readiness probe') },
    },
    async () => {
      try {
        await withTimeout(rt.store.ping(), 2000);
      } catch (err) {
        throw new AirlockError('DATABASE_UNAVAILABLE', `the database is not answering: ${(err as Error).message}`, undefined, {
          'retry-after': '5',
        });
      }
      return { status: 'ready' as const, database: rt.store.kind };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        tags: ['system'],
        response: {
          200: { description: 'The text exposition format.', content: { 'text/plain': { schema: Type.String() } } },
        },
      },
      // Public unless server.metrics_public is false: then every signed-in role (a scraper's token) may read it.
      config: {
        access: rt.config.server.metricsPublic ? open('server.metrics_public: true') : read(EVERYONE, { anyPipeline: true }),
      },
    },
    async (_req, reply) => {
      reply.type(rt.metrics.registry.contentType);
      return rt.metrics.registry.metrics();
    },
  );

  app.get(
    '/openapi.json',
    {
      schema: {
        operationId: 'openApiDocument',
        summary: 'This document (OpenAPI 3.1), generated from the routes',
        tags: ['system'],
        response: {
          200: ok(
            Type.Object({
              openapi: Type.String(),
              info: Type.Object({}, { additionalProperties: true }),
              paths: Type.Record(Type.String(), Type.Unknown()),
            }),
            'The OpenAPI document.',
          ),
        },
      },
      config: { access: open('the description of the API, no data: clients and editors fetch it before signing in') },
    },
    async () => app.swagger() as unknown as { openapi: string; info: object; paths: Record<string, unknown> },
  );
}
