/**
 * One delivery as an HTTP request: its body (`{record, decision}` or the destination's template), the POST with the
 * effect's idempotency key, and what the answer means (delivered, retry, dead) with the response kept for people.
 */
import type { DestinationConfig } from '../config/sections/destinations.js';
import { type OutboundAnswer, redirectRefusal, send } from '../outbound/http.js';
import type { Clock } from '../runtime/context.js';
import { decision as decisionColumn, recordBody, type StoredResponse } from '../store/codecs.js';
import type { DeliveryRow } from '../store/tables.js';
import { classifyError, classifyResponse, type Verdict } from './classify.js';
import type { Pacer } from './pacer.js';
import type { DeliveryMetrics } from './prometheus.js';
import { parseRateSignal, type RateSignal } from './signals.js';
import { renderTemplate, TemplateMissingPath } from './template.js';

/** What became of one attempt. */
export interface Outcome {
  kind: 'delivered' | 'retry' | 'dead';
  status?: number;
  error?: string;
  retryAfterMs?: number;
  /** A fault of the destination (5xx, timeout, reset): counts against the circuit breaker. */
  fault?: boolean;
  throttled?: boolean;
  response?: StoredResponse;
}

/** The response headers kept with a retried or dead-lettered delivery (limits, retry hints, request ids). */
export const KEPT_RESPONSE_HEADERS = [
  'content-type',
  'retry-after',
  'x-request-id',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'x-rate-limit',
  'x-rate-limit-remaining',
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-hubspot-ratelimit-max',
  'x-hubspot-ratelimit-remaining',
  'x-hubspot-ratelimit-interval-milliseconds',
  'stripe-should-retry',
];

/** The request as sent (for dead-letter inspection): never the credential headers. */
export function requestOf(dest: DestinationConfig, d: DeliveryRow) {
  return {
    method: 'POST',
    url: dest.url,
    headers: {
      'content-type': 'application/json',
      [dest.idempotencyHeader.toLowerCase()]: d.idempotency_key,
      'x-airlock-pipeline': d.pipeline,
      'x-airlock-record-id': encodeURIComponent(d.record_id),
    },
    credential_headers: Object.keys(dest.headers),
  };
}

/** What a body template may read besides the record and the decision. */
const templateMeta = (d: DeliveryRow) => ({
  pipeline: d.pipeline,
  record_id: d.record_id,
  destination: d.destination,
  idempotency_key: d.idempotency_key,
});

/**
 * The request body from the stored record and decision: `{record, decision}` (spliced from the stored text, nothing
 * parsed), or the destination's template rendered over them. A template path the record lacks refuses the delivery
 * (dead letter naming the path): nothing is sent.
 */
export function requestPayload(dest: DestinationConfig, d: DeliveryRow, body: string, decision: string | null): string | Outcome {
  const template = dest.body;
  if (template === undefined) return `{"record":${body},"decision":${decision ?? 'null'}}`;
  try {
    return JSON.stringify(
      renderTemplate(template, { record: recordBody.decode(body), decision: decisionColumn.decodeOrNull(decision), meta: templateMeta(d) }),
    );
  } catch (err) {
    if (err instanceof TemplateMissingPath) return { kind: 'dead', error: err.message };
    throw err;
  }
}

/** The body as the worker sends it, for people: `{record, decision}` or the template's (null when it cannot render). */
export function requestBodyView(dest: DestinationConfig, d: DeliveryRow, record: unknown, decision: unknown): unknown {
  const template = dest.body;
  if (template === undefined) return { record, decision };
  try {
    return renderTemplate(template, { record, decision, meta: templateMeta(d) });
  } catch (err) {
    if (err instanceof TemplateMissingPath) return null;
    throw err;
  }
}

/** What sending reports to: the destination's metrics, and the pacer that learns from each answer. */
export interface SendContext {
  pipeline: string;
  metrics: DeliveryMetrics;
  pacer: Pacer;
  clock: Clock;
}

/** POSTs one delivery and classifies the answer (src/delivery/classify.ts); never throws for the destination's faults. */
export async function sendDelivery(dest: DestinationConfig, d: DeliveryRow, payload: string, ctx: SendContext): Promise<Outcome> {
  const label = { pipeline: ctx.pipeline, destination: dest.name };
  let res: OutboundAnswer;
  try {
    res = await send(dest.url, {
      headers: {
        'content-type': 'application/json',
        ...dest.headers,
        [dest.idempotencyHeader]: d.idempotency_key,
        'x-airlock-pipeline': d.pipeline,
        'x-airlock-record-id': encodeURIComponent(d.record_id),
        'x-airlock-attempt': String(d.attempts + 1),
      },
      body: payload,
      timeoutMs: dest.timeoutMs,
    });
  } catch (err) {
    // A failed connection, a timeout, or the connection broken while the answer was read: the effect may or may not
    // have happened; retry with the same key.
    const v = classifyError(err, dest.timeoutMs) as Extract<Verdict, { kind: 'retry' }>;
    ctx.metrics.responses.inc({ ...label, class: v.reason.startsWith('timed out') ? 'timeout' : 'connection_error' });
    ctx.pacer.onResult({}, v);
    return { kind: 'retry', error: v.reason, fault: true };
  }
  if (res.redirectedTo !== undefined) {
    // A redirect is not followed: the record and the destination's credentials go only to the configured URL.
    ctx.metrics.responses.inc({ ...label, class: '3xx' });
    return { kind: 'dead', status: res.status, error: redirectRefusal(res), response: { status: res.status, headers: {}, body: '' } };
  }
  const text = res.text;
  const now = ctx.clock.now();
  const signal: RateSignal = parseRateSignal(res.headers, now);
  const verdict = classifyResponse(res.status, text, signal, dest.classification);
  ctx.pacer.onResult(signal, verdict);
  const headers: Record<string, string> = {};
  for (const h of KEPT_RESPONSE_HEADERS) {
    const v = res.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  const response = { status: res.status, headers, body: text.slice(0, 2048) };
  const soft = res.status < 300 && verdict.kind !== 'delivered';
  ctx.metrics.responses.inc({ ...label, class: soft ? 'soft_failure' : `${Math.floor(res.status / 100)}xx` });
  if (verdict.kind === 'delivered') return { kind: 'delivered', status: res.status };
  if (verdict.kind === 'retry') {
    if (verdict.throttled) ctx.metrics.throttled.inc(label);
    return {
      kind: 'retry',
      status: res.status,
      error: verdict.reason,
      retryAfterMs: signal.retryAfterMs ?? (signal.remaining === 0 ? signal.resetMs : undefined),
      throttled: verdict.throttled,
      fault: !verdict.throttled,
      response,
    };
  }
  return { kind: 'dead', status: res.status, error: verdict.reason, response };
}

/** An outcome in a few words (why a delivery was given up on): its error, else the status answered. */
export function describeOutcome(o: Outcome): string {
  return o.error ?? (o.status ? `destination answered ${o.status}` : 'failed');
}
