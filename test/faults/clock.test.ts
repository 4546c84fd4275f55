import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { Pacer } from '../../src/delivery/pacer.js';
import { type Airlock, createAirlock } from '../../src/pipeline/airlock.js';
import { newCase } from '../../src/review/cases.js';
import { claimNextCase, heartbeat } from '../../src/review/queue.js';
import { SlaStage } from '../../src/review/sla-stage.js';
import type { Clock } from '../../src/runtime/context.js';
import { createLogger } from '../../src/runtime/logger.js';
import { insertCases } from '../../src/store/cases.js';
import { openStore } from '../../src/store/db.js';
import { backends, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { type Receiver, startReceiver } from '../support/servers.js';

/**
 * Time budget: 1 minute (about 15 s on 2 idle cores).
 *
 * SLA and escalation timers, review leases and rate-limit windows read the clock the runtime is given; here the test
 * holds it and makes it jump. A jump ahead fires each escalation that came due exactly once, even with two SLA stages
 * (two runtimes, two connections) on one database at the same moment; a jump back fires nothing again; a lease held
 * across a jump back is neither stranded nor held twice; and a rate limit neither bursts nor stalls after either jump.
 */

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const CASES = 20;

describe.each(backends)('a clock the test controls, on %s', (backend) => {
  let db: TestDatabase;
  let hook: Receiver;
  const processes: Airlock[] = [];
  // Monday 30 November 2026, 09:00 UTC.
  const t0 = Date.UTC(2026, 10, 30, 9);
  const clock: Clock & { t: number } = { t: t0, now: () => clock.t };

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    hook = await startReceiver();
    const config = parseConfig(`database: ${db.url}
logging: { level: silent }
teams:
  support: { members: [ana, li, bo] }
  leads: { members: [dana] }
pipelines:
  tickets:
    model: { type: http, url: "http://127.0.0.1:9/never" }
    review:
      case_types:
        low_confidence:
          owner: support
          backup: leads
          sla: { first_action: 1h, resolution: 4h }
          escalation:
            levels:
              - { after: 30m, notify: ["webhook:${hook.url}"] }
              - { after: 2h, notify: [backup, "webhook:${hook.url}"] }
            repeat: 1
        policy_review: { owner: support, sla: 1d }
`);
    // Two runtimes on one database, each with its own connection(s): two servers' SLA stages.
    for (let i = 0; i < 2; i++)
      processes.push(
        await createAirlock(config, { clock, logger: createLogger('silent'), store: openStore(config.database, { poolSize: 8 }) }),
      );
    await insertCases(
      processes[0].runtime.store.db,
      Array.from({ length: CASES }, (_, i) => newCase(config.pipelines.tickets, `r-${i}`, 'low_confidence', {}, t0)),
    );
  });

  afterAll(async () => {
    for (const p of processes) {
      await p.close();
      await p.runtime.store.close();
    }
    await hook?.close();
    await db?.drop();
  });

  /** Both runtimes' SLA stages run at the same moment, three times over (each a fresh stage, as after a restart). */
  async function rounds() {
    for (let k = 0; k < 3; k++) await Promise.all(processes.map((p) => new SlaStage(p.runtime).runOnce()));
  }
  const escalationsSent = () =>
    hook.requests
      .map((r) => r.body as unknown as { event: string; case_id: number; repeat?: number; level?: number })
      .filter((b) => b.event === 'escalation')
      .map((b) => `${b.case_id}/${b.repeat}:${b.level}`);
  const firedRows = async () =>
    (
      await processes[1].runtime.store.db
        .selectFrom('case_escalations')
        .select(['case_id', 'repeat', 'level'])
        .orderBy('case_id')
        .orderBy('repeat')
        .orderBy('level')
        .execute()
    ).map((r) => `${r.case_id}/${r.repeat}:${r.level}`);
  const eventKinds = async () =>
    Object.fromEntries(
      (
        await processes[0].runtime.store.db
          .selectFrom('events')
          .select(['kind', (eb) => eb.fn.countAll<number>().as('n')])
          .where('kind', 'in', ['case_escalated', 'sla_breached'])
          .groupBy('kind')
          .execute()
      ).map((r) => [r.kind, Number(r.n)]),
    );

  it('a jump of three days ahead fires every due step once from two SLA stages; jumping back fires nothing again', async () => {
    clock.t = t0 + 10 * MIN;
    await rounds();
    expect(escalationsSent()).toEqual([]);
    clock.t = t0 + 3 * DAY;
    await rounds();
    // Levels at 30 min and 2 h, the chain once more (period 3 h 30 min): four escalations per case; two breaches.
    const sent = escalationsSent();
    expect(sent.length).toBe(CASES * 4);
    expect(new Set(sent).size).toBe(sent.length);
    const rows = await firedRows();
    expect(rows.length).toBe(CASES * 6);
    expect(new Set(rows).size).toBe(rows.length);
    expect(await eventKinds()).toEqual({ case_escalated: CASES * 4, sla_breached: CASES * 2 });

    // Back to 20 minutes after the cases opened, then forward to three days again: nothing fires a second time.
    clock.t = t0 + 20 * MIN;
    await rounds();
    clock.t = t0 + 45 * MIN;
    await rounds();
    clock.t = t0 + 3 * DAY + 5 * MIN;
    await rounds();
    expect(escalationsSent().length).toBe(CASES * 4);
    expect((await firedRows()).length).toBe(CASES * 6);
    expect(await eventKinds()).toEqual({ case_escalated: CASES * 4, sla_breached: CASES * 2 });
    console.info(
      `[clock ${backend}] ${CASES} cases, 2 SLA stages, clock +3 d, −3 d, +3 d: ${sent.length} escalations and ` +
        `${CASES * 2} breaches fired, ${escalationsSent().length - sent.length} fired twice`,
    );
  });

  it('a lease held when the clock jumps back three days expires one lease later, and exactly one reviewer takes the case', async () => {
    const config = processes[0].runtime.config;
    const now0 = clock.t;
    await insertCases(processes[0].runtime.store.db, [newCase(config.pipelines.tickets, 'lease-1', 'policy_review', {}, now0)]);
    const bo = { name: 'bo', role: 'reviewer' as const };
    const held = await claimNextCase(processes[0].runtime, bo, { type: 'policy_review' });
    expect(held?.record_id).toBe('lease-1');

    clock.t = now0 - 3 * DAY;
    await rounds();
    // Right after the jump the lease still holds: nobody else gets the case, on either runtime.
    for (const p of processes) expect(await claimNextCase(p.runtime, { name: 'dana', role: 'lead' }, { type: 'policy_review' })).toBeNull();
    // The holder's page stops sending heartbeats; one lease (5 min) later the case is back in the queue, not 3 days later.
    clock.t += 5 * MIN + 1_000;
    await rounds();
    // Six reviewers on the two runtimes ask at the same moment.
    const claimers = ['ana', 'li', 'dana', 'eve', 'finn', 'gus'].map((name) => ({ name, role: 'lead' as const }));
    const results = await Promise.all(claimers.map((c, i) => claimNextCase(processes[i % 2].runtime, c, { type: 'policy_review' })));
    const winners = results.filter((r) => r !== null);
    expect(winners.length).toBe(1);
    expect(winners[0]?.id).toBe(held?.id);
    // The first holder cannot heartbeat it back.
    await expect(heartbeat(processes[0].runtime, Number(held?.id), bo)).rejects.toThrow(/held by/);
  });
});

