import { canonicalJson } from './gate.js';

/**
 * Change detection between two contract versions (JSON Schemas of one record).
 *
 * Each change says who it breaks:
 * - **producers** when records that were valid may now be rejected (a field became required, a type narrowed,
 *   an enum value was removed, the object was closed, a format was added, a bound tightened);
 * - **consumers** when records may now carry something consumers did not expect (a new field, a type widened,
 *   an enum value added, a field no longer required, a format removed, a bound widened).
 * A change may break both (string → number), or neither (a property added to an open object without constraints).
 */

export type Party = 'producers' | 'consumers';

export type ContractChangeKind =
  | 'field_added'
  | 'field_removed'
  | 'became_required'
  | 'no_longer_required'
  | 'type_narrowed'
  | 'type_widened'
  | 'type_changed'
  | 'enum_added'
  | 'enum_removed'
  | 'enum_values_added'
  | 'enum_values_removed'
  | 'additional_properties_closed'
  | 'additional_properties_opened'
  | 'additional_properties_changed'
  | 'format_added'
  | 'format_removed'
  | 'format_changed'
  | 'bound_tightened'
  | 'bound_widened'
  | 'keyword_changed';

export interface ContractChange {
  /** The field as the gate names it (`address.country`, `items[].sku`); `` is the record itself. */
  path: string;
  change: ContractChangeKind;
  /** The JSON Schema keyword that changed (`type`, `enum`, `required`, `maximum`, …). */
  keyword: string;
  /** The keyword's value in the old contract (null when absent). */
  from: unknown;
  /** The keyword's value in the new contract (null when absent). */
  to: unknown;
  /** For enum changes: the values added or removed. */
  values?: unknown[];
  breaking_for: Party[];
}

/** Keywords that describe and never validate: a change to them is no change of the contract. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$anchor',
  '$comment',
  'title',
  'description',
  'examples',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

/** Bounds whose larger value is tighter, and those whose smaller value is. */
const LOWER_BOUNDS = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'];
const UPPER_BOUNDS = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'];

const HANDLED = new Set([
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'unevaluatedProperties',
  'format',
  'items',
  ...LOWER_BOUNDS,
  ...UPPER_BOUNDS,
]);

type Schema = Record<string, unknown>;

/** Every change from `oldSchema` to `newSchema`, in the order of the fields. */
export function diffContracts(oldSchema: unknown, newSchema: unknown): ContractChange[] {
  const changes: ContractChange[] = [];
  diffAt('', normalize(oldSchema), normalize(newSchema), changes);
  return changes;
}

/** Whether any change breaks this party (either party when none is given). */
export function isBreaking(changes: readonly ContractChange[], party?: Party): boolean {
  return changes.some((c) => (party ? c.breaking_for.includes(party) : c.breaking_for.length > 0));
}

/** A boolean schema as an object schema: `true` accepts anything, `false` nothing. */
function normalize(schema: unknown): Schema {
  if (schema === true || schema === undefined) return {};
  if (schema === false) return { not: {} };
  if (schema !== null && typeof schema === 'object' && !Array.isArray(schema)) return schema as Schema;
  return { const: schema }; // not a schema: compared as a value
}

const child = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);
const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
const orNull = (v: unknown) => (v === undefined ? null : v);

function push(
  changes: ContractChange[],
  path: string,
  change: ContractChangeKind,
  keyword: string,
  from: unknown,
  to: unknown,
  breaking_for: Party[],
  values?: unknown[],
): void {
  changes.push({ path, change, keyword, from: orNull(from), to: orNull(to), ...(values ? { values } : {}), breaking_for });
}

function diffAt(path: string, a: Schema, b: Schema, changes: ContractChange[]): void {
  diffType(path, a, b, changes);
  diffEnum(path, a, b, changes);
  diffFormat(path, a, b, changes);
  diffBounds(path, a, b, changes);
  diffObject(path, a, b, changes);
  if (a.items !== undefined || b.items !== undefined) diffAt(`${path}[]`, normalize(a.items), normalize(b.items), changes);
  // Anything else that validates: we cannot tell which way it moved, so it may break both.
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (HANDLED.has(k) || ANNOTATIONS.has(k) || k.startsWith('x-')) continue;
    if (!same(a[k], b[k])) push(changes, path, 'keyword_changed', k, a[k], b[k], ['producers', 'consumers']);
  }
}

/** The set of types a schema allows; undefined is any type. `integer` is dropped where `number` covers it. */
function typeSet(s: Schema): Set<string> | undefined {
  if (s.type === undefined) return undefined;
  const set = new Set(Array.isArray(s.type) ? (s.type as string[]) : [s.type as string]);
  if (set.has('number')) set.delete('integer');
  return set;
}

const covers = (set: Set<string>, t: string) => set.has(t) || (t === 'integer' && set.has('number'));

