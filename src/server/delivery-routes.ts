import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import {
  destinationStatus,
  discardDeadLetter,
  listDeadLetters,
  replayDeadLetters,
  showDeadLetter,
  viewerUrl,
} from '../delivery/dead-letters.js';
import type { LiveDeliveryStages } from '../delivery/live-stages.js';
import { AirlockError } from '../errors.js';
import { redactedValues, redactionFor, scrubValues } from '../pipeline/redaction.js';
import type { Runtime } from '../runtime/context.js';
import { eventDetailOf, recordBody } from '../store/codecs.js';
import { getRecord } from '../store/records.js';
import { LEADS, PEOPLE, read, write } from './access.js';
import { ok, problems } from './answers.js';
import { type Api, positiveId } from './api.js';
import { callerOf } from './auth.js';
import { Activity, DeadLetterDetail, DeadLetterList, DestinationList, ReplayResult } from './schemas/delivery.js';

const DeadLetterParams = Type.Object({ id: Type.String({ description: 'A dead letter (delivery) id, a positive whole number.' }) });
const by = Type.Optional(Type.String({ description: 'With server.auth: off, who acts (else the signed-in user).' }));

/** What `showDeadLetter` answers, typed as the schema declares it (the stored request and attempts are JSON). */
const typed = (d: Awaited<ReturnType<typeof showDeadLetter>>) => d as DeadLetterDetail;

