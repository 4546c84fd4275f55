import { describe, expect, it } from 'vitest';
import type { TeamConfig } from '../config/sections/teams.js';
import {
  addWorkingTime,
  calendarOf,
  calendarProblem,
  isWorkingTime,
  slaCalendar,
  slaDue,
  slaElapsed,
  type WorkingCalendar,
  workingTimeBetween,
} from './calendar.js';

const H = 3_600_000;
const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;
const everyDay = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const berlinOffice: WorkingCalendar = { timezone: 'Europe/Berlin', days: weekdays, start: '09:00', end: '17:00', holidays: [] };
const berlinNights: WorkingCalendar = { timezone: 'Europe/Berlin', days: everyDay, start: '22:00', end: '06:00', holidays: [] };
const newYorkOffice: WorkingCalendar = { timezone: 'America/New_York', days: weekdays, start: '09:00', end: '17:00', holidays: [] };
const newYorkNights: WorkingCalendar = { ...newYorkOffice, days: everyDay, start: '22:00', end: '06:00' };
const newYorkAllDay: WorkingCalendar = { ...newYorkOffice, days: everyDay, start: '00:00', end: '24:00' };

describe('addWorkingTime', () => {
  it('counts only working hours across a weekend (Fri 15:00 CET + 4h → Mon 11:00 CET)', () => {
    expect(iso(addWorkingTime(t('2026-03-06T14:00:00Z'), 4 * H, berlinOffice))).toBe('2026-03-09T10:00:00.000Z');
  });

  it('skips holidays (Thu 16:00 CEST + 3h, Good Friday and Easter Monday off → Tue 11:00 CEST)', () => {
    const cal = { ...berlinOffice, holidays: ['2026-04-03', '2026-04-06'] };
    expect(iso(addWorkingTime(t('2026-04-02T14:00:00Z'), 3 * H, cal))).toBe('2026-04-07T09:00:00.000Z');
    // Without the holidays, the same case is due on Good Friday.
    expect(iso(addWorkingTime(t('2026-04-02T14:00:00Z'), 3 * H, berlinOffice))).toBe('2026-04-03T09:00:00.000Z');
  });

  it('is due at the end of a window when the time runs out there, not at the next start', () => {
    expect(iso(addWorkingTime(t('2026-03-02T08:00:00Z'), 8 * H, berlinOffice))).toBe('2026-03-02T16:00:00.000Z');
  });

  it('starts the clock with the next window when opened outside working hours', () => {
    // Saturday noon + 1h → Monday 10:00 CET.
    expect(iso(addWorkingTime(t('2026-03-07T11:00:00Z'), H, berlinOffice))).toBe('2026-03-09T09:00:00.000Z');
    // Monday 07:00 CET + 30m → 09:30 CET.
    expect(iso(addWorkingTime(t('2026-03-02T06:00:00Z'), 0.5 * H, berlinOffice))).toBe('2026-03-02T08:30:00.000Z');
  });

  it('keeps wall-clock office hours across a weekend with a daylight-saving change (New York, spring and autumn)', () => {
    // Fri 2026-03-06 16:00 EST + 2h: 1h Friday, then Monday 09:00 EDT (clocks went forward on Sunday 03-08).
    expect(iso(addWorkingTime(t('2026-03-06T21:00:00Z'), 2 * H, newYorkOffice))).toBe('2026-03-09T14:00:00.000Z');
    // Fri 2026-10-30 16:00 EDT + 2h: 1h Friday, then Monday 09:00 EST (clocks went back on Sunday 11-01).
    expect(iso(addWorkingTime(t('2026-10-30T20:00:00Z'), 2 * H, newYorkOffice))).toBe('2026-11-02T15:00:00.000Z');
  });

  it('counts a night shift across the spring change as 7 real hours (Berlin 2026-03-29)', () => {
    // Sat 22:00 CET (21:00Z) to Sun 06:00 CEST (04:00Z) is 7h; the 8th hour is the next night, Sun 22:00 CEST.
    expect(workingTimeBetween(t('2026-03-28T21:00:00Z'), t('2026-03-29T04:00:00Z'), berlinNights)).toBe(7 * H);
    expect(iso(addWorkingTime(t('2026-03-28T21:00:00Z'), 7 * H, berlinNights))).toBe('2026-03-29T04:00:00.000Z');
    expect(iso(addWorkingTime(t('2026-03-28T21:00:00Z'), 8 * H, berlinNights))).toBe('2026-03-29T21:00:00.000Z');
  });

  it('counts a night shift across the autumn change as 9 real hours (Berlin 2026-10-25)', () => {
    // Sat 22:00 CEST (20:00Z) to Sun 06:00 CET (05:00Z) is 9h.
    expect(workingTimeBetween(t('2026-10-24T20:00:00Z'), t('2026-10-25T05:00:00Z'), berlinNights)).toBe(9 * H);
    expect(iso(addWorkingTime(t('2026-10-24T20:00:00Z'), 9 * H, berlinNights))).toBe('2026-10-25T05:00:00.000Z');
    expect(iso(addWorkingTime(t('2026-10-24T20:00:00Z'), 10 * H, berlinNights))).toBe('2026-10-25T22:00:00.000Z');
  });

  it('counts a New York night shift across the spring change as 7 hours', () => {
    // Sat 2026-03-07 22:00 EST (03-08 03:00Z) to Sun 06:00 EDT (10:00Z).
    expect(workingTimeBetween(t('2026-03-08T03:00:00Z'), t('2026-03-08T10:00:00Z'), newYorkNights)).toBe(7 * H);
    // A case opened at 02:00Z Sunday (Sat 21:00 EST) waits for the shift: 1h of work ends at 04:00Z.
    expect(iso(addWorkingTime(t('2026-03-08T02:00:00Z'), H, newYorkNights))).toBe('2026-03-08T04:00:00.000Z');
  });

  it('a night shift belongs to the day it starts on, and a holiday cancels the shift that starts on it', () => {
    const mondayNights: WorkingCalendar = { ...berlinNights, days: ['mon'] };
    // Opened Tue 2026-03-03 05:00 CET (04:00Z), inside Monday's night: 1h left in it, the rest next Monday night.
    expect(iso(addWorkingTime(t('2026-03-03T04:00:00Z'), 2 * H, mondayNights))).toBe('2026-03-09T22:00:00.000Z');
    const holiday = { ...mondayNights, holidays: ['2026-03-09'] };
    expect(iso(addWorkingTime(t('2026-03-03T04:00:00Z'), 2 * H, holiday))).toBe('2026-03-16T22:00:00.000Z');
  });

  it('with whole days (00:00–24:00, every day) equals calendar time, across a daylight-saving change', () => {
    const opened = t('2026-03-07T15:00:00Z');
    expect(iso(addWorkingTime(opened, 48 * H, newYorkAllDay))).toBe('2026-03-09T15:00:00.000Z');
    expect(workingTimeBetween(t('2026-10-31T12:00:00Z'), t('2026-11-01T12:00:00Z'), newYorkAllDay)).toBe(24 * H);
  });

  it('adds calendar time when there is no calendar', () => {
    expect(addWorkingTime(t('2026-03-28T21:00:00Z'), 8 * H, null)).toBe(t('2026-03-29T05:00:00Z'));
    expect(addWorkingTime(1000, 0, berlinOffice)).toBe(1000);
  });

  it('accepts a team config as the calendar', () => {
    const team: TeamConfig = {
      name: 'support',
      members: ['ana'],
      timezone: 'Europe/Berlin',
      workingHours: { days: [...weekdays], start: '09:00', end: '17:00' },
      holidays: [],
      capacity: 10,
    };
    expect(iso(addWorkingTime(t('2026-03-06T14:00:00Z'), 4 * H, team))).toBe('2026-03-09T10:00:00.000Z');
    expect(calendarOf(team)).toEqual(berlinOffice);
  });

  it('rejects calendars it cannot use, with a sentence that says why', () => {
    expect(() => addWorkingTime(0, H, { ...berlinOffice, start: '09:00', end: '09:00' })).toThrow(/start and end are equal/);
    expect(() => addWorkingTime(0, H, { ...berlinOffice, timezone: 'Mars/Olympus' })).toThrow(/not an IANA time zone/);
    expect(() => addWorkingTime(0, H, { ...berlinOffice, days: [] })).toThrow(/no working time/);
    expect(calendarProblem({ ...berlinOffice, days: [] })).toBe('working hours have no working days');
    expect(calendarProblem(berlinNights)).toBeUndefined();
  });
});

