/**
 * Request validation from the route schemas (params, querystring, body) and the sentence a 400 problem says: the
 * field and what was expected (`"note" must be a string`, `min_score must be a number of points, 0 or more, got "x"`).
 */
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import { type Ajv, createAjv } from '../contract/ajv.js';
import { AirlockError } from '../errors.js';

/** A JSON Schema 2020-12 validator (the dialect of OpenAPI 3.1) that knows Airlock's `x-expected` annotation. */
export function apiAjv(options: { coerceTypes: boolean | 'array'; useDefaults: boolean }): Ajv {
  const a = createAjv({ ...options, allErrors: false, verbose: true, strict: false, removeAdditional: false });
  // As in the config's schema: the phrase an error message uses for what was expected.
  a.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
  return a;
}

/**
 * Bodies are checked as sent (no coercion: `"5"` is not a number); the URL's parameters and query are text, so they are
 * coerced to the declared types and take their defaults.
 */
const forBody = apiAjv({ coerceTypes: false, useDefaults: false });
const forUrl = apiAjv({ coerceTypes: 'array', useDefaults: true });

/** The validator of each part of a request, compiled once per route. */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? forBody : forUrl).compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;

type VerboseError = FastifySchemaValidationError & { parentSchema?: Record<string, unknown>; data?: unknown };

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
  object: 'a JSON object',
  array: 'a list',
  null: 'null',
};

const typeWords = (t: unknown): string =>
  String(t)
    .split(',')
    .map((x) => TYPE_WORDS[x] ?? x)
    .join(' or ');

/** `/record/items/0` → `record.items[0]`. */
function fieldName(path: string, extra?: string): string {
  const parts = path.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : `${i > 0 ? '.' : ''}${p.replace(/~1/g, '/').replace(/~0/g, '~')}`)).join('');
}

/** What a schema expects, in words: its `x-expected`, its constants, its types. */
function expected(schema: Record<string, unknown> | undefined): string | undefined {
  if (!schema) return undefined;
  if (typeof schema['x-expected'] === 'string') return schema['x-expected'];
  const branches = (schema.anyOf ?? schema.oneOf) as Record<string, unknown>[] | undefined;
  if (Array.isArray(branches)) {
    if (branches.every((b) => 'const' in b)) return `one of ${branches.map((b) => String(b.const)).join(', ')}`;
    const words = branches.map((b) => expected(b)).filter((w): w is string => w !== undefined);
    if (words.length === branches.length) return words.join(' or ');
    return undefined;
  }
  if (Array.isArray(schema.enum)) return `one of ${schema.enum.map(String).join(', ')}`;
  if ('const' in schema) return JSON.stringify(schema.const);
  if (schema.type !== undefined) return typeWords(schema.type);
  return undefined;
}

/** The rule one error broke, as the end of a sentence about the field ("must be a string", "is required"). */
function broken(e: VerboseError): string {
  const p = e.params as Record<string, unknown>;
  const s = e.parentSchema;
  // A schema's own phrase (`x-expected`) says best what any of its rules wants (for a list: what it must list); a type
  // or a set of choices says itself.
  const phrase = s?.['x-expected'];
  if (typeof phrase === 'string' && e.keyword !== 'required') return s?.type === 'array' ? `must list ${phrase}` : `must be ${phrase}`;
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'additionalProperties':
      return 'is not a field this request takes';
    case 'type':
    case 'anyOf':
    case 'oneOf':
    case 'enum':
    case 'const': {
      const words = expected(s);
      if (words) return `must be ${words}`;
      break;
    }
  }
  switch (e.keyword) {
    case 'minimum':
      return `must be ${p.limit} or more`;
    case 'maximum':
      return `must be ${p.limit} or less`;
    case 'minItems':
      return `must list at least ${p.limit}`;
    case 'maxItems':
      return `must list at most ${p.limit}`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${p.limit} characters`;
    case 'maxLength':
      return `must have at most ${p.limit} characters`;
    case 'format':
      return `must be ${expected(s) ?? `a ${p.format}`}`;
    case 'pattern':
      return expected(s) ? `must be ${expected(s)}` : `must match ${p.pattern}`;
    default:
      return e.message ?? 'is not valid';
  }
}

/**
 * Fastify's schemaErrorFormatter: one sentence naming the field and what was expected. A body that is not a JSON
 * object answers "send one JSON object"; a query or path parameter also says what was sent (it is in the URL).
 */
export function describeValidation(errors: FastifySchemaValidationError[], part: string): Error {
  // With a union, Ajv reports each branch first and the union itself last: the last error names the field's rule.
  const e = errors[errors.length - 1] as VerboseError;
  const p = e.params as Record<string, unknown>;
  const field = e.keyword === 'required' ? fieldName(e.instancePath, String(p.missingProperty)) : fieldName(e.instancePath);
  if (part === 'body' && field === '') return new AirlockError('BAD_REQUEST', 'send one JSON object');
  const rule = broken(e);
  if (part === 'body') return new AirlockError('BAD_REQUEST', `"${field}" ${rule}`);
  const sent = e.keyword === 'required' || e.data === undefined ? '' : `, got ${JSON.stringify(String(e.data))}`;
  return new AirlockError('BAD_REQUEST', `${field} ${rule}${sent}`);
}
