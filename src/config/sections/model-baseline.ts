/** A pipeline's `model:` of `type: baseline`: Airlock's built-in text classifier, a file written by `airlock train`. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import type { ResolveContext, SettingPath } from '../problems.js';
import { parseDuration } from '../units.js';
import { duration, EXPECTED, withDefault } from './kinds.js';

export const baselineModelSettings = Type.Object(
  {
    type: Type.Literal('baseline', { description: 'baseline: Airlock’s built-in text classifier.' }),
    path: Type.String({ minLength: 1, description: 'The model file written by `airlock train` (relative to this config).' }),
    text_fields: Type.Optional(
      Type.Unsafe<string | string[]>({
        type: ['string', 'array'],
        items: { type: 'string' },
        description: 'Record field(s) whose text is classified (default: the fields the model was trained on).',
        [EXPECTED]: 'a field name or a list of field names',
      }),
    ),
    timeout: withDefault(duration('Time allowed for one prediction.'), '2s'),
    concurrency: withDefault(Type.Integer({ minimum: 1, maximum: 256, description: 'Predictions in flight per worker.' }), 8),
    version: Type.Optional(Type.String({ description: 'Model version recorded on every prediction.' })),
  },
  { additionalProperties: false },
);

type BaselineModelSettings = Static<typeof baselineModelSettings>;

/** `type: baseline`, resolved. */
export interface BaselineModelConfig {
  type: 'baseline';
  /** Absolute path of the model file. */
  path: string;
  /** Fields whose text is classified; undefined: the fields the model was trained on. */
  textFields?: string[];
  timeoutMs: number;
  retries: number;
  concurrency: number;
  version?: string;
}

export function resolveBaselineModel(m: BaselineModelSettings, at: SettingPath, { dir, report }: ResolveContext): BaselineModelConfig {
  const file = path.resolve(dir, m.path);
  // The file's format is the model's business (src/models/index.ts checkModelFiles, run by config check and serve).
  if (!existsSync(file)) report([...at, 'path'], `model file not found: ${m.path} (make one with airlock train)`);
  return {
    type: 'baseline',
    path: file,
    textFields: m.text_fields === undefined ? undefined : ([] as string[]).concat(m.text_fields),
    timeoutMs: parseDuration(m.timeout),
    // A prediction in the process does not fail the way a call does: nothing to retry.
    retries: 0,
    concurrency: m.concurrency,
    version: m.version,
  };
}
