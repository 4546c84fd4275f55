import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parseRate, type Rate } from '../config/units.js';
import { VENDOR_PLANS, type VendorPlan } from '../config/vendor-presets.js';
import { mulberry32 } from '../drift/random.js';

/** Faults the simulator injects, each a share of requests (0–1) unless it is a time. */
export interface SimulatorFaults {
  /** Share answered 500. */
  error500?: number;
  /** Share answered 503 (without Retry-After, as a failing load balancer does). */
  error503?: number;
  /** Share whose connection is reset before any answer (the effect is not applied). */
  reset?: number;
  /** Share that applies the effect and then never answers (the client times out; a retry must not duplicate it). */
  hang?: number;
  /** Added latency per request, ms (a uniform jitter of ±latencyJitterMs on top). */
  latencyMs?: number;
  latencyJitterMs?: number;
  /** A full outage: every request in [start, start+duration) ms after the simulator started is answered 503. */
  outage?: { startMs: number; durationMs: number };
}

export interface SimulatorOptions {
  /** A vendor plan key (`zendesk-enterprise`, `stripe-live`, …) or `generic` (IETF RateLimit headers). */
  preset: string;
  port?: number;
  host?: string;
  /** Overrides the preset's limit, e.g. to scale a load test (`200/s`). */
  limit?: Rate;
  /** Overrides how the limit is counted: fixed windows or a token bucket (capacity: one interval's count). */
  window?: 'fixed' | 'bucket';
  faults?: SimulatorFaults;
  /** Honour idempotency keys: a repeated key answers the first result and applies nothing (default true). */
  idempotency?: boolean;
  /** Seed of the fault dice, for reproducible runs. */
  seed?: number;
  /** Count requests by the value of this request header (e.g. which client sent them) in /_stats `by_header`. */
  countHeader?: string;
}

export interface SimulatorStats {
  preset: string;
  limit: string;
  window: 'fixed' | 'bucket';
  started_at: string;
  requests: number;
  /** Requests answered 2xx with an effect applied (or replayed). */
  accepted: number;
  throttled_429: number;
  faults: { error500: number; error503: number; reset: number; hang: number; outage: number };
  /** Distinct idempotency keys seen, and those with an effect applied. */
  unique_keys: number;
  effects: number;
  /** Requests that repeated a key already applied (answered from the idempotency cache when idempotency is on). */
  replays: number;
  /** Effects applied more than once for one key (only possible with idempotency off): must stay 0. */
  duplicate_effects: number;
  missing_key: number;
  /** Highest number of requests accepted in any one window of the limit (fixed) or 1 s (bucket). */
  peak_per_window: number;
  first_request_at: string | null;
  last_request_at: string | null;
  /** Requests by the value of `countHeader`, when set. */
  by_header: Record<string, number>;
}

export interface VendorSimulator {
  url: string;
  port: number;
  plan: VendorPlan;
  stats(): SimulatorStats;
  /** Effects applied per idempotency key (a key applied twice shows 2). */
  effects: Map<string, number>;
  setFaults(f: SimulatorFaults): void;
  close(): Promise<void>;
}

const GENERIC: VendorPlan = {
  vendor: 'zendesk',
  plan: 'generic',
  rate: parseRate('100/s'),
  extra: [],
  window: 'fixed',
  idempotencyHeader: 'Idempotency-Key',
  headers: 'zendesk',
  classification: {},
  docs: 'draft-ietf-httpapi-ratelimit-headers-10',
};

/** Every preset name the simulator knows. */
export function simulatorPresets(): string[] {
  return ['generic', ...Object.keys(VENDOR_PLANS)];
}

/**
 * A vendor API on loopback for tests, demos and load tests (the real vendors are out of reach): it enforces the
 * preset's limit (429 + Retry-After and the vendor's own rate-limit headers), injects faults, applies one effect per
 * idempotency key, and reports what it saw at GET /_stats and GET /_keys (POST /_faults changes the faults while it runs).
 */
