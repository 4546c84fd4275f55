import type { Kysely } from 'kysely';
import { type BudgetBucket, budgetBuckets } from './codecs.js';
import type { DatabaseKind, Tables } from './tables.js';

/** What a process adds to the shared budget since it last wrote: deposits, refunds and cancelled withdrawals. */
export interface BudgetDelta {
  requests: number;
  retries: number;
}

/**
 * Writes a process's budget delta and withdraws up to `want` retries from the destination's shared retry budget, in
 * one transaction with its row locked (PostgreSQL: FOR UPDATE). `allowed(buckets)` says how many retries the window
 * allows in all (the budget's rule, src/delivery/shared-budget.ts). Returns the retries granted and the window's
 * buckets after the withdrawal.
 */
export async function withdrawRetries(
  db: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  destination: string,
  delta: BudgetDelta,
  want: number,
  windowSeconds: number,
  allowed: (buckets: BudgetBucket[]) => number,
  now: number,
): Promise<{ granted: number; buckets: BudgetBucket[] }> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('delivery_budgets')
      .values({ pipeline, destination, buckets: budgetBuckets.encode([]), updated_at: now })
      .onConflict((oc) => oc.columns(['pipeline', 'destination']).doNothing())
      .execute();
    let q = trx.selectFrom('delivery_budgets').select('buckets').where('pipeline', '=', pipeline).where('destination', '=', destination);
    if (kind === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirstOrThrow();
    const second = Math.floor(now / 1000);
    const oldest = second - windowSeconds + 1;
    const buckets = budgetBuckets.decode(row.buckets).filter((b) => b.second >= oldest);
    let current = buckets.find((b) => b.second === second);
    if (!current) {
      current = { second, requests: 0, retries: 0 };
      buckets.push(current);
    }
    current.requests += delta.requests;
    // A cancelled or refunded retry gives its withdrawal back; never below none in the window.
    current.retries += delta.retries;
    let total = buckets.reduce((s, b) => s + b.retries, 0);
    if (total < 0) {
      current.retries -= total;
      total = 0;
    }
    const granted = Math.max(0, Math.min(want, allowed(buckets) - total));
    current.retries += granted;
    buckets.sort((a, b) => a.second - b.second);
    await trx
      .updateTable('delivery_budgets')
      .set({ buckets: budgetBuckets.encode(buckets), updated_at: now })
      .where('pipeline', '=', pipeline)
      .where('destination', '=', destination)
      .execute();
    return { granted, buckets };
  });
}

/**
 * Leases up to `want` units of a quota counted in fixed windows (`count` per `intervalMs`, windows aligned to the
 * epoch: a day is a UTC day) from the row every process shares. Returns the units granted and, when none are left,
 * how long until the window ends.
 */
export async function leaseQuota(
  db: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  destination: string,
  quota: { text: string; count: number; intervalMs: number },
  want: number,
  now: number,
): Promise<{ granted: number; windowStart: number; windowEnd: number; used: number }> {
  const windowStart = Math.floor(now / quota.intervalMs) * quota.intervalMs;
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('delivery_quotas')
      .values({ pipeline, destination, quota: quota.text, window_start: windowStart, used: 0, updated_at: now })
      .onConflict((oc) => oc.columns(['pipeline', 'destination', 'quota']).doNothing())
      .execute();
    let q = trx
      .selectFrom('delivery_quotas')
      .select(['window_start', 'used'])
      .where('pipeline', '=', pipeline)
      .where('destination', '=', destination)
      .where('quota', '=', quota.text);
    if (kind === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirstOrThrow();
    // A new window starts from nothing used; a row from a later window (a clock behind another process's) is kept.
    const rowStart = Number(row.window_start);
    const used = rowStart < windowStart ? 0 : Number(row.used);
    const start = Math.max(rowStart, windowStart);
    const granted = start > windowStart ? 0 : Math.max(0, Math.min(want, Math.floor(quota.count) - used));
    await trx
      .updateTable('delivery_quotas')
      .set({ window_start: start, used: used + granted, updated_at: now })
      .where('pipeline', '=', pipeline)
      .where('destination', '=', destination)
      .where('quota', '=', quota.text)
      .execute();
    return { granted, windowStart: start, windowEnd: start + quota.intervalMs, used: used + granted };
  });
}

/** Every quota row (for the API and metrics). */
export async function quotaRows(db: Kysely<Tables>, pipeline: string, destination: string) {
  return db.selectFrom('delivery_quotas').selectAll().where('pipeline', '=', pipeline).where('destination', '=', destination).execute();
}
