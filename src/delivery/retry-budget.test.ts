import { describe, expect, test } from 'vitest';
import { RetryBudget } from './retry-budget.js';

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('RetryBudget', () => {
  test('retries are at most percent of requests plus the floor over the window', () => {
    const c = clock();
    const b = new RetryBudget(20, 1, 10_000, c.now);
    for (let i = 0; i < 100; i++) b.recordRequest();
    // 20% of 100 + 1/s · 10 s = 30.
    let granted = 0;
    while (b.tryRetry()) granted++;
    expect(granted).toBe(30);
    expect(b.available()).toBe(0);
  });

  test('an outage with no new requests leaves only the floor', () => {
    const c = clock();
    const b = new RetryBudget(20, 2, 10_000, c.now);
    let granted = 0;
    for (let s = 0; s < 60; s++) {
      while (b.tryRetry()) granted++;
      c.advance(1000);
    }
    // About 2/s: the window's first grant is 20, then 2 a second as old retries leave it.
    expect(granted).toBeGreaterThanOrEqual(2 * 60);
    expect(granted).toBeLessThanOrEqual(2 * 60 + 20);
  });

  test('the window slides: old requests stop counting', () => {
    const c = clock();
    const b = new RetryBudget(50, 0, 5_000, c.now);
    for (let i = 0; i < 10; i++) b.recordRequest();
    expect(b.available()).toBe(5);
    c.advance(5_000);
    expect(b.available()).toBe(0);
    expect(b.snapshot()).toMatchObject({ requests: 0, retries: 0 });
  });
});

describe('RetryBudget refunds', () => {
  test('retries that succeed are refunded, so a recovered destination drains its retries at full speed', () => {
    const c = clock();
    const b = new RetryBudget(20, 1, 10_000, c.now);
    let sent = 0;
    for (let i = 0; i < 1000; i++) {
      if (!b.tryRetry()) break;
      sent++;
      b.refund();
    }
    expect(sent).toBe(1000);
  });

  test('failing retries are held to the budget', () => {
    const c = clock();
    const b = new RetryBudget(20, 1, 10_000, c.now);
    for (let i = 0; i < 100; i++) b.recordRequest();
    let sent = 0;
    while (b.tryRetry()) sent++;
    expect(sent).toBe(30);
  });
});
