import type { ClassificationPolicy } from '../config/classification.js';
import { isRetryableStatus } from './backoff.js';
import type { RateSignal } from './signals.js';

export type Verdict =
  | { kind: 'delivered' }
  /** `throttled`: the destination said "too fast" (429, or a rate-limit status/503 with a wait); pace down, not a fault. */
  | { kind: 'retry'; reason: string; throttled: boolean }
  | { kind: 'dead'; reason: string };

/**
 * Classifies one HTTP answer (Foundation's rules, issue 5): 2xx delivered, unless the body is a vendor's soft
 * failure; 408, 425, 429 and 5xx retried; every other 4xx (409 included) dead-lettered with the response; the
 * destination's `retry_on` / `dead_letter_on` override both ways.
 */
export function classifyResponse(status: number, body: string, signal: RateSignal, policy: ClassificationPolicy): Verdict {
  if (status >= 200 && status < 300) {
    const soft = policy.softFailure;
    if (soft) {
      const parsed = tryJson(body);
      if (parsed && typeof parsed === 'object' && (parsed as Record<string, unknown>)[soft.field] === soft.equals) {
        const code = String((parsed as Record<string, unknown>)[soft.errorField ?? 'error'] ?? 'unknown');
        const reason = `soft failure: ${soft.field}=${JSON.stringify(soft.equals)} (${code})`;
        if (code === 'ratelimited' || code === 'rate_limited') return { kind: 'retry', reason, throttled: true };
        return soft.retryableErrors.includes(code) ? { kind: 'retry', reason, throttled: false } : { kind: 'dead', reason };
      }
    }
    return { kind: 'delivered' };
  }
  const reason = `destination answered ${status}`;
  if (policy.deadLetterOn.includes(status)) return { kind: 'dead', reason };
  const waits = signal.retryAfterMs !== undefined || signal.remaining === 0;
  if (policy.rateLimitStatuses.includes(status) && waits) return { kind: 'retry', reason: `${reason} (rate limited)`, throttled: true };
  if (policy.retryOn.includes(status) || isRetryableStatus(status)) {
    return { kind: 'retry', reason, throttled: status === 429 || (status === 503 && signal.retryAfterMs !== undefined) };
  }
  return { kind: 'dead', reason };
}

/** A request that got no answer (timeout, reset, refused, DNS): always worth retrying. */
export function classifyError(err: unknown, timeoutMs: number): Verdict {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const reason =
    e?.name === 'TimeoutError' || e?.name === 'AbortError'
      ? `timed out after ${timeoutMs}ms`
      : (e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err));
  return { kind: 'retry', reason, throttled: false };
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
