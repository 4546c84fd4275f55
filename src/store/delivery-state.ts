import type { Kysely } from 'kysely';
import { rateSignal, type StoredRateSignal } from './codecs.js';
import type { DatabaseKind, DeliveryBreakersTable, DeliveryLimitsTable, Tables } from './tables.js';

export type BreakerRow = DeliveryBreakersTable;
export type LimitsRow = DeliveryLimitsTable;

/** The breaker row of a destination, locked until the transaction ends on PostgreSQL; created closed if missing. */
export async function lockBreakerRow(
  trx: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  destination: string,
  now: number,
): Promise<BreakerRow> {
  await trx
    .insertInto('delivery_breakers')
    .values({
      pipeline,
      destination,
      state: 'closed',
      window_start: now,
      calls: 0,
      failures: 0,
      prev_calls: 0,
      prev_failures: 0,
      opened_at: null,
      open_until: null,
      probes: 0,
      probe_successes: 0,
      openings: 0,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['pipeline', 'destination']).doNothing())
    .execute();
  let q = trx.selectFrom('delivery_breakers').selectAll().where('pipeline', '=', pipeline).where('destination', '=', destination);
  if (kind === 'postgres') q = q.forUpdate();
  return (await q.executeTakeFirstOrThrow()) as BreakerRow;
}

export async function saveBreakerRow(trx: Kysely<Tables>, row: BreakerRow): Promise<void> {
  const { pipeline, destination, ...rest } = row;
  await trx.updateTable('delivery_breakers').set(rest).where('pipeline', '=', pipeline).where('destination', '=', destination).execute();
}

export async function breakerRows(db: Kysely<Tables>): Promise<BreakerRow[]> {
  return (await db.selectFrom('delivery_breakers').selectAll().execute()) as BreakerRow[];
}

export async function limitsRows(db: Kysely<Tables>): Promise<LimitsRow[]> {
  return db.selectFrom('delivery_limits').selectAll().execute();
}

async function ensureLimitsRow(db: Kysely<Tables>, pipeline: string, destination: string, tokens: number, now: number): Promise<void> {
  await db
    .insertInto('delivery_limits')
    .values({
      pipeline,
      destination,
      tokens,
      refilled_at: now,
      rate_per_second: null,
      found_per_second: null,
      found_source: null,
      signal: null,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['pipeline', 'destination']).doNothing())
    .execute();
}

/**
 * Leases up to `want` tokens from the destination's shared bucket (refilled at `perSecond`, at most `burst`): one
 * locked row read and one update per block of tokens, not per request. Returns the tokens granted and, when none,
 * how long until one is there.
 */
export async function leaseTokens(
  db: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  destination: string,
  want: number,
  perSecond: number,
  burst: number,
  now: number,
): Promise<{ granted: number; waitMs: number }> {
  return db.transaction().execute(async (trx) => {
    let q = trx
      .selectFrom('delivery_limits')
      .select(['tokens', 'refilled_at'])
      .where('pipeline', '=', pipeline)
      .where('destination', '=', destination);
    if (kind === 'postgres') q = q.forUpdate();
    let row = await q.executeTakeFirst();
    if (!row) {
      await ensureLimitsRow(trx, pipeline, destination, burst, now);
      row = await q.executeTakeFirstOrThrow();
    }
    const elapsed = Math.max(0, now - Number(row.refilled_at));
    const available = Math.min(burst, Number(row.tokens) + (elapsed * perSecond) / 1000);
    const granted = Math.max(0, Math.min(want, Math.floor(available)));
    await trx
      .updateTable('delivery_limits')
      .set({
        tokens: available - granted,
        refilled_at: Math.max(now, Number(row.refilled_at)),
        rate_per_second: perSecond,
        updated_at: now,
      })
      .where('pipeline', '=', pipeline)
      .where('destination', '=', destination)
      .execute();
    const waitMs = granted > 0 ? 0 : Math.ceil(((1 - (available - granted)) / perSecond) * 1000);
    return { granted, waitMs };
  });
}

/** Records what pacing learned about a destination (for the API and metrics of every process). */
export async function saveLearned(
  db: Kysely<Tables>,
  pipeline: string,
  destination: string,
  learned: {
    ratePerSecond: number | null;
    foundPerSecond: number | null;
    foundSource: string | null;
    signal: StoredRateSignal | undefined;
  },
  now: number,
): Promise<void> {
  await ensureLimitsRow(db, pipeline, destination, 0, now);
  await db
    .updateTable('delivery_limits')
    .set({
      rate_per_second: learned.ratePerSecond,
      found_per_second: learned.foundPerSecond,
      found_source: learned.foundSource,
      signal: learned.signal === undefined ? null : rateSignal.encode(learned.signal),
      updated_at: now,
    })
    .where('pipeline', '=', pipeline)
    .where('destination', '=', destination)
    .execute();
}
