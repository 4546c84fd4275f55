import type { ValidateFunction } from 'ajv';
import { createAjv } from './ajv.js';

/**
 * Contract inference: a JSON Schema 2020-12 for one record, learned from a sample of records.
 *
 * Feed records one at a time to an `Inferrer` (memory grows with the number of distinct fields, not rows),
 * then ask it for `.schema(options)`. The schema accepts every record of the sample (see `requiredThreshold`
 * for the one deliberate exception) and is strict where the sample is: objects are closed
 * (`additionalProperties: false`, so a renamed field is caught), types are exact, and low-cardinality strings
 * become enums only where the evidence is strong.
 */

/** A JSON Schema as plain data. */
export type JsonSchema = { [keyword: string]: unknown };

export interface InferOptions {
  /**
   * A field is `required` when it is present in at least this share of the objects it could appear in
   * (default 0.99). Less than 1.0 is allowed on purpose: a production sample has a long tail of broken rows,
   * and a field missing from 0.3% of them is far more often a producer's bug than a field that is really
   * optional — requiring it sends those rows to quarantine instead of writing the bug into the contract.
   * The price is that the contract then rejects those few sample rows; `summary().sometimes_missing` lists
   * them, and 1.0 gives a contract that accepts the whole sample.
   */
  requiredThreshold?: number;
  /** Add minimum/maximum, minLength/maxLength and minItems/maxItems from the sample (default false). */
  bounds?: boolean;
  /** Most distinct values a string field may have to become an enum (default 20). */
  enumMax?: number;
  /** Fewest times each enum value must have been seen (default 5). */
  enumMinCount?: number;
  /** Fewest non-null string values the field must have had for an enum (default 50). */
  enumMinValues?: number;
  /** Longest value (in characters) an enum may hold; longer strings are free text (default 64). */
  enumMaxLength?: number;
  /** Most distinct values per observed values (default 0.5): above it the field is free text. */
  enumMaxDistinctRatio?: number;
}

/** What the inferred contract holds, for a one-line summary and for tests. */
export interface InferSummary {
  rows: number;
  /** Every field, as the gate names them (`items[].sku`), in first-seen order. */
  fields: string[];
  required: string[];
  enums: { field: string; values: string[] }[];
  formats: { field: string; format: string }[];
  /** Required fields that some sample objects lack: the contract rejects those rows (see `requiredThreshold`). */
  sometimes_missing: { field: string; missing: number }[];
}

/** The formats inference may assign, in order of preference when several fit. */
export const INFERRED_FORMATS = ['date-time', 'date', 'uuid', 'email', 'uri'] as const;
export type InferredFormat = (typeof INFERRED_FORMATS)[number];

const DEFAULTS = {
  requiredThreshold: 0.99,
  bounds: false,
  enumMax: 20,
  enumMinCount: 5,
  enumMinValues: 50,
  enumMaxLength: 64,
  enumMaxDistinctRatio: 0.5,
} satisfies Required<InferOptions>;

/** How many distinct values of a string field are tracked; an `enumMax` above it is treated as this. */
export const DISTINCT_CAP = 256;

let formatValidators: Map<InferredFormat, ValidateFunction> | undefined;

/** The gate's own format checks (ajv-formats, full mode), so the contract never rejects its own sample. */
function formatCheck(format: InferredFormat): ValidateFunction {
  if (!formatValidators) {
    const ajv = createAjv({ strict: false, validateFormats: true });
    formatValidators = new Map(INFERRED_FORMATS.map((f) => [f, ajv.compile({ type: 'string', format: f })]));
  }
  return formatValidators.get(format)!;
}

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';
const TYPE_ORDER: JsonType[] = ['object', 'array', 'string', 'integer', 'number', 'boolean', 'null'];

function jsonTypeOf(value: unknown): JsonType | undefined {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(value) ? 'integer' : Number.isFinite(value) ? 'number' : undefined;
    case 'object':
      return Array.isArray(value) ? 'array' : 'object';
    default:
      return undefined; // undefined, functions, bigint: not JSON
  }
}

