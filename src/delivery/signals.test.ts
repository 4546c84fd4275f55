import { describe, expect, test } from 'vitest';
import { parseRateSignal, parseSfList, resetToDelayMs, signalledRatePerSecond } from './signals.js';

const now = Date.parse('2026-11-01T09:00:00Z');

describe('parseRateSignal', () => {
  test('IETF draft -10: RateLimit-Policy and RateLimit structured fields', () => {
    const s = parseRateSignal({ 'RateLimit-Policy': '"default";q=100;w=10', RateLimit: '"default";r=42;t=7' }, now);
    expect(s).toEqual({ source: 'ietf', limit: 100, remaining: 42, resetMs: 7_000, windowMs: 10_000 });
    expect(signalledRatePerSecond(s)).toBe(10);
  });

  test('with several policies, the one with the fewest requests left wins', () => {
    const s = parseRateSignal(
      { 'ratelimit-policy': '"burst";q=100;w=60, "daily";q=1000;w=86400', ratelimit: '"burst";r=80;t=20, "daily";r=3;t=4000' },
      now,
    );
    expect(s).toMatchObject({ remaining: 3, resetMs: 4_000_000, limit: 1000, windowMs: 86_400_000 });
  });

  test('draft -06/-07 dictionary and the -00..-05 separate fields', () => {
    expect(parseRateSignal({ ratelimit: 'limit=10, remaining=2, reset=5', 'ratelimit-policy': '10;w=1' }, now)).toEqual({
      source: 'ietf-legacy',
      limit: 10,
      remaining: 2,
      resetMs: 5_000,
      windowMs: 1_000,
    });
    expect(parseRateSignal({ 'RateLimit-Limit': '700', 'RateLimit-Remaining': '0', 'RateLimit-Reset': '31' }, now)).toMatchObject({
      limit: 700,
      remaining: 0,
      resetMs: 31_000,
    });
  });

  test('GitHub: x-ratelimit-reset is a Unix time in seconds', () => {
    const reset = Math.floor(now / 1000) + 90;
    expect(
      parseRateSignal({ 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '4999', 'x-ratelimit-reset': String(reset) }, now),
    ).toEqual({ source: 'x-ratelimit', limit: 5000, remaining: 4999, resetMs: 90_000 });
  });

  test('Zendesk: X-Rate-Limit and X-Rate-Limit-Remaining, Retry-After on a 429', () => {
    expect(parseRateSignal({ 'x-rate-limit': '700', 'x-rate-limit-remaining': '0', 'retry-after': '93' }, now)).toEqual({
      source: 'x-ratelimit',
      limit: 700,
      remaining: 0,
      retryAfterMs: 93_000,
    });
  });

  test('HubSpot: max, remaining and the interval in milliseconds', () => {
    const s = parseRateSignal(
      { 'x-hubspot-ratelimit-max': '190', 'x-hubspot-ratelimit-remaining': '12', 'x-hubspot-ratelimit-interval-milliseconds': '10000' },
      now,
    );
    expect(s).toEqual({ source: 'hubspot', limit: 190, remaining: 12, windowMs: 10_000 });
    expect(signalledRatePerSecond(s)).toBe(19);
  });

  test('Retry-After as an HTTP date; fetch Headers work as well as records', () => {
    const h = new Headers({ 'retry-after': 'Sun, 01 Nov 2026 09:00:30 GMT' });
    expect(parseRateSignal(h, now)).toEqual({ retryAfterMs: 30_000 });
  });

  test('nothing to say: an empty signal', () => {
    expect(parseRateSignal({ 'content-type': 'application/json' }, now)).toEqual({});
    expect(parseRateSignal({ 'x-ratelimit-remaining': 'soon' }, now)).toEqual({ source: 'x-ratelimit' });
  });
});

describe('helpers', () => {
  test('a structured-field list with quoted items and parameters', () => {
    expect(parseSfList('"a;b";q=1;w=2, x')).toEqual([
      { item: 'a;b', params: { q: '1', w: '2' } },
      { item: 'x', params: {} },
    ]);
  });

  test('reset: seconds from now, or a Unix time in s or ms', () => {
    expect(resetToDelayMs(30, now)).toBe(30_000);
    expect(resetToDelayMs(now / 1000 + 5, now)).toBe(5_000);
    expect(resetToDelayMs(now + 250, now)).toBe(250);
    expect(resetToDelayMs(now / 1000 - 5, now)).toBe(0);
  });
});
