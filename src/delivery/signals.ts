import { parseRetryAfter } from './backoff.js';

/**
 * What a destination said about its rate limit in one response. Every field is optional: a vendor sends some,
 * none or all of them. Times are milliseconds; `resetMs` is relative to the response.
 */
export interface RateSignal {
  /** Requests allowed per window (the quota). */
  limit?: number;
  /** Requests left in the current window. */
  remaining?: number;
  /** Time until the window resets (remaining goes back to limit). */
  resetMs?: number;
  /** Length of the quota's window, when the destination names it (RateLimit-Policy `w`, HubSpot's interval). */
  windowMs?: number;
  /** Retry-After (RFC 9110 §10.2.3), seconds or an HTTP date. */
  retryAfterMs?: number;
  /** Which header family carried it (for the API and logs). */
  source?: 'ietf' | 'ietf-legacy' | 'x-ratelimit' | 'hubspot';
}

/** Header lookup as in fetch's Headers (case-insensitive) or a plain lower-cased record. */
export type HeaderSource = { get(name: string): string | null } | Record<string, string | undefined>;

function getter(h: HeaderSource): (name: string) => string | undefined {
  if (typeof (h as { get?: unknown }).get === 'function') {
    const hh = h as { get(name: string): string | null };
    return (name) => hh.get(name) ?? undefined;
  }
  const rec = h as Record<string, string | undefined>;
  const lower = new Map(Object.entries(rec).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => lower.get(name.toLowerCase());
}

const nonNegative = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v.trim().split(/[,;\s]/)[0]);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
};

/**
 * A reset value is either seconds from now or a Unix time (GitHub's `x-ratelimit-reset` is epoch seconds). A value
 * above 10^9 cannot be a delay (it would be 31 years), so it is read as a Unix time in seconds (or ms above 10^12).
 */
export function resetToDelayMs(value: number, now: number): number {
  if (value > 1e12) return Math.max(0, value - now);
  if (value > 1e9) return Math.max(0, value * 1000 - now);
  return value * 1000;
}

/** One member of a Structured Field list (RFC 9651 §3.1): its bare item and its parameters. */
interface SfMember {
  item: string;
  params: Record<string, string>;
}

/** A small Structured Fields list parser, enough for RateLimit and RateLimit-Policy (RFC 9651 §4.2.1). */
export function parseSfList(text: string): SfMember[] {
  const out: SfMember[] = [];
  for (const raw of splitOutsideQuotes(text, ',')) {
    const parts = splitOutsideQuotes(raw, ';').map((p) => p.trim());
    if (parts.length === 0 || parts[0] === '') continue;
    const item = unquote(parts[0]);
    const params: Record<string, string> = {};
    for (const p of parts.slice(1)) {
      const eq = p.indexOf('=');
      if (eq < 0) params[p.toLowerCase()] = '?1';
      else params[p.slice(0, eq).trim().toLowerCase()] = unquote(p.slice(eq + 1).trim());
    }
    out.push({ item, params });
  }
  return out;
}

function splitOutsideQuotes(text: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== '\\') quoted = !quoted;
    if (c === sep && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const unquote = (s: string): string => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s);

/**
 * Reads every rate-limit signal of a response, in this order of preference:
 * - IETF draft-ietf-httpapi-ratelimit-headers-10 (Sept. 2025; same syntax in -08 to -11): `RateLimit-Policy: "p";q=100;w=10`
 *   and `RateLimit: "p";r=50;t=30` (r remaining, t seconds to reset), Structured Fields lists (RFC 9651);
 * - the earlier drafts: `RateLimit: limit=100, remaining=50, reset=30` (-06/-07) and `RateLimit-Limit`,
 *   `RateLimit-Remaining`, `RateLimit-Reset` (-00 to -05), which several APIs still send;
 * - the de-facto `X-RateLimit-Limit/-Remaining/-Reset` (GitHub, many others), Zendesk's `X-Rate-Limit` and
 *   `X-Rate-Limit-Remaining`, and HubSpot's `X-HubSpot-RateLimit-Max/-Remaining/-Interval-Milliseconds`.
 * With several policies (e.g. per second and per day), the one with the fewest requests left wins.
 */
