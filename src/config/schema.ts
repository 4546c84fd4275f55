import { VIOLATION_KINDS } from '../contract/gate.js';
import { driftConfigSchema } from './drift.js';
import { readinessConfigSchema } from './readiness.js';
import { DURATION_PATTERN, RATE_PATTERN } from './units.js';

/**
 * The JSON Schema (2020-12) of `airlock.yaml`. `airlock config schema` prints it so editors complete the file.
 * `x-expected` is Airlock's own annotation: the phrase used in error messages ("expected a duration …").
 */

const duration = (description: string, dflt?: string) => ({
  type: 'string',
  pattern: DURATION_PATTERN,
  description,
  'x-expected': 'a duration such as 500ms, 2s, 5m, 4h or 1d',
  ...(dflt !== undefined ? { default: dflt } : {}),
});

const rate = (description: string) => ({
  type: 'string',
  pattern: RATE_PATTERN,
  description,
  'x-expected': 'a rate such as 20/s, 700/min, 100/10s or 1000000/day',
});

const url = (description: string) => ({
  type: 'string',
  format: 'uri',
  pattern: '^https?://',
  description,
  'x-expected': 'an http(s) URL',
});

const headers = {
  type: 'object',
  description: 'Extra HTTP headers sent with every request (use ${ENV_VAR} for secrets).',
  additionalProperties: { type: 'string' },
};

const httpModel = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'url'],
  properties: {
    type: { const: 'http' },
    url: url('Where the record is POSTed as JSON; answers {label, confidence} or {probs}.'),
    timeout: duration('Time allowed for one model call.', '2s'),
    retries: { type: 'integer', minimum: 0, maximum: 20, default: 3, description: 'Retries of one call before it counts as failed.' },
    concurrency: { type: 'integer', minimum: 1, maximum: 256, default: 8, description: 'Model calls in flight per worker.' },
    headers,
    version: { type: 'string', description: 'Model version recorded on every prediction.' },
    circuit_breaker: {
      type: 'object',
      additionalProperties: false,
      description:
        'Stops calling the model while it fails (per process): open after this failure rate, fail fast while open, then half-open probes. Scoring pauses and records wait; none counts against a record.',
      properties: {
        failure_rate: {
          type: 'number',
          exclusiveMinimum: 0,
          maximum: 1,
          default: 0.5,
          description: 'Share of failed calls that opens it.',
        },
        minimum_calls: { type: 'integer', minimum: 1, default: 10, description: 'Calls in the window before the rate counts.' },
        window: duration('The window failures are counted over.', '30s'),
        open_for: duration('How long it stays open before half-open probes.', '15s'),
        half_open_probes: { type: 'integer', minimum: 1, default: 1, description: 'Probe calls; all must succeed to close it.' },
      },
    },
  },
};

/** `type: baseline`: Airlock's built-in text classifier, a model file written by `airlock train`. */
const baselineModel = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'path'],
  properties: {
    type: { const: 'baseline' },
    path: { type: 'string', minLength: 1, description: 'The model file written by `airlock train` (relative to this config).' },
    text_fields: {
      type: ['string', 'array'],
      items: { type: 'string' },
      description: 'Record field(s) whose text is classified (default: the fields the model was trained on).',
      'x-expected': 'a field name or a list of field names',
    },
    timeout: duration('Time allowed for one prediction.', '2s'),
    concurrency: { type: 'integer', minimum: 1, maximum: 256, default: 8 },
    version: { type: 'string' },
  },
};

const moduleModel = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'path'],
  properties: {
    type: { const: 'module' },
    path: { type: 'string', minLength: 1, description: 'A JS file (relative to this config) exporting predict(record).' },
    timeout: duration('Time allowed for one prediction.', '2s'),
    retries: { type: 'integer', minimum: 0, maximum: 20, default: 0 },
    concurrency: { type: 'integer', minimum: 1, maximum: 256, default: 8 },
    options: { type: 'object', description: 'Passed to the module’s optional init(options).' },
    version: { type: 'string' },
  },
};

