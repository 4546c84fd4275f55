import type { FastifyReply } from 'fastify';
import { AirlockError } from '../errors.js';

/** RFC 9457 problem details (its schema: src/server/schemas/common.ts). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  [extra: string]: unknown;
}

/** The title of each status the API answers with a problem (RFC 9110 §15). */
export const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function problem(status: number, code: string, detail: string, extra: Record<string, unknown> = {}): Problem {
  return {
    type: `https://airlock.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    ...extra,
  };
}

export function sendProblem(reply: FastifyReply, p: Problem, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(p.status).headers(headers).type('application/problem+json').send(p);
}

/** True when the error means the database cannot be reached right now (worth a 503 and a retry). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  const code = e?.code ?? '';
  if (
    [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'SQLITE_BUSY',
      'SQLITE_LOCKED',
      '57P01',
      '57P02',
      '57P03',
      '08000',
      '08003',
      '08006',
      '08001',
      '08004',
    ].includes(code)
  ) {
    return true;
  }
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|database is locked/i.test(
    e?.message ?? '',
  );
}

/** Maps any error to a problem; never exposes a stack trace. */
export function toProblem(err: unknown): { problem: Problem; headers: Record<string, string> } {
  if (err instanceof AirlockError) {
    const extra =
      err.details && typeof err.details === 'object' && !Array.isArray(err.details)
        ? (err.details as Record<string, unknown>)
        : err.details
          ? { details: err.details }
          : {};
    const headers: Record<string, string> = { ...(err.httpStatus === 503 ? { 'retry-after': '5' } : {}), ...(err.headers ?? {}) };
    if (err.code === 'UNAUTHORIZED') headers['www-authenticate'] = 'Bearer realm="airlock"';
    return { problem: problem(err.httpStatus, err.code, err.message, extra), headers };
  }
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (isDatabaseUnavailable(err)) {
    return { problem: problem(503, 'DATABASE_UNAVAILABLE', 'the database is not answering; retry later'), headers: { 'retry-after': '5' } };
  }
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      problem: problem(413, 'PAYLOAD_TOO_LARGE', 'the request body is larger than the server accepts (server.body_limit)'),
      headers: {},
    };
  }
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return {
      problem: problem(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'send application/json (one object or an array) or application/x-ndjson (one object per line)',
      ),
      headers: {},
    };
  }
  if (e?.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || e?.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
    return { problem: problem(400, 'BAD_REQUEST', e.message ?? 'the request body is empty'), headers: {} };
  }
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return { problem: problem(e.statusCode, e.code ?? 'BAD_REQUEST', e.message ?? 'bad request'), headers: {} };
  }
  return { problem: problem(500, 'INTERNAL', 'an internal error occurred; it has been logged'), headers: {} };
}
