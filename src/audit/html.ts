import type { Comparison } from './compare.js';
import type { AuditIssue, AuditProfile, FieldProfile, NumericSummary } from './profile.js';
import type { TimeReport } from './timeline.js';

/** What the HTML report needs besides the profile: where the data came from. */
export interface AuditHtmlInput extends AuditProfile {
  source: { file: string; format: string; compressed: boolean; bytes: number; delimiter?: string; header?: boolean };
  baseline_source?: { file: string };
  comparison?: Comparison;
  generated_at: string;
}

/** Escapes text for HTML element content and attribute values (every record value passes through it). */
export const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const pct = (n: number, d: number) => (d === 0 ? '—' : `${((n / d) * 100).toFixed(1)}%`);
const num = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x)
    ? '—'
    : Math.abs(x) >= 1e6 || (Math.abs(x) < 1e-3 && x !== 0)
      ? x.toExponential(3)
      : String(+x.toFixed(4));
const short = (s: string, n = 60) => (s.length > n ? `${s.slice(0, n)}…` : s);

const TYPE_COLOURS: Record<string, string> = {
  null: '#bbb',
  boolean: '#8e6bbf',
  integer: '#4a78c2',
  number: '#6aa0e0',
  string: '#7a9a50',
  array: '#d08a3a',
  object: '#c25a5a',
};

/** A horizontal stacked bar of type shares (and missing) for one field. */
function typeBar(f: FieldProfile, rows: number): string {
  const W = 260;
  const H = 14;
  const parts: [string, number][] = [...Object.entries(f.types).map(([t, c]) => [t, c ?? 0] as [string, number]), ['missing', f.missing]];
  let x = 0;
  const rects = parts
    .filter(([, c]) => c > 0)
    .map(([t, c]) => {
      const w = rows ? (c / rows) * W : 0;
      const r = `<rect x="${x.toFixed(1)}" y="0" width="${Math.max(0.5, w).toFixed(1)}" height="${H}" fill="${t === 'missing' ? '#eee' : TYPE_COLOURS[t]}" stroke="${t === 'missing' ? '#ccc' : 'none'}"><title>${esc(t)}: ${c} (${pct(c, rows)})</title></rect>`;
      x += w;
      return r;
    })
    .join('');
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="types of ${esc(f.name)}">${rects}</svg>`;
}

/** Horizontal bars of the most frequent values. */
function topBars(f: FieldProfile): string {
  const top = f.top.slice(0, 8);
  if (top.length === 0) return '';
  const max = Math.max(...top.map((t) => t.count));
  const W = 300;
  const row = 16;
  const bars = top
    .map((t, i) => {
      const w = (t.count / max) * 120;
      return `<text x="0" y="${i * row + 11}">${esc(short(t.value, 28))}</text><rect x="170" y="${i * row + 2}" width="${w.toFixed(1)}" height="11" fill="#4a78c2"/><text x="${174 + w}" y="${i * row + 11}">${t.count}</text>`;
    })
    .join('');
  return `<svg width="${W}" height="${top.length * row + 4}" viewBox="0 0 ${W} ${top.length * row + 4}" role="img" aria-label="top values of ${esc(f.name)}">${bars}</svg>`;
}

/** A box plot (p5, p25, p50, p75, p95 with min and max marks) on a linear scale. */
function boxPlot(s: NumericSummary, label: string): string {
  const W = 300;
  const H = 34;
  const lo = s.min;
  const hi = s.max;
  const sx = (v: number) => (hi === lo ? W / 2 : 10 + ((v - lo) / (hi - lo)) * (W - 20));
  const q = s.quantiles;
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}">
<line x1="${sx(s.min)}" y1="10" x2="${sx(s.max)}" y2="10" stroke="#bbb"/>
<line x1="${sx(q.p5)}" y1="10" x2="${sx(q.p95)}" y2="10" stroke="#333"/>
<rect x="${sx(q.p25)}" y="3" width="${Math.max(1, sx(q.p75) - sx(q.p25))}" height="14" fill="#cfe0f5" stroke="#4a78c2"/>
<line x1="${sx(q.p50)}" y1="3" x2="${sx(q.p50)}" y2="17" stroke="#c23a3a" stroke-width="2"/>
<text x="2" y="30">${esc(num(s.min))}</text><text x="${W / 2}" y="30" text-anchor="middle">median ${esc(num(q.p50))}</text><text x="${W - 2}" y="30" text-anchor="end">${esc(num(s.max))}</text>
<title>${esc(label)}: min ${num(s.min)}, p5 ${num(q.p5)}, p25 ${num(q.p25)}, median ${num(q.p50)}, p75 ${num(q.p75)}, p95 ${num(q.p95)}, max ${num(s.max)}, mean ${num(s.mean)}</title></svg>`;
}

