/** A pipeline's `gate:`: what the contract gate does with each kind of violation, and when a change halts the pipeline. */
import { type Static, Type } from '@sinclair/typebox';
import { VIOLATION_KINDS, type ViolationKind } from '../../contract/gate.js';
import { parseDuration } from '../units.js';
import { choice, defaultBlock, duration, EXPECTED, withDefault } from './kinds.js';

const GATE_POLICIES = ['accept', 'quarantine', 'halt'] as const;
export type GatePolicy = (typeof GATE_POLICIES)[number];

/** Halt on a structural change, quarantine the rest (the defaults of `gate.policies`). */
export const DEFAULT_GATE_POLICIES: Record<ViolationKind, GatePolicy> = {
  unparseable: 'quarantine',
  unknown_field: 'halt',
  missing_required: 'quarantine',
  type_mismatch: 'halt',
  new_enum_value: 'halt',
  format_mismatch: 'quarantine',
  out_of_range: 'quarantine',
  other: 'quarantine',
};

/** What each kind of violation is (src/contract/gate.ts decides which kind a violation is). */
const VIOLATION_MEANING: Record<ViolationKind, string> = {
  unparseable: 'A record that is not JSON (never accepted: accept quarantines it).',
  unknown_field: 'A field the contract does not have.',
  missing_required: 'A required field is absent.',
  type_mismatch: 'A field of another type than the contract says.',
  new_enum_value: 'A value outside the contract’s enum or const.',
  format_mismatch: 'A string that is not in the contract’s format (date, email, …).',
  out_of_range: 'A number or length outside the contract’s bounds.',
  other: 'Any other rule of the contract.',
};

export const gateSettings = Type.Object(
  {
    policies: defaultBlock(
      Type.Object(
        Object.fromEntries(
          VIOLATION_KINDS.map((kind) => [
            kind,
            withDefault(
              choice(GATE_POLICIES, { description: VIOLATION_MEANING[kind], [EXPECTED]: 'accept, quarantine or halt' }),
              DEFAULT_GATE_POLICIES[kind],
            ),
          ]),
        ),
        {
          additionalProperties: false,
          description:
            'accept (score it anyway, violation noted), quarantine (a person decides) or halt (stop scoring the pipeline once the same change is seen halt_after.records times). Defaults: halt on unknown_field, type_mismatch and new_enum_value; quarantine the rest.',
        },
      ),
    ),
    halt_after: defaultBlock(
      Type.Object(
        {
          records: withDefault(Type.Integer({ minimum: 1, description: 'Records with the same change that halt the pipeline.' }), 3),
          within: withDefault(duration('The window the records are counted in.'), '10m'),
        },
        {
          additionalProperties: false,
          description:
            'A halt-policy change halts the pipeline when the same change (kind and field) is seen in this many records within this window; the records before that are quarantined, so one odd record cannot stop production.',
        },
      ),
    ),
  },
  {
    additionalProperties: false,
    description: 'What the contract gate does with each kind of violation, and when a structural change halts the pipeline.',
  },
);

type GateSettings = Static<typeof gateSettings>;

/** `gate:`, resolved. */
export interface GateConfig {
  policies: Record<ViolationKind, GatePolicy>;
  haltAfter: { records: number; withinMs: number };
}

export function resolveGate(s: GateSettings): GateConfig {
  return {
    policies: s.policies as Record<ViolationKind, GatePolicy>,
    haltAfter: { records: s.halt_after.records, withinMs: parseDuration(s.halt_after.within) },
  };
}
