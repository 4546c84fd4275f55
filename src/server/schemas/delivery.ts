/** Schemas of destinations (limits, breaker, pacing), their activity per minute, and dead letters. */
import { type Static, Type } from '@sinclair/typebox';
import { Json, JsonObject, Nullable, Timestamp } from './common.js';
import { RecordStatus } from './records.js';

/** One destination of one pipeline: its limits (configured, stated or found), breaker, pacing, queue and dead letters. */
export const Destination = Type.Object({
  pipeline: Type.String(),
  destination: Type.String(),
  type: Type.String(),
  preset: Nullable(Type.Object({ vendor: Type.String(), plan: Type.String(), docs: Type.String() })),
  url: Type.String({ description: 'Without user info or query string.' }),
  rate_limit: Nullable(Type.Object({ text: Type.String(), per_second: Type.Number() })),
  extra_limits: Type.Array(Type.String()),
  quotas: Type.Array(
    Type.Object({
      quota: Type.String(),
      limit: Type.Number(),
      used: Type.Number(),
      window_start: Nullable(Timestamp),
      window_end: Nullable(Timestamp),
    }),
  ),
  order_by: Nullable(Type.String()),
  concurrency: Type.Integer(),
  found_limit: Nullable(Type.Object({ per_second: Type.Number(), source: Nullable(Type.String()) })),
  pace_per_second: Nullable(Type.Number()),
  last_signal: Json,
  breaker: Type.Object({
    state: Type.String({ description: 'closed, open or half_open.' }),
    openings: Type.Integer(),
    opened_at: Nullable(Timestamp),
    open_until: Nullable(Timestamp),
    window: Type.Object({ calls: Type.Integer(), failures: Type.Integer() }),
  }),
  retry_budget: Nullable(JsonObject),
  this_process: Nullable(JsonObject),
  deliveries: Type.Object({
    pending: Type.Integer(),
    delivered: Type.Integer(),
    dead_lettered: Type.Integer(),
    discarded: Type.Integer(),
  }),
});
export type Destination = Static<typeof Destination>;

export const DestinationList = Type.Object({ destinations: Type.Array(Destination) });
export type DestinationList = Static<typeof DestinationList>;

/** Per destination and minute: deliveries made and 429 answers. */
export const Activity = Type.Object({
  minutes: Type.Integer(),
  from: Timestamp,
  destinations: Type.Array(
    Type.Object({
      pipeline: Type.String(),
      destination: Type.String(),
      buckets: Type.Array(Type.Object({ at: Timestamp, delivered: Type.Integer(), throttled: Type.Integer() })),
    }),
  ),
});
export type Activity = Static<typeof Activity>;

const DeliveryStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('dead_lettered'),
  Type.Literal('discarded'),
]);

/** A delivery a destination refused for good, with the open dead_letter case it belongs to. */
export const DeadLetter = Type.Object({
  id: Type.Integer(),
  pipeline: Type.String(),
  record_id: Type.String(),
  destination: Type.String(),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  last_status: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  idempotency_key: Type.String(),
  first_attempt_at: Nullable(Timestamp),
  dead_lettered_at: Nullable(Timestamp),
  case_id: Nullable(Type.Integer()),
});
export type DeadLetter = Static<typeof DeadLetter>;

export const DeadLetterList = Type.Object({ dead_letters: Type.Array(DeadLetter), total: Type.Integer() });
export type DeadLetterList = Static<typeof DeadLetterList>;

const TrailEntry = Type.Object({ at: Nullable(Timestamp), kind: Type.String(), detail: JsonObject });

/** One dead letter: the request as sent (without credentials), the last response, and every attempt. */
export const DeadLetterDetail = Type.Composite([
  DeadLetter,
  Type.Object({
    record_status: Nullable(RecordStatus),
    request: Nullable(
      Type.Object({
        url: Type.String(),
        body: Json,
        method: Type.String(),
        headers: Type.Record(Type.String(), Type.String()),
        credential_headers: Type.Array(Type.String(), { description: 'Headers sent but not shown (credentials).' }),
      }),
    ),
    response: Json,
    attempt_log: Type.Array(TrailEntry),
    history: Type.Array(TrailEntry),
  }),
]);
export type DeadLetterDetail = Static<typeof DeadLetterDetail>;

/** Which dead letters went back to the outbox, and which were skipped and why. */
export const ReplayResult = Type.Object({
  replayed: Type.Array(Type.Integer()),
  skipped: Type.Array(Type.Object({ id: Type.Integer(), reason: Type.String() })),
});
export type ReplayResult = Static<typeof ReplayResult>;
