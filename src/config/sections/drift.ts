/** A pipeline's `drift:`: windows of records compared with the reference profile, and when a drift alerts. */
import { type Static, Type } from '@sinclair/typebox';
import { parseDuration } from '../units.js';
import { choice, defaultBlock, duration, EXPECTED, mapOf, withDefault } from './kinds.js';

/** The tests a field may be given instead of the default choice (src/drift/compare.ts). */
export const DRIFT_TESTS = ['ks', 'chi_square', 'z', 'wasserstein', 'jensen_shannon', 'psi'] as const;
export type DriftTestConfig = (typeof DRIFT_TESTS)[number];

const fieldSettings = Type.Object(
  {
    test: Type.Optional(
      choice(DRIFT_TESTS, {
        description: 'The test for this field instead of the default choice for its kind.',
        [EXPECTED]: `one of ${DRIFT_TESTS.join(', ')}`,
      }),
    ),
    threshold: Type.Optional(
      Type.Number({ minimum: 0, description: 'The test’s threshold for drift (the test’s own default when absent).' }),
    ),
    skip: Type.Optional(Type.Boolean({ description: 'true: the field is summarised but never tested.' })),
  },
  { additionalProperties: false },
);

export const driftSettings = Type.Object(
  {
    window: withDefault(
      choice(['hourly', 'daily'], { description: 'Window size, aligned to UTC.', [EXPECTED]: 'hourly or daily' }),
      'daily',
    ),
    reference_days: withDefault(
      Type.Integer({
        minimum: 0,
        maximum: 365,
        description: 'Without a loaded reference: build it from the records of the first N days after launch.go_live (0: never).',
      }),
      0,
    ),
    exclude: withDefault(Type.Array(Type.String(), { description: 'Fields left out (ids, timestamps); `id` always is.' }), []),
    text: withDefault(Type.Array(Type.String(), { description: 'String fields treated as free text.' }), []),
    not_text: withDefault(Type.Array(Type.String(), { description: 'String fields never treated as free text.' }), []),
    share: withDefault(
      Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Share of drifted fields that makes dataset drift.' }),
      0.5,
    ),
    min_rows: withDefault(Type.Integer({ minimum: 1, description: 'Windows with fewer records are not tested for alerts.' }), 30),
    fields: withDefault(mapOf(fieldSettings, { description: 'Per-field test and threshold, or skip: true.' }), {}),
    alert: defaultBlock(
      Type.Object(
        {
          after: withDefault(Type.Integer({ minimum: 1, description: 'Consecutive drifted windows that open an episode.' }), 1),
          resolve_after: withDefault(Type.Integer({ minimum: 1, description: 'Consecutive windows without drift that end it.' }), 2),
          cooldown: withDefault(
            duration('No new alert for a field within this time after its last episode ended.', 'a duration like 6h or 1d'),
            '1d',
          ),
        },
        { additionalProperties: false, description: 'When drift alerts: episodes open and end after runs of windows.' },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Drift monitoring: windows of records compared with the reference profile (`airlock reference`, or the first days after go-live).',
  },
);

type DriftSettings = Static<typeof driftSettings>;

/** A pipeline's `drift:` block, resolved. */
export interface DriftConfig {
  /** Window size: `hourly` (3,600,000 ms) or `daily` (86,400,000 ms), aligned to UTC. */
  window: 'hourly' | 'daily';
  windowMs: number;
  /** Build the reference from the first N days after `launch.go_live` when none was loaded (0: only `airlock reference`). */
  referenceDays: number;
  /** Fields never summarised (the record's `id` always is left out). */
  exclude: string[];
  /** String fields to treat as free text, and never as text. */
  text: string[];
  notText: string[];
  /** Share of drifted input fields that makes dataset drift. */
  share: number;
  /** Windows with fewer records are shown but not tested for alerts. */
  minRows: number;
  /** Per-field test and threshold, or skip. */
  fields: Record<string, { test?: DriftTestConfig; threshold?: number; skip?: boolean }>;
  alert: {
    /** Consecutive drifted windows that open an episode (and send one alert). */
    after: number;
    /** Consecutive windows without drift that end it (and send the resolve message). */
    resolveAfter: number;
    /** After an episode of a field ends, a new one for that field does not alert again within this time. */
    cooldownMs: number;
  };
}

export function resolveDrift(s: DriftSettings): DriftConfig {
  return {
    window: s.window,
    windowMs: s.window === 'hourly' ? 3_600_000 : 86_400_000,
    referenceDays: s.reference_days,
    exclude: s.exclude,
    text: s.text,
    notText: s.not_text,
    share: s.share,
    minRows: s.min_rows,
    fields: s.fields,
    alert: { after: s.alert.after, resolveAfter: s.alert.resolve_after, cooldownMs: parseDuration(s.alert.cooldown) },
  };
}
