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

const webhookDestination = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'url'],
  properties: {
    type: { const: 'webhook' },
    url: url('Each decided record is POSTed here as {record, decision}.'),
    rate_limit: rate('Most requests per interval this destination accepts.'),
    concurrency: { type: 'integer', minimum: 1, maximum: 256, default: 4, description: 'Requests in flight at once.' },
    timeout: duration('Time allowed for one delivery request.', '10s'),
    headers,
    idempotency_header: { type: 'string', default: 'Idempotency-Key', description: 'Header that carries the idempotency key.' },
    retry: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_attempts: { type: 'integer', minimum: 1, default: 25, description: 'Attempts before the delivery is dead-lettered.' },
        base: duration('First backoff (full jitter, doubling).', '500ms'),
        cap: duration('Longest backoff between two attempts.', '1m'),
        max_age: duration('Dead-letter a delivery still failing this long after its first attempt.', '1d'),
      },
    },
  },
};

const caseType = {
  type: 'object',
  additionalProperties: true,
  properties: {
    owner: { type: 'string', description: 'The team or user that owns cases of this type.' },
    sla: duration('Time to resolution.'),
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
            [
              'unparseable',
              'unknown_field',
              'missing_required',
              'type_mismatch',
              'new_enum_value',
              'format_mismatch',
              'out_of_range',
              'other',
            ].map((k) => [k, { enum: ['accept', 'quarantine', 'halt'], 'x-expected': 'accept, quarantine or halt' }]),
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
      },
    },
    review: {
      type: 'object',
      additionalProperties: true,
      properties: {
        case_types: { type: 'object', additionalProperties: caseType },
      },
    },
    destinations: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['type'],
        properties: { type: { enum: ['webhook'], 'x-expected': 'webhook' } },
        allOf: [{ if: { properties: { type: { const: 'webhook' } } }, then: webhookDestination }],
      },
    },
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
    pipelines: {
      type: 'object',
      description: 'One entry per pipeline; the key is its name in URLs.',
      propertyNames: { pattern: '^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$', 'x-expected': 'a name of letters, digits, - and _' },
      additionalProperties: pipeline,
    },
  },
} as const;
