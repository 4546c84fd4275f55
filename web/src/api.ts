/**
 * The console's only way to the server: the public HTTP API under /v1, with the session cookie the browser keeps
 * and the CSRF token that writes must send. A 401 anywhere means the session ended: the app returns to sign-in.
 */

export type Role = 'admin' | 'lead' | 'reviewer' | 'viewer' | 'ingest';

export interface Me {
  user: { name: string; role: Role };
  via: 'session' | 'token' | 'auth_off';
  csrf_token: string | null;
}

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

// ---- Shapes of the answers the console reads (from the server's OpenAPI document and route code) ----

export interface Pipeline {
  name: string;
  halted: boolean;
  auto_accept_at: number;
  destinations: string[];
  records: Record<string, number>;
  contract: { hash: string; source: string } | null;
}

export interface CaseReason {
  label?: string;
  confidence?: number;
  raw_confidence?: number;
  threshold?: number;
  reason?: string;
  rule?: unknown;
  [k: string]: unknown;
}

export type ReviewAction = 'approve' | 'relabel' | 'reject' | 'request_info' | 'escalate';

export interface ReviewCase {
  id: number;
  pipeline: string;
  record_id: string;
  type: string;
  owner: string | null;
  status: string;
  state: string;
  priority: string;
  reason: CaseReason | null;
  created_at: string;
  resolved_at: string | null;
  resolution: { label?: string; by?: string; note?: string } | null;
  held_by: string | null;
  lease_until: string | null;
  reviews_required: number;
  sla: { due_at: string | null; first_action_due_at: string | null; remaining_ms: number | null; paused: boolean; breached: boolean };
  allowed_actions?: ReviewAction[];
  actions?: { by: string; role: string; action: string; label: string | null; reason: string | null; at: string }[];
}

export interface Violation {
  kind: string;
  path: string;
  field: string;
  message: string;
}

export interface RecordView {
  id: string;
  pipeline: string;
  status: string;
  record: unknown;
  contract_version: number | null;
  violations: Violation[] | null;
  original_record: unknown;
  prediction: {
    label?: string;
    confidence?: number;
    calibrated_confidence?: number;
    routing_version?: number | null;
    probs?: Record<string, number>;
  } | null;
  decision: { label: string; source: string; by?: string } | null;
  deliveries: { destination: string; status: string; attempts: number; last_status: number | null; last_error: string | null }[];
  cases: { id: number; type: string; status: string }[];
  events: { at: string; kind: string; detail: unknown }[];
  created_at: string;
}