/** `type: openai`: any OpenAI-compatible Chat Completions endpoint, asked to pick one of `labels`. */
const openAiModel = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'model', 'labels'],
  properties: {
    type: { const: 'openai' },
    base_url: {
      ...url('The API root; requests go to {base_url}/chat/completions.'),
      default: 'https://api.openai.com/v1',
    },
    model: { type: 'string', minLength: 1, description: 'The model name sent in every request, e.g. gpt-4o-mini.' },
    api_key: { type: 'string', description: 'Sent as Authorization: Bearer …; use ${OPENAI_API_KEY}. Omit for servers without auth.' },
    labels: {
      type: 'array',
      minItems: 2,
      uniqueItems: true,
      items: { type: 'string', minLength: 1 },
      description: 'The allowed labels; the model must answer {"label": one of these}.',
      'x-expected': 'a list of at least two different labels',
    },
    prompt: {
      type: 'string',
      minLength: 1,
      description: 'The user message, with {{field}} (or {{a.b}}) replaced by the record’s value (JSON when not a string).',
    },
    text_fields: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'Instead of prompt: these fields, one "field: value" line each. Neither: the whole record as JSON.',
    },
    system: { type: 'string', description: 'The system message (a short default when absent).' },
    confidence: {
      enum: ['logprobs', 'self_consistency'],
      default: 'logprobs',
      description: 'logprobs: from the label tokens’ log-probabilities; self_consistency: vote share over `samples` answers.',
      'x-expected': 'one of logprobs, self_consistency',
    },
    fallback: {
      enum: ['self_consistency', 'none'],
      default: 'none',
      description: 'With confidence: logprobs, what to do when the server returns no logprobs.',
      'x-expected': 'one of self_consistency, none',
    },
    samples: { type: 'integer', minimum: 2, maximum: 128, default: 5, description: 'Answers drawn for self-consistency.' },
    top_logprobs: { type: 'integer', minimum: 1, maximum: 20, default: 20, description: 'Alternatives asked for at each token.' },
    temperature: {
      type: 'number',
      minimum: 0,
      maximum: 2,
      description: 'Sampling temperature (default 0 with logprobs, 1 with self_consistency).',
    },
    max_tokens: { type: 'integer', minimum: 1, description: 'Longest answer, in tokens (default: enough for the longest label).' },
    max_tokens_field: {
      enum: ['max_completion_tokens', 'max_tokens'],
      default: 'max_completion_tokens',
      description: 'The request field that carries max_tokens (older servers know only max_tokens).',
      'x-expected': 'one of max_completion_tokens, max_tokens',
    },
    response_format: {
      enum: ['json_schema', 'json_object', 'none'],
      default: 'json_schema',
      description: 'json_schema: structured output, strict, label an enum; json_object or none for servers without it.',
      'x-expected': 'one of json_schema, json_object, none',
    },
    timeout: duration('Time allowed for one request.', '30s'),
    retries: { type: 'integer', minimum: 0, maximum: 20, default: 3, description: 'Retries of one request (timeouts, 429, 5xx).' },
    concurrency: { type: 'integer', minimum: 1, maximum: 256, default: 4, description: 'Predictions in flight per worker.' },
    headers,
    version: { type: 'string', description: 'Model version recorded on every prediction (default: the model the server names).' },
  },
};

const statusList = (description: string) => ({
  type: 'array',
  items: { type: 'integer', minimum: 100, maximum: 599 },
  description,
  'x-expected': 'a list of HTTP status codes',
});

