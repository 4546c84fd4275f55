import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { type Airlock, createAirlock } from '../src/pipeline/airlock.js';
import { claimNextCase, heartbeat, releaseClaim } from '../src/review/queue.js';
import type { Clock } from '../src/runtime/context.js';
import { createLogger } from '../src/runtime/logger.js';
import { insertCases, type NewReviewCase } from '../src/store/cases.js';
import { openStore } from '../src/store/db.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';

describe.each(backends)('the review queue on %s: claims, leases, order, scope', (backend) => {
  let db: TestDatabase;
  let airlock: Airlock;
  const clock: Clock & { t: number } = { t: Date.UTC(2026, 10, 30, 9), now: () => clock.t };

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    const config = parseConfig(
      `database: ${db.url}
logging: { level: silent }
teams:
  support: { members: [ana, li] }
  billing: { members: [bo] }
pipelines:
  tickets:
    model: { type: http, url: "http://127.0.0.1:9/never" }
    review:
      case_types:
        low_confidence: { owner: support, sla: 4h, priority: normal }
        policy_review: { owner: billing, sla: 1h, priority: high }
`,
    );
    // Fifty claimers need fifty connections on PostgreSQL to race for real.
    airlock = await createAirlock(config, { clock, logger: createLogger('silent'), store: openStore(config.database, { poolSize: 50 }) });
  });

  afterAll(async () => {
    await airlock?.close();
    await airlock?.runtime.store.close();
    await db?.drop();
  });

  const open = (n: number, type: string, owner: string | null, extra: Partial<NewReviewCase> = {}): NewReviewCase[] =>
    Array.from({ length: n }, (_, i) => ({
      pipeline: 'tickets',
      recordId: `${type}-${owner}-${i}-${Math.random().toString(36).slice(2, 7)}`,
      type,
      owner,
      reason: {},
      slaDueAt: clock.t + 3_600_000 + i,
      now: clock.t,
      ...extra,
    }));

  it('50 concurrent claimers take 500 cases: every case claimed exactly once, none held by two', async () => {
    await insertCases(airlock.runtime.store.db, open(500, 'low_confidence', null));
    const taken = new Map<number, string>();
    let doubles = 0;
    await Promise.all(
      Array.from({ length: 50 }, async (_, k) => {
        const me = { name: `lead-${k}`, role: 'lead' as const };
        for (;;) {
          const c = await claimNextCase(airlock.runtime, me);
          if (!c) return;
          if (taken.has(Number(c.id))) doubles++;
          taken.set(Number(c.id), me.name);
        }
      }),
    );
    expect(doubles).toBe(0);
    expect(taken.size).toBe(500);
    expect(new Set(taken.values()).size).toBeGreaterThan(1);
  }, 60_000);

  it('an expired lease returns the case to the queue; the first holder then cannot heartbeat it back', async () => {
    const [c] = open(1, 'policy_review', 'billing', { priority: 0 });
    await insertCases(airlock.runtime.store.db, [c]);
    const bo = { name: 'bo', role: 'reviewer' as const };
    const first = await claimNextCase(airlock.runtime, bo, { type: 'policy_review' });
    expect(first?.record_id).toBe(c.recordId);
    // Within the lease nobody else gets it, and the holder extends it.
    expect(await claimNextCase(airlock.runtime, { name: 'dana', role: 'lead' }, { type: 'policy_review' })).toBeNull();
    clock.t += 4 * 60_000;
    await heartbeat(airlock.runtime, Number(first?.id), bo);
    clock.t += 4 * 60_000;
    expect(await claimNextCase(airlock.runtime, { name: 'dana', role: 'lead' }, { type: 'policy_review' })).toBeNull();
    // The page closed: no heartbeat for longer than the lease, the case is back in the queue.
    clock.t += 6 * 60_000;
    const second = await claimNextCase(airlock.runtime, { name: 'dana', role: 'lead' }, { type: 'policy_review' });
    expect(second?.id).toBe(first?.id);
    await expect(heartbeat(airlock.runtime, Number(first?.id), bo)).rejects.toThrow(/held by dana/);
    await releaseClaim(airlock.runtime, Number(second?.id), { name: 'dana', role: 'lead' });
    expect((await claimNextCase(airlock.runtime, bo, { type: 'policy_review' }))?.id).toBe(first?.id);
  });

  it('offers the most urgent first (priority, then SLA deadline), and a reviewer only their teams’ cases', async () => {
    const store = airlock.runtime.store.db;
    await store.updateTable('review_cases').set({ status: 'resolved' }).execute();
    await insertCases(store, [
      ...open(1, 'low_confidence', 'support', { slaDueAt: clock.t + 7_200_000, recordId: 'later' }),
      ...open(1, 'low_confidence', 'support', { slaDueAt: clock.t + 600_000, recordId: 'sooner' }),
      ...open(1, 'policy_review', 'billing', { priority: 1, slaDueAt: clock.t + 9_000_000, recordId: 'billing-high' }),
      ...open(1, 'low_confidence', 'support', { priority: 0, slaDueAt: null, recordId: 'critical' }),
    ]);
    const ana = { name: 'ana', role: 'reviewer' as const };
    const order: string[] = [];
    for (;;) {
      const c = await claimNextCase(airlock.runtime, ana);
      if (!c) break;
      order.push(c.record_id);
    }
    // ana is in support, not billing: the billing case is not hers.
    expect(order).toEqual(['critical', 'sooner', 'later']);
    expect((await claimNextCase(airlock.runtime, { name: 'bo', role: 'reviewer' }))?.record_id).toBe('billing-high');
    await expect(claimNextCase(airlock.runtime, { name: 'vic', role: 'viewer' })).rejects.toThrow(/only reviewers, leads and admins/);
  });
});
