/** Schema of the production-readiness report (the same JSON as `airlock readiness --json`). */
import { type Static, Type } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

export const ReadinessCheck = Type.Object({
  id: Type.String(),
  title: Type.String(),
  status: Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('manual'), Type.Literal('stale')]),
  points: Type.Number(),
  blocking: Type.Boolean(),
  evidence: Type.String({ description: 'What was found, in one sentence.' }),
  fix: Nullable(Type.String({ description: 'What to run or change when the check does not pass.' })),
  artefact: Nullable(Type.Object({ kind: Type.String(), id: Type.Integer(), created_at: Timestamp })),
});
export type ReadinessCheck = Static<typeof ReadinessCheck>;

export const ReadinessReport = Type.Object({
  pipeline: Type.String(),
  generated_at: Timestamp,
  score: Type.Number(),
  min_score: Nullable(Type.Number()),
  blocking_failed: Type.Array(Type.String()),
  passed: Type.Boolean(),
  gate: Type.Object(
    { default: Type.Boolean(), why: Type.String() },
    {
      description:
        'Which gate applied: the default one (the essential checks must pass, every section at least ½), or the one the config names.',
    },
  ),
  sections: Type.Array(
    Type.Object({ name: Type.String(), title: Type.String(), score: Type.Number(), checks: Type.Array(ReadinessCheck) }),
  ),
});
export type ReadinessReport = Static<typeof ReadinessReport>;
