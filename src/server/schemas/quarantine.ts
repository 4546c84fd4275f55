/** Schemas of quarantined records: the list, one record with its trail, release and discard. */
import { type Static, Type } from '@sinclair/typebox';
import { Json, Nullable, Timestamp, Violation } from './common.js';
import { RecordEvent } from './records.js';

export const QuarantinedRecord = Type.Object({
  pipeline: Type.String(),
  id: Type.String(),
  case_id: Nullable(Type.Integer()),
  received_at: Timestamp,
  contract_version: Nullable(Type.Integer()),
  violations: Type.Array(Violation),
  edited: Type.Boolean({ description: 'A person edited the body (the original is kept).' }),
});
export type QuarantinedRecord = Static<typeof QuarantinedRecord>;

export const QuarantineList = Type.Object({ records: Type.Array(QuarantinedRecord), total: Type.Integer() });
export type QuarantineList = Static<typeof QuarantineList>;

export const QuarantineDetail = Type.Composite([
  QuarantinedRecord,
  Type.Object({
    status: Type.String(),
    body: Json,
    original_body: Json,
    events: Type.Array(RecordEvent),
  }),
]);
export type QuarantineDetail = Static<typeof QuarantineDetail>;

/** A release: the record checked again against the contract in force; `released: false` (422) lists what is still wrong. */
export const ReleaseResult = Type.Object({
  pipeline: Type.String(),
  id: Type.String(),
  status: Type.Union([Type.Literal('received'), Type.Literal('halted'), Type.Literal('quarantined')]),
  released: Type.Boolean(),
  violations: Type.Array(Violation),
});
export type ReleaseResult = Static<typeof ReleaseResult>;

export const Discarded = Type.Object({ pipeline: Type.String(), id: Type.String(), status: Type.Literal('discarded') });
export type Discarded = Static<typeof Discarded>;
