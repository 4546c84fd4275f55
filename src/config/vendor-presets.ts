import type { ClassificationPolicy } from './classification.js';
import { parseRate, type Rate } from './units.js';

export const VENDORS = ['zendesk', 'hubspot', 'stripe', 'slack', 'github'] as const;
export type Vendor = (typeof VENDORS)[number];

/**
 * What a vendor documents about its API limits, per plan. The client paces to `rate` (and `extra`, e.g. a daily
 * quota); the simulator enforces the same numbers with the vendor's headers.
 */
export interface VendorPlan {
  vendor: Vendor;
  plan: string;
  /** The limit requests are paced to. */
  rate: Rate;
  /** Further quotas (a daily cap, an hourly cap). */
  extra: Rate[];
  /** How the vendor counts: a fixed window that resets (per minute, per 10 s) or a token bucket. */
  window: 'fixed' | 'bucket';
  /** Requests in flight the vendor tolerates at once, when it says. */
  concurrency?: number;
  idempotencyHeader: string;
  /** Which rate-limit headers its responses carry (the simulator sends exactly these). */
  headers: 'zendesk' | 'hubspot' | 'stripe' | 'slack' | 'github';
  classification: Partial<ClassificationPolicy>;
  /** Where the numbers come from. */
  docs: string;
}

const r = (text: string) => parseRate(text);

const ZENDESK_DOCS = 'https://developer.zendesk.com/api-reference/introduction/rate-limits/';
const HUBSPOT_DOCS = 'https://developers.hubspot.com/docs/api/usage-details';
const STRIPE_DOCS = 'https://docs.stripe.com/rate-limits';
const SLACK_DOCS = 'https://api.slack.com/methods/chat.postMessage#rate_limiting';
const GITHUB_DOCS = 'https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api';

const SLACK_RETRYABLE = ['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'ratelimited'];

/** Every vendor plan, keyed `vendor-plan` (the simulator's --preset names). */
export const VENDOR_PLANS: Record<string, VendorPlan> = {};

function add(p: Omit<VendorPlan, 'classification'> & { classification?: Partial<ClassificationPolicy> }): void {
  VENDOR_PLANS[`${p.vendor}-${p.plan}`] = { classification: {}, ...p };
}

// Zendesk Support API: requests per minute by plan, 429 with Retry-After, X-Rate-Limit(-Remaining) headers.
for (const [plan, perMinute] of [
  ['team', 200],
  ['growth', 400],
  ['professional', 400],
  ['enterprise', 700],
  ['enterprise_plus', 2500],
] as const) {
  add({
    vendor: 'zendesk',
    plan,
    rate: r(`${perMinute}/min`),
    extra: [],
    window: 'fixed',
    idempotencyHeader: 'Idempotency-Key',
    headers: 'zendesk',
    docs: ZENDESK_DOCS,
  });
}
// HubSpot private apps: 100 per 10 s (free, starter) or 190 per 10 s (professional, enterprise), plus a daily cap.
for (const [plan, per10s, daily] of [
  ['free', 100, 250_000],
  ['starter', 100, 250_000],
  ['professional', 190, 625_000],
  ['enterprise', 190, 1_000_000],
] as const) {
  add({
    vendor: 'hubspot',
    plan,
    rate: r(`${per10s}/10s`),
    extra: [r(`${daily}/day`)],
    window: 'fixed',
    idempotencyHeader: 'Idempotency-Key',
    headers: 'hubspot',
    docs: HUBSPOT_DOCS,
  });
}
// Stripe: 100 operations/s in live mode, 25/s in test mode; idempotency keys; 409 when a key is in use concurrently.
for (const [plan, perSecond] of [
  ['live', 100],
  ['test', 25],
] as const) {
  add({
    vendor: 'stripe',
    plan,
    rate: r(`${perSecond}/s`),
    extra: [],
    window: 'bucket',
    idempotencyHeader: 'Idempotency-Key',
    headers: 'stripe',
    classification: { retryOn: [409] },
    docs: STRIPE_DOCS,
  });
}
// Slack chat.postMessage: about one message per second per channel, short bursts tolerated; HTTP 200 with ok:false.
add({
  vendor: 'slack',
  plan: 'standard',
  rate: r('1/s'),
  extra: [],
  window: 'bucket',
  idempotencyHeader: 'X-Slack-Idempotency-Key',
  headers: 'slack',
  classification: { softFailure: { field: 'ok', equals: false, errorField: 'error', retryableErrors: SLACK_RETRYABLE } },
  docs: SLACK_DOCS,
});
// GitHub secondary limits: at most 80 content-creating requests per minute and 500 per hour, 100 concurrent;
// a secondary limit answers 403 or 429 with Retry-After or x-ratelimit-remaining: 0.
add({
  vendor: 'github',
  plan: 'standard',
  rate: r('80/min'),
  extra: [r('500/h')],
  window: 'bucket',
  concurrency: 100,
  idempotencyHeader: 'Idempotency-Key',
  headers: 'github',
  classification: { rateLimitStatuses: [403, 429] },
  docs: GITHUB_DOCS,
});

/** The plans of a vendor, the first being the default. */
export function plansOf(vendor: Vendor): string[] {
  return Object.values(VENDOR_PLANS)
    .filter((p) => p.vendor === vendor)
    .map((p) => p.plan);
}

export const DEFAULT_PLAN: Record<Vendor, string> = {
  zendesk: 'team',
  hubspot: 'free',
  stripe: 'live',
  slack: 'standard',
  github: 'standard',
};

/**
 * The credential headers of a vendor, from the destination's `token` / `email` / `api_key` (values from ${ENV}).
 * Zendesk API tokens use Basic `{email}/token:{token}`; the others a Bearer token.
 */
export function credentialHeaders(vendor: Vendor, c: { token?: string; email?: string; apiKey?: string }): Record<string, string> {
  const secret = c.token ?? c.apiKey;
  if (!secret) return vendor === 'github' ? { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' } : {};
  switch (vendor) {
    case 'zendesk':
      return c.email
        ? { authorization: `Basic ${Buffer.from(`${c.email}/token:${secret}`).toString('base64')}` }
        : { authorization: `Bearer ${secret}` };
    case 'github':
      return { authorization: `Bearer ${secret}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
    default:
      return { authorization: `Bearer ${secret}` };
  }
}