/** Length as JSON Schema (and ajv) counts it: in Unicode code points. */
function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** What has been seen at one place in the records (the record itself, a property, array items). */
class Node {
  /** How many values were seen here, null included. */
  seen = 0;
  readonly types = new Map<JsonType, number>();
  // numbers
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  // strings
  strings = 0;
  minLength = Number.POSITIVE_INFINITY;
  maxLength = 0;
  /** Distinct string values with their counts, until there are more than DISTINCT_CAP or one is too long. */
  distinct: Map<string, number> | undefined = new Map();
  /** Formats every string so far satisfied; undefined before the first string. */
  formats: InferredFormat[] | undefined;
  // objects
  objects = 0;
  readonly properties = new Map<string, { present: number; node: Node }>();
  // arrays
  items: Node | undefined;
  minItems = Number.POSITIVE_INFINITY;
  maxItems = 0;

  add(value: unknown): void {
    const type = jsonTypeOf(value);
    if (type === undefined) return;
    this.seen++;
    this.types.set(type, (this.types.get(type) ?? 0) + 1);
    switch (type) {
      case 'integer':
      case 'number': {
        const x = value as number;
        if (x < this.min) this.min = x;
        if (x > this.max) this.max = x;
        break;
      }
      case 'string':
        this.addString(value as string);
        break;
      case 'object': {
        this.objects++;
        for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
          if (v === undefined) continue;
          let prop = this.properties.get(key);
          if (!prop) this.properties.set(key, (prop = { present: 0, node: new Node() }));
          prop.present++;
          prop.node.add(v);
        }
        break;
      }
      case 'array': {
        const arr = value as unknown[];
        if (arr.length < this.minItems) this.minItems = arr.length;
        if (arr.length > this.maxItems) this.maxItems = arr.length;
        for (const v of arr) {
          this.items ??= new Node();
          this.items.add(v);
        }
        break;
      }
      default:
        break;
    }
  }

  private addString(s: string): void {
    this.strings++;
    const len = codePointLength(s);
    if (len < this.minLength) this.minLength = len;
    if (len > this.maxLength) this.maxLength = len;
    if (this.distinct) {
      const n = this.distinct.get(s);
      if (n !== undefined) this.distinct.set(s, n + 1);
      else if (this.distinct.size >= DISTINCT_CAP || len > 256) this.distinct = undefined;
      else this.distinct.set(s, 1);
    }
    const candidates = this.formats ?? INFERRED_FORMATS;
    if (candidates.length > 0) this.formats = candidates.filter((f) => formatCheck(f)(s));
  }
}

/** Learns a contract from records fed one at a time. */
export class Inferrer {
  private readonly root = new Node();

  /** Adds one record of the sample. */
  add(record: unknown): void {
    this.root.add(record);
  }

  /** How many records were added. */
  get rows(): number {
    return this.root.seen;
  }

  /** The JSON Schema 2020-12 of one record. */
  schema(options: InferOptions = {}): JsonSchema {
    return this.build(options).schema;
  }

  /** What the schema for these options holds: fields, required, enums, formats. */
  summary(options: InferOptions = {}): InferSummary {
    return this.build(options).summary;
  }

  private build(options: InferOptions): { schema: JsonSchema; summary: InferSummary } {
    const opts = { ...DEFAULTS, ...stripUndefined(options) };
    if (!(opts.requiredThreshold > 0 && opts.requiredThreshold <= 1)) {
      throw new RangeError(`requiredThreshold must be in (0, 1], got ${opts.requiredThreshold}`);
    }
    if (!(Number.isInteger(opts.enumMax) && opts.enumMax >= 0))
      throw new RangeError(`enumMax must be a whole number ≥ 0, got ${opts.enumMax}`);
    const summary: InferSummary = { rows: this.rows, fields: [], required: [], enums: [], formats: [], sometimes_missing: [] };
    const body = schemaOf(this.root, '', opts, summary);
    return { schema: { $schema: 'https://json-schema.org/draft/2020-12/schema', ...body }, summary };
  }
}