export async function startVendorSimulator(options: SimulatorOptions): Promise<VendorSimulator> {
  const generic = options.preset === 'generic';
  const base = generic ? GENERIC : VENDOR_PLANS[options.preset];
  if (!base) throw new Error(`unknown preset "${options.preset}" (known: ${simulatorPresets().join(', ')})`);
  const plan: VendorPlan = { ...base, rate: options.limit ?? base.rate, window: options.window ?? base.window };
  const limit = plan.rate;
  const random = mulberry32(options.seed ?? 1);
  let faults: SimulatorFaults = options.faults ?? {};
  const idempotency = options.idempotency ?? true;
  const startedAt = Date.now();
  const effects = new Map<string, number>();
  const answers = new Map<string, { status: number; body: string }>();
  const seenKeys = new Set<string>();
  const stats = {
    requests: 0,
    accepted: 0,
    throttled: 0,
    faults: { error500: 0, error503: 0, reset: 0, hang: 0, outage: 0 },
    replays: 0,
    duplicate: 0,
    missingKey: 0,
    peak: 0,
    first: 0,
    last: 0,
  };
  // Fixed windows aligned to the start; or a token bucket holding one interval's count (GCRA-like).
  let windowStart = startedAt;
  let windowCount = 0;
  let tokens = limit.count;
  let refilledAt = startedAt;
  const perMs = limit.count / limit.intervalMs;
  let peakSecond = 0;
  let peakSecondCount = 0;
  let extraUsed = 0;
  let extraWindowStart = startedAt;
  const extra = plan.extra[0];
  const hanging = new Set<Socket>();
  const byHeader: Record<string, number> = {};

  /** Takes one request from the limit; returns the ms until it would be allowed when it is not. */
  function admit(now: number): { ok: boolean; remaining: number; resetMs: number } {
    if (extra) {
      if (now - extraWindowStart >= extra.intervalMs) {
        extraWindowStart = now;
        extraUsed = 0;
      }
      if (extraUsed >= extra.count) return { ok: false, remaining: 0, resetMs: extra.intervalMs - (now - extraWindowStart) };
    }
    if (plan.window === 'fixed') {
      if (now - windowStart >= limit.intervalMs) {
        windowStart += Math.floor((now - windowStart) / limit.intervalMs) * limit.intervalMs;
        windowCount = 0;
      }
      const resetMs = windowStart + limit.intervalMs - now;
      if (windowCount >= limit.count) return { ok: false, remaining: 0, resetMs };
      windowCount++;
      extraUsed++;
      stats.peak = Math.max(stats.peak, windowCount);
      return { ok: true, remaining: limit.count - windowCount, resetMs };
    }
    tokens = Math.min(limit.count, tokens + (now - refilledAt) * perMs);
    refilledAt = now;
    if (tokens < 1) return { ok: false, remaining: 0, resetMs: Math.ceil((1 - tokens) / perMs) };
    tokens -= 1;
    extraUsed++;
    const second = Math.floor(now / 1000);
    if (second !== peakSecond) {
      peakSecond = second;
      peakSecondCount = 0;
    }
    stats.peak = Math.max(stats.peak, ++peakSecondCount);
    // Reset: when the bucket is full again.
    return { ok: true, remaining: Math.floor(tokens), resetMs: Math.ceil((limit.count - tokens) / perMs) };
  }

  /** The vendor's own rate-limit headers (each vendor documents its own). */
  function rateHeaders(remaining: number, resetMs: number, now: number): Record<string, string> {
    const resetS = Math.max(0, Math.ceil(resetMs / 1000));
    const windowS = Math.round(limit.intervalMs / 1000);
    switch (plan.headers) {
      case 'zendesk':
        if (generic) {
          // draft-ietf-httpapi-ratelimit-headers-10 structured fields.
          return { 'ratelimit-policy': `"default";q=${limit.count};w=${windowS}`, ratelimit: `"default";r=${remaining};t=${resetS}` };
        }
        return {
          'x-rate-limit': String(limit.count),
          'x-rate-limit-remaining': String(remaining),
          'ratelimit-limit': String(limit.count),
          'ratelimit-remaining': String(remaining),
          'ratelimit-reset': String(resetS),
        };
      case 'hubspot':
        return {
          'x-hubspot-ratelimit-max': String(limit.count),
          'x-hubspot-ratelimit-remaining': String(remaining),
          'x-hubspot-ratelimit-interval-milliseconds': String(limit.intervalMs),
          ...(extra
            ? {
                'x-hubspot-ratelimit-daily': String(extra.count),
                'x-hubspot-ratelimit-daily-remaining': String(Math.max(0, extra.count - extraUsed)),
              }
            : {}),
        };
      case 'github':
        return {
          'x-ratelimit-limit': String(limit.count),
          'x-ratelimit-remaining': String(remaining),
          'x-ratelimit-used': String(limit.count - remaining),
          'x-ratelimit-reset': String(Math.ceil((now + resetMs) / 1000)),
          'x-ratelimit-resource': 'core',
        };
      default:
        return {};
    }
  }

  function throttleAnswer(res: ServerResponse, resetMs: number, now: number): void {
    stats.throttled++;
    const retryAfter = String(Math.max(1, Math.ceil(resetMs / 1000)));
    const h = { 'content-type': 'application/json', ...rateHeaders(0, resetMs, now) };
    switch (plan.headers) {
      case 'hubspot':
        res.writeHead(429, h);
        res.end(
          JSON.stringify({
            status: 'error',
            message: 'You have reached your ten_secondly_rolling limit.',
            errorType: 'RATE_LIMIT',
            policyName: 'TEN_SECONDLY_ROLLING',
          }),
        );
        return;
      case 'stripe':
        res.writeHead(429, { ...h, 'stripe-should-retry': 'true' });
        res.end(JSON.stringify({ error: { type: 'rate_limit_error', message: 'Too many requests hit the API too quickly.' } }));
        return;
      case 'slack':
        res.writeHead(429, { ...h, 'retry-after': retryAfter });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      case 'github':
        // GitHub's secondary limit: 403 with Retry-After.
        res.writeHead(403, { ...h, 'retry-after': retryAfter });
        res.end(JSON.stringify({ message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' }));
        return;
      default:
        res.writeHead(429, { ...h, 'retry-after': retryAfter });
        res.end(JSON.stringify({ error: 'APIRateLimitExceeded', description: 'Number of allowed API requests per minute exceeded' }));
    }
  }

  function statsView(): SimulatorStats {
    return {
      preset: options.preset,
      limit: limit.text || `${limit.count}/${limit.intervalMs}ms`,
      window: plan.window,
      started_at: new Date(startedAt).toISOString(),
      requests: stats.requests,
      accepted: stats.accepted,
      throttled_429: stats.throttled,
      faults: { ...stats.faults },
      unique_keys: seenKeys.size,
      effects: effects.size,
      replays: stats.replays,
      duplicate_effects: stats.duplicate,
      missing_key: stats.missingKey,
      peak_per_window: stats.peak,
      first_request_at: stats.first ? new Date(stats.first).toISOString() : null,
      last_request_at: stats.last ? new Date(stats.last).toISOString() : null,
      by_header: { ...byHeader },
    };
  }

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method === 'GET' && req.url === '/_stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(statsView()));
      return;
    }
    if (req.method === 'GET' && req.url === '/_keys') {
      // The idempotency keys whose effect was applied, with how many times (a load test counts lost and duplicate from these).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(Object.fromEntries(effects)));
      return;
    }
    if (req.method === 'POST' && req.url === '/_faults') {
      try {
        faults = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SimulatorFaults;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(faults));
      } catch {
        res.writeHead(400).end();
      }
      return;
    }
    const now = Date.now();
    stats.requests++;
    stats.first ||= now;
    stats.last = now;
    const key = String(req.headers[plan.idempotencyHeader.toLowerCase()] ?? req.headers['idempotency-key'] ?? '');
    if (options.countHeader) {
      const v = String(req.headers[options.countHeader.toLowerCase()] ?? '');
      byHeader[v] = (byHeader[v] ?? 0) + 1;
    }
    if (!key) stats.missingKey++;
    else seenKeys.add(key);
    if (faults.latencyMs || faults.latencyJitterMs) {
      const ms = (faults.latencyMs ?? 0) + (faults.latencyJitterMs ?? 0) * (2 * random() - 1);
      if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    }
    const o = faults.outage;
    if (o && now - startedAt >= o.startMs && now - startedAt < o.startMs + o.durationMs) {
      stats.faults.outage++;
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body><h1>503 Service Unavailable</h1></body></html>');
      return;
    }
    const admitted = admit(now);
    if (!admitted.ok) {
      throttleAnswer(res, admitted.resetMs, now);
      return;
    }
    const dice = random();
    let edge = faults.reset ?? 0;
    if (dice < edge) {
      stats.faults.reset++;
      req.socket.destroy();
      return;
    }
    if (dice < (edge += faults.error500 ?? 0)) {
      stats.faults.error500++;
      res.writeHead(500, { 'content-type': 'application/json', ...rateHeaders(admitted.remaining, admitted.resetMs, now) });
      res.end(JSON.stringify({ error: 'InternalError' }));
      return;
    }
    if (dice < (edge += faults.error503 ?? 0)) {
      stats.faults.error503++;
      res.writeHead(503, { 'content-type': 'application/json', ...rateHeaders(admitted.remaining, admitted.resetMs, now) });
      res.end(JSON.stringify({ error: 'ServiceUnavailable' }));
      return;
    }
    const hang = dice < edge + (faults.hang ?? 0);
    // Apply the effect (once per key when idempotency is honoured).
    let answer: { status: number; body: string };
    const cached = key ? answers.get(key) : undefined;
    if (cached && idempotency) {
      stats.replays++;
      answer = cached;
    } else {
      if (cached) {
        stats.replays++;
        stats.duplicate++;
      }
      effects.set(key, (effects.get(key) ?? 0) + 1);
      const id = effects.size;
      const body =
        plan.headers === 'slack'
          ? { ok: true, channel: 'C0AIRLOCK', ts: `${Math.floor(now / 1000)}.${String(id).padStart(6, '0')}` }
          : { id, idempotency_key: key || null, created_at: new Date(now).toISOString() };
      answer = { status: plan.headers === 'slack' ? 200 : 201, body: JSON.stringify(body) };
      if (key) answers.set(key, answer);
    }
    stats.accepted++;
    if (hang) {
      stats.faults.hang++;
      hanging.add(req.socket);
      req.socket.once('close', () => hanging.delete(req.socket));
      return;
    }
    res.writeHead(answer.status, {
      'content-type': 'application/json',
      ...rateHeaders(admitted.remaining, admitted.resetMs, now),
      ...(cached && idempotency && plan.headers === 'stripe' ? { 'idempotent-replayed': 'true' } : {}),
    });
    res.end(answer.body);
  };

  const server: Server = createServer((req, res) => {
    handler(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    plan,
    effects,
    stats: statsView,
    setFaults(f) {
      faults = f;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of hanging) s.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Parses `--faults` text: comma-separated `500=0.1`, `503=0.3`, `reset=0.05`, `hang=0.02`, `latency=20ms`,
 * `jitter=10ms`, `outage=10s+20s` (starts 10 s after start, lasts 20 s).
 */
export function parseFaults(text: string): SimulatorFaults {
  const f: SimulatorFaults = {};
  const ms = (v: string) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
    if (!m) throw new Error(`"${v}" is not a duration (e.g. 20ms, 2s)`);
    return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  };
  const share = (k: string, v: string) => {
    const n = Number(v.endsWith('%') ? Number(v.slice(0, -1)) / 100 : v);
    if (!Number.isFinite(n) || n < 0 || n > 1) throw new Error(`${k} must be a share between 0 and 1 (or a percentage), got "${v}"`);
    return n;
  };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [k, v = ''] = part.split('=').map((x) => x.trim());
    switch (k) {
      case '500':
        f.error500 = share(k, v);
        break;
      case '503':
        f.error503 = share(k, v);
        break;
      case 'reset':
        f.reset = share(k, v);
        break;
      case 'hang':
        f.hang = share(k, v);
        break;
      case 'latency':
        f.latencyMs = ms(v);
        break;
      case 'jitter':
        f.latencyJitterMs = ms(v);
        break;
      case 'outage': {
        const [start, duration] = v.split('+');
        if (!duration) throw new Error('outage is START+DURATION, e.g. outage=10s+20s');
        f.outage = { startMs: ms(start), durationMs: ms(duration) };
        break;
      }
      default:
        throw new Error(`unknown fault "${k}" (known: 500, 503, reset, hang, latency, jitter, outage)`);
    }
  }
  return f;
}
