import { describe, expect, test } from 'vitest';
import { DEFAULT_CLASSIFICATION } from '../config/classification.js';
import { VENDOR_PLANS } from '../config/vendor-presets.js';
import { classifyError, classifyResponse } from './classify.js';

const policy = DEFAULT_CLASSIFICATION;

describe('classifyResponse', () => {
  test.each([200, 201, 202, 204])('%d is delivered', (s) => expect(classifyResponse(s, '', {}, policy)).toEqual({ kind: 'delivered' }));

  test.each([408, 425, 500, 502, 503, 504])('%d is retried as a fault', (s) =>
    expect(classifyResponse(s, '', {}, policy)).toMatchObject({ kind: 'retry', throttled: false }),
  );

  test('429, and a 503 with Retry-After, are throttles (pace down), not faults', () => {
    expect(classifyResponse(429, '', {}, policy)).toMatchObject({ kind: 'retry', throttled: true });
    expect(classifyResponse(503, '', { retryAfterMs: 5000 }, policy)).toMatchObject({ kind: 'retry', throttled: true });
  });

  test.each([400, 401, 403, 404, 409, 410, 422])('%d is dead-lettered with the status as reason', (s) =>
    expect(classifyResponse(s, '{}', {}, policy)).toEqual({ kind: 'dead', reason: `destination answered ${s}` }),
  );

  test('per-destination overrides: retry_on [409], dead_letter_on [503]', () => {
    const p = { ...policy, retryOn: [409], deadLetterOn: [503] };
    expect(classifyResponse(409, '', {}, p).kind).toBe('retry');
    expect(classifyResponse(503, '', {}, p).kind).toBe('dead');
  });

  test('Slack: HTTP 200 with "ok": false is a failure; ratelimited is a throttle, internal_error a retry', () => {
    const slack = { ...policy, ...VENDOR_PLANS['slack-standard'].classification };
    expect(classifyResponse(200, '{"ok":true,"ts":"1.2"}', {}, slack)).toEqual({ kind: 'delivered' });
    expect(classifyResponse(200, '{"ok":false,"error":"channel_not_found"}', {}, slack)).toEqual({
      kind: 'dead',
      reason: 'soft failure: ok=false (channel_not_found)',
    });
    expect(classifyResponse(200, '{"ok":false,"error":"internal_error"}', {}, slack)).toMatchObject({ kind: 'retry', throttled: false });
    expect(classifyResponse(200, '{"ok":false,"error":"ratelimited"}', {}, slack)).toMatchObject({ kind: 'retry', throttled: true });
    expect(classifyResponse(200, 'not json', {}, slack)).toEqual({ kind: 'delivered' });
  });

  test('GitHub: a 403 with Retry-After or remaining 0 is a secondary rate limit; a bare 403 is final', () => {
    const gh = { ...policy, ...VENDOR_PLANS['github-standard'].classification };
    expect(classifyResponse(403, '', { retryAfterMs: 60_000 }, gh)).toMatchObject({ kind: 'retry', throttled: true });
    expect(classifyResponse(403, '', { remaining: 0, resetMs: 1000 }, gh)).toMatchObject({ kind: 'retry', throttled: true });
    expect(classifyResponse(403, '', {}, gh).kind).toBe('dead');
  });

  test('Stripe: 409 (an idempotency key in use by a concurrent request) is retried', () => {
    const stripe = { ...policy, ...VENDOR_PLANS['stripe-live'].classification };
    expect(classifyResponse(409, '', {}, stripe).kind).toBe('retry');
  });
});

describe('classifyError', () => {
  test('timeouts and connection errors are retried, with a reason', () => {
    const timeout = Object.assign(new Error('aborted'), { name: 'TimeoutError' });
    expect(classifyError(timeout, 1000)).toEqual({ kind: 'retry', reason: 'timed out after 1000ms', throttled: false });
    const reset = Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    expect(classifyError(reset, 1000)).toEqual({ kind: 'retry', reason: 'ECONNRESET', throttled: false });
  });
});
