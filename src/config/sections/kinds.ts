/**
 * The kinds of value a setting holds (durations, rates, URLs, headers, choices, mappings) as TypeBox builders, and
 * the two ways a setting gets its default. Each kind carries its `x-expected` phrase: the words a problem uses for what
 * was expected ("expected a duration such as 500ms, 2s, 5m, 4h or 1d"); the published schema leaves it out.
 */
import { type SchemaOptions, type Static, type TObject, type TSchema, type TUnsafe, Type } from '@sinclair/typebox';
import { DURATION_PATTERN, RATE_PATTERN } from '../units.js';

/** Airlock's annotation for the phrase a problem uses ("expected …"); only the loader's validator reads it. */
export const EXPECTED = 'x-expected';

/**
 * A setting the file may leave out whose default the validator fills in (ajv `useDefaults`): absent from `required`
 * in the JSON Schema, present in the validated type.
 */
export function withDefault<T extends TSchema>(schema: T, value: Static<T>): T {
  return Type.Optional({ ...schema, default: value }) as unknown as T;
}

/** A block the file may leave out: the validator creates it empty, then fills in its settings' defaults. */
export function defaultBlock<T extends TObject>(schema: T): T {
  return Type.Optional({ ...schema, default: {} }) as unknown as T;
}

/** One of a list of words, e.g. `choice(['hourly', 'daily'])`; the phrase defaults to "one of hourly, daily". */
export function choice<const V extends readonly string[]>(values: V, options: SchemaOptions = {}): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ ...options, enum: [...values] });
}

/** A mapping from names the user picks (pipelines, teams, headers) to values of one schema. */
export function mapOf<T extends TSchema>(value: T, options: SchemaOptions = {}): TUnsafe<Record<string, Static<T>>> {
  return Type.Unsafe<Record<string, Static<T>>>({ ...options, type: 'object', additionalProperties: value });
}

/** A mapping of any shape, passed on as it is (a module's options). */
export function anyMapping(description: string): TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ type: 'object', description });
}

const DURATION_EXPECTED = 'a duration such as 500ms, 2s, 5m, 4h or 1d';
const RATE_EXPECTED = 'a rate such as 20/s, 700/min, 100/10s or 1000000/day';

/** A duration: `500ms`, `2s`, `5m`, `4h`, `1d` (src/config/units.ts parses it). */
export function duration(description: string, expected = DURATION_EXPECTED) {
  return Type.String({ pattern: DURATION_PATTERN, description, [EXPECTED]: expected });
}

/** A rate: `20/s`, `700/min`, `100/10s`, `1000000/day` (src/config/units.ts parses it). */
export function rate(description: string, expected = RATE_EXPECTED) {
  return Type.String({ pattern: RATE_PATTERN, description, [EXPECTED]: expected });
}

/** An http(s) URL. */
export function url(description: string) {
  return Type.String({ format: 'uri', pattern: '^https?://', description, [EXPECTED]: 'an http(s) URL' });
}

/** Extra HTTP headers, name → value. */
export function headers() {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the doc string shows the ${ENV_VAR} syntax
  return mapOf(Type.String(), { description: 'Extra HTTP headers sent with every request (use ${ENV_VAR} for secrets).' });
}

/** A list of HTTP status codes. */
export function statusList(description: string) {
  return Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { description, [EXPECTED]: 'a list of HTTP status codes' });
}

/**
 * `allOf` branches that apply a schema when a discriminating setting has a value: the settings of a model of
 * `type: http`, of a webhook alert sink, the plans of a vendor.
 */
export function whenSetting(key: string, cases: Record<string, TSchema | Record<string, unknown>>): Record<string, unknown>[] {
  return Object.entries(cases).map(([value, schema]) => ({
    if: { properties: { [key]: { const: value } } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then
    then: schema,
  }));
}
