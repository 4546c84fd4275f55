import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { idempotencyKey } from '../src/delivery/outbox.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { countRecordsByStatus } from '../src/store/records.js';
import { type Backend, backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from './support/servers.js';

/**
 * A 60-second outage of both the model and the destination while records keep arriving: records wait and are
 * acknowledged, nobody gets review cases or dead letters for the outage, and everything completes once both
 * are back. Both backends run at the same time to keep the wall time near one outage.
 */

const PIPELINE = 'claims';
const DESTINATION = 'ledger';
const OUTAGE_MS = 60_000;
/** After both are back: scoring resumes within its longest pause (30 s) and the backlog drains. */
const RECOVERY_MS = 40_000;

function configYaml(modelUrl: string, receiverUrl: string): string {
  return `
server: { auth: off }
worker: { poll_interval: 20ms, lease: 3s }
logging: { level: error }
pipelines:
  ${PIPELINE}:
    model: { type: http, url: "${modelUrl}", timeout: 2s }
    routing: { auto_accept_at: 0.5 }
    destinations:
      ${DESTINATION}:
        type: webhook
        url: "${receiverUrl}"
        rate_limit: 2000/s
        timeout: 2s
        retry: { base: 100ms, cap: 5s, max_attempts: 1000 }
`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function outageScenario(backend: Backend): Promise<void> {
  let database: TestDatabase | undefined;
  let model: ModelServer | undefined;
  let receiver: Receiver | undefined;
  let server: AirlockServer | undefined;
  let feeding = true;
  try {
    database = await createTestDatabase(backend);
    model = await startModelServer();
    receiver = await startReceiver();
    // Errors the process logs (a failing stage, a failed request) are collected: an outage must cause none.
    const errorLogs: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        errorLogs.push(String(chunk).trim());
        done();
      },
    });
    const config = parseConfig(configYaml(model.url, receiver.url), { database: database.url });
    server = await createServer(config, { logger: createLogger('error', sink) });
    const url = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
    const { db } = server.airlock.runtime.store;
    const m = model;
    const r = receiver;

    // The feeder: 100 records/s before the outage, 5/s during it; every POST must be acknowledged at once.
    const acknowledged: string[] = [];
    const refusedPosts: string[] = [];
    let interval = 100;
    let n = 0;
    const feeder = (async () => {
      while (feeding) {
        const batch = Array.from({ length: interval === 100 ? 10 : 5 }, () => ({
          id: `c-${String(n++).padStart(5, '0')}`,
          amount: n,
          confidence: 0.95,
        }));
        try {
          const res = await fetch(`${url}/v1/pipelines/${PIPELINE}/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-ndjson' },
            body: batch.map((b) => JSON.stringify(b)).join('\n'),
            signal: AbortSignal.timeout(5_000),
          });
          const body = (await res.json()) as { ids?: string[] };
          if (res.status === 202) acknowledged.push(...(body.ids ?? []));
          else refusedPosts.push(`status ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
        } catch (err) {
          refusedPosts.push((err as Error).message);
        }
        await sleep(interval);
      }
    })();

    const statusCounts = async () =>
      Object.fromEntries((await countRecordsByStatus(db)).map((c) => [c.status, c.n])) as Record<string, number>;
    const openCases = async () => db.selectFrom('review_cases').select(['record_id', 'type']).execute();

    // Steady traffic with both up; then the destination goes down, decided records pile up; then the model.
    await sleep(3_000);
    await r.goDown();
    await sleep(1_500);
    await m.goDown();
    interval = 1_000;
    const outageStarted = Date.now();

    // During the outage: only waiting states, no cases, no dead letters; sampled every second.
    const seenDuringOutage = new Set<string>();
    const problems: string[] = [];
    while (Date.now() - outageStarted < OUTAGE_MS) {
      const counts = await statusCounts();
      for (const [st, k] of Object.entries(counts)) {
        if (k > 0) seenDuringOutage.add(st);
        if (!['received', 'scoring', 'decided', 'delivered'].includes(st) && k > 0) problems.push(`${st}: ${k}`);
      }
      const cases = await openCases();
      if (cases.length > 0)
        problems.push(
          `review cases: ${cases
            .map((c) => `${c.record_id}:${c.type}`)
            .slice(0, 5)
            .join(', ')}`,
        );
      await sleep(1_000);
    }
    expect(problems.slice(0, 10), `[${backend}] outage made records leave the waiting states`).toEqual([]);
    expect(errorLogs.slice(0, 5), `[${backend}] errors logged during the outage`).toEqual([]);

    // At the end of the outage records wait: new ones received (not scored), decided ones with retries scheduled.
    const atEnd = await statusCounts();
    const delivering = await db.selectFrom('deliveries').select(['status', 'attempts']).execute();
    const deliveredBeforeBack = r.applied.size;
    expect(atEnd.received ?? 0).toBeGreaterThan(0);
    expect(atEnd.decided ?? 0).toBeGreaterThan(0);
    expect(delivering.filter((d) => d.status === 'dead_lettered')).toEqual([]);
    // Tried and waiting with a retry scheduled (the circuit breaker stops further attempts while the destination is down).
    expect(delivering.filter((d) => d.status === 'pending' && d.attempts >= 1).length).toBeGreaterThan(0);
    expect(refusedPosts, `[${backend}] ingest must keep acknowledging during the outage`).toEqual([]);

    let firstCallAfterBack = 0;
    const answer = m.answer;
    m.answer = (rec) => {
      firstCallAfterBack ||= Date.now();
      return answer(rec);
    };
    await Promise.all([m.comeBack(), r.comeBack()]);
    const backAt = Date.now();
    feeding = false;
    await feeder;
    expect(refusedPosts).toEqual([]);
    const total = acknowledged.length;
    expect(total).toBe(n);

    await waitFor(
      async () => ((await statusCounts()).delivered ?? 0) === total,
      RECOVERY_MS,
      `[${backend}] all ${total} records delivered after the outage`,
      250,
    );
    const recoverySeconds = (Date.now() - backAt) / 1000;

    // Everything delivered once, nothing became people's work, nothing dead-lettered, no stage failed.
    expect(errorLogs.slice(0, 5), `[${backend}] errors logged`).toEqual([]);
    expect(await statusCounts()).toEqual({ delivered: total });
    expect(await openCases()).toEqual([]);
    const deliveries = await db.selectFrom('deliveries').select(['record_id', 'status', 'attempts']).execute();
    expect(deliveries.length).toBe(total);
    expect(deliveries.filter((d) => d.status !== 'delivered')).toEqual([]);
    expect(new Set(r.applied.keys())).toEqual(new Set(acknowledged.map((id) => idempotencyKey(PIPELINE, id, DESTINATION))));
    for (const id of acknowledged) expect(m.calls.get(id) ?? 0, id).toBeGreaterThan(0);

    console.info(
      `[outage ${backend}] ${total} records; states during the outage: ${[...seenDuringOutage].sort().join(', ')}; ` +
        `${deliveredBeforeBack} delivered before the outage; scoring resumed ${((firstCallAfterBack - backAt) / 1000).toFixed(1)} s and ` +
        `all were delivered ${recoverySeconds.toFixed(1)} s after both came back; ` +
        `most attempts of one delivery: ${Math.max(...deliveries.map((d) => d.attempts))}`,
    );
  } finally {
    feeding = false;
    await server?.close().catch(() => {});
    await model?.close().catch(() => {});
    await receiver?.close().catch(() => {});
    await database?.drop();
  }
}

describe.concurrent('a 60-second outage of the model and the destination', () => {
  for (const backend of backends) {
    it(`makes records wait, not fail, and they all complete afterwards (${backend})`, { timeout: 150_000 }, async () => {
      await outageScenario(backend);
    });
  }
});
