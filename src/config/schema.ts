/**
 * The published JSON Schema (2020-12) of `airlock.yaml`, generated from the declarations in sections/:
 * `airlock config schema` prints it so editors complete and check the file. It differs from the loader's schema in
 * three ways, all for editors:
 * - a scalar setting also accepts a whole `${VAR}` or `${VAR:-default}` reference, since the loader expands those
 *   before it validates (`port: ${PORT}` is a number by then);
 * - Airlock's own `x-expected` annotation is left out, and a list of types becomes an `anyOf`, so the schema
 *   compiles under ajv's strict mode;
 * - every description and default stays.
 */
import { configSettings } from './airlock-config.js';
import { WHOLE_ENV_REFERENCE } from './env.js';
import { EXPECTED } from './sections/kinds.js';

type Schema = Record<string, unknown>;

const ENV_REFERENCE_DEF = 'environment_reference';
const ENV_REFERENCE_REF = { $ref: `#/$defs/${ENV_REFERENCE_DEF}` };

/** Keywords that say something about the setting as a whole, kept on the outside when a schema is split or wrapped. */
const ANNOTATIONS = ['title', 'description', 'default', 'examples', 'deprecated', '$comment'];

/** The keywords that apply to each JSON type (for splitting `type: [string, integer]` into one branch per type). */
const KEYWORDS_OF_TYPE: Record<string, string[]> = {
  string: ['pattern', 'format', 'minLength', 'maxLength'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
  array: ['items', 'prefixItems', 'minItems', 'maxItems', 'uniqueItems', 'contains'],
  object: ['properties', 'additionalProperties', 'required', 'propertyNames', 'patternProperties', 'minProperties', 'maxProperties'],
  boolean: [],
};

/** Subschemas that hold settings (an `if` only tests a value; `propertyNames` checks keys, which are never expanded). */
const SUBSCHEMA_MAPS = ['properties', '$defs'];
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'];
const SUBSCHEMAS = ['items', 'additionalProperties', 'then', 'else', 'not', 'contains'];

function pick(schema: Schema, keys: string[]): Schema {
  return Object.fromEntries(Object.entries(schema).filter(([k]) => keys.includes(k)));
}
function omit(schema: Schema, keys: string[]): Schema {
  return Object.fromEntries(Object.entries(schema).filter(([k]) => !keys.includes(k)));
}

/** `type: [a, b]` → `anyOf: [{ type: a, … }, { type: b, … }]`, each branch with the keywords of its type. */
function splitTypeList(schema: Schema): Schema {
  if (!Array.isArray(schema.type)) return schema;
  const types = schema.type as string[];
  const typed = types.flatMap((t) => KEYWORDS_OF_TYPE[t] ?? []);
  const branches = types.map((t) => ({ type: t, ...pick(schema, KEYWORDS_OF_TYPE[t] ?? []) }));
  return { ...omit(schema, ['type', ...typed]), anyOf: branches };
}

/** Whether a value that is a `${VAR}` string would be refused by this schema alone. */
function refusesReference(schema: Schema): boolean {
  if ('enum' in schema || 'const' in schema) return true;
  if (Array.isArray(schema.anyOf)) return !(schema.anyOf as Schema[]).some((b) => !refusesReference(b));
  if (schema.type === 'string') return 'pattern' in schema || 'format' in schema;
  return schema.type === 'number' || schema.type === 'integer' || schema.type === 'boolean';
}

function isScalar(schema: Schema): boolean {
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Schema[]).every(isScalar);
  return schema.type === undefined
    ? 'enum' in schema || 'const' in schema
    : ['string', 'number', 'integer', 'boolean'].includes(String(schema.type));
}

/** The schema with what editors need: see the file's comment. */
function publish(node: unknown, inCondition = false): unknown {
  if (Array.isArray(node)) return node.map((n) => publish(n, inCondition));
  if (node === null || typeof node !== 'object') return node;
  let schema = omit(node as Schema, [EXPECTED]);
  for (const key of Object.keys(schema)) {
    const child = schema[key];
    if (SUBSCHEMA_MAPS.includes(key) && child && typeof child === 'object') {
      schema[key] = Object.fromEntries(Object.entries(child).map(([k, v]) => [k, publish(v, inCondition)]));
    } else if (SUBSCHEMA_LISTS.includes(key) || SUBSCHEMAS.includes(key)) {
      schema[key] = publish(child, inCondition);
    } else if (key === 'if' || key === 'propertyNames') {
      schema[key] = publish(child, true);
    }
  }
  schema = splitTypeList(schema);
  if (!inCondition && isScalar(schema) && refusesReference(schema)) {
    schema = { ...pick(schema, ANNOTATIONS), anyOf: [omit(schema, ANNOTATIONS), ENV_REFERENCE_REF] };
  }
  return schema;
}

/** The JSON Schema that `airlock config schema` prints. */
export const configJsonSchema: Schema = {
  ...(publish(JSON.parse(JSON.stringify(configSettings))) as Schema),
  $defs: {
    [ENV_REFERENCE_DEF]: {
      type: 'string',
      pattern: WHOLE_ENV_REFERENCE,
      description: 'A ${VAR} or ${VAR:-default} reference: the loader puts the variable’s value here before it checks the file.',
    },
  },
};