describe('workingTimeBetween', () => {
  it('sums the working time in an interval, and is signed', () => {
    // Fri 2026-03-06 15:00 CET → Mon 11:00 CET: 2h + 2h.
    const a = t('2026-03-06T14:00:00Z');
    const b = t('2026-03-09T10:00:00Z');
    expect(workingTimeBetween(a, b, berlinOffice)).toBe(4 * H);
    expect(workingTimeBetween(b, a, berlinOffice)).toBe(-4 * H);
    expect(workingTimeBetween(a, b, null)).toBe(b - a);
  });

  it('is zero over a weekend', () => {
    expect(workingTimeBetween(t('2026-03-06T16:00:00Z'), t('2026-03-09T08:00:00Z'), berlinOffice)).toBe(0);
  });
});

describe('isWorkingTime', () => {
  it('tells working time from time off', () => {
    expect(isWorkingTime(t('2026-03-02T08:00:00Z'), berlinOffice)).toBe(true); // Mon 09:00 CET
    expect(isWorkingTime(t('2026-03-02T16:00:00Z'), berlinOffice)).toBe(false); // Mon 17:00 CET (end excluded)
    expect(isWorkingTime(t('2026-03-07T10:00:00Z'), berlinOffice)).toBe(false); // Saturday
    expect(isWorkingTime(t('2026-03-03T04:00:00Z'), berlinNights)).toBe(true); // 05:00 CET, a night shift
    expect(isWorkingTime(t('2026-03-07T10:00:00Z'), null)).toBe(true);
  });
});

