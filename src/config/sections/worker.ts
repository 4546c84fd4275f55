/** `worker:`: how each process's workers look for work and hold what they claim. */
import { type Static, Type } from '@sinclair/typebox';
import { parseDuration } from '../units.js';
import { duration, withDefault } from './kinds.js';

export const workerSettings = Type.Object(
  {
    poll_interval: withDefault(duration('How often an idle worker looks for work.'), '200ms'),
    lease: withDefault(duration('How long a claimed item stays with its worker before another may take it.'), '30s'),
    batch: withDefault(Type.Integer({ minimum: 1, maximum: 1000, description: 'Items claimed at once.' }), 64),
  },
  { additionalProperties: false, description: 'The workers of each process: how often they look for work, how much they claim.' },
);

type WorkerSettings = Static<typeof workerSettings>;

/** `worker:`, resolved. */
export interface WorkerConfig {
  pollIntervalMs: number;
  leaseMs: number;
  batch: number;
}

export function resolveWorker(s: WorkerSettings): WorkerConfig {
  return { pollIntervalMs: parseDuration(s.poll_interval), leaseMs: parseDuration(s.lease), batch: s.batch };
}
