/** `teams:`: the people who own review work, their working hours, holidays, on-call rota and capacity. */
import { type Static, Type } from '@sinclair/typebox';
import { parseDuration } from '../units.js';
import { choice, defaultBlock, duration, EXPECTED, mapOf, withDefault } from './kinds.js';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const clockTime = (description: string) =>
  Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$', description, [EXPECTED]: 'a time like 09:00' });

const teamSettings = Type.Object(
  {
    members: Type.Array(Type.String({ minLength: 1 }), {
      description: 'User names of the team (users are added with `airlock users add`).',
    }),
    timezone: withDefault(Type.String({ description: 'IANA time zone of the working hours, e.g. Europe/Berlin.' }), 'UTC'),
    working_hours: defaultBlock(
      Type.Object(
        {
          days: withDefault(
            Type.Array(choice(WEEKDAYS, { [EXPECTED]: 'mon, tue, wed, thu, fri, sat or sun' }), {
              uniqueItems: true,
              description: 'The days the team works.',
            }),
            ['mon', 'tue', 'wed', 'thu', 'fri'],
          ),
          start: withDefault(clockTime('When the working day starts (local time).'), '09:00'),
          end: withDefault(clockTime('When the working day ends (local time).'), '17:00'),
        },
        { additionalProperties: false, description: 'When the team works: business-hours SLAs count only this time.' },
      ),
    ),
    holidays: withDefault(
      Type.Array(Type.String({ format: 'date', [EXPECTED]: 'a date like 2026-12-25' }), { description: 'Days off (local dates).' }),
      [],
    ),
    on_call: Type.Optional(
      Type.Object(
        {
          rotation: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'The people who take turns, in order.' }),
          shift: withDefault(duration('Length of one turn.'), '7d'),
          starts: Type.String({
            format: 'date-time',
            description: 'When the first turn starts.',
            [EXPECTED]: 'a date-time like 2026-11-02T09:00:00Z',
          }),
        },
        {
          additionalProperties: false,
          description: 'On-call rota: the people take turns, one shift each, from `starts`.',
        },
      ),
    ),
    capacity: withDefault(Type.Number({ exclusiveMinimum: 0, description: 'Cases one reviewer resolves per working hour.' }), 10),
  },
  { additionalProperties: false, description: 'One team: its members, working hours, holidays, on-call rota and capacity.' },
);

export const teamsSettings = mapOf(teamSettings, {
  description: 'The people who own review work: members, working hours, holidays, on-call rota and capacity.',
  propertyNames: { pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$', [EXPECTED]: 'a name of letters, digits, ., - and _' },
});

type TeamSettings = Static<typeof teamSettings>;

/** One team, resolved. */
export interface TeamConfig {
  name: string;
  members: string[];
  timezone: string;
  workingHours: { days: Weekday[]; start: string; end: string };
  holidays: string[];
  onCall?: { rotation: string[]; shiftMs: number; starts: number };
  /** Cases one reviewer resolves per working hour. */
  capacity: number;
}

export function resolveTeam(name: string, t: TeamSettings): TeamConfig {
  return {
    name,
    members: t.members,
    timezone: t.timezone,
    workingHours: { days: t.working_hours.days, start: t.working_hours.start, end: t.working_hours.end },
    holidays: t.holidays,
    onCall: t.on_call
      ? { rotation: t.on_call.rotation, shiftMs: parseDuration(t.on_call.shift), starts: Date.parse(t.on_call.starts) }
      : undefined,
    capacity: t.capacity,
  };
}
