/**
 * The console's only way to the server: the public HTTP API under /v1, with the session cookie the browser keeps
 * and the CSRF token that writes must send. A 401 anywhere means the session ended: the app returns to sign-in.
 */

// The shapes of the answers are the server's own schemas (src/server/schemas/): types only, nothing of the server
// is bundled (docs/design.md: web/ imports shared API types from src/, type-only).
export type { Capabilities, Me, Role } from '../../src/server/schemas/accounts.js';
export type { Violation } from '../../src/server/schemas/common.js';
export type { Pipeline, RecordView } from '../../src/server/schemas/records.js';
export type {
  Authority,
  CaseDetail,
  CaseReason,
  DecidedRecord,
  NextCase,
  ReviewAction,
  ReviewCase,
} from '../../src/server/schemas/review.js';

/** An RFC 9457 problem answered by the server (or a network failure), with the body when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown = null,
  ) {
    super(message);
  }
  /** The route does not exist on this server (as opposed to a missing record on an existing route). */
  get routeMissing(): boolean {
    return this.status === 404 && /^no route /.test(this.message);
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (message: string) => void = () => {};

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function setUnauthorizedHandler(fn: (message: string) => void): void {
  onUnauthorized = fn;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the server did not answer; check that airlock serve is running');
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const p = (data && typeof data === 'object' ? data : {}) as { detail?: string; title?: string; code?: string };
    const message = p.detail ?? p.title ?? `the server answered ${res.status}`;
    if (res.status === 401 && path !== '/v1/auth/login' && path !== '/v1/auth/me') onUnauthorized(message);
    throw new ApiError(res.status, p.code ?? String(res.status), message, data);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
};

/** Builds a query string from the values that are set. */
export function query(params: Record<string, string | number | undefined | null | false>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
