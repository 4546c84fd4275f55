/**
 * Building blocks of the HTTP API's schemas. Everything under src/server/schemas/ imports only TypeBox, so the
 * console (web/) can import its types (`import type`) without pulling in server code.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';

/** `T` or null. */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** A moment as ISO 8601 text in UTC (`2026-03-01T12:00:00.000Z`). */
export const Timestamp = Type.String({ format: 'date-time' });
export type Timestamp = Static<typeof Timestamp>;

/** Any JSON value a person or a model wrote (a record's body, a detail of an event). */
export const Json = Type.Unknown();
export type Json = Static<typeof Json>;

/** A JSON object whose members vary. */
export const JsonObject = Type.Record(Type.String(), Type.Unknown());
export type JsonObject = Static<typeof JsonObject>;

/** A JSON Schema (a contract, or one proposed). */
export const JsonSchema = Type.Object({}, { additionalProperties: true, description: 'A JSON Schema.' });
export type JsonSchema = Static<typeof JsonSchema>;

/**
 * RFC 9457 problem details: every error the API answers. Some carry more members (`refused`, `pipelines`). Shared by
 * reference (`$id`): the OpenAPI document lists it once, under components.
 */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'A URI naming the kind of problem.' }),
    title: Type.String({ description: 'The HTTP status in words.' }),
    status: Type.Integer(),
    detail: Type.Optional(Type.String({ description: 'What was wrong, in one sentence for people.' })),
    code: Type.String({ description: "Airlock's stable error code, e.g. NOT_FOUND, CONFLICT." }),
    instance: Type.Optional(Type.String({ description: 'The request path.' })),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof Problem>;

/** The kinds of contract violation (src/contract/gate.ts; the server checks at compile time that the lists agree). */
export const ViolationKind = Type.Union([
  Type.Literal('unparseable'),
  Type.Literal('unknown_field'),
  Type.Literal('missing_required'),
  Type.Literal('type_mismatch'),
  Type.Literal('new_enum_value'),
  Type.Literal('format_mismatch'),
  Type.Literal('out_of_range'),
  Type.Literal('other'),
]);
export type ViolationKind = Static<typeof ViolationKind>;

/** A contract violation: which field broke which rule. */
export const Violation = Type.Object({
  kind: Type.String({ description: 'One of the violation kinds (ViolationKind).' }),
  path: Type.String({ description: 'JSON Pointer of the value.' }),
  field: Type.String({ description: 'Dotted field name.' }),
  message: Type.String(),
});
export type Violation = Static<typeof Violation>;
