import type { Violation } from '../api';

/**
 * A record shown as data, never as markup: every value goes through React's text escaping (no innerHTML anywhere),
 * so a value like `<img src=x onerror=…>` is shown as those characters.
 */
function flatten(value: unknown, prefix: string, out: { path: string; pointer: string; value: unknown }[], pointer: string) {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      flatten(v, prefix ? `${prefix}.${k}` : k, out, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
    return;
  }
  out.push({ path: prefix || '(record)', pointer, value });
}

export function displayValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '(absent)';
  return JSON.stringify(v, null, 2);
}

export function RecordFields({
  record,
  violations = [],
  label = 'Record fields',
}: {
  record: unknown;
  violations?: Violation[];
  label?: string;
}) {
  const rows: { path: string; pointer: string; value: unknown }[] = [];
  flatten(record, '', rows, '');
  const byPointer = new Map<string, Violation[]>();
  for (const v of violations) {
    const key = v.path || '';
    byPointer.set(key, [...(byPointer.get(key) ?? []), v]);
  }
  // Violations at a path the record does not have (a missing required field, an unknown pointer) get their own row.
  const missing = violations.filter((v) => !rows.some((r) => r.pointer === v.path));
  return (
    <table className="fields" aria-label={label}>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const vs = byPointer.get(r.pointer) ?? [];
          const text = displayValue(r.value);
          return (
            <tr key={r.pointer} className={vs.length > 0 ? 'violation' : undefined}>
              <th scope="row">
                <code>{r.path}</code>
              </th>
              <td>
                <div className={text.length > 160 || text.includes('\n') ? 'value long' : 'value'}>{text}</div>
                {vs.map((v) => (
                  <div key={`${v.kind}${v.message}`} className="violation-note">
                    <strong>{v.kind}</strong>: {v.message}
                  </div>
                ))}
              </td>
            </tr>
          );
        })}
        {missing.map((v) => (
          <tr key={`missing${v.path}${v.kind}`} className="violation">
            <th scope="row">
              <code>{v.field || v.path || '(record)'}</code>
            </th>
            <td>
              <div className="value muted">(not in the record)</div>
              <div className="violation-note">
                <strong>{v.kind}</strong>: {v.message}
              </div>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RawJson({ value, label }: { value: unknown; label: string }) {
  return (
    <section aria-label={label}>
      <pre className="raw">{JSON.stringify(value, null, 2)}</pre>
    </section>
  );
}
