/** A pipeline's `model:` of `type: http`: a model behind an HTTP endpoint (src/models/http.ts). */
import { type Static, Type } from '@sinclair/typebox';
import { parseDuration } from '../units.js';
import { type BreakerOptions, circuitBreakerSettings, resolveBreaker } from './circuit-breaker.js';
import { duration, headers, url, withDefault } from './kinds.js';

export const httpModelSettings = Type.Object(
  {
    type: Type.Literal('http', { description: 'http: each record is POSTed to `url`.' }),
    url: url('Where the record is POSTed as JSON; answers {label, confidence} or {probs}.'),
    timeout: withDefault(duration('Time allowed for one model call.'), '2s'),
    retries: withDefault(Type.Integer({ minimum: 0, maximum: 20, description: 'Retries of one call before it counts as failed.' }), 3),
    concurrency: withDefault(Type.Integer({ minimum: 1, maximum: 256, description: 'Model calls in flight per worker.' }), 8),
    headers: withDefault(headers(), {}),
    version: Type.Optional(Type.String({ description: 'Model version recorded on every prediction.' })),
    circuit_breaker: circuitBreakerSettings(
      'Stops calling the model while it fails (per process): open after this failure rate, fail fast while open, then half-open probes. Scoring pauses and records wait; none counts against a record.',
      { minimum_calls: 10, window: '30s', open_for: '15s', half_open_probes: 1 },
    ),
  },
  { additionalProperties: false },
);

type HttpModelSettings = Static<typeof httpModelSettings>;

/** `type: http`, resolved. */
export interface HttpModelConfig {
  type: 'http';
  url: string;
  timeoutMs: number;
  retries: number;
  concurrency: number;
  headers: Record<string, string>;
  version?: string;
  breaker: BreakerOptions;
}

export function resolveHttpModel(m: HttpModelSettings): HttpModelConfig {
  return {
    type: 'http',
    url: m.url,
    timeoutMs: parseDuration(m.timeout),
    retries: m.retries,
    concurrency: m.concurrency,
    headers: m.headers,
    version: m.version,
    breaker: resolveBreaker(m.circuit_breaker),
  };
}
