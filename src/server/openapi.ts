import type { AirlockConfig } from '../config/airlock-config.js';
import { VIOLATION_KINDS } from '../contract/gate.js';
import { accessOf } from './auth.js';

const problem = { $ref: '#/components/schemas/Problem' };
const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: problem } } });
const pipelineParam = { name: 'pipeline', in: 'path', required: true, schema: { type: 'string' } };

/** The OpenAPI 3.1 description of the HTTP API, served at /openapi.json. */
export function openApiDocument(config: AirlockConfig) {
  return withAccess(config, {
    openapi: '3.1.0',
    info: { title: 'Airlock', version: '0.1.0', description: 'The production layer around an AI model.' },
    servers: [{ url: '/' }],
    paths: {
      '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'The process is up.' } } } },
      '/readyz': {
        get: {
          summary: 'Readiness: the database answers',
          responses: { 200: { description: 'Ready.' }, 503: problemResponse('The database is not answering.') },
        },
      },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format.' } } } },
      '/openapi.json': { get: { summary: 'This document (OpenAPI 3.1)', responses: { 200: { description: 'OK' } } } },
      '/v1/pipelines': { get: { summary: 'Pipelines with record counts by status', responses: { 200: { description: 'OK' } } } },
      '/v1/pipelines/{pipeline}/records': {
        post: {
          summary: 'Ingest records',
          description:
            'One JSON object, a JSON array, or NDJSON. Answers only after the records are durably stored. A record’s id is its `id` field, else the Idempotency-Key header (single-record requests), else generated.',
          parameters: [
            { name: 'pipeline', in: 'path', required: true, schema: { type: 'string', enum: Object.keys(config.pipelines) } },
            { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 256 } },
          ],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { oneOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] } },
              'application/x-ndjson': { schema: { type: 'string' } },
            },
          },
          responses: {
            202: {
              description: 'All records stored.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/IngestResult' } } },
            },
            207: {
              description: 'Some records stored, some refused (see `refused`).',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/IngestResult' } } },
            },
            400: problemResponse('The body is not valid JSON/NDJSON (the line or offset is named), or holds no object.'),
            404: problemResponse('Unknown pipeline.'),
            409: problemResponse('The id exists with a different body.'),
            413: problemResponse('The body is over server.body_limit.'),
            415: problemResponse('Unsupported content type.'),
            503: problemResponse('The database is unavailable; retry after Retry-After.'),
          },
        },
      },
      '/v1/pipelines/{pipeline}/records/{id}': {
        get: {
          summary: 'One record: status, prediction, decision, deliveries, cases and events',
          parameters: [
            { name: 'pipeline', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
          ],
          responses: {
            200: { description: 'OK', content: { 'application/json': { schema: { $ref: '#/components/schemas/Record' } } } },
            404: problemResponse('No such record.'),
          },
        },
      },
      '/v1/records/{id}': {
        get: {
          summary: 'Shortcut when the id names one record',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'OK', content: { 'application/json': { schema: { $ref: '#/components/schemas/Record' } } } },
            404: problemResponse('No such record.'),
            409: problemResponse('The id names records in several pipelines.'),
          },
        },
      },
      '/v1/pipelines/{pipeline}/thresholds': {
        get: {
          summary: 'Routing versions (calibrator + threshold) and the one in effect',
          parameters: [{ name: 'pipeline', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'OK' }, 404: problemResponse('Unknown pipeline.') },
        },
      },
      '/v1/pipelines/{pipeline}/refit': {
        post: {
          summary: 'Refit calibrator and threshold now from the labels gathered (feedback loop); proposes or applies a routing version',
          parameters: [pipelineParam],
          responses: {
            200: { description: 'The refit: outcome, before/after coverage and error bound, the version made (if any).' },
            403: problemResponse('Leads and admins only.'),
            404: problemResponse('Unknown pipeline.'),
          },
        },
      },
      '/v1/pipelines/{pipeline}/readiness': {
        get: {
          summary: 'The production-readiness report: score, sections and checks with evidence and fix (as airlock readiness --json)',
          parameters: [pipelineParam, { name: 'min_score', in: 'query', schema: { type: 'number', minimum: 0 } }],
          responses: {
            200: {
              description: 'score, min_score, passed, blocking_failed, sections[] with checks[] (id, status, points, evidence, fix).',
            },
            400: problemResponse('min_score is not a number.'),
            404: problemResponse('Unknown pipeline.'),
          },
        },
      },
      '/v1/pipelines/{pipeline}/refits': {
        get: {
          summary: 'The refit schedule from go-live (weekly for 60 days, then the cadence) and the refits that ran',
          parameters: [pipelineParam],
          responses: { 200: { description: 'OK' }, 404: problemResponse('Unknown pipeline.') },
        },
      },
      '/v1/pipelines/{pipeline}/accuracy': {
        get: {
          summary:
            'Per window: estimated accuracy without labels (mean calibrated confidence, CBPE) beside realised accuracy from audit and review labels',
          parameters: [
            pipelineParam,
            { name: 'window', in: 'query', schema: { type: 'string', default: '1d' } },
            { name: 'windows', in: 'query', schema: { type: 'integer', default: 30 } },
          ],
          responses: { 200: { description: 'OK' }, 400: problemResponse('Bad window.'), 404: problemResponse('Unknown pipeline.') },
        },
      },
      '/v1/pipelines/{pipeline}/misclassifications': {
        get: {
          summary: 'Production misclassifications found by reviewers (verdict differs from the model), newest first',
          parameters: [
            pipelineParam,
            { name: 'days', in: 'query', schema: { type: 'integer', default: 7 } },
            { name: 'limit', in: 'query', schema: { type: 'integer', default: 100 } },
          ],
          responses: { 200: { description: 'OK' }, 404: problemResponse('Unknown pipeline.') },
        },
      },
      '/v1/pipelines/{pipeline}/thresholds/{version}/approve': {
        post: {
          summary: 'Activate a routing version (approve a proposal, or roll back)',
          parameters: [
            { name: 'pipeline', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'version', in: 'path', required: true, schema: { type: 'integer' } },
          ],
          responses: {
            200: { description: 'The version now active.' },
            404: problemResponse('No such version.'),
            409: problemResponse('Already active.'),
          },
        },
      },
      '/v1/pipelines/{pipeline}/contract': {
        get: {
          summary: 'Contract versions of a pipeline (schema, source, who accepted it, which is active)',
          parameters: [pipelineParam],
          responses: { 200: { description: 'OK' }, 404: problemResponse('No such pipeline.') },
        },
      },
      '/v1/pipelines/{pipeline}/halt': {
        get: {
          summary: 'The schema-change halt, if any: the change, the backlog, the proposed contract, the history',
          parameters: [pipelineParam],
          responses: { 200: { description: 'OK' }, 404: problemResponse('No such pipeline.') },
        },
      },
      '/v1/pipelines/{pipeline}/halt/accept': {
        post: {
          summary: 'Accept the change as a new contract version; the backlog resumes in arrival order',
          parameters: [pipelineParam],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    by: { type: 'string' },
                    note: { type: 'string' },
                    contract: { type: 'object', description: 'A JSON Schema to accept instead of the derived one.' },
                  },
                },
              },
            },
          },
          responses: {
            200: { description: 'The decision, the new version and the counts.' },
            409: problemResponse('The pipeline is not halted.'),
          },
        },
      },
      '/v1/pipelines/{pipeline}/halt/reject': {
        post: {
          summary: 'Reject the change: its records are quarantined, the rest of the backlog resumes',
          parameters: [pipelineParam],
          requestBody: {
            content: {
              'application/json': { schema: { type: 'object', properties: { by: { type: 'string' }, note: { type: 'string' } } } },
            },
          },
          responses: { 200: { description: 'The decision and the counts.' }, 409: problemResponse('The pipeline is not halted.') },
        },
      },
      '/v1/quarantine': {
        get: {
          summary: 'Quarantined records with their violations, oldest first',
          parameters: [
            { name: 'pipeline', in: 'query', schema: { type: 'string' } },
            {
              name: 'kind',
              in: 'query',
              schema: {
                enum: [...VIOLATION_KINDS],
              },
            },
            { name: 'field', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', default: 100, maximum: 1000 } },
          ],
          responses: { 200: { description: 'OK' } },
        },
      },
      '/v1/pipelines/{pipeline}/quarantine/{id}': {
        get: {
          summary: 'One quarantined record: body, violations, original body, trail',
          parameters: [pipelineParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'OK' }, 404: problemResponse('No such record.') },
        },
      },
      '/v1/pipelines/{pipeline}/quarantine/{id}/release': {
        post: {
          summary: 'Re-check the record (or its edited body) against the contract in force and release it if it passes',
          parameters: [pipelineParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    by: { type: 'string' },
                    note: { type: 'string' },
                    record: { type: 'object', description: 'The edited record.' },
                  },
                },
              },
            },
          },
          responses: {
            200: { description: 'Released.' },
            409: problemResponse('The record is not quarantined.'),
            422: { description: 'It still breaks the contract; it stays quarantined, unchanged, and the answer lists the violations.' },
          },
        },
      },
      '/v1/pipelines/{pipeline}/quarantine/{id}/discard': {
        post: {
          summary: 'Discard the record with a reason (terminal; the record and its trail are kept)',
          parameters: [pipelineParam, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: { type: 'object', required: ['reason'], properties: { by: { type: 'string' }, reason: { type: 'string' } } },
              },
            },
          },
          responses: {
            200: { description: 'Discarded.' },
            400: problemResponse('No reason given.'),
            409: problemResponse('The record is not quarantined.'),
          },
        },
      },
      '/v1/auth/login': {
        post: {
          summary: 'Sign in: sets the session cookie (HttpOnly, SameSite=Strict) and answers the CSRF token writes must send',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['name', 'password'],
                  properties: { name: { type: 'string' }, password: { type: 'string' } },
                },
              },
            },
          },
          responses: {
            200: { description: '{ user, csrf_token, expires_at }' },
            401: problemResponse('Wrong name or password.'),
            429: problemResponse('Too many attempts (Retry-After).'),
          },
        },
      },
      '/v1/auth/logout': { post: { summary: 'Sign out (the session ends on the server)', responses: { 200: { description: 'OK' } } } },
      '/v1/auth/me': {
        get: {
          summary: 'Who is signed in, and the CSRF token of the session',
          responses: { 200: { description: 'OK' }, 401: problemResponse('Not signed in.') },
        },
      },
      '/v1/users': {
        get: { summary: 'Users (admin)', responses: { 200: { description: 'OK' }, 403: problemResponse('Not an admin.') } },
        post: {
          summary: 'Add a user (admin)',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['name', 'role'],
                  properties: {
                    name: { type: 'string' },
                    role: { enum: ['admin', 'lead', 'reviewer', 'viewer', 'ingest'] },
                    password: { type: 'string', minLength: 10 },
                  },
                },
              },
            },
          },
          responses: { 201: { description: 'Added.' }, 409: problemResponse('The user exists.') },
        },
      },
      '/v1/users/{name}': {
        patch: {
          summary: 'Change a role, set a password, or disable (admin)',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { role: { type: 'string' }, password: { type: 'string' }, disabled: { const: true } },
                },
              },
            },
          },
          responses: { 200: { description: 'OK' }, 404: problemResponse('No such user.') },
        },
      },
      '/v1/users/{name}/tokens': {
        post: {
          summary: 'Create an API token for a user; the token is answered once (admin)',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    name: { type: 'string', description: 'What the token is for.' },
                    pipelines: { type: ['string', 'array'], description: 'Pipelines it may act on: a list, "a,b", or "*" (default).' },
                    scopes: { type: ['string', 'array'], description: 'ingest, read, write, or "*"; default "ingest,read".' },
                    expires: { type: 'string', description: 'A duration such as 30d (default 90d), or "never".' },
                  },
                },
              },
            },
          },
          responses: { 201: { description: '{ id, token, pipelines, scopes, expires_at }' }, 404: problemResponse('No such user.') },
        },
      },
      '/v1/tokens': { get: { summary: 'Tokens, never their values (admin)', responses: { 200: { description: 'OK' } } } },
      '/v1/tokens/{id}': {
        delete: {
          summary: 'Revoke a token (admin)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: { 200: { description: 'Revoked.' }, 404: problemResponse('No such active token.') },
        },
      },
      '/v1/review/next': {
        post: {
          summary: 'Claim the most urgent case the caller may take, with a lease',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    pipeline: { type: 'string' },
                    type: { type: 'string' },
                    exclude: { type: 'array', items: { type: 'integer' } },
                  },
                },
              },
            },
          },
          responses: { 200: { description: '{ case, record } or { case: null }' } },
        },
      },
      '/v1/review/cases/{id}/heartbeat': {
        post: {
          summary: 'Extend the lease of a held case',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: { 200: { description: 'OK' }, 409: problemResponse('Held by someone else.') },
        },
      },
      '/v1/review/cases/{id}/release': {
        post: {
          summary: 'Give a held case back to the queue',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: { 200: { description: 'OK' } },
        },
      },
      '/v1/review/metrics': {
        get: {
          summary: 'Queue figures: depth and age, time to first action p50/p95, SLA attainment, overturn rate, throughput, agreement',
          parameters: [
            { name: 'pipeline', in: 'query', schema: { type: 'string' } },
            { name: 'days', in: 'query', schema: { type: 'integer', default: 30 } },
          ],
          responses: { 200: { description: 'OK' } },
        },
      },
      '/v1/pipelines/{pipeline}/drift': {
        get: {
          summary: 'Drift of the latest window against the reference profile, fields most drifted first',
          description:
            'The window holding now (or the latest with records), compared field by field with the active reference: `fields[]` with `name`, `type`, `test`, `statistic`, `p_value`, `p_value_adjusted`, `threshold`, `drift`, `severity` (≥ 1 is drift), `ks`, `psi`, `wasserstein_norm`, `jensen_shannon`, the field’s `episode` and console `link`; model outputs as `@model.label`, `@model.confidence`, `@model.route`; `outputs` with the auto/review shares, estimated accuracy (mean calibrated confidence) and realised accuracy from reviewers’ verdicts. Every signed-in role.',
          parameters: [pipelineParam],
          responses: {
            200: { description: 'OK' },
            404: problemResponse('Unknown pipeline, or no reference profile yet.'),
          },
        },
      },
      '/v1/pipelines/{pipeline}/drift/{field}/series': {
        get: {
          summary: 'One field’s drift statistic and flag per window, and the reference vs latest distribution (for charts)',
          parameters: [
            pipelineParam,
            {
              name: 'field',
              in: 'path',
              required: true,
              schema: { type: 'string' },
              description: 'Dotted path, e.g. `amount` or `@model.label`.',
            },
            { name: 'windows', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 48 } },
          ],
          responses: {
            200: {
              description:
                '`series[]`: `start`, `end`, `rows`, `test`, `statistic`, `p_value`, `threshold`, `drift`, …; `distribution`: `labels`, `reference`, `current` shares.',
            },
            400: problemResponse('windows is not a whole number from 1 to 1000.'),
            404: problemResponse('Unknown pipeline or field, or no reference profile yet.'),
          },
        },
      },
      '/v1/destinations': {
        get: {
          summary: 'Per destination: rate against its limit (configured, stated or found by AIMD), 429s, breaker state, dead letters',
          responses: { 200: { description: 'OK' } },
        },
      },
      '/v1/dead-letters': {
        get: {
          summary: 'Dead letters: deliveries a destination refused for good',
          parameters: [
            { name: 'pipeline', in: 'query', schema: { type: 'string' } },
            { name: 'destination', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer' } },
          ],
          responses: { 200: { description: 'OK' } },
        },
      },
      '/v1/dead-letters/{id}': {
        get: {
          summary: 'One dead letter: the request, the last response, every attempt',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: { 200: { description: 'OK' }, 404: problemResponse('No such delivery.') },
        },
      },
      '/v1/dead-letters/{id}/replay': {
        post: {
          summary: 'Put a dead letter back in the outbox (lead or admin)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: { 200: { description: 'Replayed.' }, 409: problemResponse('Not a dead letter.') },
        },
      },
      '/v1/dead-letters/replay': {
        post: {
          summary: 'Replay many dead letters: by ids, or by pipeline and destination (lead or admin)',
          requestBody: {
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    ids: { type: 'array', items: { type: 'integer' } },
                    pipeline: { type: 'string' },
                    destination: { type: 'string' },
                    limit: { type: 'integer' },
                  },
                },
              },
            },
          },
          responses: { 200: { description: 'The replayed deliveries.' } },
        },
      },
      '/v1/dead-letters/{id}/discard': {
        post: {
          summary: 'Give up on a dead letter, with a reason (lead or admin)',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { type: 'object', required: ['reason'], properties: { reason: { type: 'string' } } } },
            },
          },
          responses: { 200: { description: 'Discarded.' }, 400: problemResponse('No reason given.') },
        },
      },
      '/v1/review/cases/{id}/authority': {
        get: {
          summary:
            'The caller’s authority on a case: per action yes, no, or its limit (e.g. "amount ≤ 500"), and why each refused action is refused',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: {
            200: {
              description: '{ case_id, type, role, actions: { approve: "yes" | "no" | "amount ≤ 500", … }, refused: { action: reason } }',
            },
            404: problemResponse('No such case.'),
          },
        },
      },
      '/v1/pipelines/{pipeline}/thresholds/{version}/evidence': {
        get: {
          summary: 'The calibration evidence a routing version was made from: summary, hashes and the whole report (reliability bins)',
          parameters: [pipelineParam, { name: 'version', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: {
            200: { description: '{ pipeline, version, evidence: { id, kind, created_at, hashes, summary, report } }' },
            404: problemResponse('No such pipeline, version, or the version cites no evidence.'),
          },
        },
      },
      '/v1/destinations/activity': {
        get: {
          summary: 'Per destination and minute: deliveries made and 429 answers, over the last `minutes` (default 30, at most 1440)',
          parameters: [{ name: 'minutes', in: 'query', schema: { type: 'integer', default: 30, maximum: 1440 } }],
          responses: {
            200: { description: '{ minutes, from, destinations: [{ pipeline, destination, buckets: [{ at, delivered, throttled }] }] }' },
          },
        },
      },
      '/v1/review/cases/bulk': {
        post: {
          summary: 'One decision on many cases, each checked and applied on its own',
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['ids', 'action'],
                  properties: {
                    ids: { type: 'array', items: { type: 'integer' }, maxItems: 500 },
                    action: { type: 'string' },
                    label: { type: 'string' },
                    reason: { type: 'string' },
                  },
                },
              },
            },
          },
          responses: { 200: { description: '{ done, failed, results }' } },
        },
      },
      '/v1/review/cases': {
        get: {
          summary: 'Review cases',
          parameters: [
            { name: 'status', in: 'query', schema: { enum: ['open', 'resolved', 'all'], default: 'open' } },
            { name: 'pipeline', in: 'query', schema: { type: 'string' } },
            { name: 'type', in: 'query', schema: { type: 'string' } },
            { name: 'limit', in: 'query', schema: { type: 'integer', default: 100, maximum: 1000 } },
          ],
          responses: { 200: { description: 'OK' } },
        },
      },
      '/v1/review/cases/{id}': {
        get: {
          summary: 'One review case',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          responses: { 200: { description: 'OK' }, 404: problemResponse('No such case.') },
        },
      },
      '/v1/review/cases/{id}/decision': {
        post: {
          summary: 'Decide a case with a label; the record is decided and delivered',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    action: { enum: ['approve', 'relabel', 'reject', 'request_info', 'escalate'] },
                    label: { type: 'string' },
                    reason: { type: 'string' },
                  },
                },
              },
            },
          },
          responses: {
            200: {
              description: 'The decided record.',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Record' } } },
            },
            404: problemResponse('No such case.'),
            409: problemResponse('The case is already resolved, or is a quarantine case.'),
          },
        },
      },
    },
    components: {
      schemas: {
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details',
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            instance: { type: 'string' },
          },
        },
        IngestResult: {
          type: 'object',
          properties: {
            pipeline: { type: 'string' },
            accepted: { type: 'integer' },
            ids: { type: 'array', items: { type: 'string' } },
            records: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  index: { type: 'integer' },
                  id: { type: 'string' },
                  status: { type: 'string' },
                  existing: { type: 'boolean' },
                },
              },
            },
            refused: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  index: { type: 'integer' },
                  id: { type: 'string' },
                  code: { enum: ['CONFLICT', 'NOT_AN_OBJECT', 'BAD_ID'] },
                  message: { type: 'string' },
                },
              },
            },
          },
        },
        Record: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            pipeline: { type: 'string' },
            status: {
              enum: ['received', 'scoring', 'decided', 'halted', 'quarantined', 'in_review', 'delivered', 'dead_lettered', 'discarded'],
            },
            record: { type: 'object' },
            violations: { type: ['array', 'null'] },
            prediction: { type: ['object', 'null'] },
            decision: { type: ['object', 'null'] },
            deliveries: { type: 'array', items: { type: 'object' } },
            cases: { type: 'array', items: { type: 'object' } },
            events: {
              type: 'array',
              items: { type: 'object', properties: { at: { type: 'string' }, kind: { type: 'string' }, detail: { type: 'object' } } },
            },
          },
        },
      },
    },
  });
}

/**
 * Adds who may call each operation, from the server's own table (ROUTE_ACCESS): `security` (none for public routes)
 * and `x-airlock-roles` / `x-airlock-scope` (the token scope it needs).
 */
function withAccess<T extends { paths: Record<string, Record<string, Record<string, unknown>>>; components: object }>(
  config: AirlockConfig,
  doc: T,
): T {
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const rule = accessOf(method.toUpperCase(), p.replace(/\{(\w+)\}/g, ':$1'), { metricsPublic: config.server.metricsPublic });
      if (!rule || rule.public) op.security = [];
      else {
        op['x-airlock-roles'] = rule.roles;
        op['x-airlock-scope'] = rule.action;
      }
    }
  }
  Object.assign(doc.components, {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'An API token (airlock tokens create).' },
      session: {
        type: 'apiKey',
        in: 'cookie',
        name: 'airlock_session',
        description: 'From POST /v1/auth/login; writes also send X-CSRF-Token.',
      },
    },
  });
  return Object.assign(doc, { security: [{ bearer: [] }, { session: [] }] });
}
