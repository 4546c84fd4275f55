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

import { FORBIDDEN, ONLY_PLACEHOLDER, PLACEHOLDER, parsePath } from '../config/template.js';

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

/** The value of a record's field at a dotted path (`customer.id`), own properties only; undefined when absent. */
export function fieldAt(record: unknown, path: string): unknown {
  const segments = path.split('.');
  if (segments.some((s) => FORBIDDEN.has(s))) return undefined;
  const r = lookup(record, segments);
  return r.found ? r.value : undefined;
}
