import type { Alert } from '../alerts/alerts.js';
import { alertOf } from '../alerts/catalog.js';
import { send } from '../outbound/http.js';
import type { Runtime } from '../runtime/context.js';
import { escalationTargets } from '../store/codecs.js';
import { appendEvents } from '../store/events.js';
import type { ReviewCaseRow } from '../store/tables.js';
import { caseTypeOf } from './cases.js';
import { type BreachKind, nextEscalationAt, planBreaches, planEscalation, type ResolvedTarget, slaDeadlines } from './escalation.js';
import { shortenLeasesFromTheFuture } from './queue.js';

/** case_escalations rows with this `repeat` mark SLA breaches (level 0: first action, 1: resolution), fired once. */
const BREACH_REPEAT = -1;
const BREACH_LEVEL: Record<BreachKind, number> = { first_action: 0, resolution: 1 };

function describe(t: ResolvedTarget): string {
  switch (t.kind) {
    case 'user':
      return `user ${t.user}`;
    case 'team':
      return `team ${t.team} (${t.members.join(', ') || 'no members'})`;
    case 'webhook':
      return `webhook ${new URL(t.url).host}`;
    default:
      return `${t.via} (unresolved: ${t.reason})`;
  }
}

/** The case an SLA alert is about, and who was told. */
const caseFacts = (c: ReviewCaseRow, notified: string) => ({
  pipeline: c.pipeline,
  caseId: Number(c.id),
  type: c.type,
  owner: c.owner,
  notified,
});

/**
 * The SLA clocks and escalation chains of open cases, in every process. A step fires when its row is inserted into
 * case_escalations — the primary key (case, repeat, level) lets exactly one process win, so a step fires exactly
 * once however many servers run and however the clock jumps. Notifications go through the alert sinks (and to
 * `webhook:` targets directly).
 */
export class SlaStage {
  constructor(private readonly rt: Runtime) {}

  /** Fires every step and breach due now (the worker pool runs it every few seconds). */
  async runOnce(): Promise<{ done: number }> {
    const now = this.rt.clock.now();
    const { db } = this.rt.store;
    await shortenLeasesFromTheFuture(this.rt, now);
    // Only the cases with something due (index on status, next_check_at), a page at a time.
    for (;;) {
      const due = await db
        .selectFrom('review_cases')
        .selectAll()
        .where('status', '=', 'open')
        .where('next_check_at', '<=', now)
        .orderBy('next_check_at')
        .limit(500)
        .execute();
      if (due.length === 0) break;
      const fired = await db
        .selectFrom('case_escalations')
        .select(['case_id', 'repeat', 'level'])
        .where(
          'case_id',
          'in',
          due.map((c) => Number(c.id)),
        )
        .execute();
      const firedBy = new Map<number, { repeat: number; level: number }[]>();
      for (const f of fired)
        firedBy.set(Number(f.case_id), [...(firedBy.get(Number(f.case_id)) ?? []), { repeat: f.repeat, level: f.level }]);
      for (const c of due) {
        const next = await this.check(c, firedBy.get(Number(c.id)) ?? [], now);
        await db
          .updateTable('review_cases')
          .set({ next_check_at: next })
          .where('id', '=', Number(c.id))
          .where('next_check_at', '=', c.next_check_at)
          .execute();
      }
      if (due.length < 500) break;
    }
    return { done: 0 };
  }

