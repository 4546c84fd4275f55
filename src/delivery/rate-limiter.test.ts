import { describe, expect, test } from 'vitest';
import { parseRate } from '../config/units.js';
import { RateLimiter } from './rate-limiter.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('RateLimiter', () => {
  test('starts with a full burst, then refuses until time passes', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('10/s'), clock.now, 5);
    expect(limiter.burst).toBe(5);
    expect(limiter.available()).toBe(5);
    expect(limiter.take(8)).toBe(5);
    expect(limiter.take(1)).toBe(0);
    expect(limiter.available()).toBe(0);
  });

  test('the default burst is a fifth of a second’s worth, at least 1 and at most the rate’s count', () => {
    const clock = manualClock();
    expect(new RateLimiter(parseRate('10/s'), clock.now).burst).toBe(2);
    expect(new RateLimiter(parseRate('1000/s'), clock.now).burst).toBe(200);
    expect(new RateLimiter(parseRate('700/min'), clock.now).burst).toBe(3);
    expect(new RateLimiter(parseRate('1/min'), clock.now).burst).toBe(1);
    expect(new RateLimiter(parseRate('100/10s'), clock.now).burst).toBe(2);
    expect(new RateLimiter(parseRate('5/100ms'), clock.now).burst).toBe(5);
  });

  test('refills at the configured rate', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('10/s'), clock.now, 10);
    limiter.take(10);
    clock.advance(99);
    expect(limiter.available()).toBe(0);
    clock.advance(1);
    expect(limiter.available()).toBe(1);
    clock.advance(400);
    expect(limiter.take(10)).toBe(5);
  });

  test('refill never exceeds the burst, however long it was idle', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('10/s'), clock.now, 3);
    limiter.take(3);
    clock.advance(3_600_000);
    expect(limiter.available()).toBe(3);
  });

  test('700/min refills one token about every 86 ms', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('700/min'), clock.now, 1);
    expect(limiter.take(1)).toBe(1);
    clock.advance(85);
    expect(limiter.take(1)).toBe(0);
    clock.advance(1);
    expect(limiter.take(1)).toBe(1);
  });

  test('giveBack returns unused tokens, but never above the burst', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('10/s'), clock.now, 4);
    expect(limiter.take(4)).toBe(4);
    limiter.giveBack(3);
    expect(limiter.available()).toBe(3);
    limiter.giveBack(100);
    expect(limiter.available()).toBe(4);
  });

  test('take of 0 or less takes nothing', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('10/s'), clock.now, 4);
    expect(limiter.take(0)).toBe(0);
    expect(limiter.take(-3)).toBe(0);
    expect(limiter.available()).toBe(4);
  });

  test('msUntilNext is 0 with a token in hand, else the time until the next one', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('10/s'), clock.now, 2);
    expect(limiter.msUntilNext()).toBe(0);
    limiter.take(2);
    expect(limiter.msUntilNext()).toBe(100);
    clock.advance(30);
    expect(limiter.msUntilNext()).toBe(70);
    clock.advance(70);
    expect(limiter.msUntilNext()).toBe(0);
    expect(limiter.take(1)).toBe(1);
  });

  test('msUntilNext for a slow rate', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('1/min'), clock.now);
    limiter.take(1);
    expect(limiter.msUntilNext()).toBe(60_000);
    clock.advance(59_999);
    expect(limiter.take(1)).toBe(0);
    clock.advance(1);
    expect(limiter.take(1)).toBe(1);
  });

  test('waiting msUntilNext is always enough for one token', () => {
    const clock = manualClock();
    for (const rate of ['10/s', '700/min', '3/7s', '1000000/day']) {
      const limiter = new RateLimiter(parseRate(rate), clock.now);
      limiter.take(limiter.burst);
      for (let i = 0; i < 20; i++) {
        clock.advance(limiter.msUntilNext());
        expect(limiter.take(1)).toBe(1);
      }
    }
  });

  test('over a simulated 10 s at 10/s, no more than rate·T + burst are granted, and close to that many', () => {
    const clock = manualClock();
    const limiter = new RateLimiter(parseRate('10/s'), clock.now);
    let granted = 0;
    // A greedy sender asking for a batch every millisecond.
    for (let ms = 0; ms <= 10_000; ms++) {
      granted += limiter.take(50);
      if (ms < 10_000) clock.advance(1);
    }
    expect(granted).toBeLessThanOrEqual(10 * 10 + limiter.burst);
    expect(granted).toBeGreaterThanOrEqual(10 * 10);
  });

  test('no window of 1 s ever grants more than the rate plus the burst', () => {
    const clock = manualClock(0);
    const limiter = new RateLimiter(parseRate('10/s'), clock.now);
    const grants: number[] = [];
    for (let ms = 0; ms < 10_000; ms += 7) {
      const got = limiter.take(3);
      for (let i = 0; i < got; i++) grants.push(clock.now());
      clock.advance(7);
    }
    for (let i = 0; i < grants.length; i++) {
      const inWindow = grants.filter((t) => t >= grants[i] && t < grants[i] + 1_000).length;
      expect(inWindow).toBeLessThanOrEqual(10 + limiter.burst);
    }
  });

  test('a clock that steps back does not mint tokens, and refills from the new reading instead of stalling', () => {
    let t = 10_000;
    const limiter = new RateLimiter(parseRate('10/s'), () => t, 2);
    limiter.take(2);
    t = 5_000;
    expect(limiter.available()).toBe(0);
    t = 5_100;
    expect(limiter.available()).toBe(1);
  });
});
