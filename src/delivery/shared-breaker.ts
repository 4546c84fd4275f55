/**
 * A destination's circuit breaker as one process sees it: the rules are src/delivery/breaker.ts, the state is one
 * delivery_breakers row shared by every process. While the breaker is closed and stays so, a claim reads the row
 * without locking it and outcomes are counted into it in batches; otherwise the row is locked and written at once.
 */
import type { Kysely } from 'kysely';
import type { BreakerOptions } from '../config/sections/circuit-breaker.js';
import { type BreakerRow, lockBreakerRow, saveBreakerRow } from '../store/delivery-state.js';
import type { DatabaseKind, Tables } from '../store/tables.js';
import { advanceBreaker, type BreakerPhase, type BreakerState, recordOutcomes } from './breaker.js';

export const breakerFromRow = (r: BreakerRow): BreakerState => ({
  state: r.state,
  windowStart: Number(r.window_start),
  calls: Number(r.calls),
  failures: Number(r.failures),
  prevCalls: Number(r.prev_calls),
  prevFailures: Number(r.prev_failures),
  openedAt: r.opened_at === null ? null : Number(r.opened_at),
  openUntil: r.open_until === null ? null : Number(r.open_until),
  probes: Number(r.probes),
  probeSuccesses: Number(r.probe_successes),
  openings: Number(r.openings),
});

const breakerToRow = (pipeline: string, destination: string, s: BreakerState, now: number): BreakerRow => ({
  pipeline,
  destination,
  state: s.state,
  window_start: s.windowStart,
  calls: s.calls,
  failures: s.failures,
  prev_calls: s.prevCalls,
  prev_failures: s.prevFailures,
  opened_at: s.openedAt,
  open_until: s.openUntil,
  probes: s.probes,
  probe_successes: s.probeSuccesses,
  openings: s.openings,
  updated_at: now,
});

/** The breaker as a claim found it: advanced to now, and whether its row is locked (and must be written back). */
export interface ClaimedBreaker {
  state: BreakerState;
  locked: boolean;
  /** The state before it was advanced, to write the row only when it changed. */
  before: string;
}

export class SharedBreaker {
  /** Whether this process has made sure the row exists (until then every claim locks, which creates it). */
  private known = false;
  /** The breaker's phase as this process last read it. */
  phase: BreakerPhase = 'closed';
  /** Outcomes not yet counted in the shared row (while it is closed, counted at most every 250 ms). */
  private uncounted = { successes: 0, faults: 0, since: 0 };

  constructor(
    private readonly kind: DatabaseKind,
    private readonly pipeline: string,
    private readonly destination: string,
    private readonly options: BreakerOptions,
  ) {}

  /** The row read without a lock (SQLite; PostgreSQL reads it with the claim's advisory lock), once it is known. */
  async readUnlocked(trx: Kysely<Tables>): Promise<BreakerRow | undefined> {
    if (!this.known) return undefined;
    return (await trx
      .selectFrom('delivery_breakers')
      .selectAll()
      .where('pipeline', '=', this.pipeline)
      .where('destination', '=', this.destination)
      .executeTakeFirst()) as BreakerRow | undefined;
  }

  /**
   * The breaker for a claim, advanced to `now`: the unlocked read when it is closed and stays closed, else the row
   * locked (it is about to move, or hand out probes).
   */
  async forClaim(trx: Kysely<Tables>, now: number, unlocked: BreakerRow | undefined): Promise<ClaimedBreaker> {
    let row = this.known ? unlocked : undefined;
    const peek = row ? breakerFromRow(row) : undefined;
    if (peek) advanceBreaker(peek, this.options, now);
    let locked = false;
    if (!row || !peek || row.state !== 'closed' || peek.state !== 'closed') {
      row = await this.lock(trx, now);
      locked = true;
    }
    const state = breakerFromRow(row);
    const before = JSON.stringify(state);
    advanceBreaker(state, this.options, now);
    this.phase = state.state;
    return { state, locked, before };
  }

  /** After a claim of `claimed` rows: half-open probes counted, and a locked row written back when it changed. */
  async afterClaim(trx: Kysely<Tables>, b: ClaimedBreaker, claimed: number, now: number): Promise<void> {
    if (b.state.state === 'half_open') b.state.probes += claimed;
    // A closed breaker whose window merely rolled is not written here: the next commit that counts outcomes rolls it.
    if (b.locked && JSON.stringify(b.state) !== b.before) await this.save(trx, b.state, now);
  }

  /**
   * Counts a commit's outcomes (answers that are not the destination's fault, and faults). While the breaker is
   * closed and all goes well they are counted in the shared row in batches (every 250 ms) rather than locking it on
   * every commit; a fault, or a breaker that is not closed, counts at once. Answers the transition, if any.
   */
  async count(trx: Kysely<Tables>, now: number, successes: number, faults: number): Promise<'opened' | 'closed' | undefined> {
    const u = this.uncounted;
    if (u.successes + u.faults === 0) u.since = now;
    u.successes += successes;
    u.faults += faults;
    if (u.successes + u.faults === 0 || (u.faults === 0 && this.phase === 'closed' && now - u.since < 250)) return undefined;
    // Taken now (commits may run concurrently): what others add meanwhile is counted by a later commit.
    const taken = { successes: u.successes, faults: u.faults };
    this.uncounted = { successes: 0, faults: 0, since: now };
    try {
      const s = breakerFromRow(await this.lock(trx, now));
      const transition = recordOutcomes(s, this.options, now, taken.successes, taken.faults);
      this.phase = s.state;
      await this.save(trx, s, now);
      return transition;
    } catch (err) {
      this.uncounted.successes += taken.successes;
      this.uncounted.faults += taken.faults;
      throw err;
    }
  }

  /** The row locked until the transaction ends (PostgreSQL), created closed the first time. */
  private async lock(trx: Kysely<Tables>, now: number): Promise<BreakerRow> {
    if (!this.known) {
      const row = await lockBreakerRow(trx, this.kind, this.pipeline, this.destination, now);
      this.known = true;
      return row;
    }
    let q = trx
      .selectFrom('delivery_breakers')
      .selectAll()
      .where('pipeline', '=', this.pipeline)
      .where('destination', '=', this.destination);
    if (this.kind === 'postgres') q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return (row as BreakerRow | undefined) ?? lockBreakerRow(trx, this.kind, this.pipeline, this.destination, now);
  }

  private save(trx: Kysely<Tables>, s: BreakerState, now: number): Promise<void> {
    return saveBreakerRow(trx, breakerToRow(this.pipeline, this.destination, s, now));
  }
}
