import { afterEach, describe, expect, test } from 'vitest';
import { parseRate } from '../config/units.js';
import { parseFaults, startVendorSimulator, type VendorSimulator } from './simulator.js';

let sim: VendorSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const post = (url: string, key: string) =>
  fetch(`${url}/api/v2/tickets.json`, {
    method: 'POST',
    headers: { 'idempotency-key': key, 'content-type': 'application/json' },
    body: '{}',
  });

describe('vendor simulator', () => {
  test('Zendesk: a fixed window, X-Rate-Limit headers, then 429 with Retry-After', async () => {
    sim = await startVendorSimulator({ preset: 'zendesk-team', limit: parseRate('3/min') });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post(sim.url, `k${i}`));
    expect(answers.map((r) => r.status)).toEqual([201, 201, 201, 429]);
    expect(answers[0].headers.get('x-rate-limit')).toBe('3');
    expect(answers[2].headers.get('x-rate-limit-remaining')).toBe('0');
    expect(Number(answers[3].headers.get('retry-after'))).toBeGreaterThan(50);
    const stats = sim.stats();
    expect(stats).toMatchObject({ requests: 4, accepted: 3, throttled_429: 1, unique_keys: 4, effects: 3 });
  });

  test('one effect per idempotency key; with idempotency off a repeat is a duplicate effect', async () => {
    sim = await startVendorSimulator({ preset: 'stripe-live' });
    await post(sim.url, 'a');
    const again = await post(sim.url, 'a');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(sim.stats()).toMatchObject({ effects: 1, replays: 1, duplicate_effects: 0 });
    await sim.close();
    sim = await startVendorSimulator({ preset: 'stripe-live', idempotency: false });
    await post(sim.url, 'a');
    await post(sim.url, 'a');
    expect(sim.stats()).toMatchObject({ duplicate_effects: 1 });
    expect(sim.effects.get('a')).toBe(2);
  });

  test('faults: 503 share, resets, and an outage window', async () => {
    sim = await startVendorSimulator({ preset: 'generic', faults: { error503: 1 } });
    expect((await post(sim.url, 'x')).status).toBe(503);
    sim.setFaults({ reset: 1 });
    await expect(post(sim.url, 'y')).rejects.toThrow();
    sim.setFaults({ outage: { startMs: 0, durationMs: 60_000 } });
    expect((await post(sim.url, 'z')).status).toBe(503);
    sim.setFaults({});
    const okRes = await post(sim.url, 'z');
    expect(okRes.status).toBe(201);
    expect(okRes.headers.get('ratelimit-policy')).toBe('"default";q=100;w=1');
    expect(sim.stats().faults).toMatchObject({ error503: 1, reset: 1, outage: 1 });
  });

  test('parseFaults reads the --faults list', () => {
    expect(parseFaults('503=0.3, 500=2%, reset=0.01,hang=0.02,latency=20ms,jitter=5ms,outage=10s+20s')).toEqual({
      error503: 0.3,
      error500: 0.02,
      reset: 0.01,
      hang: 0.02,
      latencyMs: 20,
      latencyJitterMs: 5,
      outage: { startMs: 10_000, durationMs: 20_000 },
    });
    expect(() => parseFaults('503=2')).toThrow(/share/);
    expect(() => parseFaults('teapot=1')).toThrow(/unknown fault/);
  });
});
