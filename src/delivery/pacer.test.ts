import { describe, expect, test } from 'vitest';
import { DEFAULT_CLASSIFICATION } from '../config/classification.js';
import type { DestinationConfig } from '../config/sections/destinations.js';
import { parseRate } from '../config/units.js';
import { Pacer } from './pacer.js';

function dest(over: Partial<DestinationConfig> = {}): DestinationConfig {
  return {
    name: 'd',
    type: 'webhook',
    url: 'http://h/x',
    extraLimits: [],
    concurrency: 4,
    timeoutMs: 1000,
    headers: {},
    idempotencyHeader: 'Idempotency-Key',
    retry: { maxAttempts: 5, baseMs: 100, capMs: 1000, maxAgeMs: 60_000, budget: { percent: 20, minPerSecond: 1, windowMs: 10_000 } },
    classification: DEFAULT_CLASSIFICATION,
    breaker: { failureRate: 0.5, minimumCalls: 10, windowMs: 10_000, openMs: 10_000, halfOpenProbes: 2 },
    adaptive: { initialPerSecond: 10, maxPerSecond: 1000, step: 5, decrease: 0.5, intervalMs: 1000 },
    ...over,
  };
}

const retry = { kind: 'retry', reason: 'x', throttled: true } as const;
const ok = { kind: 'delivered' } as const;

describe('Pacer', () => {
  test('Retry-After on a throttle pauses every request until then', () => {
    let t = 1000;
    const p = new Pacer(dest({ rateLimit: parseRate('10/s') }), () => t);
    p.onResult({ retryAfterMs: 5000 }, retry);
    expect(p.signalWaitMs()).toBe(5000);
    t += 5000;
    expect(p.signalWaitMs()).toBe(0);
  });

  test('remaining 0 pauses until the reset, before any 429', () => {
    let t = 0;
    const p = new Pacer(dest({ rateLimit: parseRate('10/s') }), () => t);
    p.onResult({ remaining: 0, resetMs: 800 }, ok);
    expect(p.signalWaitMs()).toBe(800);
    t = 800;
    expect(p.signalWaitMs()).toBe(0);
  });

  test('a quota that would run out before its reset is spread over the rest of the window', async () => {
    let t = 0;
    const p = new Pacer(dest({ rateLimit: parseRate('100/s') }), () => t);
    // 10 requests left for the next 10 s: one a second, although the configured pace is 100/s.
    p.onResult({ remaining: 10, resetMs: 10_000 }, ok);
    expect(await p.acquire(0, () => false)).toBe(true);
    expect(p.signalWaitMs()).toBeGreaterThan(900);
    t = 1_200;
    expect(p.signalWaitMs()).toBe(0);
  });

  test('without a configured limit, a limit stated by the destination is used; else AIMD, which a throttle halves', () => {
    const t = 0;
    const p = new Pacer(dest(), () => t);
    expect(p.source()).toBe('aimd');
    expect(p.ratePerSecond()).toBe(10);
    p.onResult({}, retry);
    expect(p.ratePerSecond()).toBe(5);
    p.onResult({ limit: 190, windowMs: 10_000, remaining: 100 }, ok);
    expect(p.source()).toBe('header');
    expect(p.ratePerSecond()).toBe(19);
    expect(p.found()).toEqual({ perSecond: 19, source: 'header' });
  });

  test('the configured rate wins over what headers say', () => {
    const p = new Pacer(dest({ rateLimit: parseRate('700/min') }), () => 0);
    p.onResult({ limit: 1000, windowMs: 1000, remaining: 900 }, ok);
    expect(p.source()).toBe('config');
    expect(p.found()).toBeUndefined();
  });

  test('a shared bucket is leased in blocks, not one row access per request', async () => {
    let leases = 0;
    const p = new Pacer(dest({ rateLimit: parseRate('200/s') }), Date.now, async (want) => {
      leases++;
      return { granted: want, waitMs: 0 };
    });
    for (let i = 0; i < 100; i++) expect(await p.acquire(1000, () => false)).toBe(true);
    // Blocks of 50 ms' worth at 200/s: 10 tokens each.
    expect(leases).toBe(10);
  });
});