function diffType(path: string, a: Schema, b: Schema, changes: ContractChange[]): void {
  const from = typeSet(a);
  const to = typeSet(b);
  if (!from && !to) return;
  if (!from) {
    push(changes, path, 'type_narrowed', 'type', a.type, b.type, ['producers']);
    return;
  }
  if (!to) {
    push(changes, path, 'type_widened', 'type', a.type, b.type, ['consumers']);
    return;
  }
  const removed = [...from].some((t) => !covers(to, t));
  const added = [...to].some((t) => !covers(from, t));
  if (removed && added) push(changes, path, 'type_changed', 'type', a.type, b.type, ['producers', 'consumers']);
  else if (removed) push(changes, path, 'type_narrowed', 'type', a.type, b.type, ['producers']);
  else if (added) push(changes, path, 'type_widened', 'type', a.type, b.type, ['consumers']);
}

/** The allowed values of `enum` or `const`, or undefined when the schema has neither. */
function allowedValues(s: Schema): { keyword: string; values: unknown[] } | undefined {
  if (Array.isArray(s.enum)) return { keyword: 'enum', values: s.enum };
  if ('const' in s) return { keyword: 'const', values: [s.const] };
  return undefined;
}

function diffEnum(path: string, a: Schema, b: Schema, changes: ContractChange[]): void {
  const from = allowedValues(a);
  const to = allowedValues(b);
  if (!from && !to) return;
  if (!from) {
    push(changes, path, 'enum_added', to!.keyword, undefined, b[to!.keyword], ['producers']);
    return;
  }
  if (!to) {
    push(changes, path, 'enum_removed', from.keyword, a[from.keyword], undefined, ['consumers']);
    return;
  }
  const keyword = to.keyword === from.keyword ? to.keyword : 'enum';
  const fromKeys = new Set(from.values.map((v) => canonicalJson(v)));
  const toKeys = new Set(to.values.map((v) => canonicalJson(v)));
  const removed = from.values.filter((v) => !toKeys.has(canonicalJson(v)));
  const added = to.values.filter((v) => !fromKeys.has(canonicalJson(v)));
  const fromValue = a[from.keyword];
  const toValue = b[to.keyword];
  if (removed.length > 0) push(changes, path, 'enum_values_removed', keyword, fromValue, toValue, ['producers'], removed);
  if (added.length > 0) push(changes, path, 'enum_values_added', keyword, fromValue, toValue, ['consumers'], added);
}

function diffFormat(path: string, a: Schema, b: Schema, changes: ContractChange[]): void {
  if (a.format === b.format) return;
  if (a.format === undefined) push(changes, path, 'format_added', 'format', a.format, b.format, ['producers']);
  else if (b.format === undefined) push(changes, path, 'format_removed', 'format', a.format, b.format, ['consumers']);
  else push(changes, path, 'format_changed', 'format', a.format, b.format, ['producers', 'consumers']);
}

function diffBounds(path: string, a: Schema, b: Schema, changes: ContractChange[]): void {
  for (const [keywords, tighterWhenLarger] of [
    [LOWER_BOUNDS, true],
    [UPPER_BOUNDS, false],
  ] as const) {
    for (const k of keywords) {
      const from = a[k];
      const to = b[k];
      if (from === to) continue;
      if (typeof from !== 'number' && typeof to !== 'number') {
        if (!same(from, to)) push(changes, path, 'keyword_changed', k, from, to, ['producers', 'consumers']);
        continue;
      }
      let tightened: boolean;
      if (typeof from !== 'number') tightened = true;
      else if (typeof to !== 'number') tightened = false;
      else tightened = tighterWhenLarger ? to > from : to < from;
      if (tightened) push(changes, path, 'bound_tightened', k, from, to, ['producers']);
      else push(changes, path, 'bound_widened', k, from, to, ['consumers']);
    }
  }
}

/** How an object treats properties it does not name. */
type Extra = { kind: 'open' } | { kind: 'closed' } | { kind: 'schema'; schema: Schema };

function extraOf(s: Schema): Extra {
  const ap = s.additionalProperties;
  if (ap === false || (ap === undefined && s.unevaluatedProperties === false)) return { kind: 'closed' };
  if (ap === undefined || ap === true) return { kind: 'open' };
  return { kind: 'schema', schema: normalize(ap) };
}

const isEmptySchema = (s: Schema) => Object.keys(s).every((k) => ANNOTATIONS.has(k));

