/**
 * Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015):
 * sleep = random(0, min(cap, base · 2^attempt)). `attempt` counts from 0 for the first retry.
 */
export function fullJitterBackoff(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 52));
  return Math.floor(random() * ceiling);
}

/** Parses a Retry-After header (RFC 9110 §10.2.3): delay-seconds or an HTTP date. Returns ms, or undefined. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP-date forms (IMF-fixdate, RFC 850, asctime) all begin with a day name.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** 408, 425, 429 and 5xx are worth retrying; every other 4xx (409 included) is final. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}
