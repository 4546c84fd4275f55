/**
 * Building blocks of the HTTP API's schemas. Everything under src/server/schemas/ imports only TypeBox, so the
 * console (web/) can import its types (`import type`) without pulling in server code.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';

/** `T` or null. */
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** A moment as ISO 8601 text in UTC (`2026-03-01T12:00:00.000Z`). */
export const Timestamp = Type.String({ format: 'date-time' });

/** Any JSON value a person or a model wrote (a record's body, a detail of an event). */
export const Json = Type.Unknown();

/** A JSON object whose members vary. */
export const JsonObject = Type.Record(Type.String(), Type.Unknown());

/** A JSON Schema (a contract, or one proposed). */
export const JsonSchema = Type.Object({}, { additionalProperties: true, description: 'A JSON Schema.' });

/** RFC 9457 problem details: every error the API answers. Some carry more members (`refused`, `pipelines`). */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'A URI naming the kind of problem.' }),
    title: Type.String({ description: 'The HTTP status in words.' }),
    status: Type.Integer(),
    detail: Type.Optional(Type.String({ description: 'What was wrong, in one sentence for people.' })),
    code: Type.String({ description: "Airlock's stable error code, e.g. NOT_FOUND, CONFLICT." }),
    instance: Type.Optional(Type.String({ description: 'The request path.' })),
  },
  { description: 'RFC 9457 problem details' },
);
export type Problem = Static<typeof Problem>;

/** A contract violation: which field broke which rule. */
export const Violation = Type.Object({
  kind: Type.String({ description: 'unknown_field, type_mismatch, new_enum_value, missing_required, unparseable, …' }),
  path: Type.String({ description: 'JSON Pointer of the value.' }),
  field: Type.String({ description: 'Dotted field name.' }),
  message: Type.String(),
});
export type Violation = Static<typeof Violation>;
