import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { ReviewDoor, RouteAccess } from './access.js';
import { SESSION_COOKIE } from './auth.js';

/** The groups of operations in the document. */
const TAGS = [
  { name: 'records', description: 'Pipelines and their records: ingest, the canonical view of a record.' },
  { name: 'review', description: 'The review queue: cases, leases, decisions, authority, the figures of the queue.' },
  { name: 'quarantine', description: 'Records that broke the contract: inspect, edit and release, discard.' },
  { name: 'contracts', description: 'Contract versions and schema-change halts.' },
  { name: 'routing', description: 'Routing versions (calibrator and threshold), their evidence, and the feedback loop.' },
  { name: 'delivery', description: 'Destinations, their limits and activity, dead letters.' },
  { name: 'drift', description: 'Drift of the latest window against the reference profile.' },
  { name: 'readiness', description: 'The production-readiness report.' },
  { name: 'auth', description: 'Signing in and out, who am I.' },
  { name: 'admin', description: 'Users and API tokens.' },
  { name: 'system', description: 'Probes, metrics and this document.' },
];

/**
 * Registers @fastify/swagger: the OpenAPI 3.1 document is generated from the routes themselves (their schemas,
 * summaries, operation ids and tags), and each operation shows its access rule: `x-airlock-access` (roles, token
 * scope, whether a token scoped to some pipelines may call it; or why anyone may), `x-airlock-roles` and
 * `x-airlock-scope`, and `security: []` when anyone may call it.
 * Must be registered before the routes.
 */
export async function registerApiDocument(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Airlock', version: '0.1.0', description: 'The production layer around an AI model.' },
      servers: [{ url: '/' }],
      tags: TAGS,
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API token (airlock tokens create).' },
          session: {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description: 'From POST /v1/auth/login; writes also send X-CSRF-Token.',
          },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    // Shared schemas (registered with their `$id`) are listed under components.schemas by that name.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const rule = route.config?.access as RouteAccess | undefined;
      if (!schema || !rule) return { schema, url };
      const base = schema as Record<string, unknown>;
      const access = rule.public
        ? { security: [], 'x-airlock-access': { public: true, why: rule.why } }
        : {
            'x-airlock-access': { roles: rule.roles, scope: rule.action, any_pipeline: rule.anyPipeline === true },
            'x-airlock-roles': rule.roles,
            'x-airlock-scope': rule.action,
          };
      const review = route.config?.review as ReviewDoor | null | undefined;
      const door = review ? { 'x-airlock-review': { case: review.case, act: review.act, edits: review.edits === true } } : {};
      return { schema: { ...base, ...access, ...door } as typeof schema, url };
    },
  });
}
