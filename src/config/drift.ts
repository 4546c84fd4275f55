import { DURATION_PATTERN, parseDuration } from './units.js';

/** The tests a field may be given instead of the default choice (src/drift/compare.ts). */
export const DRIFT_TESTS = ['ks', 'chi_square', 'z', 'wasserstein', 'jensen_shannon', 'psi'] as const;
export type DriftTestConfig = (typeof DRIFT_TESTS)[number];

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

export interface RawDriftConfig {
  window?: 'hourly' | 'daily';
  reference_days?: number;
  exclude?: string[];
  text?: string[];
  not_text?: string[];
  share?: number;
  min_rows?: number;
  fields?: Record<string, { test?: DriftTestConfig; threshold?: number; skip?: boolean }>;
  alert?: { after?: number; resolve_after?: number; cooldown?: string };
}

/** JSON Schema of the `drift:` block of a pipeline (config/schema.ts refers to it). */
export const driftConfigSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    'Drift monitoring: windows of records compared with the reference profile (`airlock reference`, or the first days after go-live).',
  properties: {
    window: { enum: ['hourly', 'daily'], default: 'daily', 'x-expected': 'hourly or daily', description: 'Window size, aligned to UTC.' },
    reference_days: {
      type: 'integer',
      minimum: 0,
      maximum: 365,
      description: 'Without a loaded reference: build it from the records of the first N days after launch.go_live (0: never).',
    },
    exclude: { type: 'array', items: { type: 'string' }, description: 'Fields left out (ids, timestamps); `id` always is.' },
    text: { type: 'array', items: { type: 'string' }, description: 'String fields treated as free text.' },
    not_text: { type: 'array', items: { type: 'string' }, description: 'String fields never treated as free text.' },
    share: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'Share of drifted fields that makes dataset drift (0.5).' },
    min_rows: { type: 'integer', minimum: 1, description: 'Windows with fewer records are not tested for alerts (30).' },
    fields: {
      type: 'object',
      description: 'Per-field test and threshold, or skip: true.',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          test: { enum: [...DRIFT_TESTS], 'x-expected': `one of ${DRIFT_TESTS.join(', ')}` },
          threshold: { type: 'number', minimum: 0 },
          skip: { type: 'boolean' },
        },
      },
    },
    alert: {
      type: 'object',
      additionalProperties: false,
      properties: {
        after: { type: 'integer', minimum: 1, description: 'Consecutive drifted windows that open an episode (1).' },
        resolve_after: { type: 'integer', minimum: 1, description: 'Consecutive windows without drift that end it (2).' },
        cooldown: {
          type: 'string',
          pattern: DURATION_PATTERN,
          'x-expected': 'a duration like 6h or 1d',
          description: 'No new alert for a field within this time after its last episode ended (1d).',
        },
      },
    },
  },
} as const;

export function resolveDriftConfig(raw: RawDriftConfig | undefined): DriftConfig {
  const r = raw ?? {};
  const window = r.window ?? 'daily';
  return {
    window,
    windowMs: window === 'hourly' ? 3_600_000 : 86_400_000,
    referenceDays: r.reference_days ?? 0,
    exclude: r.exclude ?? [],
    text: r.text ?? [],
    notText: r.not_text ?? [],
    share: r.share ?? 0.5,
    minRows: r.min_rows ?? 30,
    fields: r.fields ?? {},
    alert: {
      after: r.alert?.after ?? 1,
      resolveAfter: r.alert?.resolve_after ?? 2,
      cooldownMs: parseDuration(r.alert?.cooldown ?? '1d'),
    },
  };
}
