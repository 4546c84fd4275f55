import type { FastifyInstance, FastifyRequest } from 'fastify';
import { destinationStatus, discardDeadLetter, listDeadLetters, replayDeadLetters, showDeadLetter } from '../delivery/dead-letters.js';
import type { LiveDeliveryStages } from '../delivery/live-stages.js';
import { AirlockError } from '../errors.js';
import { redactedValues, redactionFor, scrubValues } from '../pipeline/redaction.js';
import type { Runtime } from '../runtime/context.js';
import { getRecord } from '../store/records.js';
import { actorOf } from './auth.js';

/** The body as the app's JSON parser hands it over: `{ items, single }`. */
function bodyObject(req: FastifyRequest): Record<string, unknown> {
  const body = req.body as { items: unknown[]; single: boolean } | undefined;
  if (!body) return {};
  const v = body.items[0];
  if (!body.single || v === null || typeof v !== 'object' || Array.isArray(v))
    throw new AirlockError('BAD_REQUEST', 'send one JSON object');
  return v as Record<string, unknown>;
}

function optionalString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AirlockError('BAD_REQUEST', `"${key}" must be a string`);
  return v;
}

function deadLetterId(raw: string): number {
  const id = Number(raw);
  if (!Number.isSafeInteger(id) || id <= 0) throw new AirlockError('NOT_FOUND', `dead letter ${raw} does not exist`);
  return id;
}

/**
 * Delivery routes: destination status (limits, breaker, pacing) and dead letters — list, inspect, replay one or
 * many, discard with a reason. Every change is audited as an event on its record.
 */
export function registerDeliveryRoutes(app: FastifyInstance, rt: Runtime, live?: LiveDeliveryStages): void {
  app.get('/v1/destinations', async () => destinationStatus(rt, live));

  app.get('/v1/dead-letters', async (req: FastifyRequest<{ Querystring: Record<string, string | undefined> }>) => {
    const q = req.query;
    const status = q.status === 'discarded' ? 'discarded' : 'dead_lettered';
    return listDeadLetters(rt, { pipeline: q.pipeline, destination: q.destination, status, limit: Number(q.limit ?? 100) || 100 });
  });

  app.get('/v1/dead-letters/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const shown = await showDeadLetter(rt, deadLetterId(req.params.id));
    // The viewer role sees every value at the pipeline's `redact:` paths as "[redacted]", wherever the request
    // (a template may move or embed them) or the destination's response carries it.
    const paths = redactionFor(rt.config, req.principal?.role, shown.pipeline);
    if (!paths) return shown;
    const record = await getRecord(rt.store.db, shown.pipeline, shown.record_id);
    const secrets = new Set([
      ...redactedValues(record ? JSON.parse(record.body) : null, paths),
      ...redactedValues(record?.original_body ? JSON.parse(record.original_body) : null, paths),
    ]);
    return {
      ...shown,
      request: shown.request ? { ...shown.request, body: scrubValues(shown.request.body, secrets) } : null,
      response: scrubValues(shown.response, secrets),
    };
  });

  app.post('/v1/dead-letters/:id/replay', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const body = bodyObject(req);
    const id = deadLetterId(req.params.id);
    await replayDeadLetters(rt, { ids: [id] }, { by: actorOf(req, optionalString(body, 'by')), note: optionalString(body, 'note') });
    return showDeadLetter(rt, id);
  });

  app.post('/v1/dead-letters/replay', async (req: FastifyRequest) => {
    const body = bodyObject(req);
    const ids = body.ids;
    if (ids !== undefined && (!Array.isArray(ids) || !ids.every((x) => Number.isSafeInteger(x) && (x as number) > 0)))
      throw new AirlockError('BAD_REQUEST', '"ids" must be a list of dead-letter ids');
    if (ids === undefined && body.all !== true && body.pipeline === undefined && body.destination === undefined)
      throw new AirlockError('BAD_REQUEST', 'say which dead letters to replay: "ids", "pipeline"/"destination", or "all": true');
    return replayDeadLetters(
      rt,
      {
        ids: ids as number[] | undefined,
        pipeline: optionalString(body, 'pipeline'),
        destination: optionalString(body, 'destination'),
        limit: typeof body.limit === 'number' ? body.limit : undefined,
      },
      { by: actorOf(req, optionalString(body, 'by')), note: optionalString(body, 'note') },
    );
  });

  app.post('/v1/dead-letters/:id/discard', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const body = bodyObject(req);
    return discardDeadLetter(rt, deadLetterId(req.params.id), {
      by: actorOf(req, optionalString(body, 'by')),
      reason: optionalString(body, 'reason') ?? '',
    });
  });
}