describe('rate-limit windows across clock jumps', () => {
  it('after a jump ahead or back the pace stays within the limit and does not stall', { timeout: 30_000 }, async () => {
    const config = parseConfig(`
pipelines:
  p:
    model: { type: http, url: "http://127.0.0.1:9/never" }
    destinations:
      d: { type: webhook, url: "http://127.0.0.1:9/hook", rate_limit: 20/s }
`);
    const dest = config.pipelines.p.destinations.d;
    let offset = 0;
    const now = () => Date.now() + offset;
    const pacer = new Pacer(dest, now);
    const sends: { at: number; phase: number }[] = [];
    let phase = 0;
    let stop = false;
    const sender = (async () => {
      while (!stop) if (await pacer.acquire(3_000, () => stop)) sends.push({ at: Date.now(), phase });
    })();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // Phases of 1.5 s: as is; +3 days; back 3 days (to now) with a Retry-After of 1 s just received; back 3 more days.
    await sleep(1_500);
    phase = 1;
    offset += 3 * DAY;
    await sleep(1_500);
    pacer.onResult({ retryAfterMs: 1_000 }, { kind: 'retry', reason: '429', throttled: true });
    phase = 2;
    offset -= 3 * DAY;
    await sleep(1_500);
    phase = 3;
    offset -= 3 * DAY;
    await sleep(1_500);
    stop = true;
    await sender;

    // At 20/s with a burst of 4, no window of one second (real time) holds more than 24 sends.
    let most = 0;
    for (let i = 0, j = 0; i < sends.length; i++) {
      while (sends[i].at - sends[j].at >= 1_000) j++;
      most = Math.max(most, i - j + 1);
    }
    expect(most).toBeLessThanOrEqual(24);
    // No stall: every phase sends, and the longest gap is the 1 s Retry-After (plus scheduling), not the jump.
    for (const p of [0, 1, 2, 3]) expect(sends.filter((s) => s.phase === p).length, `phase ${p}`).toBeGreaterThan(5);
    const gaps = sends.slice(1).map((s, i) => s.at - sends[i].at);
    expect(Math.max(...gaps)).toBeLessThan(1_600);
    console.info(
      `[clock rate-limit] 20/s across +3 d, −3 d, −3 d: ${sends.length} sends in 6 s; most in any second ${most}; ` +
        `longest gap ${Math.max(...gaps)} ms (a 1 s Retry-After at the back jump)`,
    );
  });
});