/** Settings every destination type shares (webhook and the vendor presets). */
const destinationProperties = {
  url: url('Where each decided record is POSTed as {record, decision} (for a vendor preset: its API endpoint or a simulator).'),
  rate_limit: rate('Most requests per interval this destination accepts (a preset brings its plan’s limit; this overrides it).'),
  burst: { type: 'integer', minimum: 1, description: 'Requests that may go at once after a pause (default: a fifth of a second’s worth).' },
  concurrency: {
    type: 'integer',
    minimum: 1,
    maximum: 256,
    default: 4,
    description: 'Requests in flight at once to this destination (all processes together on PostgreSQL).',
  },
  timeout: duration('Time allowed for one delivery request.', '10s'),
  headers,
  idempotency_header: {
    type: 'string',
    description: 'Header that carries the idempotency key (default Idempotency-Key, or the vendor’s).',
  },
  retry: {
    type: 'object',
    additionalProperties: false,
    properties: {
      max_attempts: { type: 'integer', minimum: 1, default: 25, description: 'Attempts before the delivery is dead-lettered.' },
      base: duration('First backoff (full jitter, doubling).', '500ms'),
      cap: duration('Longest backoff between two attempts.', '1m'),
      max_age: duration('Dead-letter a delivery still failing this long after its first attempt.', '1d'),
      budget: {
        type: 'object',
        additionalProperties: false,
        description: 'Retry budget: retries at most `percent` of first attempts over `window`, plus `min_per_second`.',
        properties: {
          percent: { type: 'number', minimum: 0, maximum: 1000, default: 20 },
          min_per_second: { type: 'number', minimum: 0, default: 1 },
          window: duration('The window the budget counts over.', '10s'),
        },
      },
    },
  },
  retry_on: statusList('Statuses retried although they are final by default (e.g. [409]).'),
  dead_letter_on: statusList('Statuses dead-lettered at once although they are retried by default (e.g. [503]).'),
  soft_failure: {
    type: 'object',
    additionalProperties: false,
    required: ['field'],
    description: 'A 2xx whose JSON body has `field` equal to `equals` is a failure (Slack: { field: ok, equals: false }).',
    properties: {
      field: { type: 'string', minLength: 1 },
      equals: { description: 'The value that means failure (default false).' },
      retryable_errors: { type: 'array', items: { type: 'string' }, description: 'Values of the body’s `error` that are retried.' },
    },
  },
  circuit_breaker: {
    type: 'object',
    additionalProperties: false,
    description: 'Stops sending while the destination fails; shared by all processes on PostgreSQL.',
    properties: {
      failure_rate: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.5, description: 'Share of failed calls that opens it.' },
      minimum_calls: { type: 'integer', minimum: 1, default: 20, description: 'Calls in the window before the rate counts.' },
      window: duration('The window failures are counted over.', '10s'),
      open_for: duration('How long it stays open before half-open probes.', '10s'),
      half_open_probes: { type: 'integer', minimum: 1, default: 3, description: 'Probe calls; all must succeed to close it.' },
    },
  },
  adaptive: {
    type: 'object',
    additionalProperties: false,
    description: 'Without a rate_limit, the limit is found by AIMD: start, ceiling and step.',
    properties: {
      initial: rate('Starting rate (default 10/s).'),
      max: rate('Never more than this (default 1000/s).'),
      step: { type: 'number', exclusiveMinimum: 0, default: 5, description: 'Requests/s added per interval after the first throttle.' },
      decrease: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.5, description: 'Factor applied on a throttle.' },
      interval: duration('How often the rate is raised.', '1s'),
    },
  },
  plan: { type: 'string', description: 'The vendor plan whose documented limits apply (vendor presets only).' },
  token: { type: 'string', description: 'API token for a vendor preset; use ${ENV_VAR}. Never logged.' },
  api_key: { type: 'string', description: 'API key (Stripe secret key); use ${ENV_VAR}. Never logged.' },
  email: { type: 'string', description: 'Zendesk: the agent email that goes with an API token.' },
  body: {
    type: ['object', 'array'],
    description:
      'The JSON body sent, as a template over the record and its decision: "{{record.subject}}", "{{decision.label}}", "{{meta.record_id}}". A string that is one placeholder keeps the value’s type. Default: {record, decision}.',
  },
  order_by: {
    type: 'string',
    pattern: '^[A-Za-z_$][\\w$-]*(\\.[A-Za-z_$0-9][\\w$-]*)*$',
    'x-expected': 'a field path of the record such as customer_id or customer.id',
    description:
      'A field of the record: deliveries with the same value go out one at a time, in the order the records arrived (all processes together).',
  },
  quotas: {
    type: 'array',
    items: rate('A cap counted in fixed windows aligned to UTC (per day: UTC midnight).'),
    description:
      'Caps on top of rate_limit, shared by all processes (a preset brings its vendor’s, e.g. HubSpot’s daily cap; this replaces them).',
  },
} as const;

const destinationTypes = ['webhook', 'zendesk', 'hubspot', 'stripe', 'slack', 'github'] as const;

const planEnums: Record<string, string[]> = {
  zendesk: ['team', 'growth', 'professional', 'enterprise', 'enterprise_plus'],
  hubspot: ['free', 'starter', 'professional', 'enterprise'],
  stripe: ['live', 'test'],
  slack: ['standard'],
  github: ['standard'],
};

