/** Schemas of contracts and schema-change halts. */
import { type Static, Type } from '@sinclair/typebox';
import { JsonObject, JsonSchema, Nullable, Timestamp } from './common.js';

/** One version of a pipeline's contract (a JSON Schema), who accepted it and whether it is in force. */
export const ContractVersion = Type.Object({
  version: Type.Integer(),
  status: Type.Union([Type.Literal('active'), Type.Literal('superseded')]),
  source: Type.Union([Type.Literal('config'), Type.Literal('accepted')]),
  hash: Type.String(),
  created_at: Timestamp,
  created_by: Nullable(Type.String()),
  note: Nullable(Type.String()),
  schema: JsonSchema,
});
export type ContractVersion = Static<typeof ContractVersion>;

export const ContractHistory = Type.Object({ pipeline: Type.String(), versions: Type.Array(ContractVersion) });
export type ContractHistory = Static<typeof ContractHistory>;

/** A halt: the schema change that stopped a pipeline, and how it was decided. */
export const HaltView = Type.Object({
  id: Type.Integer(),
  pipeline: Type.String(),
  status: Type.String({ description: 'open, accepted or rejected.' }),
  change: Type.Object({ kind: Type.String(), field: Type.String() }),
  contract_version: Nullable(Type.Integer()),
  opened_at: Timestamp,
  detail: Type.Object(
    {
      example_ids: Type.Optional(Type.Array(Type.String())),
      records: Type.Optional(Type.Integer()),
    },
    { additionalProperties: true },
  ),
  resolved_at: Nullable(Timestamp),
  resolved_by: Nullable(Type.String()),
  resolution: Nullable(JsonObject),
});
export type HaltView = Static<typeof HaltView>;

/** A pipeline's halt, if any: the change, the backlog, the contract accepting it would make, and past halts. */
export const HaltStatus = Type.Object({
  pipeline: Type.String(),
  halted: Type.Boolean(),
  halt: Nullable(HaltView),
  backlog: Type.Integer({ description: 'Records waiting for the decision (status halted).' }),
  quarantined_with_change: Type.Integer({ description: 'Records quarantined earlier that showed the same change.' }),
  proposed: Nullable(
    Type.Object({
      changes: Type.Array(Type.String()),
      still_rejected: Type.Integer(),
      schema: JsonSchema,
    }),
  ),
  contract: Nullable(Type.Object({ version: Type.Integer(), hash: Type.String() })),
  history: Type.Array(HaltView),
});
export type HaltStatus = Static<typeof HaltStatus>;

/** What a decision on a halt did. */
export const HaltOutcome = Type.Object({
  pipeline: Type.String(),
  halt: Type.Integer(),
  decision: Type.Union([Type.Literal('accepted'), Type.Literal('rejected')]),
  version: Type.Optional(Type.Integer({ description: 'The contract version now in force (accept only).' })),
  changes: Type.Optional(Type.Array(Type.String())),
  released: Type.Integer({ description: 'Quarantined records released into the backlog because they showed the accepted change.' }),
  quarantined: Type.Integer({ description: 'Halted records quarantined because they showed the rejected change.' }),
  resumed: Type.Integer({ description: 'Records that left halted when processing resumed.' }),
});
export type HaltOutcome = Static<typeof HaltOutcome>;
