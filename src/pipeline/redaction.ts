import type { AirlockConfig } from '../config/airlock-config.js';
import { recordBody } from '../store/codecs.js';

/** What the viewer role sees in place of a redacted field. */
export const REDACTED = '[redacted]';

/** A string this short is only redacted where it is a whole value, not where it appears inside another string. */
const MIN_EMBEDDED = 4;

/**
 * The `redact:` paths that apply to a caller: the pipeline's paths for the viewer role, null for every other role
 * (they see the content) and for pipelines without `redact:`.
 */
export function redactionFor(config: AirlockConfig, role: string | undefined, pipeline: string): string[] | null {
  if (role !== 'viewer') return null;
  const paths = config.pipelines[pipeline]?.redact ?? [];
  return paths.length > 0 ? paths : null;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** Walks `value` along one dotted path (`*`: any key or list item), calling `hit` on the holder of each match. */
function visit(value: unknown, segments: string[], hit: (holder: Record<string, unknown> | unknown[], key: string | number) => void): void {
  if (!isObject(value) || segments.length === 0) return;
  const [head, ...rest] = segments;
  const keys: (string | number)[] =
    head === '*' ? (Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value)) : Array.isArray(value) ? [Number(head)] : [head];
  for (const k of keys) {
    const holder = value as Record<string | number, unknown>;
    if (!Object.hasOwn(holder, k)) continue;
    if (rest.length === 0) hit(value as Record<string, unknown>, k);
    else visit(holder[k], rest, hit);
  }
}

/** A copy of a record with the value at each path replaced by "[redacted]" (paths that are absent are skipped). */
export function redactPaths<T>(record: T, paths: readonly string[]): T {
  if (!isObject(record)) return record;
  const copy = structuredClone(record);
  for (const p of paths) {
    visit(copy, p.split('.'), (holder, key) => {
      (holder as Record<string | number, unknown>)[key] = REDACTED;
    });
  }
  return copy;
}

/** The scalar values at the paths (every leaf below an object or list found there), as strings. */
export function redactedValues(record: unknown, paths: readonly string[]): Set<string> {
  const out = new Set<string>();
  const leaves = (v: unknown): void => {
    if (isObject(v)) for (const x of Object.values(v)) leaves(x);
    else if (typeof v === 'string' || typeof v === 'number') out.add(String(v));
  };
  for (const p of paths) visit(record, p.split('.'), (holder, key) => leaves((holder as Record<string | number, unknown>)[key]));
  out.delete(REDACTED);
  out.delete('');
  return out;
}

/**
 * A copy of a value derived from the record (a delivery's request body made by a template, a destination's
 * response that echoes it) with every leaf that is, or contains, a redacted value replaced by "[redacted]".
 */
export function scrubValues<T>(value: T, secrets: ReadonlySet<string>): T {
  if (secrets.size === 0) return value;
  const embedded = [...secrets].filter((s) => s.length >= MIN_EMBEDDED);
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    if (typeof v === 'number' && secrets.has(String(v))) return REDACTED;
    if (typeof v === 'string' && (secrets.has(v) || embedded.some((s) => v.includes(s)))) return REDACTED;
    return v;
  };
  return walk(value) as T;
}

/** Whether a case search (`q`) matches what the caller may see: the record id or the redacted content. */
export function visibleMatch(recordId: string, body: string | null, paths: readonly string[], q: string): boolean {
  const needle = q.toLowerCase();
  if (recordId.toLowerCase().includes(needle)) return true;
  if (body === null) return false;
  return JSON.stringify(redactPaths(recordBody.decode(body), paths))
    .toLowerCase()
    .includes(needle);
}

/** Whether a field path (as drift names it: dotted, `[]` for list items) falls under one of the `redact:` paths. */
export function fieldIsRedacted(field: string, paths: readonly string[]): boolean {
  const segs = field.replace(/\[\]/g, '.*').split('.').filter(Boolean);
  return paths.some((p) => {
    const ps = p.split('.');
    // A redacted path covers what lies under it too (`customer` covers `customer.email`).
    if (ps.length > segs.length) return false;
    return ps.every((x, i) => x === '*' || segs[i] === '*' || x === segs[i]);
  });
}