const destination = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'url'],
  properties: {
    type: { enum: destinationTypes, 'x-expected': `one of ${destinationTypes.join(', ')}` },
    ...destinationProperties,
  },
  allOf: Object.entries(planEnums).map(([vendor, plans]) => ({
    if: { properties: { type: { const: vendor } } },
    then: { properties: { plan: { enum: plans, 'x-expected': `one of ${plans.join(', ')}` } } },
  })),
};

const REVIEW_ACTIONS = ['approve', 'relabel', 'reject', 'request_info', 'escalate'];
const actionList = {
  type: 'array',
  items: { enum: REVIEW_ACTIONS, 'x-expected': REVIEW_ACTIONS.join(', ') },
  uniqueItems: true,
};

const caseType = {
  type: 'object',
  additionalProperties: false,
  properties: {
    owner: { type: 'string', description: 'The team (from `teams:`) that owns cases of this type.' },
    backup: { type: 'string', description: 'The team that takes over when the owner cannot (escalation target `backup`).' },
    priority: { enum: ['critical', 'high', 'normal', 'low'], default: 'normal', 'x-expected': 'critical, high, normal or low' },
    sla: {
      description:
        "Time to resolution as a duration (calendar time), or { first_action, resolution, hours: business|calendar }. Business hours are the owner team's working hours, holidays excluded; the clock pauses while a case waits for information.",
      'x-expected': 'a duration like 4h, or { first_action, resolution, hours }',
      oneOf: [
        duration('Time to resolution (calendar time).'),
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            first_action: duration("Time from the case opening to a reviewer's first action."),
            resolution: duration('Time from the case opening to its resolution.'),
            hours: { enum: ['calendar', 'business'], default: 'calendar', 'x-expected': 'calendar or business' },
          },
        },
      ],
    },
    reviews: {
      type: 'object',
      additionalProperties: false,
      description: 'How many people must review a case, and what happens when they disagree.',
      properties: {
        required: { type: 'integer', minimum: 1, maximum: 9, default: 1 },
        agreement: { enum: ['unanimous', 'majority'], default: 'unanimous', 'x-expected': 'unanimous or majority' },
      },
    },
    actions: {
      type: 'object',
      additionalProperties: false,
      description:
        'What each role may do with cases of this type (default: reviewers, leads and admins may do everything; viewers nothing).',
      properties: { reviewer: actionList, lead: actionList, admin: actionList },
    },
    limits: {
      type: 'array',
      description: 'Limits on deciding actions by a field of the record, per role (e.g. { field: amount, reviewer: 500, lead: 5000 }).',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['field'],
        properties: {
          field: { type: 'string', minLength: 1, description: 'Dotted path of a number in the record.' },
          actions: { ...actionList, description: 'The actions the limit applies to (default approve and relabel).' },
          reviewer: { type: 'number' },
          lead: { type: 'number' },
          admin: { type: 'number' },
        },
      },
    },
    escalation: {
      type: 'object',
      additionalProperties: false,
      description:
        'Escalation policy, in the manner of PagerDuty: levels fire in order, each after its delay from the case opening; the whole chain repeats `repeat` times.',
      properties: {
        levels: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['after', 'notify'],
            properties: {
              after: duration('Delay from the case opening (or the previous repeat of the chain).'),
              notify: {
                type: 'array',
                minItems: 1,
                items: {
                  type: 'string',
                  pattern: '^(team:|user:|oncall:|webhook:)|^(owner|backup)$',
                  'x-expected': 'team:NAME, user:NAME, oncall:TEAM, webhook:URL, owner or backup',
                },
              },
            },
          },
        },
        repeat: { type: 'integer', minimum: 0, maximum: 10, default: 0 },
        on_breach: {
          enum: ['escalate', 'notify'],
          default: 'notify',
          description: 'On an SLA breach: notify the owner and the on-call (notify), or also move the case to the backup team (escalate).',
        },
      },
    },
  },
};

const weekday = { enum: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], 'x-expected': 'mon, tue, wed, thu, fri, sat or sun' };
const clockTime = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$', 'x-expected': 'a time like 09:00' };

