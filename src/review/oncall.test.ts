import { describe, expect, it } from 'vitest';
import type { TeamConfig } from '../config/sections/teams.js';
import { onCallAt, rotaOutsiders, shiftAt, upcomingShifts } from './oncall.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const H = 3_600_000;

function team(rotation: string[], shiftMs: number, starts: string, timezone = 'Europe/Berlin'): TeamConfig {
  return {
    name: 'support',
    members: ['ana', 'ben', 'cleo'],
    timezone,
    workingHours: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
    holidays: [],
    onCall: { rotation, shiftMs, starts: t(starts) },
    capacity: 10,
  };
}

describe('onCallAt', () => {
  // Weekly from Monday 2026-03-23 09:00 CET; Berlin moves to CEST on Sunday 2026-03-29.
  const weekly = team(['ana', 'ben', 'cleo'], 7 * 24 * H, '2026-03-23T08:00:00Z');

  it('takes turns one shift each, wrapping around the rotation', () => {
    expect(onCallAt(weekly, t('2026-03-23T08:00:00Z'))).toBe('ana');
    expect(onCallAt(weekly, t('2026-03-25T12:00:00Z'))).toBe('ana');
    expect(onCallAt(weekly, t('2026-03-31T12:00:00Z'))).toBe('ben');
    expect(onCallAt(weekly, t('2026-04-07T12:00:00Z'))).toBe('cleo');
    expect(onCallAt(weekly, t('2026-04-14T12:00:00Z'))).toBe('ana');
  });

  it('puts the first person on call before the rota starts', () => {
    expect(onCallAt(weekly, t('2026-01-01T00:00:00Z'))).toBe('ana');
    expect(shiftAt(weekly, t('2026-01-01T00:00:00Z'))).toEqual({ user: 'ana', index: 0, from: null, to: t('2026-03-30T07:00:00Z') });
  });

  it('hands a whole-day shift over at the same local time across the spring change (09:00 CET, then 09:00 CEST)', () => {
    // The first handover is Monday 2026-03-30 09:00 CEST = 07:00Z, not 08:00Z.
    expect(onCallAt(weekly, t('2026-03-30T06:59:59Z'))).toBe('ana');
    expect(onCallAt(weekly, t('2026-03-30T07:00:00Z'))).toBe('ben');
    expect(iso(shiftAt(weekly, t('2026-03-30T07:00:00Z'))?.to ?? null)).toBe('2026-04-06T07:00:00.000Z');
  });

  it('hands over at the same local time across the autumn change (09:00 CEST, then 09:00 CET)', () => {
    const autumn = team(['ana', 'ben'], 7 * 24 * H, '2026-10-19T07:00:00Z');
    expect(onCallAt(autumn, t('2026-10-26T07:30:00Z'))).toBe('ana');
    expect(onCallAt(autumn, t('2026-10-26T08:00:00Z'))).toBe('ben');
  });

  it('keeps shorter shifts at fixed lengths of real time', () => {
    const halfDays = team(['ana', 'ben'], 12 * H, '2026-03-28T20:00:00Z');
    expect(onCallAt(halfDays, t('2026-03-29T07:59:59Z'))).toBe('ana');
    expect(onCallAt(halfDays, t('2026-03-29T08:00:00Z'))).toBe('ben');
    expect(onCallAt(halfDays, t('2026-03-29T20:00:00Z'))).toBe('ana');
  });

  it('is undefined for a team without a rota', () => {
    const noRota = { ...weekly, onCall: undefined };
    expect(onCallAt(noRota, 0)).toBeUndefined();
    expect(upcomingShifts(noRota, 0)).toEqual([]);
  });
});

describe('upcomingShifts', () => {
  it('lists the shift under way and the next ones', () => {
    const weekly = team(['ana', 'ben', 'cleo'], 7 * 24 * H, '2026-03-23T08:00:00Z');
    const shifts = upcomingShifts(weekly, t('2026-03-31T12:00:00Z'), 4).map((s) => [s.user, iso(s.from), iso(s.to)]);
    expect(shifts).toEqual([
      ['ben', '2026-03-30T07:00:00.000Z', '2026-04-06T07:00:00.000Z'],
      ['cleo', '2026-04-06T07:00:00.000Z', '2026-04-13T07:00:00.000Z'],
      ['ana', '2026-04-13T07:00:00.000Z', '2026-04-20T07:00:00.000Z'],
      ['ben', '2026-04-20T07:00:00.000Z', '2026-04-27T07:00:00.000Z'],
    ]);
  });
});

describe('rotaOutsiders', () => {
  it('names people in the rota who are not in the team', () => {
    expect(rotaOutsiders(team(['ana', 'zoe', 'zoe'], 24 * H, '2026-03-23T08:00:00Z'))).toEqual(['zoe']);
    expect(rotaOutsiders(team(['ana'], 24 * H, '2026-03-23T08:00:00Z'))).toEqual([]);
  });
});
