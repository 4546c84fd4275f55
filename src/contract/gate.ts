import { createHash } from 'node:crypto';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createAjv } from './ajv.js';

/** What kind of change a violation is; the config sets a policy (accept, quarantine, halt) per kind. */
export type ViolationKind =
  | 'unparseable'
  | 'unknown_field'
  | 'missing_required'
  | 'type_mismatch'
  | 'new_enum_value'
  | 'format_mismatch'
  | 'out_of_range'
  | 'other';

export const VIOLATION_KINDS: readonly ViolationKind[] = [
  'unparseable',
  'unknown_field',
  'missing_required',
  'type_mismatch',
  'new_enum_value',
  'format_mismatch',
  'out_of_range',
  'other',
];

/** One way a record breaks its contract. */
export interface Violation {
  kind: ViolationKind;
  /** JSON Pointer (RFC 6901) to the offending value in the record. */
  path: string;
  /** The field as a dotted path with array positions as `[]` (`items[].sku`): the same change in two records has the same field. */
  field: string;
  /** What the contract expected there. */
  message: string;
  /** The JSON Schema keyword that failed (`type`, `required`, …). */
  keyword: string;
}

/** A compiled contract: a JSON Schema 2020-12 for one record, with a stable hash of its text. */
export interface Contract {
  schema: object;
  hash: string;
  validate(record: unknown): Violation[];
}

/** Compiles a JSON Schema 2020-12 into a contract; throws an Error naming the schema's problem. */
export function compileContract(schema: object): Contract {
  const ajv = createAjv({ allErrors: true, strict: false, validateFormats: true });
  let fn: ValidateFunction;
  try {
    fn = ajv.compile(schema);
  } catch (err) {
    throw new Error(`not a valid JSON Schema: ${(err as Error).message}`);
  }
  const hash = createHash('sha256').update(canonicalJson(schema)).digest('hex');
  return {
    schema,
    hash,
    validate(record: unknown): Violation[] {
      if (fn(record)) return [];
      return (fn.errors ?? []).map(toViolation);
    },
  };
}

function toViolation(e: ErrorObject): Violation {
  let path = e.instancePath || '';
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'required') {
    const missing = (e.params as { missingProperty: string }).missingProperty;
    path = `${path}/${escapePointer(missing)}`;
    message = 'is required';
  } else if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    path = `${path}/${escapePointer(extra)}`;
    message = 'is not allowed by the contract';
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  const pointer = path || '/';
  return { kind: kindOf(e.keyword), path: pointer, field: fieldOf(pointer), message, keyword: e.keyword };
}

const KIND_BY_KEYWORD: Record<string, ViolationKind> = {
  required: 'missing_required',
  dependentRequired: 'missing_required',
  additionalProperties: 'unknown_field',
  unevaluatedProperties: 'unknown_field',
  type: 'type_mismatch',
  enum: 'new_enum_value',
  const: 'new_enum_value',
  format: 'format_mismatch',
  minimum: 'out_of_range',
  maximum: 'out_of_range',
  exclusiveMinimum: 'out_of_range',
  exclusiveMaximum: 'out_of_range',
  multipleOf: 'out_of_range',
  minLength: 'out_of_range',
  maxLength: 'out_of_range',
  minItems: 'out_of_range',
  maxItems: 'out_of_range',
};

/** The violation kind for a failed JSON Schema keyword. */
export function kindOf(keyword: string): ViolationKind {
  return KIND_BY_KEYWORD[keyword] ?? 'other';
}

/** `/items/0/sku` → `items[].sku`; `/` → `` (the record itself). */
export function fieldOf(pointer: string): string {
  if (pointer === '/' || pointer === '') return '';
  let out = '';
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^(0|[1-9][0-9]*)$/.test(seg)) out += '[]';
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** JSON with object keys sorted, so equal values hash equally (undefined members dropped, as JSON.stringify does). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, sortKeysReplacer) ?? 'null';
}

function sortKeysReplacer(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  let sorted = true;
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1] > keys[i]) {
      sorted = false;
      break;
    }
  }
  if (sorted) return obj;
  keys.sort();
  // fromEntries defines each key as data: a `__proto__` field stays a field (an assignment would set the prototype
  // and drop the field from the canonical form, so two different bodies would hash alike).
  return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}
