/** A pipeline's `launch:`: the facts of its launch that readiness, the runbook check and the feedback loop read. */
import { type Static, Type } from '@sinclair/typebox';
import { parseRate, type Rate } from '../units.js';
import { EXPECTED, rate } from './kinds.js';

export const launchSettings = Type.Object(
  {
    go_live: Type.Optional(
      Type.String({ format: 'date', description: 'The day the pipeline goes (or went) live.', [EXPECTED]: 'a date like 2026-12-01' }),
    ),
    expected_peak: Type.Optional(rate('Records per unit of time at the busiest.', 'a rate like 20/s or 5000/day')),
  },
  { additionalProperties: false, description: 'Launch facts: readiness and the runbook check read them.' },
);

type LaunchSettings = Static<typeof launchSettings>;

/** `launch:`, resolved. */
export interface LaunchConfig {
  goLive?: string;
  expectedPeak?: Rate;
}

export function resolveLaunch(s: LaunchSettings): LaunchConfig {
  return { goLive: s.go_live, expectedPeak: s.expected_peak ? parseRate(s.expected_peak) : undefined };
}
