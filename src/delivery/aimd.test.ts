import { describe, expect, test } from 'vitest';
import { AimdRate } from './aimd.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const options = { initial: 10, min: 1, max: 1000, step: 5, decrease: 0.5, intervalMs: 1000 };

/** Sends as fast as the AIMD rate allows against a destination whose true limit is `limit`/s, for `seconds`. */
function simulate(limit: number, seconds: number) {
  const c = clock();
  const a = new AimdRate(options, c.now);
  const rates: number[] = [];
  for (let s = 0; s < seconds; s++) {
    const rate = a.perSecond;
    rates.push(rate);
    const n = Math.floor(rate);
    for (let i = 0; i < n; i++) {
      a.onSent();
      if (i >= limit) a.onThrottle();
      else a.onAccepted();
    }
    c.advance(1000);
  }
  return { a, rates };
}

describe('AimdRate', () => {
  test('slow start doubles while the rate is used, until the first throttle', () => {
    const { rates } = simulate(10_000, 5);
    expect(rates).toEqual([10, 20, 40, 80, 160]);
  });

  test('does not grow while demand stays below the rate', () => {
    const c = clock();
    const a = new AimdRate(options, c.now);
    for (let s = 0; s < 5; s++) {
      a.onSent();
      c.advance(1000);
    }
    expect(a.perSecond).toBe(10);
  });

  test('halves on a throttle, at most once per interval, then grows by the step', () => {
    const c = clock();
    const a = new AimdRate(options, c.now);
    a.onThrottle();
    a.onThrottle();
    expect(a.perSecond).toBe(5);
    expect(a.phase).toBe('additive_increase');
    for (let i = 0; i < 5; i++) a.onSent();
    c.advance(1000);
    expect(a.perSecond).toBe(10);
    // One throttled interval is not a measurement: the limit is measured over ten saturated intervals.
    expect(a.found).toBeUndefined();
  });

  test('against a hard cap of 200/s it reports a sustained rate between the sawtooth mean (150) and the cap', () => {
    const { a, rates } = simulate(200, 60);
    // Mathis et al. 1997: with β = 0.5 the rate saws from W/2 to W, mean 3W/4.
    expect(a.found).toBeGreaterThanOrEqual(150);
    expect(a.found).toBeLessThanOrEqual(200);
    const tail = rates.slice(-30);
    expect(Math.max(...tail)).toBeLessThanOrEqual(240);
    // Mean over the last 30 s: AIMD with β = 0.5 spends its time between half the limit and the limit.
    const mean = tail.reduce((x, y) => x + y, 0) / tail.length;
    expect(mean).toBeGreaterThan(100);
    expect(mean).toBeLessThan(220);
  });
});
