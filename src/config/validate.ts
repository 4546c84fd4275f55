/**
 * The validation stage: the expanded file against the schema of sections/, with ajv filling in every default
 * (`useDefaults`), and ajv's errors turned into problems that name the path, what was expected (the setting's
 * `x-expected` phrase) and, for a value of the wrong shape, what the setting is for (its doc string).
 */
import type { ErrorObject } from 'ajv';
import { createAjv } from '../contract/ajv.js';
import type { ConfigProblem } from '../errors.js';
import { type ConfigSettings, configSettings } from './airlock-config.js';
import type { LineOf } from './problems.js';
import { EXPECTED } from './sections/kinds.js';

let cachedValidator: ReturnType<typeof buildValidator> | undefined;

function buildValidator() {
  // Not strict: the loader's schema keeps `x-expected` and union types (the published copy, schema.ts, is strict).
  const ajv = createAjv({ allErrors: true, strict: false, useDefaults: true, verbose: true });
  ajv.addKeyword({ keyword: EXPECTED, schemaType: 'string' });
  return ajv.compile<ConfigSettings>(configSettings);
}

/**
 * Validates the expanded file and fills in its defaults (in place). `reported` are paths that already have a
 * problem (a missing variable), so a value is not reported again as malformed.
 */
export function validateConfig(
  value: Record<string, unknown>,
  lineOf: LineOf,
  reported: Set<string>,
): { settings: ConfigSettings; problems: [] } | { settings?: undefined; problems: ConfigProblem[] } {
  cachedValidator ??= buildValidator();
  const validate = cachedValidator;
  if (validate(value)) return { settings: value, problems: [] };
  const problems = selectErrors(validate.errors ?? [])
    .map((e) => toProblem(e, lineOf))
    .filter((p) => !reported.has(p.path));
  return { problems };
}

/** Drops the noise of if/then branches so each problem is reported once, where it is. */
function selectErrors(errors: ErrorObject[]): ErrorObject[] {
  // A bad pipeline name is reported once, by `propertyNames`, not again by its inner `pattern`.
  let out = errors.filter((e) => e.keyword !== 'if' && !(e.keyword === 'pattern' && e.schemaPath.includes('/propertyNames/')));
  // A value of the wrong type fails its setting's schema and every branch applied to it (a model that is not a
  // mapping fails `model` and its `then`): the setting's own, outermost, error is the one reported.
  const outermostType = new Map<string, ErrorObject>();
  for (const e of out.filter((e) => e.keyword === 'type')) {
    const seen = outermostType.get(e.instancePath);
    if (!seen || e.schemaPath.length < seen.schemaPath.length) outermostType.set(e.instancePath, e);
  }
  out = out.filter((e) => e.keyword !== 'type' || outermostType.get(e.instancePath) === e);
  // A oneOf (e.g. `sla: 4h` or `sla: { … }`): report the branch of the value's own type, else the oneOf alone.
  for (const one of out.filter((e) => e.keyword === 'oneOf')) {
    const prefix = `${one.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const e of out) {
      if (!e.schemaPath.startsWith(prefix)) continue;
      const b = e.schemaPath.slice(prefix.length).split('/')[0];
      branches.set(b, [...(branches.get(b) ?? []), e]);
    }
    const ofItsType = [...branches.values()].find((es) => !es.some((e) => e.keyword === 'type' && e.instancePath === one.instancePath));
    const drop = new Set([...branches.values()].flat().filter((e) => !ofItsType?.includes(e)));
    if (ofItsType) drop.add(one);
    out = out.filter((e) => !drop.has(e));
  }
  return out;
}

/** The first sentence of a doc string ("Time allowed for one model call."). */
function firstSentence(description: string): string {
  const m = /^(.+?[.!?])(?=\s+[A-Z`(]|$)/s.exec(description.trim());
  return m ? m[1] : description.trim();
}

function toProblem(e: ErrorObject, lineOf: LineOf): ConfigProblem {
  const segments = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const schema = e.parentSchema as Record<string, unknown> | undefined;
  const expected = schema?.[EXPECTED] as string | undefined;
  // A value of the wrong shape says what the setting is for: the words of the expected shape alone rarely do.
  const purpose = typeof schema?.description === 'string' ? ` — ${firstSentence(schema.description)}` : '';
  let message: string;
  switch (e.keyword) {
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      segments.push(missing);
      message = 'is required';
      break;
    }
    case 'additionalProperties': {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      segments.push(extra);
      message = 'is not a known setting here';
      break;
    }
    case 'propertyNames': {
      const name = (e.params as { propertyName: string }).propertyName;
      segments.push(name);
      message = 'name must be letters, digits, - and _ (at most 64)';
      break;
    }
    case 'type':
      message = `expected ${expected ?? article((e.params as { type: string }).type)}${purpose}`;
      break;
    case 'format':
    case 'pattern':
      message = `expected ${expected ?? `a value matching ${(e.params as { pattern?: string }).pattern ?? e.keyword}`}`;
      if (e.data !== undefined) message += `, got ${JSON.stringify(e.data)}`;
      message += purpose;
      break;
    case 'enum':
      message = `expected ${expected ?? `one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`}, got ${JSON.stringify(e.data)}`;
      break;
    case 'const':
      message = `expected ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
      break;
    case 'oneOf':
      message = `expected ${expected ?? 'a value of another shape'}, got ${JSON.stringify(e.data)}${purpose}`;
      break;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      message = `expected a number ${e.message?.replace(/^must be /, '')}, got ${JSON.stringify(e.data)}`;
      break;
    default:
      message = e.message ?? 'is invalid';
  }
  return { path: segments.join('.'), line: lineOf(segments), message };
}

function article(type: string): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    object: 'a mapping',
    array: 'a list',
    boolean: 'true or false',
    'string,object': 'a string or a mapping',
    'string,integer': 'a string or a whole number',
  };
  return names[type] ?? type;
}