const team = {
  type: 'object',
  additionalProperties: false,
  required: ['members'],
  properties: {
    members: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'User names of the team (users are added with `airlock users add`).',
    },
    timezone: { type: 'string', default: 'UTC', description: 'IANA time zone of the working hours, e.g. Europe/Berlin.' },
    working_hours: {
      type: 'object',
      additionalProperties: false,
      properties: {
        days: { type: 'array', items: weekday, uniqueItems: true, default: ['mon', 'tue', 'wed', 'thu', 'fri'] },
        start: { ...clockTime, default: '09:00' },
        end: { ...clockTime, default: '17:00' },
      },
    },
    holidays: {
      type: 'array',
      items: { type: 'string', format: 'date', 'x-expected': 'a date like 2026-12-25' },
      description: 'Days off (local dates).',
    },
    on_call: {
      type: 'object',
      additionalProperties: false,
      required: ['rotation', 'starts'],
      description: 'On-call rota: the people take turns, one shift each, from `starts`.',
      properties: {
        rotation: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        shift: duration('Length of one turn.', '7d'),
        starts: { type: 'string', format: 'date-time', 'x-expected': 'a date-time like 2026-11-02T09:00:00Z' },
      },
    },
    capacity: { type: 'number', exclusiveMinimum: 0, default: 10, description: 'Cases one reviewer resolves per working hour.' },
  },
};

