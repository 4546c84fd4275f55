/**
 * A pipeline's `destinations:`: where decided records are delivered, a webhook or a vendor preset (Zendesk, HubSpot,
 * Stripe, Slack, GitHub) whose plan brings its documented limits, headers and rules for what an answer means.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: doc strings show the ${ENV_VAR} syntax

import { type Static, Type } from '@sinclair/typebox';
import { type ClassificationPolicy, DEFAULT_CLASSIFICATION } from '../classification.js';
import type { ResolveContext, SettingPath } from '../problems.js';
import { parseDuration, parseRate, type Rate } from '../units.js';
import { credentialHeaders, DEFAULT_PLAN, plansOf, VENDOR_PLANS, VENDORS, type Vendor } from '../vendor-presets.js';
import { type BreakerOptions, circuitBreakerSettings, resolveBreaker } from './circuit-breaker.js';
import { choice, defaultBlock, duration, EXPECTED, headers, mapOf, rate, statusList, url, whenSetting, withDefault } from './kinds.js';

const DESTINATION_TYPES = ['webhook', ...VENDORS] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/** Requests in flight to a destination unless it says otherwise (or its vendor tolerates fewer). */
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_IDEMPOTENCY_HEADER = 'Idempotency-Key';

const destinationSettings = Type.Object(
  {
    type: choice(DESTINATION_TYPES, {
      description: 'webhook, or a vendor preset whose plan brings its documented limits and headers.',
      [EXPECTED]: `one of ${DESTINATION_TYPES.join(', ')}`,
    }),
    url: url('Where each decided record is POSTed as {record, decision} (for a vendor preset: its API endpoint or a simulator).'),
    rate_limit: Type.Optional(
      rate('Most requests per interval this destination accepts (a preset brings its plan’s limit; this overrides it).'),
    ),
    burst: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Requests that may go at once after a pause (default: a fifth of a second’s worth).' }),
    ),
    concurrency: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 256,
        description: `Requests in flight at once to this destination (all processes together on PostgreSQL); default ${DEFAULT_CONCURRENCY}, or fewer when the vendor tolerates fewer.`,
      }),
    ),
    timeout: withDefault(duration('Time allowed for one delivery request.'), '10s'),
    headers: withDefault(headers(), {}),
    idempotency_header: Type.Optional(
      Type.String({ description: `Header that carries the idempotency key (default ${DEFAULT_IDEMPOTENCY_HEADER}, or the vendor’s).` }),
    ),
    retry: defaultBlock(
      Type.Object(
        {
          max_attempts: withDefault(Type.Integer({ minimum: 1, description: 'Attempts before the delivery is dead-lettered.' }), 25),
          base: withDefault(duration('First backoff (full jitter, doubling).'), '500ms'),
          cap: withDefault(duration('Longest backoff between two attempts.'), '1m'),
          max_age: withDefault(duration('Dead-letter a delivery still failing this long after its first attempt.'), '1d'),
          budget: defaultBlock(
            Type.Object(
              {
                percent: withDefault(
                  Type.Number({ minimum: 0, maximum: 1000, description: 'Retries allowed, in percent of first attempts.' }),
                  20,
                ),
                min_per_second: withDefault(
                  Type.Number({ minimum: 0, description: 'Retries per second allowed on top, however few first attempts.' }),
                  1,
                ),
                window: withDefault(duration('The window the budget counts over.'), '10s'),
              },
              {
                additionalProperties: false,
                description: 'Retry budget: retries at most `percent` of first attempts over `window`, plus `min_per_second`.',
              },
            ),
          ),
        },
        { additionalProperties: false, description: 'How failed deliveries are retried, and when they are dead-lettered.' },
      ),
    ),
    retry_on: Type.Optional(statusList('Statuses retried although they are final by default (e.g. [409]).')),
    dead_letter_on: Type.Optional(statusList('Statuses dead-lettered at once although they are retried by default (e.g. [503]).')),
    soft_failure: Type.Optional(
      Type.Object(
        {
          field: Type.String({ minLength: 1, description: 'The field of the JSON body that says failure.' }),
          equals: Type.Optional(Type.Unknown({ description: 'The value that means failure (default false).' })),
          retryable_errors: withDefault(Type.Array(Type.String(), { description: 'Values of the body’s `error` that are retried.' }), []),
        },
        {
          additionalProperties: false,
          description: 'A 2xx whose JSON body has `field` equal to `equals` is a failure (Slack: { field: ok, equals: false }).',
        },
      ),
    ),
    circuit_breaker: circuitBreakerSettings('Stops sending while the destination fails; shared by all processes on PostgreSQL.', {
      minimum_calls: 20,
      window: '10s',
      open_for: '10s',
      half_open_probes: 3,
    }),
    adaptive: defaultBlock(
      Type.Object(
        {
          initial: withDefault(rate('Starting rate.'), '10/s'),
          max: withDefault(rate('Never more than this.'), '1000/s'),
          step: withDefault(
            Type.Number({ exclusiveMinimum: 0, description: 'Requests/s added per interval after the first throttle.' }),
            5,
          ),
          decrease: withDefault(
            Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'Factor applied on a throttle.' }),
            0.5,
          ),
          interval: withDefault(duration('How often the rate is raised.'), '1s'),
        },
        { additionalProperties: false, description: 'Without a rate_limit, the limit is found by AIMD: start, ceiling and step.' },
      ),
    ),
    plan: Type.Optional(
      Type.String({ description: 'The vendor plan whose documented limits apply (vendor presets only; default: the first listed).' }),
    ),
    token: Type.Optional(Type.String({ description: 'API token for a vendor preset; use ${ENV_VAR}. Never logged.' })),
    api_key: Type.Optional(Type.String({ description: 'API key (Stripe secret key); use ${ENV_VAR}. Never logged.' })),
    email: Type.Optional(Type.String({ description: 'Zendesk: the agent email that goes with an API token.' })),
    body: Type.Optional(
      Type.Unsafe<Record<string, unknown> | unknown[]>({
        type: ['object', 'array'],
        description:
          'The JSON body sent, as a template over the record and its decision: "{{record.subject}}", "{{decision.label}}", "{{meta.record_id}}". A string that is one placeholder keeps the value’s type. Default: {record, decision}.',
      }),
    ),
    order_by: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z_$][\\w$-]*(\\.[A-Za-z_$0-9][\\w$-]*)*$',
        [EXPECTED]: 'a field path of the record such as customer_id or customer.id',
        description:
          'A field of the record: deliveries with the same value go out one at a time, in the order the records arrived (all processes together).',
      }),
    ),
    quotas: Type.Optional(
      Type.Array(rate('A cap counted in fixed windows aligned to UTC (per day: UTC midnight).'), {
        description:
          'Caps on top of rate_limit, shared by all processes (a preset brings its vendor’s, e.g. HubSpot’s daily cap; this replaces them).',
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'One destination: where decided records go, how fast, and how failures are retried.',
    // The plans of each vendor come from its preset (src/config/vendor-presets.ts).
    allOf: whenSetting(
      'type',
      Object.fromEntries(
        VENDORS.map((vendor) => [
          vendor,
          {
            properties: {
              plan: choice(plansOf(vendor), {
                description: `The ${vendor} plan whose documented limits apply.`,
                [EXPECTED]: `one of ${plansOf(vendor).join(', ')}`,
              }),
            },
          },
        ]),
      ),
    ),
  },
);

export const destinationsSettings = withDefault(
  mapOf(destinationSettings, { description: 'Where decided records are delivered, by name.' }),
  {},
);

type DestinationSettings = Static<typeof destinationSettings>;

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  maxAgeMs: number;
  /** Retry budget (Finagle RetryBudget): retries ≤ percent% of first attempts over windowMs + minPerSecond. */
  budget: { percent: number; minPerSecond: number; windowMs: number };
}

