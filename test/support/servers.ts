import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  key: string;
  recordId: string;
  body: { record: Record<string, unknown>; decision: { label: string; source: string } };
  at: number;
}

/**
 * A destination on loopback that behaves like a careful vendor API: it applies one effect per idempotency key
 * and remembers every request. `mode` switches its behaviour (down, failing with a status, slow).
 */
export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** Effects applied, by idempotency key (a repeated key is not applied twice). */
  applied: Map<string, ReceivedRequest>;
  /** How many requests each key received. */
  seen: Map<string, number>;
  mode: { status?: number; headers?: Record<string, string>; delayMs?: number; refuseConnections?: boolean };
  /** Per-record override: answer this status for these record ids. */
  statusFor: Map<string, number>;
  close(): Promise<void>;
  /** Stops listening (connections refused) and listens again on the same port. */
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (data += c));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    requests: [],
    applied: new Map(),
    seen: new Map(),
    mode: {},
    statusFor: new Map(),
    close: async () => {},
    goDown: async () => {},
    comeBack: async () => {},
  };
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const text = await readBody(req);
    if (r.mode.delayMs) await new Promise((x) => setTimeout(x, r.mode.delayMs));
    const key = String(req.headers['idempotency-key'] ?? '');
    const recordId = decodeURIComponent(String(req.headers['x-airlock-record-id'] ?? ''));
    const status = r.statusFor.get(recordId) ?? r.mode.status ?? 201;
    r.seen.set(key, (r.seen.get(key) ?? 0) + 1);
    if (status >= 200 && status < 300) {
      const entry = { key, recordId, body: JSON.parse(text), at: Date.now() };
      r.requests.push(entry);
      if (!r.applied.has(key)) r.applied.set(key, entry);
    }
    res.writeHead(status, { 'content-type': 'application/json', ...(r.mode.headers ?? {}) });
    res.end(JSON.stringify(status < 300 ? { ok: true } : { error: `status ${status}` }));
  };
  let server = createServer(handler);
  server.keepAliveTimeout = 1000;
  const port = await listen(server);
  r.url = `http://127.0.0.1:${port}/hook`;
  r.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  r.goDown = r.close;
  r.comeBack = async () => {
    server = createServer(handler);
    await listen(server, port);
  };
  return r;
}

/**
 * A model on loopback: answers `{label, confidence}` from a function of the record, or fails as told.
 * Counts calls per record id.
 */
export interface ModelServer {
  url: string;
  calls: Map<string, number>;
  answer: (record: Record<string, unknown>) => { status?: number; body?: unknown };
  close(): Promise<void>;
  goDown(): Promise<void>;
  comeBack(): Promise<void>;
}

export async function startModelServer(answer?: ModelServer['answer']): Promise<ModelServer> {
  const m: ModelServer = {
    url: '',
    calls: new Map(),
    answer:
      answer ??
      ((rec) => ({
        body: { label: String(rec.expected ?? 'ok'), confidence: typeof rec.confidence === 'number' ? rec.confidence : 0.99 },
      })),
    close: async () => {},
    goDown: async () => {},
    comeBack: async () => {},
  };
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const rec = JSON.parse(await readBody(req)) as Record<string, unknown>;
    const id = String(rec.id ?? '');
    m.calls.set(id, (m.calls.get(id) ?? 0) + 1);
    const out = m.answer(rec);
    res.writeHead(out.status ?? 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(out.body ?? {}));
  };
  let server = createServer(handler);
  const port = await listen(server);
  m.url = `http://127.0.0.1:${port}/predict`;
  m.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  m.goDown = m.close;
  m.comeBack = async () => {
    server = createServer(handler);
    await listen(server, port);
  };
  return m;
}

/** Polls `check` until it returns a truthy value or the time runs out. */
export async function waitFor<T>(check: () => Promise<T> | T, timeoutMs: number, what: string, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
