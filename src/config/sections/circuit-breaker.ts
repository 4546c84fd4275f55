/**
 * `circuit_breaker:` of an http model and of a destination: one shape, each with its own defaults (a model is
 * judged over fewer calls and a longer window than a destination).
 */
import { type Static, Type } from '@sinclair/typebox';
import { parseDuration } from '../units.js';
import { defaultBlock, duration, withDefault } from './kinds.js';

/** The settings of one circuit breaker, resolved (src/delivery/breaker.ts). */
export interface BreakerOptions {
  /** Share of failed calls in the window that opens the circuit (0.5 = 50%). */
  failureRate: number;
  /** Calls the window must hold before the failure rate counts (so one early failure cannot open it). */
  minimumCalls: number;
  windowMs: number;
  /** How long the circuit stays open before letting probes through. */
  openMs: number;
  /** Calls let through while half-open; all must succeed to close the circuit again. */
  halfOpenProbes: number;
}

/** The defaults that differ between a model's breaker and a destination's. */
interface BreakerDefaults {
  minimum_calls: number;
  window: string;
  open_for: string;
  half_open_probes: number;
}

/** The `circuit_breaker:` block, with the defaults of where it is used. */
export function circuitBreakerSettings(description: string, defaults: BreakerDefaults) {
  return defaultBlock(
    Type.Object(
      {
        failure_rate: withDefault(
          Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Share of failed calls that opens it.' }),
          0.5,
        ),
        minimum_calls: withDefault(
          Type.Integer({ minimum: 1, description: 'Calls in the window before the rate counts.' }),
          defaults.minimum_calls,
        ),
        window: withDefault(duration('The window failures are counted over.'), defaults.window),
        open_for: withDefault(duration('How long it stays open before half-open probes.'), defaults.open_for),
        half_open_probes: withDefault(
          Type.Integer({ minimum: 1, description: 'Probe calls; all must succeed to close it.' }),
          defaults.half_open_probes,
        ),
      },
      { additionalProperties: false, description },
    ),
  );
}

type BreakerSettings = Static<ReturnType<typeof circuitBreakerSettings>>;

export function resolveBreaker(s: BreakerSettings): BreakerOptions {
  return {
    failureRate: s.failure_rate,
    minimumCalls: s.minimum_calls,
    windowMs: parseDuration(s.window),
    openMs: parseDuration(s.open_for),
    halfOpenProbes: s.half_open_probes,
  };
}
