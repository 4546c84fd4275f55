import { compileContract, type Violation } from './gate.js';

/** JSON Schema type name of a JSON value; `integer` for whole numbers, `number` for the others. */
export function jsonTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Adds a property as data: a field named `__proto__` becomes a property, not the object's prototype. */
function defineField(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

/** A permissive schema for a value seen for the first time (a new field): its type, and its members' for objects. */
function schemaFor(value: unknown): Record<string, unknown> {
  const type = jsonTypeOf(value);
  if (type === 'object') {
    const properties: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) defineField(properties, k, schemaFor(v));
    return { type, properties };
  }
  return { type };
}

type Node = Record<string, unknown>;

function decode(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The schema node that describes the value at `pointer`, following properties and items; undefined when not plain. */
function nodeAt(schema: Node, pointer: string): Node | undefined {
  let node: Node | undefined = schema;
  if (pointer === '/' || pointer === '') return node;
  for (const raw of pointer.slice(1).split('/')) {
    if (!node) return undefined;
    const seg = decode(raw);
    const props = node.properties as Record<string, Node> | undefined;
    if (props && Object.hasOwn(props, seg)) node = props[seg];
    else if (/^(0|[1-9][0-9]*)$/.test(seg) && node.items && typeof node.items === 'object') node = node.items as Node;
    else return undefined;
  }
  return node;
}

function valueAt(record: unknown, pointer: string): unknown {
  if (pointer === '/' || pointer === '') return record;
  let v: unknown = record;
  for (const raw of pointer.slice(1).split('/')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[decode(raw)];
  }
  return v;
}

function parentPointer(pointer: string): { parent: string; name: string } {
  const i = pointer.lastIndexOf('/');
  return { parent: i <= 0 ? '/' : pointer.slice(0, i), name: decode(pointer.slice(i + 1)) };
}

const RANGE_KEYWORDS = new Set([
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
]);

/** Changes `schema` (in place) so that the value behind one violation is accepted; false when it cannot. */
function relax(schema: Node, record: unknown, v: Violation): boolean {
  if (v.kind === 'unknown_field' || v.kind === 'missing_required') {
    const { parent, name } = parentPointer(v.path);
    const node = nodeAt(schema, parent);
    if (!node) return false;
    if (v.kind === 'missing_required') {
      const req = node.required as string[] | undefined;
      if (!req?.includes(name)) return false;
      node.required = req.filter((r) => r !== name);
      return true;
    }
    const props = (node.properties ??= {}) as Record<string, unknown>;
    if (Object.hasOwn(props, name)) return false;
    defineField(props, name, schemaFor(valueAt(record, v.path)));
    return true;
  }
  const node = nodeAt(schema, v.path);
  if (!node) return false;
  const value = valueAt(record, v.path);
  switch (v.kind) {
    case 'type_mismatch': {
      const seen = jsonTypeOf(value);
      const types = ([] as string[]).concat((node.type as string | string[] | undefined) ?? []);
      if (types.length === 0 || types.includes(seen) || (seen === 'integer' && types.includes('number'))) return false;
      node.type = [...types, seen];
      if (seen === 'object' && !node.properties) node.properties = schemaFor(value).properties;
      return true;
    }
    case 'new_enum_value': {
      if (Object.hasOwn(node, 'const')) {
        node.enum = [node.const, value];
        delete node.const;
        return true;
      }
      if (!Array.isArray(node.enum)) return false;
      node.enum = [...node.enum, value];
      return true;
    }
    case 'format_mismatch':
      if (!('format' in node)) return false;
      delete node.format;
      return true;
    case 'out_of_range':
      if (!RANGE_KEYWORDS.has(v.keyword) || !(v.keyword in node)) return false;
      delete node[v.keyword];
      return true;
    default:
      return false;
  }
}

export interface Evolution {
  /** The new schema: the old one relaxed just enough to accept the given records. */
  schema: object;
  /** What was relaxed, one line per change: `added field customer_email_address (string)`. */
  changes: string[];
  /** Records still rejected by the new schema (violations the evolution cannot express, kind `other`). */
  stillRejected: number;
}

/**
 * Relaxes a contract so that it accepts records that showed a change a person accepted: new fields are added
 * with the type they arrived with, fields no longer sent stop being required, types widen, enums grow, and formats
 * and bounds that the records break are dropped. The old schema is not modified.
 */
export function evolveContract(schema: object, records: unknown[]): Evolution {
  const next = structuredClone(schema) as Node;
  const changes: string[] = [];
  // One relaxation at a time, then validate again: relaxing a node can change the violations below it.
  for (let round = 0; round < 256; round++) {
    const contract = compileContract(next);
    let rejected = 0;
    let changed = false;
    for (const record of records) {
      const violations = contract.validate(record);
      if (violations.length > 0) rejected++;
      for (const v of violations) {
        if (relax(next, record, v)) {
          changes.push(describe(v, record));
          changed = true;
          break;
        }
      }
      if (changed) break;
    }
    if (!changed) return { schema: next, changes, stillRejected: rejected };
  }
  const contract = compileContract(next);
  return { schema: next, changes, stillRejected: records.filter((r) => contract.validate(r).length > 0).length };
}

function describe(v: Violation, record: unknown): string {
  const field = v.field || '(record)';
  switch (v.kind) {
    case 'unknown_field':
      return `added field ${field} (${jsonTypeOf(valueAt(record, v.path))})`;
    case 'missing_required':
      return `${field} is no longer required`;
    case 'type_mismatch':
      return `${field} may also be ${jsonTypeOf(valueAt(record, v.path))}`;
    case 'new_enum_value':
      return `${field} gained an allowed value`;
    case 'format_mismatch':
      return `${field} no longer has a format`;
    case 'out_of_range':
      return `${field} lost its ${v.keyword} bound`;
    default:
      return `${field}: ${v.message}`;
  }
}