function diffObject(path: string, a: Schema, b: Schema, changes: ContractChange[]): void {
  const aProps = (a.properties ?? {}) as Record<string, unknown>;
  const bProps = (b.properties ?? {}) as Record<string, unknown>;
  const aExtra = extraOf(a);
  const bExtra = extraOf(b);
  const has = (o: Record<string, unknown>, k: string) => Object.hasOwn(o, k);

  for (const k of Object.keys(aProps)) {
    const p = child(path, k);
    if (has(bProps, k)) {
      diffAt(p, normalize(aProps[k]), normalize(bProps[k]), changes);
      continue;
    }
    // Gone from the contract: a closed object now rejects it; an open one lets anything through under its name.
    const breaking: Party[] = bExtra.kind === 'closed' ? ['producers'] : isEmptySchema(normalize(aProps[k])) ? [] : ['consumers'];
    push(changes, p, 'field_removed', 'properties', aProps[k], undefined, breaking);
  }
  for (const k of Object.keys(bProps)) {
    if (has(aProps, k)) continue;
    const p = child(path, k);
    // New in the contract: after a closed object, records may carry something consumers never saw; after an
    // open one, the field could already appear with any value and is now constrained.
    const breaking: Party[] = aExtra.kind === 'closed' ? ['consumers'] : isEmptySchema(normalize(bProps[k])) ? [] : ['producers'];
    push(changes, p, 'field_added', 'properties', undefined, bProps[k], breaking);
  }

  const aReq = new Set(Array.isArray(a.required) ? (a.required as string[]) : []);
  const bReq = new Set(Array.isArray(b.required) ? (b.required as string[]) : []);
  for (const k of bReq) if (!aReq.has(k)) push(changes, child(path, k), 'became_required', 'required', false, true, ['producers']);
  for (const k of aReq) if (!bReq.has(k)) push(changes, child(path, k), 'no_longer_required', 'required', true, false, ['consumers']);

  if (aExtra.kind === 'schema' && bExtra.kind === 'schema') {
    diffAt(child(path, '*'), aExtra.schema, bExtra.schema, changes);
  } else if (aExtra.kind !== bExtra.kind) {
    const from = a.additionalProperties ?? (aExtra.kind === 'closed' ? false : undefined);
    const to = b.additionalProperties ?? (bExtra.kind === 'closed' ? false : undefined);
    if (bExtra.kind === 'closed') push(changes, path, 'additional_properties_closed', 'additionalProperties', from, to, ['producers']);
    else if (aExtra.kind === 'closed') {
      push(changes, path, 'additional_properties_opened', 'additionalProperties', from, to, ['consumers']);
    } else {
      // open ↔ a schema for the unnamed properties
      push(changes, path, 'additional_properties_changed', 'additionalProperties', from, to, [
        aExtra.kind === 'open' ? 'producers' : 'consumers',
      ]);
    }
  }
  // unevaluatedProperties: false is folded into extraOf; any other use is compared as is.
  const plain = (v: unknown) => v === undefined || v === false;
  if (!same(a.unevaluatedProperties, b.unevaluatedProperties) && !(plain(a.unevaluatedProperties) && plain(b.unevaluatedProperties))) {
    push(changes, path, 'keyword_changed', 'unevaluatedProperties', a.unevaluatedProperties, b.unevaluatedProperties, [
      'producers',
      'consumers',
    ]);
  }
}

/** One readable line for a change, without its path. */
export function describeChange(c: ContractChange): string {
  const j = (v: unknown) => JSON.stringify(v);
  switch (c.change) {
    case 'field_added':
      return `new field (${describeSchemaBrief(c.to)})`;
    case 'field_removed':
      return 'field removed from the contract';
    case 'became_required':
      return 'became required';
    case 'no_longer_required':
      return 'no longer required';
    case 'type_narrowed':
      return `type narrowed: ${c.from === null ? 'any' : j(c.from)} → ${j(c.to)}`;
    case 'type_widened':
      return `type widened: ${j(c.from)} → ${c.to === null ? 'any' : j(c.to)}`;
    case 'type_changed':
      return `type changed: ${j(c.from)} → ${j(c.to)}`;
    case 'enum_added':
      return `now limited to ${(Array.isArray(c.to) ? c.to : [c.to]).map(j).join(', ')}`;
    case 'enum_removed':
      return 'no longer limited to a list of values';
    case 'enum_values_removed':
      return `value${c.values!.length === 1 ? '' : 's'} no longer allowed: ${c.values!.map(j).join(', ')}`;
    case 'enum_values_added':
      return `new allowed value${c.values!.length === 1 ? '' : 's'}: ${c.values!.map(j).join(', ')}`;
    case 'additional_properties_closed':
      return 'closed: fields the contract does not name are now rejected';
    case 'additional_properties_opened':
      return 'opened: fields the contract does not name are now accepted';
    case 'additional_properties_changed':
      return `fields the contract does not name: ${c.from === null ? 'any' : j(c.from)} → ${c.to === null ? 'any' : j(c.to)}`;
    case 'format_added':
      return `format ${j(c.to)} now required`;
    case 'format_removed':
      return `format ${j(c.from)} no longer checked`;
    case 'format_changed':
      return `format changed: ${j(c.from)} → ${j(c.to)}`;
    case 'bound_tightened':
    case 'bound_widened':
      return `${c.keyword} ${c.change === 'bound_tightened' ? 'tightened' : 'widened'}: ${c.from === null ? 'none' : j(c.from)} → ${c.to === null ? 'none' : j(c.to)}`;
    default:
      return `${c.keyword} changed: ${c.from === null ? 'none' : j(c.from)} → ${c.to === null ? 'none' : j(c.to)}`;
  }
}

function describeSchemaBrief(s: unknown): string {
  if (s === true || s === null || s === undefined) return 'any value';
  if (s === false) return 'no value allowed';
  const t = (s as Schema).type;
  if (t === undefined) return 'any type';
  return Array.isArray(t) ? t.join(' or ') : String(t);
}
