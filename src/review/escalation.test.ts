import { describe, expect, it } from 'vitest';
import type { CaseTypeConfig } from '../config/sections/review.js';
import type { TeamConfig } from '../config/sections/teams.js';
import type { WorkingCalendar } from './calendar.js';
import {
  describeTarget,
  type EscalationPolicy,
  escalationPeriod,
  escalationSchedule,
  nextEscalationAt,
  planBreaches,
  planEscalation,
  resolveTarget,
} from './escalation.js';

const M = 60_000;
const H = 60 * M;
const t = (iso: string) => Date.parse(iso);

const teams: Record<string, TeamConfig> = {
  support: {
    name: 'support',
    members: ['ana', 'ben'],
    timezone: 'Europe/Berlin',
    workingHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
    holidays: [],
    onCall: { rotation: ['ana', 'ben'], shiftMs: 24 * H, starts: t('2026-03-02T08:00:00Z') },
    capacity: 10,
  },
  leads: {
    name: 'leads',
    members: ['lea'],
    timezone: 'UTC',
    workingHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
    holidays: [],
    capacity: 5,
  },
};

const policy: EscalationPolicy = {
  levels: [
    { afterMs: 0, notify: ['owner'] },
    { afterMs: 30 * M, notify: ['oncall:support'] },
    { afterMs: 2 * H, notify: ['team:leads', 'webhook:https://hooks.example.com/secret-token'] },
  ],
  repeat: 1,
  onBreach: 'escalate',
};

const opened = t('2026-03-02T08:00:00Z'); // Monday 09:00 Berlin
const base = { openedAt: opened, policy, teams, owner: 'support', backup: 'leads' };
const keys = (steps: { key: string }[]) => steps.map((s) => s.key);

describe('escalation schedule', () => {
  it('repeats after the last level has waited as long as the gap before it', () => {
    expect(escalationPeriod(policy)).toBe(3.5 * H);
    expect(escalationSchedule(policy).map((s) => [s.repeat, s.level, s.offsetMs / M])).toEqual([
      [0, 0, 0],
      [0, 1, 30],
      [0, 2, 120],
      [1, 0, 210],
      [1, 1, 240],
      [1, 2, 330],
    ]);
  });

  it('does not repeat a chain of one immediate level', () => {
    const once: EscalationPolicy = { levels: [{ afterMs: 0, notify: ['owner'] }], repeat: 3, onBreach: 'notify' };
    expect(escalationPeriod(once)).toBe(0);
    expect(escalationSchedule(once)).toHaveLength(1);
    const every: EscalationPolicy = { ...once, levels: [{ afterMs: 15 * M, notify: ['owner'] }] };
    expect(escalationSchedule(every).map((s) => s.offsetMs / M)).toEqual([15, 30, 45, 60]);
  });
});