export function parseRateSignal(headers: HeaderSource, now: number): RateSignal {
  const get = getter(headers);
  const signal: RateSignal = {};
  const retryAfter = parseRetryAfter(get('retry-after'), now);
  if (retryAfter !== undefined) signal.retryAfterMs = retryAfter;

  const rl = get('ratelimit');
  const policy = get('ratelimit-policy');
  if (rl !== undefined && /\br=\d/.test(rl)) {
    // draft -08+: one member per policy; the most constraining (fewest remaining) is what matters now.
    const members = parseSfList(rl).filter((m) => m.params.r !== undefined);
    const policies = policy ? parseSfList(policy) : [];
    let best: SfMember | undefined;
    for (const m of members) if (!best || Number(m.params.r) < Number(best.params.r)) best = m;
    if (best) {
      signal.source = 'ietf';
      signal.remaining = nonNegative(best.params.r);
      if (best.params.t !== undefined) signal.resetMs = (nonNegative(best.params.t) ?? 0) * 1000;
      const p = policies.find((x) => x.item === best?.item) ?? (policies.length === 1 ? policies[0] : undefined);
      if (p?.params.q !== undefined) signal.limit = nonNegative(p.params.q);
      if (p?.params.w !== undefined) signal.windowMs = (nonNegative(p.params.w) ?? 0) * 1000;
    }
  } else if (rl !== undefined && /remaining\s*=/.test(rl)) {
    // draft -06/-07: a dictionary limit=, remaining=, reset=.
    const dict = Object.fromEntries(
      rl.split(',').map((kv) => {
        const [k, v] = kv.split('=');
        return [k.trim().toLowerCase(), v?.trim()];
      }),
    );
    signal.source = 'ietf-legacy';
    signal.limit = nonNegative(dict.limit);
    signal.remaining = nonNegative(dict.remaining);
    if (dict.reset !== undefined) signal.resetMs = (nonNegative(dict.reset) ?? 0) * 1000;
    const w = policy ? /w=(\d+)/.exec(policy) : null;
    if (w) signal.windowMs = Number(w[1]) * 1000;
  } else if (get('ratelimit-remaining') !== undefined) {
    signal.source = 'ietf-legacy';
    signal.limit = nonNegative(get('ratelimit-limit'));
    signal.remaining = nonNegative(get('ratelimit-remaining'));
    const reset = nonNegative(get('ratelimit-reset'));
    if (reset !== undefined) signal.resetMs = resetToDelayMs(reset, now);
    const w = policy ? /w=(\d+)/.exec(policy) : null;
    if (w) signal.windowMs = Number(w[1]) * 1000;
  } else if (get('x-hubspot-ratelimit-remaining') !== undefined) {
    signal.source = 'hubspot';
    signal.limit = nonNegative(get('x-hubspot-ratelimit-max'));
    signal.remaining = nonNegative(get('x-hubspot-ratelimit-remaining'));
    const interval = nonNegative(get('x-hubspot-ratelimit-interval-milliseconds'));
    if (interval !== undefined) signal.windowMs = interval;
  } else {
    const remaining = get('x-ratelimit-remaining') ?? get('x-rate-limit-remaining');
    if (remaining !== undefined) {
      signal.source = 'x-ratelimit';
      signal.remaining = nonNegative(remaining);
      signal.limit = nonNegative(get('x-ratelimit-limit') ?? get('x-rate-limit-limit') ?? get('x-rate-limit'));
      const reset = nonNegative(get('x-ratelimit-reset') ?? get('x-rate-limit-reset'));
      if (reset !== undefined) signal.resetMs = resetToDelayMs(reset, now);
    }
  }
  for (const k of Object.keys(signal) as (keyof RateSignal)[]) if (signal[k] === undefined) delete signal[k];
  return signal;
}

/** The rate a signal reveals, in requests per second, when it names a quota and its window. */
export function signalledRatePerSecond(s: RateSignal): number | undefined {
  if (s.limit === undefined || !s.windowMs) return undefined;
  return (s.limit / s.windowMs) * 1000;
}