const pipeline = {
  type: 'object',
  additionalProperties: false,
  required: ['model'],
  properties: {
    description: { type: 'string' },
    contract: {
      description: 'JSON Schema 2020-12 of one record: a file path relative to this config, or the schema inline.',
      'x-expected': 'a path to a JSON Schema file or an inline schema object',
      type: ['string', 'object'],
    },
    gate: {
      type: 'object',
      additionalProperties: false,
      description: 'What the contract gate does with each kind of violation, and when a structural change halts the pipeline.',
      properties: {
        policies: {
          type: 'object',
          additionalProperties: false,
          description:
            'accept (score it anyway, violation noted), quarantine (a person decides) or halt (stop scoring the pipeline once the same change is seen halt_after.records times). Defaults: halt on unknown_field, type_mismatch and new_enum_value; quarantine the rest.',
          properties: Object.fromEntries(
            VIOLATION_KINDS.map((k) => [k, { enum: ['accept', 'quarantine', 'halt'], 'x-expected': 'accept, quarantine or halt' }]),
          ),
        },
        halt_after: {
          type: 'object',
          additionalProperties: false,
          description:
            'A halt-policy change halts the pipeline when the same change (kind and field) is seen in this many records within this window; the records before that are quarantined, so one odd record cannot stop production.',
          properties: {
            records: { type: 'integer', minimum: 1, default: 3 },
            within: duration('The window the records are counted in.', '10m'),
          },
        },
      },
    },
    probe: {
      type: 'object',
      additionalProperties: false,
      description: 'Limits for `airlock probe`: it exits 1 when a count of findings is above its limit.',
      properties: {
        limits: {
          type: 'object',
          additionalProperties: false,
          properties: Object.fromEntries(
            ['crashes', 'errors', 'timeouts', 'latency_outliers', 'confident_garbage', 'confident_errors'].map((k) => [
              k,
              {
                type: 'integer',
                minimum: 0,
                description: `Most ${k.replace('_', ' ')} allowed (default 0${k === 'latency_outliers' || k === 'confident_errors' ? ', except latency_outliers and confident_errors: no limit' : ''}).`,
              },
            ]),
          ),
        },
        timeout: duration('A model call slower than this counts as a timeout.', '5s'),
      },
    },
    model: {
      type: 'object',
      required: ['type'],
      description: 'The model adapter: http, module, openai or baseline.',
      properties: { type: { enum: ['http', 'module', 'openai', 'baseline'], 'x-expected': 'one of http, module, openai, baseline' } },
      allOf: [
        { if: { properties: { type: { const: 'http' } } }, then: httpModel },
        { if: { properties: { type: { const: 'module' } } }, then: moduleModel },
        { if: { properties: { type: { const: 'openai' } } }, then: openAiModel },
        { if: { properties: { type: { const: 'baseline' } } }, then: baselineModel },
      ],
    },
    routing: {
      type: 'object',
      additionalProperties: false,
      properties: {
        auto_accept_at: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0.9,
          description:
            'Confidence at or above which a prediction is decided automatically; below it, a review case. A threshold version made by `airlock calibrate --apply` (or approved) wins over this fallback.',
        },
        never_auto: {
          type: 'array',
          items: { type: 'string' },
          description: 'Labels that always go to a person, whatever the confidence.',
        },
        review_when: {
          type: 'array',
          description: 'Rules on the record: any that matches sends it to a person (e.g. { field: amount, above: 500 }).',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['field'],
            properties: {
              field: { type: 'string', minLength: 1, description: 'Dotted path in the record, e.g. order.amount.' },
              above: { type: 'number' },
              below: { type: 'number' },
              equals: { description: 'Matches when the field equals this value.' },
              in: { type: 'array', description: 'Matches when the field is one of these values.' },
            },
          },
        },
        audit_rate: {
          type: 'number',
          minimum: 0,
          maximum: 1,
          default: 0,
          description: 'Share of automatic decisions also sent to review as audit_sample cases (unbiased accuracy of auto decisions).',
        },
        segment_by: {
          type: 'string',
          minLength: 1,
          description:
            'Per-segment thresholds: a dotted path in the record (e.g. region), or $label for the predicted label (per class). The calibration set carries the same `segment`; a segment the calibration did not see uses the overall threshold, a segment where no threshold carries the guarantee always goes to review.',
        },
        refit: {
          type: 'object',
          additionalProperties: false,
          description:
            'The feedback loop: from launch.go_live the calibrator and threshold are refitted weekly for 60 days, then every `cadence`, from the calibration set, audit samples (the guarantee) and review verdicts (the calibrator only).',
          properties: {
            enabled: { type: 'boolean', default: true, description: 'Refit on the schedule (needs launch.go_live).' },
            cadence: duration('Refit interval after the first 60 days (weekly before).', '30d'),
            method: {
              enum: ['temperature', 'platt', 'isotonic', 'histogram'],
              description: "Calibrator method; default: the active version's method, else platt.",
            },
            min_labels: { type: 'integer', minimum: 1, default: 100, description: 'Fewer unbiased labels than this: no refit, say so.' },
            auto_apply: {
              type: 'object',
              additionalProperties: false,
              description:
                'Apply a refit without a person when it stays within these bounds; absent: every refit waits for `airlock thresholds approve`.',
              properties: {
                max_threshold_change: { type: 'number', minimum: 0, maximum: 1, default: 0.05 },
                max_coverage_drop: { type: 'number', minimum: 0, maximum: 1, default: 0.05 },
              },
            },
          },
        },
      },
    },
    review: {
      type: 'object',
      additionalProperties: false,
      properties: {
        case_types: { type: 'object', additionalProperties: caseType },
      },
    },
    drift: driftConfigSchema,
    readiness: readinessConfigSchema,
    retention: {
      type: 'object',
      additionalProperties: false,
      required: ['payloads'],
      description:
        'Retention of record content: the body (and the body as received, when edited) of a delivered or discarded record is blanked `payloads` after its last change; ids, statuses, predictions, decisions, the audit trail, labels and drift summaries stay. Records waiting on a person (quarantined, halted, in review, dead-lettered) are never purged. Absent: content is kept.',
      properties: {
        payloads: duration('How long a finished record keeps its content, e.g. 30d.'),
        every: duration('How often the worker purges (one process per run on PostgreSQL).', '1h'),
      },
    },
    redact: {
      type: 'array',
      description:
        'Field paths in the record (dotted, `*` for any key or list item, e.g. customer.email, body, items.*.iban) that the API shows as "[redacted]" to the viewer role.',
      items: {
        type: 'string',
        pattern: '^[^.\\s]+(\\.[^.\\s]+)*$',
        'x-expected': 'a dotted field path such as customer.email',
      },
    },
    launch: {
      type: 'object',
      additionalProperties: false,
      description: 'Launch facts: readiness and the runbook check read them.',
      properties: {
        go_live: { type: 'string', format: 'date', 'x-expected': 'a date like 2026-12-01' },
        expected_peak: {
          type: 'string',
          pattern: RATE_PATTERN,
          'x-expected': 'a rate like 20/s or 5000/day',
          description: 'Records per unit of time at the busiest.',
        },
      },
    },
    destinations: { type: 'object', additionalProperties: destination },
  },
};

