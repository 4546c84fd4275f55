import { createHash } from 'node:crypto';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createAjv } from './ajv.js';

/** One way a record breaks its contract. */
export interface Violation {
  /** JSON Pointer (RFC 6901) to the offending value in the record. */
  path: string;
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
  return { path: path || '/', message, keyword: e.keyword };
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** JSON with object keys sorted, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>).sort();
  return `{${keys
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}
