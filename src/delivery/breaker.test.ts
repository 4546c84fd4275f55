import { describe, expect, test } from 'vitest';
import type { BreakerOptions } from '../config/sections/circuit-breaker.js';
import { advanceBreaker, breakerPermits, newBreakerState, recordOutcomes, windowCounts } from './breaker.js';

const o: BreakerOptions = { failureRate: 0.5, minimumCalls: 10, windowMs: 10_000, openMs: 30_000, halfOpenProbes: 3 };

describe('circuit breaker', () => {
  test('stays closed below the minimum number of calls, however many fail', () => {
    const s = newBreakerState(0);
    expect(recordOutcomes(s, o, 1000, 0, 9)).toBeUndefined();
    expect(s.state).toBe('closed');
    expect(breakerPermits(s, o)).toBe(Number.POSITIVE_INFINITY);
  });

  test('opens at the failure rate once the window holds the minimum calls', () => {
    const s = newBreakerState(0);
    recordOutcomes(s, o, 1000, 5, 4);
    expect(s.state).toBe('closed');
    expect(recordOutcomes(s, o, 2000, 0, 1)).toBe('opened');
    expect(s).toMatchObject({ state: 'open', openedAt: 2000, openUntil: 32_000, openings: 1 });
    expect(breakerPermits(s, o)).toBe(0);
  });

  test('a failure rate under the threshold keeps it closed', () => {
    const s = newBreakerState(0);
    expect(recordOutcomes(s, o, 1000, 60, 40)).toBeUndefined();
    expect(s.state).toBe('closed');
  });

  test('half-open after the open time: probes only; all succeed → closed', () => {
    const s = newBreakerState(0);
    recordOutcomes(s, o, 1000, 0, 10);
    advanceBreaker(s, o, 31_000);
    expect(s.state).toBe('half_open');
    expect(breakerPermits(s, o)).toBe(3);
    s.probes += 3;
    expect(breakerPermits(s, o)).toBe(0);
    expect(recordOutcomes(s, o, 31_100, 2, 0)).toBeUndefined();
    expect(recordOutcomes(s, o, 31_200, 1, 0)).toBe('closed');
    expect(s).toMatchObject({ state: 'closed', calls: 0, failures: 0, openings: 1 });
  });

  test('a failed probe opens it again for another open time', () => {
    const s = newBreakerState(0);
    recordOutcomes(s, o, 1000, 0, 10);
    advanceBreaker(s, o, 31_000);
    expect(recordOutcomes(s, o, 31_500, 1, 1)).toBe('opened');
    expect(s).toMatchObject({ state: 'open', openUntil: 61_500, openings: 2 });
  });

  test('probes never answered are handed out again after another open time', () => {
    const s = newBreakerState(0);
    recordOutcomes(s, o, 1000, 0, 10);
    advanceBreaker(s, o, 31_000);
    s.probes = 3;
    advanceBreaker(s, o, 62_000);
    expect(breakerPermits(s, o)).toBe(3);
  });

  test('sliding window counter: the previous window weighs by its overlap', () => {
    const s = newBreakerState(0);
    recordOutcomes(s, o, 5_000, 4, 4);
    advanceBreaker(s, o, 12_500);
    // 25% into the new window: the previous one counts 75%.
    expect(windowCounts(s, o, 12_500)).toEqual({ calls: 6, failures: 3 });
    advanceBreaker(s, o, 25_000);
    expect(windowCounts(s, o, 25_000)).toEqual({ calls: 0, failures: 0 });
  });
});