describe('planEscalation', () => {
  it('returns the steps that are due, resolved to people, teams and webhooks', () => {
    const steps = planEscalation({ ...base, now: opened + 31 * M, fired: [] });
    expect(keys(steps)).toEqual(['0:0', '0:1']);
    expect(steps[0].targets).toEqual([{ kind: 'team', team: 'support', members: ['ana', 'ben'], via: 'owner' }]);
    // Monday is ana's day on call.
    expect(steps[1].targets).toEqual([{ kind: 'user', user: 'ana', via: 'oncall:support' }]);
    expect(steps[1].dueAt).toBe(opened + 30 * M);
  });

  it('never returns a recorded step again: called twice, or after the clock jumps forward or back', () => {
    const fired: { repeat: number; level: number }[] = [];
    const first = planEscalation({ ...base, now: opened + 31 * M, fired });
    fired.push(...first);
    expect(planEscalation({ ...base, now: opened + 31 * M, fired })).toEqual([]);
    // A jump of five hours: everything due by then, once, in order.
    const jumped = planEscalation({ ...base, now: opened + 5 * H, fired });
    expect(keys(jumped)).toEqual(['0:2', '1:0', '1:1']);
    fired.push(...jumped);
    // And back again.
    expect(planEscalation({ ...base, now: opened + 10 * M, fired })).toEqual([]);
    expect(keys(planEscalation({ ...base, now: opened + 6 * H, fired }))).toEqual(['1:2']);
  });

  it('fires each step exactly once when two processes poll with unsteady clocks', () => {
    // The caller's unique key on (case, repeat, level) means a step is recorded once; simulate that store.
    const recorded = new Map<string, number>();
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let clock = opened - 10 * M;
    for (let i = 0; i < 400; i++) {
      clock += Math.round((random() - 0.3) * 20 * M); // mostly forward, sometimes back
      for (const process of [0, 1]) {
        const now = clock + process * 7_000;
        for (const step of planEscalation({ ...base, now, fired: [...recorded.keys()].map((k) => ({ repeat: +k[0], level: +k[2] })) })) {
          expect(step.dueAt).toBeLessThanOrEqual(now);
          expect(recorded.has(step.key)).toBe(false);
          recorded.set(step.key, now);
        }
      }
    }
    expect([...recorded.keys()].sort()).toEqual(['0:0', '0:1', '0:2', '1:0', '1:1', '1:2']);
  });

  it('stops the delays while the case waits for information', () => {
    const pauses = [{ from: opened + 10 * M, to: opened + H }];
    expect(keys(planEscalation({ ...base, now: opened + 79 * M, pauses, fired: [{ repeat: 0, level: 0 }] }))).toEqual([]);
    expect(keys(planEscalation({ ...base, now: opened + 80 * M, pauses, fired: [{ repeat: 0, level: 0 }] }))).toEqual(['0:1']);
    expect(nextEscalationAt({ ...base, pauses, fired: [{ repeat: 0, level: 0 }] })).toBe(opened + 80 * M);
    expect(nextEscalationAt({ ...base, pauses: [{ from: opened + 10 * M }], fired: [{ repeat: 0, level: 0 }] })).toBeNull();
  });

  it('counts delays in business hours when given a calendar', () => {
    const office: WorkingCalendar = {
      timezone: 'Europe/Berlin',
      days: ['mon', 'tue', 'wed', 'thu', 'fri'],
      start: '09:00',
      end: '17:00',
      holidays: [],
    };
    const friday = t('2026-03-06T15:30:00Z'); // Fri 16:30 CET
    const steps = planEscalation({ ...base, openedAt: friday, calendar: office, now: t('2026-03-09T08:00:00Z'), fired: [] });
    // 30m of working time: 16:30–17:00 Friday. 2h: Friday 30m + Monday 09:00–10:30 CET.
    expect(steps.map((s) => [s.key, new Date(s.dueAt).toISOString()])).toEqual([
      ['0:0', '2026-03-06T15:30:00.000Z'],
      ['0:1', '2026-03-06T16:00:00.000Z'],
    ]);
    expect(nextEscalationAt({ ...base, openedAt: friday, calendar: office, fired: steps })).toBe(t('2026-03-09T09:30:00Z'));
  });

  it('has nothing to do without a policy', () => {
    expect(planEscalation({ ...base, policy: undefined, now: opened + 10 * H, fired: [] })).toEqual([]);
  });
});

describe('resolveTarget', () => {
  const ctx = { teams, owner: 'support', backup: 'leads', at: t('2026-03-03T12:00:00Z') };
  it.each([
    ['owner', { kind: 'team', team: 'support', members: ['ana', 'ben'], via: 'owner' }],
    ['backup', { kind: 'team', team: 'leads', members: ['lea'], via: 'backup' }],
    ['team:leads', { kind: 'team', team: 'leads', members: ['lea'], via: 'team:leads' }],
    ['user:zoe', { kind: 'user', user: 'zoe', via: 'user:zoe' }],
    ['oncall:support', { kind: 'user', user: 'ben', via: 'oncall:support' }],
    [
      'webhook:https://hooks.example.com/x',
      { kind: 'webhook', url: 'https://hooks.example.com/x', via: 'webhook:https://hooks.example.com/x' },
    ],
    ['team:nobody', { kind: 'unresolved', via: 'team:nobody', reason: 'team "nobody" is not in teams:' }],
    ['oncall:leads', { kind: 'unresolved', via: 'oncall:leads', reason: 'team "leads" has no on_call rota' }],
    ['webhook:ftp://x', { kind: 'unresolved', via: 'webhook:ftp://x', reason: 'not an http(s) URL' }],
  ])('%s', (target, expected) => {
    expect(resolveTarget(target, ctx)).toEqual(expected);
  });

  it('reports a missing backup team', () => {
    expect(resolveTarget('backup', { ...ctx, backup: undefined })).toEqual({
      kind: 'unresolved',
      via: 'backup',
      reason: 'the case type has no backup team',
    });
  });

  it('describes targets for people without printing a webhook’s path', () => {
    expect(describeTarget('oncall:support')).toBe('whoever is on call for support');
    expect(describeTarget('owner', 'support')).toBe('the owner team (support)');
    expect(describeTarget('webhook:https://hooks.example.com/secret-token')).toBe('webhook hooks.example.com');
  });
});

