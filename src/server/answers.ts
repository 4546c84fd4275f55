/**
 * The answers a route declares in its schema: a schema for each success and the problems (RFC 9457) it can give. The
 * problems every route shares — the guard's 401 and 403, a request that fails its schema, the database not
 * answering — are added to each route by `addSharedAnswers`, so a route lists only its own.
 */
import { type TSchema, Type } from '@sinclair/typebox';
import type { RouteOptions } from 'fastify';
import { TITLES } from './problem.js';
import { Problem } from './schemas/common.js';

/** The schemas answers refer to by `$id` (registered once with the app, listed once in the OpenAPI document). */
export const SHARED_SCHEMAS = [Problem];

/** A success answer: the schema, with what the answer means. */
export function ok<T extends TSchema>(schema: T, description: string): T {
  return { ...schema, description };
}

/** A problem answer (application/problem+json) and when it happens. */
export function problemAnswer(description: string) {
  return { description, content: { 'application/problem+json': { schema: Type.Ref(Problem) } } } as const;
}

/** The problems a route can give, by status, each with when it happens. */
export function problems<S extends number>(answers: Record<S, string>): Record<S, ReturnType<typeof problemAnswer>> {
  const out = {} as Record<S, ReturnType<typeof problemAnswer>>;
  for (const [status, description] of Object.entries(answers) as [string, string][]) out[Number(status) as S] = problemAnswer(description);
  return out;
}

const hasRequestSchema = (s: RouteOptions['schema']) => s?.params !== undefined || s?.querystring !== undefined || s?.body !== undefined;

/** Adds the problems every route of its kind can give to a route's declared answers (its own descriptions win). */
export function addSharedAnswers(r: RouteOptions): void {
  const schema = r.schema as (RouteOptions['schema'] & { hide?: boolean; response?: Record<string, unknown> }) | undefined;
  if (!schema || schema.hide || !schema.response) return;
  const add = (status: number, description: string) => {
    if (!(status in (schema.response as object))) (schema.response as Record<string, unknown>)[status] = problemAnswer(description);
  };
  const access = r.config?.access;
  const body = r.method === 'POST' || r.method === 'PATCH';
  if (hasRequestSchema(schema) || body) {
    add(400, `${TITLES[400]}: a parameter or the body is not what the route takes (the detail names the field and what was expected).`);
  }
  if (body) {
    add(413, `${TITLES[413]}: the body is larger than server.body_limit.`);
    add(415, `${TITLES[415]}: the body is not application/json (or NDJSON where the route takes it).`);
  }
  if (access && !access.public) {
    add(401, `${TITLES[401]}: no valid session cookie or bearer token (or the session expired).`);
    add(403, `${TITLES[403]}: the caller's role or token scope does not allow this (or a session's write lacks X-CSRF-Token).`);
  }
  if (r.url.startsWith('/v1/')) add(503, `${TITLES[503]}: the database is not answering; retry after Retry-After.`);
}
