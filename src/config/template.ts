/**
 * The body-template language of a destination's `body:` setting: placeholders `{{record.subject}}`,
 * `{{decision.label}}`, `{{meta.record_id}}` in JSON strings. This file is its syntax and the check made when the
 * config is loaded; src/delivery/template.ts renders a template for one record.
 */

export const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
export const ONLY_PLACEHOLDER = /^\{\{\s*([^{}]*?)\s*\}\}$/;
const SEGMENT = /^(?:[A-Za-z_$][\w$-]*|\d+)$/;
export const FORBIDDEN = new Set(['__proto__', 'prototype', 'constructor']);

export const TEMPLATE_ROOTS = ['record', 'decision', 'meta'] as const;
export type TemplateRoot = (typeof TEMPLATE_ROOTS)[number];

/** Fields of a decision (src/pipeline/lifecycle.ts `Decision`): always there, or there only sometimes. */
const DECISION_ALWAYS = new Set(['label', 'source', 'at']);
const DECISION_SOMETIMES = new Set(['case_id', 'by', 'confidence', 'raw_confidence', 'routing_version']);
/** What `meta` offers: the effect's identity. */
const META_FIELDS = new Set(['pipeline', 'record_id', 'destination', 'idempotency_key']);

/** A problem with a template found when the config is loaded; `at` is the path inside the template. */
export interface TemplateProblem {
  at: (string | number)[];
  message: string;
}

/** A placeholder's path split into its root and segments, or what is wrong with it. */
export function parsePath(text: string): { root: TemplateRoot; segments: string[] } | string {
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
