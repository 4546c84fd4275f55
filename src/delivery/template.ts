/**
 * A destination's JSON body built from a template over the record and its decision. The template is plain JSON (from
 * the config) whose strings may hold placeholders `{{record.subject}}`, `{{decision.label}}`, `{{meta.record_id}}`:
 *
 * - a string that is exactly one placeholder becomes the value as it is (a number stays a number, an object an object);
 * - any other string interpolates: a string value as is, anything else as JSON;
 * - a path is dot-separated names or array indexes (`record.items.0.sku`); it is looked up in own properties of plain
 *   objects and arrays only, never in a prototype, and nothing is evaluated: there is no code in a template.
 *
 * A path that is absent from the record refuses the delivery (dead letter with the path named), rather than send a
 * body the destination did not ask for; `config check` finds the paths it can know are wrong beforehand.
 */

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const ONLY_PLACEHOLDER = /^\{\{\s*([^{}]*?)\s*\}\}$/;
const SEGMENT = /^(?:[A-Za-z_$][\w$-]*|\d+)$/;
const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

export const TEMPLATE_ROOTS = ['record', 'decision', 'meta'] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

/** Fields of a decision (src/pipeline/lifecycle.ts `Decision`): always there, or there only sometimes. */
const DECISION_ALWAYS = new Set(['label', 'source', 'at']);
const DECISION_SOMETIMES = new Set(['case_id', 'by', 'confidence', 'raw_confidence', 'routing_version']);
/** What `meta` offers: the effect's identity. */
const META_FIELDS = new Set(['pipeline', 'record_id', 'destination', 'idempotency_key']);

export interface TemplateContext {
  record: unknown;
  decision: unknown;
  meta: { pipeline: string; record_id: string; destination: string; idempotency_key: string };
}

/** A placeholder whose path the record or decision does not have: the delivery is refused with this reason. */
export class TemplateMissingPath extends Error {
  readonly code = 'TEMPLATE_MISSING_PATH';
  constructor(readonly placeholder: string) {
    super(`the body template needs ${placeholder}, which this record does not have`);
  }
}

/** A problem with a template found when the config is loaded; `at` is the path inside the template. */
export interface TemplateProblem {
  at: (string | number)[];
  message: string;
}

function parsePath(text: string): { root: TemplateRoot; segments: string[] } | string {
  if (text === '') return 'an empty placeholder {{}}';
  const parts = text.split('.');
  const root = parts[0] as TemplateRoot;
  if (!TEMPLATE_ROOTS.includes(root)) return `{{${text}}} must start with record., decision. or meta.`;
  const segments = parts.slice(1);
  for (const s of segments) {
    if (!SEGMENT.test(s)) return `{{${text}}}: "${s}" is not a field name or an array index`;
    if (FORBIDDEN.has(s)) return `{{${text}}}: "${s}" is not allowed in a template path`;
  }
  return { root, segments };
}

/** Looks a path up in own properties of plain data only (objects and arrays from JSON). */
function lookup(value: unknown, segments: string[]): { found: true; value: unknown } | { found: false } {
  let v = value;
  for (const s of segments) {
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(s)) return { found: false };
      const i = Number(s);
      if (i >= v.length) return { found: false };
      v = v[i];
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      if (!Object.hasOwn(v, s)) return { found: false };
      v = (v as Record<string, unknown>)[s];
    } else return { found: false };
  }
  return v === undefined ? { found: false } : { found: true, value: v };
}

function resolve(text: string, ctx: TemplateContext): unknown {
  const p = parsePath(text);
  // Config load rejects malformed paths; one here means a template that was never checked.
  if (typeof p === 'string') throw new TemplateMissingPath(`{{${text}}}`);
  const r = lookup(ctx[p.root], p.segments);
  if (!r.found) throw new TemplateMissingPath(`{{${text}}}`);
  return r.value;
}

function renderString(s: string, ctx: TemplateContext): unknown {
  const only = ONLY_PLACEHOLDER.exec(s);
  if (only) return resolve(only[1], ctx);
  return s.replace(PLACEHOLDER, (_, text: string) => {
    const v = resolve(text, ctx);
    return typeof v === 'string' ? v : JSON.stringify(v);
  });
}

