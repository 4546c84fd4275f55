import { describe, expect, test } from 'vitest';
import { fullJitterBackoff, isRetryableStatus, parseRetryAfter } from './backoff.js';

/** A random source that always answers `x` (Math.random's range is [0, 1)). */
const fixed = (x: number) => () => x;
const justBelowOne = 1 - Number.EPSILON;

describe('fullJitterBackoff', () => {
  test('the first retry waits between 0 and base', () => {
    expect(fullJitterBackoff(0, 500, 60_000, fixed(0))).toBe(0);
    expect(fullJitterBackoff(0, 500, 60_000, fixed(0.5))).toBe(250);
    expect(fullJitterBackoff(0, 500, 60_000, fixed(justBelowOne))).toBe(499);
  });

  test('the ceiling doubles with each attempt', () => {
    const ceilings = [0, 1, 2, 3, 4, 5].map((attempt) => fullJitterBackoff(attempt, 500, 60_000, fixed(justBelowOne)) + 1);
    expect(ceilings).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000]);
  });

  test('never waits longer than the cap, however many attempts', () => {
    for (const attempt of [7, 8, 20, 52, 100, 10_000]) {
      expect(fullJitterBackoff(attempt, 500, 60_000, fixed(justBelowOne))).toBe(59_999);
      expect(fullJitterBackoff(attempt, 500, 60_000, fixed(0.5))).toBe(30_000);
    }
  });

  test('a huge attempt number still gives a finite wait', () => {
    expect(Number.isFinite(fullJitterBackoff(1e9, 1_000, 5_000, fixed(0.9)))).toBe(true);
  });

  test('with Math.random, every wait lies in [0, min(cap, base·2^attempt)) and they spread out', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(30_000, 100 * 2 ** attempt);
      const waits = Array.from({ length: 200 }, () => fullJitterBackoff(attempt, 100, 30_000));
      for (const w of waits) {
        expect(Number.isInteger(w)).toBe(true);
        expect(w).toBeGreaterThanOrEqual(0);
        expect(w).toBeLessThan(ceiling);
      }
      // Full jitter: the waits are not all the same (that would be a thundering herd).
      expect(new Set(waits).size).toBeGreaterThan(ceiling >= 200 ? 50 : 10);
    }
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-01T09:00:00Z');

  test('delay-seconds become milliseconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 5 ', now)).toBe(5_000);
  });

  test('an HTTP date becomes the time from now until then', () => {
    expect(parseRetryAfter('Sun, 01 Nov 2026 09:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 01 Nov 2026 10:00:00 GMT', now)).toBe(3_600_000);
  });

  test('an HTTP date in the past means now', () => {
    expect(parseRetryAfter('Sun, 01 Nov 2026 08:59:00 GMT', now)).toBe(0);
  });

  test('no header, or one that is neither form, gives nothing', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('later', now)).toBeUndefined();
  });
});

describe('isRetryableStatus', () => {
  test.each([408, 425, 429, 500, 502, 503, 504, 599])('%d is retried', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  test.each([400, 401, 403, 404, 409, 410, 413, 422])('%d is final', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });
});