const alertSink = {
  type: 'object',
  required: ['type'],
  properties: { type: { enum: ['webhook', 'log'], 'x-expected': 'one of webhook, log' } },
  allOf: [
    {
      if: { properties: { type: { const: 'webhook' } } },
      then: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'url'],
        properties: {
          type: { const: 'webhook' },
          url: url('Where alerts are POSTed.'),
          format: { enum: ['slack', 'json'], default: 'json', 'x-expected': 'one of slack, json' },
          headers,
          include_values: {
            type: 'boolean',
            default: false,
            description:
              'Send example record values with alerts that have them (e.g. the values of a field that changed). Off by default: alerts carry field names, kinds, counts and record ids only; values never go to the log.',
          },
        },
      },
    },
    {
      if: { properties: { type: { const: 'log' } } },
      then: { type: 'object', additionalProperties: false, properties: { type: { const: 'log' } } },
    },
  ],
};

export const configJsonSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://airlock.dev/schema/airlock.yaml.json',
  title: 'airlock.yaml',
  type: 'object',
  additionalProperties: false,
  properties: {
    database: {
      type: 'string',
      default: 'sqlite:./.airlock/airlock.db',
      pattern: '^(sqlite:|postgres://|postgresql://)',
      description: 'sqlite:PATH (relative to this file) or postgres://user@host/db.',
      'x-expected': 'sqlite:PATH or a postgres:// URL',
    },
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
        body_limit: {
          type: ['string', 'integer'],
          default: '10mb',
          description: 'Largest request body accepted (413 above it).',
          'x-expected': 'a size such as 512kb or 10mb',
        },
        auth: {
          enum: ['required', 'off'],
          default: 'required',
          'x-expected': 'required or off',
          description:
            'required: every /v1 request signs in (session cookie from /v1/auth/login, or Authorization: Bearer TOKEN) and acts within its role. off: no sign-in, every request acts as an admin — only on a loopback host, for a laptop.',
        },
        session_ttl: duration('How long a sign-in lasts at most, however active (absolute expiry).', '12h'),
        session_idle: duration('A sign-in ends after this long without a request (idle expiry).', '1h'),
        metrics_public: {
          type: 'boolean',
          default: true,
          description: 'true: GET /metrics answers without sign-in (for scrapers); false: it needs a signed-in role or token.',
        },
        limits: {
          type: 'object',
          additionalProperties: false,
          description: 'Limits on what one ingest request may hold (README "Limits"); a record over one is refused with the reason.',
          properties: {
            max_records: {
              type: 'integer',
              minimum: 1,
              default: 10000,
              description: 'Most records in one request (413 above it).',
            },
            max_depth: {
              type: 'integer',
              minimum: 1,
              maximum: 1000,
              default: 64,
              description: 'Deepest nesting of objects and arrays in a record; the record itself is level 1 (refused above it).',
            },
            max_fields: {
              type: 'integer',
              minimum: 1,
              default: 1000,
              description: 'Most fields in a record, nested ones included (refused above it).',
            },
            max_string_length: {
              type: 'integer',
              minimum: 1,
              default: 1000000,
              description: 'Longest string in a record, in characters, keys included (refused above it).',
            },
          },
        },
        public_url: {
          type: 'string',
          pattern: '^https?://',
          'x-expected': 'an http(s) URL',
          description: 'The address people use to reach the console (alert links); default http://HOST:PORT.',
        },
      },
    },
    worker: {
      type: 'object',
      additionalProperties: false,
      properties: {
        poll_interval: duration('How often an idle worker looks for work.', '200ms'),
        lease: duration('How long a claimed item stays with its worker before another may take it.', '30s'),
        batch: { type: 'integer', minimum: 1, maximum: 1000, default: 64, description: 'Items claimed at once.' },
      },
    },
    logging: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
      },
    },
    alerts: { type: 'array', items: alertSink, description: 'Where alerts go.' },
    teams: {
      type: 'object',
      description: 'The people who own review work: members, working hours, holidays, on-call rota and capacity.',
      propertyNames: { pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$', 'x-expected': 'a name of letters, digits, ., - and _' },
      additionalProperties: team,
    },
    pipelines: {
      type: 'object',
      description: 'One entry per pipeline; the key is its name in URLs.',
      propertyNames: { pattern: '^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$', 'x-expected': 'a name of letters, digits, - and _' },
      additionalProperties: pipeline,
    },
  },
} as const;
