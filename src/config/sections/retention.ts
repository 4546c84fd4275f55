/** A pipeline's `retention:`: how long a finished record keeps its content (src/pipeline/retention.ts purges it). */
import { type Static, Type } from '@sinclair/typebox';
import type { ResolveContext, SettingPath } from '../problems.js';
import { parseDuration } from '../units.js';
import { duration, withDefault } from './kinds.js';

export const retentionSettings = Type.Object(
  {
    payloads: duration('How long a finished record keeps its content, e.g. 30d.'),
    every: withDefault(duration('How often the worker purges (one process per run on PostgreSQL).'), '1h'),
  },
  {
    additionalProperties: false,
    description:
      'Retention of record content: the body (and the body as received, when edited) of a delivered or discarded record is blanked `payloads` after its last change; ids, statuses, predictions, decisions, the audit trail, labels and drift summaries stay. Records waiting on a person (quarantined, halted, in review, dead-lettered) are never purged. Absent: content is kept.',
  },
);

type RetentionSettings = Static<typeof retentionSettings>;

/** `retention:`, resolved. */
export interface RetentionConfig {
  /** As written, e.g. `30d` (named in purge runs and record views). */
  payloads: string;
  payloadsMs: number;
  /** How often the worker purges. */
  everyMs: number;
}

export function resolveRetention(s: RetentionSettings, at: SettingPath, { report }: ResolveContext): RetentionConfig {
  const everyMs = parseDuration(s.every);
  if (everyMs < 1000) report([...at, 'every'], `expected at least 1s between purges, got ${JSON.stringify(s.every)}`);
  return { payloads: s.payloads, payloadsMs: parseDuration(s.payloads), everyMs };
}