/** One destination, resolved. */
export interface DestinationConfig {
  name: string;
  type: DestinationType;
  url: string;
  /** The vendor plan whose documented limits and headers apply (presets only). */
  preset?: { vendor: Vendor; plan: string; docs: string };
  /** The configured (or preset) limit; undefined: found adaptively (AIMD). */
  rateLimit?: Rate;
  /** Further quotas of a preset (e.g. HubSpot's daily cap) or `quotas:`, counted in fixed windows, shared by all processes. */
  extraLimits: Rate[];
  /** The JSON body template (src/delivery/template.ts); undefined: `{record, decision}`. */
  body?: unknown;
  /** Record field path whose value orders deliveries (one at a time per value, in arrival order). */
  orderBy?: string;
  burst?: number;
  concurrency: number;
  timeoutMs: number;
  /** Headers sent with every request, credentials included: never log them. */
  headers: Record<string, string>;
  idempotencyHeader: string;
  retry: RetryPolicy;
  classification: ClassificationPolicy;
  breaker: BreakerOptions;
  adaptive: { initialPerSecond: number; maxPerSecond: number; step: number; decrease: number; intervalMs: number };
}

const perSecond = (text: string) => {
  const r = parseRate(text);
  return (r.count / r.intervalMs) * 1000;
};