describe('planBreaches', () => {
  const caseType: Pick<CaseTypeConfig, 'slaMs' | 'firstActionMs' | 'slaHours' | 'owner' | 'backup' | 'escalation'> = {
    owner: 'support',
    backup: 'leads',
    slaMs: 4 * H,
    firstActionMs: 30 * M,
    slaHours: 'calendar',
    escalation: policy,
  };
  const input = { openedAt: opened, caseType, teams };

  it('detects a missed first action and says what on_breach does', () => {
    const plan = planBreaches({ ...input, now: opened + 31 * M });
    expect(plan.breaches).toEqual([{ kind: 'first_action', dueAt: opened + 30 * M }]);
    expect(plan.onBreach).toBe('escalate');
    expect(plan.moveTo).toBe('leads');
    expect(plan.notify).toEqual([
      { kind: 'team', team: 'support', members: ['ana', 'ben'], via: 'owner' },
      { kind: 'user', user: 'ana', via: 'oncall:support' },
    ]);
  });

  it('reports each breach once, and none at the deadline itself or when the action came in time', () => {
    expect(planBreaches({ ...input, now: opened + 30 * M }).breaches).toEqual([]);
    expect(planBreaches({ ...input, now: opened + 31 * M, notified: ['first_action'] }).breaches).toEqual([]);
    expect(planBreaches({ ...input, now: opened + 31 * M, firstActionAt: opened + 20 * M }).breaches).toEqual([]);
    const late = planBreaches({ ...input, now: opened + 5 * H, firstActionAt: opened + 20 * M, notified: [] });
    expect(late.breaches).toEqual([{ kind: 'resolution', dueAt: opened + 4 * H }]);
    expect(planBreaches({ ...input, now: opened + 5 * H, firstActionAt: opened + 20 * M, resolvedAt: opened + 3 * H }).breaches).toEqual(
      [],
    );
  });

  it('does not breach while the clock is paused, and notifies only the owner when on_breach is notify', () => {
    expect(planBreaches({ ...input, now: opened + 9 * H, firstActionAt: opened, pauses: [{ from: opened + H }] }).breaches).toEqual([]);
    const notifyOnly = planBreaches({
      ...input,
      caseType: { ...caseType, escalation: undefined, owner: 'leads' },
      now: opened + 9 * H,
      firstActionAt: opened,
    });
    expect(notifyOnly.onBreach).toBe('notify');
    expect(notifyOnly.moveTo).toBeUndefined();
    expect(notifyOnly.notify).toEqual([{ kind: 'team', team: 'leads', members: ['lea'], via: 'owner' }]);
  });

  it('counts a business-hours SLA in the owner team’s hours', () => {
    const business = { ...caseType, slaHours: 'business' as const, firstActionMs: undefined };
    const friday = t('2026-03-06T14:00:00Z'); // Fri 15:00 CET; 4h business → Mon 11:00 CET
    expect(planBreaches({ ...input, caseType: business, openedAt: friday, now: t('2026-03-09T09:59:00Z') }).breaches).toEqual([]);
    expect(planBreaches({ ...input, caseType: business, openedAt: friday, now: t('2026-03-09T10:01:00Z') }).breaches).toEqual([
      { kind: 'resolution', dueAt: t('2026-03-09T10:00:00Z') },
    ]);
  });
});