/** Infers a contract from all records at once. */
export function inferSchema(records: Iterable<unknown>, options: InferOptions = {}): JsonSchema {
  const inferrer = new Inferrer();
  for (const r of records) inferrer.add(r);
  return inferrer.schema(options);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Sets an own enumerable property, safe for keys such as `__proto__`. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function schemaOf(node: Node, field: string, opts: Required<InferOptions>, summary: InferSummary): JsonSchema {
  if (node.seen === 0) return {};
  const seenTypes = new Set(node.types.keys());
  // Every integer is a number: a field with both is a number.
  if (seenTypes.has('number')) seenTypes.delete('integer');
  const types = TYPE_ORDER.filter((t) => seenTypes.has(t));
  const out: JsonSchema = { type: types.length === 1 ? types[0] : types };

  if (seenTypes.has('string')) {
    const format = node.formats?.[0];
    if (format) {
      out.format = format;
      summary.formats.push({ field, format });
    }
    const onlyStrings = types.every((t) => t === 'string' || t === 'null');
    const values = !format && onlyStrings ? enumValues(node, opts) : undefined;
    if (values) {
      out.enum = seenTypes.has('null') ? [...values, null] : values;
      summary.enums.push({ field, values });
    }
    if (opts.bounds && !values) {
      out.minLength = node.minLength;
      out.maxLength = node.maxLength;
    }
  }
  if (opts.bounds && (seenTypes.has('integer') || seenTypes.has('number'))) {
    out.minimum = node.min;
    out.maximum = node.max;
  }
  if (seenTypes.has('object')) {
    const properties: Record<string, unknown> = {};
    const required: string[] = [];
    let patternProperties: JsonSchema | undefined;
    for (const [key, prop] of node.properties) {
      const child = field === '' ? key : `${field}.${key}`;
      summary.fields.push(child);
      const sub = schemaOf(prop.node, child, opts, summary);
      if (key === '__proto__') {
        // ajv skips `__proto__` in properties and required (a guard against prototype pollution): only a
        // pattern names it, so a record carrying it still passes the closed object.
        patternProperties = { '^__proto__$': sub };
        continue;
      }
      if (prop.present / node.objects >= opts.requiredThreshold) {
        required.push(key);
        summary.required.push(child);
        if (prop.present < node.objects) summary.sometimes_missing.push({ field: child, missing: node.objects - prop.present });
      }
      setOwn(properties, key, sub);
    }
    out.properties = properties;
    if (patternProperties) out.patternProperties = patternProperties;
    if (required.length > 0) out.required = required;
    out.additionalProperties = false;
  }
  if (seenTypes.has('array')) {
    // An array never seen with an element says nothing about its elements: leave them open.
    if (node.items) out.items = schemaOf(node.items, `${field}[]`, opts, summary);
    if (opts.bounds) {
      out.minItems = node.minItems;
      out.maxItems = node.maxItems;
    }
  }
  return out;
}

/** The enum of a string field, only where the evidence says it is a category and not free text. */
function enumValues(node: Node, opts: Required<InferOptions>): string[] | undefined {
  const distinct = node.distinct;
  if (!distinct || distinct.size === 0) return undefined;
  if (distinct.size > Math.min(opts.enumMax, DISTINCT_CAP)) return undefined;
  if (node.strings < opts.enumMinValues) return undefined;
  if (node.maxLength > opts.enumMaxLength) return undefined;
  if (distinct.size / node.strings > opts.enumMaxDistinctRatio) return undefined;
  for (const n of distinct.values()) if (n < opts.enumMinCount) return undefined;
  // Most frequent first, so the contract reads like the data; ties in first-seen order.
  return [...distinct.entries()].sort((a, b) => b[1] - a[1]).map(([v]) => v);
}