/** Builds the body from the template; throws TemplateMissingPath when a placeholder's path is absent. */
export function renderTemplate(template: unknown, ctx: TemplateContext): unknown {
  if (typeof template === 'string') return renderString(template, ctx);
  if (Array.isArray(template)) return template.map((t) => renderTemplate(t, ctx));
  if (template !== null && typeof template === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(template)) {
      // Keys are copied as they are (no placeholders); defineProperty so a key "__proto__" stays a plain key.
      Object.defineProperty(out, k, { value: renderTemplate(v, ctx), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return template;
}

type Schema = Record<string, unknown>;

/**
 * Whether a record path can exist under a JSON Schema: 'no' when the schema proves it cannot (a closed object without
 * that property, or a scalar), 'optional' when it may be absent (not required somewhere on the way), else 'yes'.
 */
function schemaHas(schema: unknown, segments: string[]): 'yes' | 'optional' | 'no' {
  let s = schema as Schema | undefined;
  let optional = false;
  for (const seg of segments) {
    if (!s || typeof s !== 'object') return optional ? 'optional' : 'yes';
    const types = ([] as unknown[]).concat(s.type ?? []);
    if (types.length > 0 && !types.includes('object') && !types.includes('array')) return 'no';
    if (/^\d+$/.test(seg) && (types.includes('array') || s.items !== undefined)) {
      optional = true;
      s = (s.items as Schema | undefined) ?? (Array.isArray(s.prefixItems) ? (s.prefixItems[Number(seg)] as Schema) : undefined);
      continue;
    }
    const props = (s.properties ?? {}) as Record<string, Schema>;
    if (Object.hasOwn(props, seg)) {
      const required = Array.isArray(s.required) && (s.required as unknown[]).includes(seg);
      if (!required || (types.length > 0 && !types.includes('object'))) optional = true;
      s = props[seg];
      continue;
    }
    if (s.additionalProperties === false && !s.patternProperties) return 'no';
    return 'optional';
  }
  return optional ? 'optional' : 'yes';
}

/**
 * Checks a body template when the config is loaded: malformed or forbidden paths, unknown roots, decision and meta
 * fields that do not exist, and record paths the pipeline's contract (when it has one) rules out.
 */
export function checkTemplate(template: unknown, contract?: object, at: (string | number)[] = []): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  if (typeof template === 'string') {
    for (const m of template.matchAll(PLACEHOLDER)) {
      const p = parsePath(m[1]);
      if (typeof p === 'string') {
        problems.push({ at, message: p });
        continue;
      }
      const [first] = p.segments;
      if (p.root === 'meta') {
        if (p.segments.length !== 1 || !META_FIELDS.has(first))
          problems.push({ at, message: `{{${m[1]}}}: meta has ${[...META_FIELDS].join(', ')}` });
      } else if (p.root === 'decision') {
        if (first !== undefined && !DECISION_ALWAYS.has(first) && !DECISION_SOMETIMES.has(first))
          problems.push({ at, message: `{{${m[1]}}}: a decision has ${[...DECISION_ALWAYS, ...DECISION_SOMETIMES].join(', ')}` });
        else if (first !== undefined && p.segments.length > 1)
          problems.push({ at, message: `{{${m[1]}}}: decision.${first} has no fields` });
      } else if (contract && schemaHas(contract, p.segments) === 'no') {
        problems.push({ at, message: `{{${m[1]}}}: the pipeline's contract has no ${p.segments.join('.')}` });
      }
    }
  } else if (Array.isArray(template)) {
    template.forEach((t, i) => {
      problems.push(...checkTemplate(t, contract, [...at, i]));
    });
  } else if (template !== null && typeof template === 'object') {
    for (const [k, v] of Object.entries(template)) problems.push(...checkTemplate(v, contract, [...at, k]));
  }
  return problems;
}

/** The value of a record's field at a dotted path (`customer.id`), own properties only; undefined when absent. */
export function fieldAt(record: unknown, path: string): unknown {
  const segments = path.split('.');
  if (segments.some((s) => FORBIDDEN.has(s))) return undefined;
  const r = lookup(record, segments);
  return r.found ? r.value : undefined;
}