/** Deliveries made and 429 answers per destination and minute, over the last `minutes`. */
async function activity(rt: Runtime, minutes: number) {
  const db = rt.store.db;
  const now = rt.clock.now();
  const first = Math.floor(now / 60_000) - minutes + 1;
  const from = first * 60_000;
  const minute = sql<number>`(updated_at / 60000)`;
  const delivered = await db
    .selectFrom('deliveries')
    .select(['pipeline', 'destination', minute.as('minute'), (eb) => eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'delivered')
    .where('updated_at', '>=', from)
    .groupBy(['pipeline', 'destination', minute])
    .execute();
  // A 429 answer is logged as a scheduled retry whose detail carries the status.
  const at = sql<number>`(at / 60000)`;
  const throttled = await db
    .selectFrom('events')
    .select(['pipeline', sql<string>`detail`.as('detail'), at.as('minute')])
    .where('kind', '=', 'delivery_retry_scheduled')
    .where('at', '>=', from)
    .where('detail', 'like', '%"status":429%')
    .execute();
  const out = [];
  for (const p of Object.values(rt.config.pipelines)) {
    for (const dest of Object.keys(p.destinations)) {
      const buckets = Array.from({ length: minutes }, (_, i) => ({
        at: new Date((first + i) * 60_000).toISOString(),
        delivered: 0,
        throttled: 0,
      }));
      for (const d of delivered) {
        if (d.pipeline !== p.name || d.destination !== dest) continue;
        const b = buckets[Math.floor(Number(d.minute)) - first];
        if (b) b.delivered += Number(d.n);
      }
      for (const t of throttled) {
        if (t.pipeline !== p.name || eventDetailOf('delivery_retry_scheduled', t.detail).destination !== dest) continue;
        const b = buckets[Math.floor(Number(t.minute)) - first];
        if (b) b.throttled += 1;
      }
      out.push({ pipeline: p.name, destination: dest, buckets });
    }
  }
  return { minutes, from: new Date(from).toISOString(), destinations: out };
}

/**
 * Delivery routes: destination status (limits, breaker, pacing) and activity per minute, and dead letters — list,
 * inspect, replay one or many, discard with a reason. Every change is audited as an event on its record.
 */
export function registerDeliveryRoutes(app: Api, rt: Runtime, live?: LiveDeliveryStages): void {
  app.get(
    '/v1/destinations',
    {
      schema: {
        operationId: 'listDestinations',
        summary: 'Per destination: rate against its limit (configured, stated or found by AIMD), 429s, breaker state, dead letters',
        tags: ['delivery'],
        response: { 200: ok(DestinationList, 'Every destination of every pipeline.') },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const all = await destinationStatus(rt, live);
      // Viewers see where a destination is, not the path or query that may hold its credential.
      return req.principal?.role === 'viewer'
        ? { ...all, destinations: all.destinations.map((d) => ({ ...d, url: viewerUrl(d.url) })) }
        : all;
    },
  );

  app.get(
    '/v1/destinations/activity',
    {
      schema: {
        operationId: 'getDestinationActivity',
        summary: 'Per destination and minute: deliveries made and 429 answers, over the last `minutes` (default 30, at most 1440)',
        tags: ['delivery'],
        querystring: Type.Object({ minutes: Type.Optional(Type.Number({ default: 30, description: 'At most 1440.' })) }),
        response: { 200: ok(Activity, 'The buckets, oldest first.') },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => activity(rt, Math.min(24 * 60, Math.max(1, Math.floor(req.query.minutes ?? 30) || 30))),
  );

  app.get(
    '/v1/dead-letters',
    {
      schema: {
        operationId: 'listDeadLetters',
        summary: 'Dead letters: deliveries a destination refused for good, newest first',
        tags: ['delivery'],
        querystring: Type.Object({
          pipeline: Type.Optional(Type.String()),
          destination: Type.Optional(Type.String()),
          status: Type.Optional(Type.String({ description: '`discarded` for the ones given up on; else those waiting for a person.' })),
          limit: Type.Optional(Type.Integer({ default: 100 })),
        }),
        response: { 200: ok(DeadLetterList, 'The dead letters and how many there are in all.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const q = req.query;
      const status = q.status === 'discarded' ? 'discarded' : 'dead_lettered';
      return listDeadLetters(rt, { pipeline: q.pipeline, destination: q.destination, status, limit: q.limit || 100 });
    },
  );

  app.get(
    '/v1/dead-letters/:id',
    {
      schema: {
        operationId: 'getDeadLetter',
        summary: 'One dead letter: the request, the last response, every attempt',
        tags: ['delivery'],
        params: DeadLetterParams,
        response: { 200: ok(DeadLetterDetail, 'The dead letter.'), ...problems({ 404: 'No such delivery.' }) },
      },
      config: { access: read(PEOPLE) },
    },
    async (req) => {
      const found = typed(await showDeadLetter(rt, positiveId(req.params.id, 'dead letter')));
      const shown =
        req.principal?.role === 'viewer' && found.request
          ? { ...found, request: { ...found.request, url: viewerUrl(found.request.url) } }
          : found;
      // The viewer role sees every value at the pipeline's `redact:` paths as "[redacted]", wherever the request
      // (a template may move or embed them) or the destination's response carries it.
      const paths = redactionFor(rt.config, req.principal?.role, shown.pipeline);
      if (!paths) return shown;
      const record = await getRecord(rt.store.db, shown.pipeline, shown.record_id);
      const secrets = new Set([
        ...redactedValues(recordBody.tryDecode(record?.body ?? null), paths),
        ...redactedValues(recordBody.tryDecode(record?.original_body ?? null), paths),
      ]);
      return {
        ...shown,
        request: shown.request ? { ...shown.request, body: scrubValues(shown.request.body, secrets) } : null,
        response: scrubValues(shown.response, secrets),
      };
    },
  );

  app.post(
    '/v1/dead-letters/:id/replay',
    {
      schema: {
        operationId: 'replayDeadLetter',
        summary: 'Put a dead letter back in the outbox',
        tags: ['delivery'],
        params: DeadLetterParams,
        body: Type.Object({ by, note: Type.Optional(Type.String()) }),
        response: { 200: ok(DeadLetterDetail, 'The delivery, pending again.'), ...problems({ 404: 'No such delivery.' }) },
      },
      config: { access: write(LEADS), review: { case: 'dead_letter', act: 'approve' } },
    },
    async (req) => {
      const id = positiveId(req.params.id, 'dead letter');
      await replayDeadLetters(rt, { ids: [id] }, { actor: callerOf(req, req.body.by), note: req.body.note });
      return typed(await showDeadLetter(rt, id));
    },
  );

  app.post(
    '/v1/dead-letters/replay',
    {
      schema: {
        operationId: 'replayDeadLetters',
        summary: 'Replay many dead letters: by ids, or by pipeline and destination, or all',
        tags: ['delivery'],
        body: Type.Object({
          by,
          note: Type.Optional(Type.String()),
          ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { 'x-expected': 'dead-letter ids' })),
          pipeline: Type.Optional(Type.String()),
          destination: Type.Optional(Type.String()),
          all: Type.Optional(Type.Boolean()),
          limit: Type.Optional(Type.Number({ description: 'Replay at most this many (default 1000).' })),
        }),
        response: { 200: ok(ReplayResult, 'The ids replayed, and the ones skipped with why.'), ...problems({ 404: 'Unknown pipeline.' }) },
      },
      config: { access: write(LEADS), review: { case: 'dead_letters', act: 'approve' } },
    },
    async (req) => {
      const body = req.body;
      if (body.ids === undefined && body.all !== true && body.pipeline === undefined && body.destination === undefined)
        throw new AirlockError('BAD_REQUEST', 'say which dead letters to replay: "ids", "pipeline"/"destination", or "all": true');
      return replayDeadLetters(
        rt,
        { ids: body.ids, pipeline: body.pipeline, destination: body.destination, limit: body.limit },
        { actor: callerOf(req, body.by), note: body.note },
      );
    },
  );

  app.post(
    '/v1/dead-letters/:id/discard',
    {
      schema: {
        operationId: 'discardDeadLetter',
        summary: 'Give up on a dead letter, with a reason',
        tags: ['delivery'],
        params: DeadLetterParams,
        body: Type.Object({ by, reason: Type.Optional(Type.String({ description: 'Required: why it is given up on.' })) }),
        response: {
          200: ok(DeadLetterDetail, 'The delivery, discarded.'),
          ...problems({ 404: 'No such delivery.', 409: 'The delivery is not dead-lettered.' }),
        },
      },
      config: { access: write(LEADS), review: { case: 'dead_letter', act: 'reject' } },
    },
    async (req) =>
      typed(
        await discardDeadLetter(rt, positiveId(req.params.id, 'dead letter'), {
          actor: callerOf(req, req.body.by),
          reason: req.body.reason ?? '',
        }),
      ),
  );
}
