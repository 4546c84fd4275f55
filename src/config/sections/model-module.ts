/** A pipeline's `model:` of `type: module`: a JS file of the user's exporting `predict(record)` (src/models/module.ts). */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import type { ResolveContext, SettingPath } from '../problems.js';
import { parseDuration } from '../units.js';
import { anyMapping, duration, withDefault } from './kinds.js';

export const moduleModelSettings = Type.Object(
  {
    type: Type.Literal('module', { description: 'module: a JS file of yours predicts in the worker process.' }),
    path: Type.String({ minLength: 1, description: 'A JS file (relative to this config) exporting predict(record).' }),
    timeout: withDefault(duration('Time allowed for one prediction.'), '2s'),
    retries: withDefault(
      Type.Integer({ minimum: 0, maximum: 20, description: 'Retries of one prediction before it counts as failed.' }),
      0,
    ),
    concurrency: withDefault(Type.Integer({ minimum: 1, maximum: 256, description: 'Predictions in flight per worker.' }), 8),
    options: withDefault(anyMapping('Passed to the module’s optional init(options).'), {}),
    version: Type.Optional(Type.String({ description: 'Model version recorded on every prediction.' })),
  },
  { additionalProperties: false },
);

type ModuleModelSettings = Static<typeof moduleModelSettings>;

/** `type: module`, resolved. */
export interface ModuleModelConfig {
  type: 'module';
  /** Absolute path of the JS module exporting `predict(record)`. */
  path: string;
  timeoutMs: number;
  retries: number;
  concurrency: number;
  options: Record<string, unknown>;
  version?: string;
}

export function resolveModuleModel(m: ModuleModelSettings, at: SettingPath, { dir, report }: ResolveContext): ModuleModelConfig {
  const file = path.resolve(dir, m.path);
  if (!existsSync(file)) report([...at, 'path'], `module not found: ${m.path}`);
  return {
    type: 'module',
    path: file,
    timeoutMs: parseDuration(m.timeout),
    retries: m.retries,
    concurrency: m.concurrency,
    options: m.options,
    version: m.version,
  };
}