  /** Fires what is due for one case; answers when the case next has something due (null: nothing, or its clock is paused). */
  private async check(c: ReviewCaseRow, fired: { repeat: number; level: number }[], now: number): Promise<number | null> {
    const pipeline = this.rt.config.pipelines[c.pipeline];
    if (!pipeline) return 0;
    const ct = caseTypeOf(pipeline, c.type);
    const teams = this.rt.config.teams;
    // Time waiting for information does not count: the clock's pauses move every deadline (calendar time).
    const paused = Number(c.paused_ms) + (c.waiting_since !== null ? now - Number(c.waiting_since) : 0);
    const openedAt = Number(c.created_at) + paused;
    if (c.waiting_since !== null) return null;
    const escalationInput = {
      openedAt,
      policy: ct.escalation,
      fired: fired.filter((f) => f.repeat >= 0),
      teams,
      owner: c.owner ?? ct.owner,
      backup: ct.backup,
      calendar: ct.calendarTeam ?? null,
    };
    const steps = planEscalation({ ...escalationInput, now });
    for (const step of steps) {
      escalationInput.fired.push({ repeat: step.repeat, level: step.level });
      if (!(await this.claim(c, step.repeat, step.level, step.targets, now))) continue;
      await this.notify(c, 'case_escalated', step.targets, now, { repeat: step.repeat, level: step.level + 1 }, (who) =>
        alertOf('case_escalated', { ...caseFacts(c, who), stepKey: step.key, level: step.level + 1, repeat: step.repeat }),
      );
    }
    const notified = fired
      .filter((f) => f.repeat === BREACH_REPEAT)
      .map((f): BreachKind => (f.level === 0 ? 'first_action' : 'resolution'));
    const plan = planBreaches({
      openedAt,
      now,
      caseType: ct,
      teams,
      calendar: ct.calendarTeam ?? null,
      firstActionAt: c.first_action_at === null ? null : Number(c.first_action_at),
      notified,
      owner: c.owner ?? undefined,
    });
    for (const b of plan.breaches) {
      notified.push(b.kind);
      if (!(await this.claim(c, BREACH_REPEAT, BREACH_LEVEL[b.kind], plan.notify, now))) continue;
      if (b.kind === 'resolution' || c.breached_at === null) {
        await this.rt.store.db
          .updateTable('review_cases')
          .set({ breached_at: now })
          .where('id', '=', Number(c.id))
          .where('breached_at', 'is', null)
          .execute();
      }
      if (plan.moveTo) {
        await this.rt.store.db
          .updateTable('review_cases')
          .set({ owner: plan.moveTo, priority: Math.max(0, Number(c.priority) - 1) })
          .where('id', '=', Number(c.id))
          .execute();
      }
      const dueAt = new Date(b.dueAt).toISOString();
      await this.notify(
        c,
        'sla_breached',
        plan.notify,
        now,
        { kind: b.kind, due_at: dueAt, ...(plan.moveTo ? { moved_to: plan.moveTo } : {}) },
        (who) => alertOf('sla_breach', { ...caseFacts(c, who), kind: b.kind, dueAt, movedTo: plan.moveTo }),
      );
    }
    // The next moment something is due: an escalation step not fired yet, or a deadline not yet breached.
    const deadlines = slaDeadlines({ openedAt, caseType: ct, teams, calendar: ct.calendarTeam ?? null });
    const candidates = [
      nextEscalationAt(escalationInput),
      c.first_action_at === null && !notified.includes('first_action') ? deadlines.firstAction : null,
      !notified.includes('resolution') ? deadlines.resolution : null,
    ].filter((t): t is number => typeof t === 'number');
    // Strictly after the deadline counts as a breach: look again just past it.
    return candidates.length > 0 ? Math.max(now + 1, Math.min(...candidates) + 1) : null;
  }

  /** Inserts the step's row; false when another process (or an earlier round) already fired it. */
  private async claim(c: ReviewCaseRow, repeat: number, level: number, targets: ResolvedTarget[], now: number): Promise<boolean> {
    try {
      await this.rt.store.db
        .insertInto('case_escalations')
        .values({ case_id: Number(c.id), repeat, level, fired_at: now, targets: escalationTargets.encode(targets.map((t) => t.via)) })
        .execute();
      return true;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === '23505' || /UNIQUE|PRIMARY KEY/i.test(e.message ?? '')) return false;
      throw err;
    }
  }

  /** Records the step as an event on the case's record, raises its alert, and posts to the step's `webhook:` targets. */
  private async notify(
    c: ReviewCaseRow,
    kind: 'case_escalated' | 'sla_breached',
    targets: ResolvedTarget[],
    now: number,
    fields: Record<string, string | number>,
    alert: (notified: string) => Alert,
  ): Promise<void> {
    const who = targets.map(describe).join('; ') || 'nobody (no targets resolved)';
    await appendEvents(
      this.rt.store.db,
      [
        {
          pipeline: c.pipeline,
          recordId: c.record_id,
          at: now,
          kind,
          detail: { case_id: Number(c.id), ...fields, notified: targets.map((t) => t.via) },
        },
      ],
      this.rt.store.kind,
    );
    const raised = alert(who);
    await this.rt.alerts.raise(raised);
    for (const t of targets) {
      if (t.kind !== 'webhook') continue;
      await send(t.url, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          event: kind === 'sla_breached' ? 'sla_breach' : 'escalation',
          pipeline: c.pipeline,
          case_id: Number(c.id),
          type: c.type,
          owner: c.owner,
          title: raised.title,
          ...fields,
        }),
        timeoutMs: 10_000,
      }).then(
        (a) => {
          if (a.status >= 300)
            this.rt.logger.warn({ status: a.status, host: new URL(t.url).host }, 'escalation webhook refused the notice');
        },
        (err) => this.rt.logger.warn({ err: (err as Error).message, host: new URL(t.url).host }, 'escalation webhook failed'),
      );
    }
  }
}
