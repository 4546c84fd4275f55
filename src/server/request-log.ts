import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The header that carries a request's id, in and out. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** An id a client may choose: up to 128 letters, digits and `._:-` (nothing a log line or a header could be bent by). */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: the client's `X-Request-Id` when it is safe, else a new UUID. */
export function requestIdOf(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID();
}

/**
 * One log line per request (`request`: id, method, route, status, time in ms), and the id echoed on the answer so a
 * client can quote it. The route is the pattern (`/v1/pipelines/:pipeline/records/:id`), never the URL: ids and query
 * values stay out of the logs. Fastify binds the id to every line the request logs (`request_id`).
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
  });
  app.addHook('onResponse', async (req: FastifyRequest, reply) => {
    req.log.info(
      { method: req.method, route: req.routeOptions.url ?? null, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      'request',
    );
  });
}
