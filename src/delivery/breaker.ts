import type { BreakerOptions } from '../config/sections/circuit-breaker.js';

export type BreakerPhase = 'closed' | 'open' | 'half_open';

/** The breaker's state: plain data, so it can live in a table row shared by every process. */
export interface BreakerState {
  state: BreakerPhase;
  windowStart: number;
  calls: number;
  failures: number;
  prevCalls: number;
  prevFailures: number;
  openedAt: number | null;
  openUntil: number | null;
  /** Half-open probes handed out, and how many of them succeeded. */
  probes: number;
  probeSuccesses: number;
  /** Times the circuit opened, ever. */
  openings: number;
}

export function newBreakerState(now: number): BreakerState {
  return {
    state: 'closed',
    windowStart: now,
    calls: 0,
    failures: 0,
    prevCalls: 0,
    prevFailures: 0,
    openedAt: null,
    openUntil: null,
    probes: 0,
    probeSuccesses: 0,
    openings: 0,
  };
}

/**
 * Moves time forward: rolls the counting window and turns an open circuit half-open when its open time is over
 * (the states of Nygard, "Release It!", and resilience4j's CircuitBreaker). Mutates and returns `s`.
 */
export function advanceBreaker(s: BreakerState, o: BreakerOptions, now: number): BreakerState {
  if (now - s.windowStart >= o.windowMs) {
    const skipped = Math.floor((now - s.windowStart) / o.windowMs);
    s.prevCalls = skipped === 1 ? s.calls : 0;
    s.prevFailures = skipped === 1 ? s.failures : 0;
    s.calls = 0;
    s.failures = 0;
    s.windowStart += skipped * o.windowMs;
  }
  // Probes handed out but never answered (their process died, or they were given back): let new ones through.
  if (s.state === 'half_open' && s.openUntil !== null && now - s.openUntil >= o.openMs) {
    s.probes = 0;
    s.openUntil = now;
  }
  if (s.state === 'open' && s.openUntil !== null && now >= s.openUntil) {
    s.state = 'half_open';
    s.probes = 0;
    s.probeSuccesses = 0;
  }
  return s;
}

/**
 * Calls and failures over the last `windowMs`, estimated from the current and the previous fixed window with the
 * previous one weighted by its overlap (the "sliding window counter" of Cloudflare's rate limiting, 2017).
 */
export function windowCounts(s: BreakerState, o: BreakerOptions, now: number): { calls: number; failures: number } {
  const overlap = Math.max(0, 1 - (now - s.windowStart) / o.windowMs);
  return { calls: s.calls + s.prevCalls * overlap, failures: s.failures + s.prevFailures * overlap };
}

/** How many calls may start now: all (closed), none (open), or the probes left (half-open). */
export function breakerPermits(s: BreakerState, o: BreakerOptions): number {
  if (s.state === 'closed') return Number.POSITIVE_INFINITY;
  if (s.state === 'open') return 0;
  return Math.max(0, o.halfOpenProbes - s.probes);
}

/**
 * Records the outcomes of calls (failures: faults of the destination — 5xx, timeouts, resets; not throttles and not
 * refusals of one record). Closed: opens when the window holds at least `minimumCalls` and the failure rate reaches
 * `failureRate`. Half-open: any failure opens it again; `halfOpenProbes` successes close it. Returns the transition.
 */
export function recordOutcomes(
  s: BreakerState,
  o: BreakerOptions,
  now: number,
  successes: number,
  failures: number,
): 'opened' | 'closed' | undefined {
  advanceBreaker(s, o, now);
  s.calls += successes + failures;
  s.failures += failures;
  if (s.state === 'half_open') {
    if (failures > 0) return open(s, o, now);
    s.probeSuccesses += successes;
    if (s.probeSuccesses >= o.halfOpenProbes) {
      s.state = 'closed';
      s.openUntil = null;
      s.calls = 0;
      s.failures = 0;
      s.prevCalls = 0;
      s.prevFailures = 0;
      s.windowStart = now;
      return 'closed';
    }
    return undefined;
  }
  if (s.state === 'closed') {
    const w = windowCounts(s, o, now);
    if (w.calls >= o.minimumCalls && w.failures / w.calls >= o.failureRate) return open(s, o, now);
  }
  return undefined;
}

function open(s: BreakerState, o: BreakerOptions, now: number): 'opened' {
  s.state = 'open';
  s.openedAt = now;
  s.openUntil = now + o.openMs;
  s.probes = 0;
  s.probeSuccesses = 0;
  s.openings++;
  return 'opened';
}
