/**
 * The one shell of Airlock's HTML reports (audit, probe, calibration, drift, readiness, the 30-day review, the
 * runbook): a self-contained page — one inline style sheet, inline SVG, no script and no external asset — with
 * escaping and small helpers for tables and figures. Pure: strings in, a string out.
 *
 * Classes the style sheet gives every page:
 * - `verdict` (with `pass` or `fail`): the report's conclusion, boxed;
 * - `n` on a cell: a number, right-aligned in tabular figures; `flag` on a row: a row that is a finding;
 * - `ok`, `bad`, `warn`, `muted`: text coloured as good, bad, doubtful or secondary; `badge`: a red tag;
 * - `kv` on a table: key–value pairs (keys in grey); `card` on a section: one item of a list of items;
 * - `figures`: figures side by side; `swatch` on an `<i>`: a legend's colour square;
 * - `reference` and `current` on SVG shapes: the two sides of a comparison.
 */

/** Escapes text for HTML element content and attribute values: every value a page shows passes through it. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The style sheet of every report page. */
export const REPORT_STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem;margin:.6rem 0 .2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
thead th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.flag td{background:#fdecea}
table.kv th{font-weight:normal;color:#666}section.card{border-top:1px solid #ccc;padding:.6rem 0}
code{font:12.5px ui-monospace,monospace;background:#f3f4f6;padding:0 .2rem;border-radius:3px;word-break:break-word}
pre{background:#f3f4f6;padding:.5rem;overflow:auto}pre code{background:none;padding:0}
small,.muted{color:#666}.ok{color:#157f3b}.bad{color:#b3261e}.warn{color:#9a6700}
.verdict{display:inline-block;padding:.6rem 1rem;border-left:4px solid #999;background:#f6f6f6;font-weight:600}
.verdict.pass{border-color:#3a8a3a;background:#e6f4ea}.verdict.fail{border-color:#c23a3a;background:#fdecea}
.badge{background:#c62828;color:#fff;border-radius:3px;padding:0 .4rem;font-size:12px}
.figures{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}figure{margin:0}
figcaption{font-size:12px;color:#555;max-width:40rem}svg text{font-size:10px;fill:#444}
i.swatch{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px}
.reference{fill:#90a4ae}.current{fill:#ef6c00}
`;

/** A whole report page: the title (text) in the head and the tab, the body (HTML) under the shared style sheet. */
export function htmlPage(page: { title: string; body: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(page.title)}</title>
<style>
${REPORT_STYLE}</style></head><body>
${page.body.trim()}
</body></html>
`;
}

/** A table cell: HTML (already escaped by the caller), or HTML with a class (`n` for a number). */
export type TableCell = string | { html: string; class: string };

/** A table row: its cells, or its cells and a class (`flag` for a finding). */
export type TableRow = readonly TableCell[] | { cells: readonly TableCell[]; class: string };

/** A table with a head row of plain text (escaped here) and body rows of HTML cells. */
export function htmlTable(head: readonly string[], rows: readonly TableRow[], options: { class?: string } = {}): string {
  const cell = (c: TableCell) => (typeof c === 'string' ? `<td>${c}</td>` : `<td${classAttribute(c.class)}>${c.html}</td>`);
  const row = (r: TableRow) =>
    'cells' in r
      ? `<tr${classAttribute(r.class)}>${r.cells.map(cell).join('')}</tr>`
      : `<tr>${(r as readonly TableCell[]).map(cell).join('')}</tr>`;
  return `<table${classAttribute(options.class)}><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>
${rows.map(row).join('\n')}
</tbody></table>`;
}

const classAttribute = (name: string | undefined) => (name ? ` class="${escapeHtml(name)}"` : '');

/** A number cell of a table: right-aligned in tabular figures. */
export const numberCell = (html: string | number): TableCell => ({ html: String(html), class: 'n' });

/** An inline SVG image drawn on a `width` × `height` canvas, shown at that size or, `fluid`, as wide as the page. */
export function svgImage(size: { width: number; height: number; label: string; fluid?: boolean }, content: string): string {
  const shown = size.fluid ? 'width="100%"' : `width="${size.width}" height="${size.height}"`;
  return `<svg viewBox="0 0 ${size.width} ${size.height}" ${shown} role="img" aria-label="${escapeHtml(size.label)}">${content}</svg>`;
}

/** A figure: an image (SVG) and its caption (text). */
export function htmlFigure(image: string, caption: string): string {
  return `<figure>${image}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/** A list of HTML items, bulleted or (`ordered`) numbered; nothing when there are none. */
export function htmlList(items: readonly string[], options: { class?: string; ordered?: boolean } = {}): string {
  if (items.length === 0) return '';
  const tag = options.ordered ? 'ol' : 'ul';
  return `<${tag}${classAttribute(options.class)}>${items.map((i) => `<li>${i}</li>`).join('')}</${tag}>`;
}

/** A one-row table of key–value pairs: each key (text) in grey before its value (HTML). */
export function htmlKeyValues(pairs: readonly (readonly [key: string, value: string])[]): string {
  return `<table class="kv"><tr>${pairs.map(([k, v]) => `<th>${escapeHtml(k)}</th><td>${v}</td>`).join('')}</tr></table>`;
}