describe('slaDue (pause-aware)', () => {
  it('stops the clock while paused, in business hours', () => {
    // Opened Mon 09:00 CET with 4h; paused 10:00–15:00: 1h + 2h Monday, 1h Tuesday → Tue 10:00 CET.
    const due = slaDue(
      t('2026-03-02T08:00:00Z'),
      [{ from: t('2026-03-02T09:00:00Z'), to: t('2026-03-02T14:00:00Z') }],
      4 * H,
      berlinOffice,
    );
    expect(iso(due)).toBe('2026-03-03T09:00:00.000Z');
  });

  it('stops the clock while paused, in calendar time, with overlapping and unsorted pauses', () => {
    const opened = t('2026-03-02T08:00:00Z');
    const pauses = [
      { from: t('2026-03-02T10:00:00Z'), to: t('2026-03-02T11:00:00Z') },
      { from: t('2026-03-02T09:00:00Z'), to: t('2026-03-02T10:30:00Z') },
      { from: t('2026-03-02T07:00:00Z'), to: t('2026-03-02T07:30:00Z') }, // before the opening: ignored
    ];
    // Paused 09:00Z–11:00Z (2h): 4h of clock → 14:00Z.
    expect(iso(slaDue(opened, pauses, 4 * H, null))).toBe('2026-03-02T14:00:00.000Z');
    expect(iso(slaDue(opened, [], 4 * H, null))).toBe('2026-03-02T12:00:00.000Z');
  });

  it('has no deadline while paused with time left, and keeps the deadline that passed before the pause', () => {
    const opened = t('2026-03-02T08:00:00Z');
    expect(slaDue(opened, [{ from: t('2026-03-02T09:00:00Z') }], 4 * H, null)).toBeNull();
    expect(slaDue(opened, [{ from: t('2026-03-02T09:00:00Z'), to: null }], 4 * H, berlinOffice)).toBeNull();
    expect(iso(slaDue(opened, [{ from: t('2026-03-02T13:00:00Z') }], 4 * H, null))).toBe('2026-03-02T12:00:00.000Z');
  });

  it('counts elapsed clock time outside pauses', () => {
    const opened = t('2026-03-06T14:00:00Z'); // Fri 15:00 CET
    const pauses = [{ from: t('2026-03-06T15:00:00Z'), to: t('2026-03-09T09:00:00Z') }]; // Fri 16:00 → Mon 10:00 CET
    // Working time: Fri 15:00–16:00 (1h) + Mon 10:00–12:00 (2h).
    expect(slaElapsed(opened, pauses, t('2026-03-09T11:00:00Z'), berlinOffice)).toBe(3 * H);
    expect(slaElapsed(opened, pauses, t('2026-03-09T11:00:00Z'), null)).toBe(3 * H);
  });
});

describe('slaCalendar', () => {
  const team: TeamConfig = {
    name: 'ops',
    members: [],
    timezone: 'America/New_York',
    workingHours: { days: [...weekdays], start: '09:00', end: '17:00' },
    holidays: [],
    capacity: 10,
  };
  it('uses the owner team’s hours for business SLAs only', () => {
    expect(slaCalendar({ slaHours: 'business', owner: 'ops' }, { ops: team })).toEqual(newYorkOffice);
    expect(slaCalendar({ slaHours: 'calendar', owner: 'ops' }, { ops: team })).toBeNull();
    expect(slaCalendar({ slaHours: 'business', owner: 'nobody' }, { ops: team })).toBeNull();
  });
});