/** Rows per time bucket as bars, with the changes found inside the sample marked. */
function timeChart(t: TimeReport): string {
  const data = t.rows_per_bucket;
  if (data.length === 0) return '';
  const W = 900;
  const H = 160;
  const P = 30;
  const max = Math.max(1, ...data.map(([, c]) => c));
  const bw = (W - 2 * P) / data.length;
  const bars = data
    .map(([d, c], i) => {
      const h = (c / max) * (H - 2 * P);
      return `<rect x="${(P + i * bw).toFixed(2)}" y="${(H - P - h).toFixed(2)}" width="${Math.max(0.5, bw - 0.5).toFixed(2)}" height="${h.toFixed(2)}" fill="${c === 0 ? '#e05a47' : '#7a9a50'}"><title>${esc(d)}: ${c} rows</title></rect>`;
    })
    .join('');
  const index = new Map(data.map(([d], i) => [d, i]));
  const marks = t.changes
    .slice(0, 12)
    .map((c) => {
      const i = index.get(c.changed_at);
      if (i === undefined) return '';
      const x = P + i * bw;
      return `<line x1="${x}" y1="${P - 8}" x2="${x}" y2="${H - P}" stroke="#c23a3a" stroke-dasharray="3 2"><title>${esc(c.field)} ${esc(c.metric)}: ${c.before} → ${c.after}</title></line>`;
    })
    .join('');
  return `<figure><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="rows per ${t.bucket_days}-day bucket">
<line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="#999"/>${bars}${marks}
<text x="${P}" y="${H - 10}">${esc(data[0][0])}</text><text x="${W - P}" y="${H - 10}" text-anchor="end">${esc(data[data.length - 1][0])}</text><text x="${P}" y="${P - 12}">max ${max} rows per ${t.bucket_days === 1 ? 'day' : `${t.bucket_days} days`}</text></svg>
<figcaption>Rows per ${t.bucket_days === 1 ? 'day' : `${t.bucket_days}-day bucket`} by ${esc(t.field)}; red bars are empty ${t.bucket_days === 1 ? 'days' : 'buckets'} inside the span, dashed lines the changes found inside the sample.</figcaption></figure>`;
}

