import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpModelConfig } from '../config/sections/model-http.js';
import { ModelCallError } from './adapter.js';
import { HttpModelAdapter } from './http.js';

/** A loopback model server: `answer` decides each response; counts requests and the most in flight at once. */
async function modelServer(answer: (n: number) => { status: number; body?: unknown; delayMs?: number }) {
  const stats = { requests: 0, inFlight: 0, maxInFlight: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const n = ++stats.requests;
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      const a = answer(n);
      setTimeout(() => {
        stats.inFlight--;
        res.writeHead(a.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(a.body ?? { error: 'down' }));
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/predict`;
  return { url, stats, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const config = (url: string, over: Partial<HttpModelConfig> = {}): HttpModelConfig => ({
  type: 'http',
  url,
  timeoutMs: 2000,
  retries: 0,
  concurrency: 8,
  headers: {},
  breaker: { failureRate: 0.5, minimumCalls: 4, windowMs: 30_000, openMs: 15_000, halfOpenProbes: 1 },
  ...over,
});

describe('the http model adapter', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('opens its circuit after repeated failures, fails fast without calling the model, and closes after a good probe', async () => {
    let healthy = false;
    const s = await modelServer(() => (healthy ? { status: 200, body: { label: 'spam', confidence: 0.9 } } : { status: 503 }));
    close = s.close;
    let now = 1_000_000;
    const model = new HttpModelAdapter(config(s.url), () => now);
    for (let i = 0; i < 4; i++) await expect(model.predict({ i })).rejects.toThrow('model answered 503');
    expect(model.circuit).toEqual({ state: 'open', openings: 1 });
    const fast = await model.predict({ i: 5 }).catch((e: ModelCallError) => e);
    expect(fast).toBeInstanceOf(ModelCallError);
    expect((fast as ModelCallError).kind).toBe('unavailable');
    expect((fast as ModelCallError).message).toContain('circuit open');
    expect(s.stats.requests).toBe(4);

    now += 15_000;
    healthy = true;
    expect(model.circuit.state).toBe('half_open');
    await expect(model.predict({ i: 6 })).resolves.toMatchObject({ label: 'spam', confidence: 0.9 });
    expect(model.circuit.state).toBe('closed');
    expect(s.stats.requests).toBe(5);
  });

  it('does not count throttling (429) or a refused record (4xx) as the model failing', async () => {
    const s = await modelServer((n) => (n % 2 ? { status: 429 } : { status: 422, body: { error: 'bad record' } }));
    close = s.close;
    const model = new HttpModelAdapter(config(s.url));
    for (let i = 0; i < 8; i++) await expect(model.predict({ i })).rejects.toBeInstanceOf(ModelCallError);
    expect(model.circuit.state).toBe('closed');
    expect(s.stats.requests).toBe(8);
  });

  it('keeps at most `concurrency` calls in flight', async () => {
    const s = await modelServer(() => ({ status: 200, body: { label: 'a', confidence: 0.7 }, delayMs: 30 }));
    close = s.close;
    const model = new HttpModelAdapter(config(s.url, { concurrency: 3 }));
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => model.predict({ i })));
    expect(results).toHaveLength(20);
    expect(s.stats.requests).toBe(20);
    expect(s.stats.maxInFlight).toBe(3);
  });
});
