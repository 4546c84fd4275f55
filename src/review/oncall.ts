/**
 * Who is on call for a team (pure). The rota (`teams.T.on_call`) lists people who take turns, one shift each,
 * from `starts`: shift k belongs to `rotation[k mod n]`.
 *
 * A shift of whole days (`1d`, `7d`) hands over at the same local wall-clock time in the team's time zone, also
 * across a daylight-saving change (as PagerDuty schedules do): a weekly rota starting Monday 09:00 Berlin time
 * hands over every Monday at 09:00 Berlin time, so one shift a year is an hour shorter and one an hour longer.
 * Other shift lengths (`12h`, `8h`) are fixed amounts of real time. Before `starts` the first person is on call.
 */
import { DateTime } from 'luxon';
import type { TeamConfig } from '../config/sections/teams.js';

const DAY_MS = 86_400_000;

/** One turn of a rota. `from` is null for the first shift, which also covers the time before the rota starts. */
export interface Shift {
  user: string;
  /** Index of the shift since `starts` (0: the first). */
  index: number;
  from: number | null;
  to: number;
}

type Rota = NonNullable<TeamConfig['onCall']>;

/** The instant shift `k` begins (k ≥ 0). */
function boundary(rota: Rota, zone: string, k: number): number {
  if (rota.shiftMs % DAY_MS === 0) {
    return DateTime.fromMillis(rota.starts, { zone })
      .plus({ days: k * (rota.shiftMs / DAY_MS) })
      .toMillis();
  }
  return rota.starts + k * rota.shiftMs;
}

function shiftOf(rota: Rota, zone: string, k: number): Shift {
  return {
    user: rota.rotation[k % rota.rotation.length],
    index: k,
    from: k === 0 ? null : boundary(rota, zone, k),
    to: boundary(rota, zone, k + 1),
  };
}

/** The index of the shift under way at `t` (0 before the rota starts). */
function indexAt(rota: Rota, zone: string, t: number): number {
  if (!(rota.shiftMs > 0) || rota.rotation.length === 0) throw new RangeError('an on-call rota needs people and a positive shift length');
  if (t < rota.starts) return 0;
  let k = Math.floor((t - rota.starts) / rota.shiftMs);
  // Whole-day shifts drift from k·shiftMs by the daylight-saving hours; step to the shift that holds t.
  while (k > 0 && boundary(rota, zone, k) > t) k--;
  while (boundary(rota, zone, k + 1) <= t) k++;
  return k;
}

/** The shift under way at `t`, or undefined when the team has no rota. */
export function shiftAt(team: TeamConfig, t: number): Shift | undefined {
  if (!team.onCall) return undefined;
  return shiftOf(team.onCall, team.timezone, indexAt(team.onCall, team.timezone, t));
}

/** The user on call for `team` at `t`, or undefined when the team has no rota. */
export function onCallAt(team: TeamConfig, t: number): string | undefined {
  return shiftAt(team, t)?.user;
}

/** The shift under way at `t` and the ones after it: `count` shifts in all (the runbook shows 4). */
export function upcomingShifts(team: TeamConfig, t: number, count = 4): Shift[] {
  if (!team.onCall) return [];
  const first = indexAt(team.onCall, team.timezone, t);
  const out: Shift[] = [];
  for (let k = first; k < first + count; k++) out.push(shiftOf(team.onCall, team.timezone, k));
  return out;
}

/** Members of the rota who are not members of the team (the runbook check reports them). */
export function rotaOutsiders(team: TeamConfig): string[] {
  if (!team.onCall) return [];
  const members = new Set(team.members);
  return [...new Set(team.onCall.rotation.filter((u) => !members.has(u)))];
}
