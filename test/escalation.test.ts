import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { type Airlock, createAirlock } from '../src/pipeline/airlock.js';
import { newCase } from '../src/review/cases.js';
import { SlaStage } from '../src/review/sla-stage.js';
import type { Clock } from '../src/runtime/context.js';
import { createLogger } from '../src/runtime/logger.js';
import { insertCases } from '../src/store/cases.js';
import { openStore, type Store } from '../src/store/db.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { type Receiver, startReceiver } from './support/servers.js';

const MIN = 60_000;

describe.each(backends)('SLA breaches and escalation on %s: each step fires once, whatever the processes and the clock', (backend) => {
  let db: TestDatabase;
  let hook: Receiver;
  let alerts: Receiver;
  const processes: Airlock[] = [];
  let shared: Store | undefined;
  // Monday 30 November 2026, 09:00 UTC.
  const t0 = Date.UTC(2026, 10, 30, 9);
  const clock: Clock & { t: number } = { t: t0, now: () => clock.t };

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    hook = await startReceiver();
    alerts = await startReceiver();
    const yaml = `database: ${db.url}
logging: { level: silent }
alerts: [{ type: webhook, url: "${alerts.url}", format: json }]
teams:
  support:
    members: [ana, li]
    on_call: { rotation: [ana, li], shift: 1d, starts: "2026-11-30T00:00:00Z" }
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
              - { after: 30m, notify: ["oncall:support", "webhook:${hook.url}"] }
              - { after: 2h, notify: [backup, "webhook:${hook.url}"] }
            repeat: 1
            on_breach: escalate
`;
    const config = parseConfig(yaml);
    // Two processes: on PostgreSQL each has its own pool. On SQLite two "processes" in one Node process share one
    // connection: better-sqlite3 waits for a lock synchronously, so a second connection in the same process would
    // block the one holding it (real processes beside each other are test/faults/sqlite-busy.test.ts).
    shared = backend === 'sqlite' ? openStore(config.database) : undefined;
    for (let i = 0; i < 2; i++) processes.push(await createAirlock(config, { clock, logger: createLogger('silent'), store: shared }));
    await insertCases(processes[0].runtime.store.db, [newCase(config.pipelines.tickets, 'r-1', 'low_confidence', {}, t0)]);
  });

  afterAll(async () => {
    for (const p of processes) await p.close();
    await shared?.close();
    await Promise.all([hook?.close(), alerts?.close()]);
    await db?.drop();
  });

  /** Both processes look at the clock at the same moment, twice. */
  async function round() {
    for (let k = 0; k < 2; k++) await Promise.all(processes.map((p) => new SlaStage(p.runtime).runOnce()));
  }
  const webhookSteps = () =>
    hook.requests.map((r) => {
      const b = r.body as unknown as { event: string; repeat?: number; level?: number; kind?: string };
      return b.event === 'escalation' ? `escalation ${b.repeat}:${b.level}` : `breach ${b.kind}`;
    });

  it('fires level 1 at 30 minutes to the on-call person, once, from one of two processes', async () => {
    clock.t = t0 + 29 * MIN;
    await round();
    expect(webhookSteps()).toEqual([]);
    clock.t = t0 + 31 * MIN;
    await round();
    expect(webhookSteps()).toEqual(['escalation 0:1']);
    const alert = alerts.requests.find((r) => String((r.body as unknown as { title: string }).title).includes('escalated'));
    // Monday's shift is ana's (rotation from 30 November).
    expect(alert).toBeDefined();
    expect((alert as (typeof alerts.requests)[number]).body as unknown as { fields: { notified: string } }).toMatchObject({
      fields: { notified: expect.stringContaining('user ana') },
    });
  });

  it('a missed first action breaches once and, with on_breach escalate, moves the case to the backup team', async () => {
    clock.t = t0 + 61 * MIN;
    await round();
    expect(webhookSteps()).toEqual(['escalation 0:1']);
    const breach = alerts.requests.filter((r) => String((r.body as unknown as { title: string }).title).startsWith('SLA breached'));
    expect(breach).toHaveLength(1);
    expect((breach[0].body as unknown as { severity: string }).severity).toBe('critical');
    const c = await processes[0].runtime.store.db.selectFrom('review_cases').selectAll().executeTakeFirstOrThrow();
    expect(c.owner).toBe('leads');
    expect(c.breached_at).toBe(t0 + 61 * MIN);
  });

  it('a clock that jumps ahead fires every step that came due, each once; jumping back fires nothing again', async () => {
    clock.t = t0 + 10 * 60 * MIN;
    await round();
    clock.t = t0 + 90 * MIN;
    await round();
    clock.t = t0 + 10 * 60 * MIN;
    await round();
    // Levels at 30 min and 2 h, the chain once more after it (period 3 h 30 min): 0:1, 0:2, 1:1, 1:2. Steps that
    // came due in one round are sent at once, so they may arrive in either order: each once is the promise.
    expect(
      webhookSteps()
        .filter((s) => s.startsWith('escalation'))
        .sort(),
    ).toEqual(['escalation 0:1', 'escalation 0:2', 'escalation 1:1', 'escalation 1:2']);
    const rows = await processes[1].runtime.store.db
      .selectFrom('case_escalations')
      .select(['repeat', 'level'])
      .orderBy('repeat')
      .orderBy('level')
      .execute();
    expect(rows.map((r) => `${r.repeat}:${r.level}`)).toEqual(['-1:0', '-1:1', '0:0', '0:1', '1:0', '1:1']);
  });
});