function issuesTable(issues: AuditIssue[]): string {
  if (issues.length === 0) return '<p>No issues found.</p>';
  return `<table><thead><tr><th>kind</th><th>field</th><th>count</th><th>example rows</th><th>detail</th></tr></thead><tbody>${issues
    .map(
      (i) =>
        `<tr><td>${esc(i.kind)}</td><td>${i.field === null ? '—' : esc(i.field)}</td><td>${i.count}${i.exact === false ? ' (est.)' : ''}</td><td>${esc(i.examples.join(', '))}</td><td>${esc(i.detail ?? '')}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

function comparisonSection(c: Comparison, baseline: string): string {
  return `<h2>Compared with the baseline</h2>
<p>Baseline <code>${esc(baseline)}</code> (${c.baseline_rows} rows) against this sample (${c.sample_rows} rows): <b>${c.counts.high}</b> high, ${c.counts.medium} medium, ${c.counts.low} low severity changes. Only changes whose test gives p &lt; 0.001 are listed; severity grows with the size of the change.</p>
${
  c.changes.length === 0
    ? '<p>No significant change.</p>'
    : `<table><thead><tr><th>severity</th><th>change</th><th>field</th><th>what</th><th>test</th></tr></thead><tbody>${c.changes
        .map(
          (ch) =>
            `<tr class="sev-${ch.severity}"><td>${ch.severity}</td><td>${esc(ch.kind)}</td><td>${esc(ch.field)}</td><td>${esc(ch.summary)}</td><td>${ch.test ? `${esc(ch.test.name)}: ${num(ch.test.statistic)}${ch.test.df !== undefined ? ` (df ${ch.test.df})` : ''}, p ${ch.test.p_value.toExponential(2)}` : '—'}</td></tr>`,
        )
        .join('')}</tbody></table>`
}`;
}

function fieldCard(f: FieldProfile, rows: number): string {
  const formats = Object.entries(f.formats)
    .map(([k, c]) => `${esc(k)} ${c}`)
    .join(', ');
  const issues = Object.entries(f.issues)
    .map(([k, c]) => `${esc(k)} ${c}`)
    .join(', ');
  return `<section class="field"><h3>${esc(f.name)}</h3>
<div>${typeBar(f, rows)} <span class="legend">${Object.entries(f.types)
    .map(([t, c]) => `<i style="background:${TYPE_COLOURS[t]}"></i>${esc(t)} ${pct(c ?? 0, rows)}`)
    .join(' ')}${f.missing ? ` <i style="background:#eee"></i>missing ${pct(f.missing, rows)}` : ''}</span></div>
<table class="kv"><tr><th>present</th><td>${f.count}</td><th>missing</th><td>${f.missing}</td><th>null</th><td>${f.nulls}</td><th>empty</th><td>${f.empty}</td><th>distinct</th><td>${f.distinct}${f.distinct_method === 'exact' ? '' : ' (HyperLogLog estimate)'}</td></tr></table>
${formats ? `<p>formats: ${formats}</p>` : ''}${issues ? `<p class="warn">issues: ${issues}</p>` : ''}
<div class="charts">${topBars(f)}${f.numeric ? boxPlot(f.numeric, `${f.name} values`) : ''}${!f.numeric && f.numeric_strings ? boxPlot(f.numeric_strings, `${f.name} numbers in strings`) : ''}${f.length ? boxPlot(f.length, `${f.name} string length`) : ''}</div>
</section>`;
}

/** The audit as one self-contained HTML page: inline CSS and SVG, no script, no external asset; every record value escaped. */
export function auditReportHtml(r: AuditHtmlInput): string {
  const rows = r.rows.parsed;
  const s = r.source;
  const problems = r.issues.filter((i) => i.kind !== 'leading_trailing_whitespace');
  const verdict =
    problems.length === 0 && !(r.comparison && r.comparison.counts.high > 0)
      ? 'No problems found beyond the profile below.'
      : `${problems.length} kind(s) of problem found${r.comparison ? `, ${r.comparison.counts.high} high-severity change(s) against the baseline` : ''}: see the tables below.`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Airlock audit: ${esc(s.file)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem;margin:.2rem 0}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.kv th{font-weight:normal;color:#666}.field{border-top:1px solid #ccc;padding:.6rem 0}.charts{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}
svg text{font-size:10px;fill:#444}.legend{font-size:12px;color:#555}.legend i{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px}
.warn{color:#a33}.verdict{padding:.8rem 1rem;border-left:4px solid ${problems.length ? '#c23a3a' : '#3a8a3a'};background:#f6f6f6}
.sev-high td:first-child{color:#c23a3a;font-weight:bold}.sev-medium td:first-child{color:#b07000}
</style></head><body>
<h1>Audit of a raw sample</h1>
<p><code>${esc(s.file)}</code> — ${esc(s.format)}${s.compressed ? ' (gzip)' : ''}${s.delimiter ? `, delimiter <code>${esc(JSON.stringify(s.delimiter))}</code>, ${s.header ? 'with' : 'without'} a header` : ''}, ${(s.bytes / 1e6).toFixed(2)} MB — generated ${esc(r.generated_at)} by <code>airlock audit</code></p>
<p class="verdict">${esc(verdict)}</p>
<h2>Rows</h2>
<table class="kv"><tr><th>rows read</th><td>${r.rows.total}</td><th>parsed</th><td>${r.rows.parsed}</td><th>unparseable</th><td>${r.rows.unparseable}</td><th>exact duplicates</th><td>${r.rows.duplicates}${r.rows.duplicates_exact ? '' : ' (estimate)'}</td><th>line endings</th><td>LF ${r.rows.line_endings.lf}, CRLF ${r.rows.line_endings.crlf}, CR ${r.rows.line_endings.cr}</td></tr></table>
${r.rows.duplicate_keys ? `<p>Key <code>${esc(r.rows.duplicate_keys.field)}</code>: ${r.rows.duplicate_keys.rows} row(s) repeat ${r.rows.duplicate_keys.keys} key value(s); ${r.rows.duplicate_keys.missing} row(s) have no key.</p>` : ''}
${r.rows.unparseable_examples.length ? `<table><thead><tr><th>row</th><th>why it could not be read</th></tr></thead><tbody>${r.rows.unparseable_examples.map((u) => `<tr><td>${u.row}</td><td>${esc(u.reason)}</td></tr>`).join('')}</tbody></table>` : ''}
<h2>Issues</h2>
<p>Row numbers are lines in JSONL and CSV files and items (from 1) in a JSON array.</p>
${issuesTable(r.issues)}
${
  r.time
    ? `<h2>Time (${esc(r.time.field)})</h2>
<p>${r.time.start ? `From ${esc(r.time.start)} to ${esc(r.time.end)}: <b>${r.time.span_days} days</b>` : 'No readable time'}; ${r.time.rows_with_time} rows with a time, ${r.time.rows_without_time} without. A raw production sample should cover at least 90 days, unfiltered.</p>
${r.time.warnings.length ? `<ul class="warn">${r.time.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
${timeChart(r.time)}
${
  r.time.changes.length
    ? `<h3>Changes inside the sample</h3><table><thead><tr><th>field</th><th>what</th><th>before</th><th>after</th><th>from</th><th>z</th></tr></thead><tbody>${r.time.changes
        .map(
          (c) =>
            `<tr><td>${esc(c.field)}</td><td>${esc(c.metric)}</td><td>${num(c.before)} (${c.rows_before} rows)</td><td>${num(c.after)} (${c.rows_after} rows)</td><td>${esc(c.changed_at)}</td><td>${num(c.z)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p>No field changed its missing rate, type mix or format part-way through.</p>'
}`
    : ''
}
${r.comparison ? comparisonSection(r.comparison, r.baseline_source?.file ?? 'baseline') : ''}
<h2>Fields (${r.fields.length})</h2>
<p>Bar: share of rows per JSON type (grey: key absent). Boxes: 5th–95th percentile line, quartile box, red median, over min–max.</p>
${r.fields.map((f) => fieldCard(f, rows)).join('\n')}
</body></html>
`;
}