/** Resolves one destination: a webhook, or a vendor preset with its plan. */
export function resolveDestination(name: string, d: DestinationSettings, at: SettingPath, { report }: ResolveContext): DestinationConfig {
  const vendor = d.type === 'webhook' ? undefined : d.type;
  // The default plan depends on the vendor, so it is the preset's, not the schema's.
  const plan = vendor ? VENDOR_PLANS[`${vendor}-${d.plan ?? DEFAULT_PLAN[vendor]}`] : undefined;
  if (d.type === 'webhook' && d.plan !== undefined) report([...at, 'plan'], 'plan applies to vendor presets only');
  const classification: ClassificationPolicy = { ...DEFAULT_CLASSIFICATION, ...(plan?.classification ?? {}) };
  if (d.retry_on) classification.retryOn = [...new Set([...classification.retryOn, ...d.retry_on])];
  if (d.dead_letter_on) classification.deadLetterOn = d.dead_letter_on;
  if (d.soft_failure) {
    classification.softFailure = {
      field: d.soft_failure.field,
      equals: d.soft_failure.equals === undefined ? false : d.soft_failure.equals,
      retryableErrors: d.soft_failure.retryable_errors,
    };
  }
  const credentials = vendor ? credentialHeaders(vendor, { token: d.token, email: d.email, apiKey: d.api_key }) : {};
  const { retry, adaptive } = d;
  return {
    name,
    type: d.type,
    url: d.url,
    ...(plan && vendor ? { preset: { vendor, plan: plan.plan, docs: plan.docs } } : {}),
    rateLimit: d.rate_limit ? parseRate(d.rate_limit) : plan?.rate,
    extraLimits: d.quotas ? d.quotas.map(parseRate) : (plan?.extra ?? []),
    ...(d.body !== undefined ? { body: d.body } : {}),
    ...(d.order_by !== undefined ? { orderBy: d.order_by } : {}),
    burst: d.burst,
    // The default is capped by what the vendor tolerates, which the schema cannot know.
    concurrency: d.concurrency ?? Math.min(DEFAULT_CONCURRENCY, plan?.concurrency ?? DEFAULT_CONCURRENCY),
    timeoutMs: parseDuration(d.timeout),
    headers: { ...credentials, ...d.headers },
    // The vendor's header when it has one.
    idempotencyHeader: d.idempotency_header ?? plan?.idempotencyHeader ?? DEFAULT_IDEMPOTENCY_HEADER,
    retry: {
      maxAttempts: retry.max_attempts,
      baseMs: parseDuration(retry.base),
      capMs: parseDuration(retry.cap),
      maxAgeMs: parseDuration(retry.max_age),
      budget: {
        percent: retry.budget.percent,
        minPerSecond: retry.budget.min_per_second,
        windowMs: parseDuration(retry.budget.window),
      },
    },
    classification,
    breaker: resolveBreaker(d.circuit_breaker),
    adaptive: {
      initialPerSecond: perSecond(adaptive.initial),
      maxPerSecond: perSecond(adaptive.max),
      step: adaptive.step,
      decrease: adaptive.decrease,
      intervalMs: parseDuration(adaptive.interval),
    },
  };
}
