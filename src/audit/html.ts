import { escapeHtml, htmlFigure, htmlKeyValues, htmlList, htmlPage, htmlTable, numberCell, svgImage } from '../report/html.js';
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
      const r = `<rect x="${x.toFixed(1)}" y="0" width="${Math.max(0.5, w).toFixed(1)}" height="${H}" fill="${t === 'missing' ? '#eee' : TYPE_COLOURS[t]}" stroke="${t === 'missing' ? '#ccc' : 'none'}"><title>${escapeHtml(t)}: ${c} (${pct(c, rows)})</title></rect>`;
      x += w;
      return r;
    })
    .join('');
  return svgImage({ width: W, height: H, label: `types of ${f.name}` }, rects);
}

/** Horizontal bars of the most frequent values. */
function topBars(f: FieldProfile): string {
  const top = f.top.slice(0, 8);
  if (top.length === 0) return '';
  const max = Math.max(...top.map((t) => t.count));
  const row = 16;
  const bars = top
    .map((t, i) => {
      const w = (t.count / max) * 120;
      return `<text x="0" y="${i * row + 11}">${escapeHtml(short(t.value, 28))}</text><rect x="170" y="${i * row + 2}" width="${w.toFixed(1)}" height="11" fill="#4a78c2"/><text x="${174 + w}" y="${i * row + 11}">${t.count}</text>`;
    })
    .join('');
  return svgImage({ width: 300, height: top.length * row + 4, label: `top values of ${f.name}` }, bars);
}

/** A box plot (p5, p25, p50, p75, p95 with min and max marks) on a linear scale. */
function boxPlot(s: NumericSummary, label: string): string {
  const W = 300;
  const lo = s.min;
  const hi = s.max;
  const sx = (v: number) => (hi === lo ? W / 2 : 10 + ((v - lo) / (hi - lo)) * (W - 20));
  const q = s.quantiles;
  return svgImage(
    { width: W, height: 34, label },
    `
<line x1="${sx(s.min)}" y1="10" x2="${sx(s.max)}" y2="10" stroke="#bbb"/>
<line x1="${sx(q.p5)}" y1="10" x2="${sx(q.p95)}" y2="10" stroke="#333"/>
<rect x="${sx(q.p25)}" y="3" width="${Math.max(1, sx(q.p75) - sx(q.p25))}" height="14" fill="#cfe0f5" stroke="#4a78c2"/>
<line x1="${sx(q.p50)}" y1="3" x2="${sx(q.p50)}" y2="17" stroke="#c23a3a" stroke-width="2"/>
<text x="2" y="30">${escapeHtml(num(s.min))}</text><text x="${W / 2}" y="30" text-anchor="middle">median ${escapeHtml(num(q.p50))}</text><text x="${W - 2}" y="30" text-anchor="end">${escapeHtml(num(s.max))}</text>
<title>${escapeHtml(label)}: min ${num(s.min)}, p5 ${num(q.p5)}, p25 ${num(q.p25)}, median ${num(q.p50)}, p75 ${num(q.p75)}, p95 ${num(q.p95)}, max ${num(s.max)}, mean ${num(s.mean)}</title>`,
  );
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
      return `<rect x="${(P + i * bw).toFixed(2)}" y="${(H - P - h).toFixed(2)}" width="${Math.max(0.5, bw - 0.5).toFixed(2)}" height="${h.toFixed(2)}" fill="${c === 0 ? '#e05a47' : '#7a9a50'}"><title>${escapeHtml(d)}: ${c} rows</title></rect>`;
    })
    .join('');
  const index = new Map(data.map(([d], i) => [d, i]));
  const marks = t.changes
    .slice(0, 12)
    .map((c) => {
      const i = index.get(c.changed_at);
      if (i === undefined) return '';
      const x = P + i * bw;
      return `<line x1="${x}" y1="${P - 8}" x2="${x}" y2="${H - P}" stroke="#c23a3a" stroke-dasharray="3 2"><title>${escapeHtml(c.field)} ${escapeHtml(c.metric)}: ${c.before} → ${c.after}</title></line>`;
    })
    .join('');
  const days = t.bucket_days === 1;
  const chart = svgImage(
    { width: W, height: H, label: `rows per ${t.bucket_days}-day bucket`, fluid: true },
    `
<line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="#999"/>${bars}${marks}
<text x="${P}" y="${H - 10}">${escapeHtml(data[0][0])}</text><text x="${W - P}" y="${H - 10}" text-anchor="end">${escapeHtml(data[data.length - 1][0])}</text><text x="${P}" y="${P - 12}">max ${max} rows per ${days ? 'day' : `${t.bucket_days} days`}</text>`,
  );
  return htmlFigure(
    chart,
    `Rows per ${days ? 'day' : `${t.bucket_days}-day bucket`} by ${t.field}; red bars are empty ${days ? 'days' : 'buckets'} inside the span, dashed lines the changes found inside the sample.`,
  );
}

function issuesTable(issues: AuditIssue[]): string {
  if (issues.length === 0) return '<p>No issues found.</p>';
  return htmlTable(
    ['kind', 'field', 'count', 'example rows', 'detail'],
    issues.map((i) => [
      escapeHtml(i.kind),
      i.field === null ? '—' : escapeHtml(i.field),
      numberCell(`${i.count}${i.exact === false ? ' (est.)' : ''}`),
      escapeHtml(i.examples.join(', ')),
      escapeHtml(i.detail ?? ''),
    ]),
  );
}

const SEVERITY_CLASS: Record<string, string> = { high: 'bad', medium: 'warn', low: 'muted' };

function comparisonSection(c: Comparison, baseline: string): string {
  return `<h2>Compared with the baseline</h2>
<p>Baseline <code>${escapeHtml(baseline)}</code> (${c.baseline_rows} rows) against this sample (${c.sample_rows} rows): <b>${c.counts.high}</b> high, ${c.counts.medium} medium, ${c.counts.low} low severity changes. Only changes whose test gives p &lt; 0.001 are listed; severity grows with the size of the change.</p>
${
  c.changes.length === 0
    ? '<p>No significant change.</p>'
    : htmlTable(
        ['severity', 'change', 'field', 'what', 'test'],
        c.changes.map((ch) => [
          { html: escapeHtml(ch.severity), class: SEVERITY_CLASS[ch.severity] ?? '' },
          escapeHtml(ch.kind),
          escapeHtml(ch.field),
          escapeHtml(ch.summary),
          ch.test
            ? `${escapeHtml(ch.test.name)}: ${num(ch.test.statistic)}${ch.test.df !== undefined ? ` (df ${ch.test.df})` : ''}, p ${ch.test.p_value.toExponential(2)}`
            : '—',
        ]),
      )
}`;
}

function fieldCard(f: FieldProfile, rows: number): string {
  const formats = Object.entries(f.formats)
    .map(([k, c]) => `${escapeHtml(k)} ${c}`)
    .join(', ');
  const issues = Object.entries(f.issues)
    .map(([k, c]) => `${escapeHtml(k)} ${c}`)
    .join(', ');
  const legend = `${Object.entries(f.types)
    .map(([t, c]) => `<i class="swatch" style="background:${TYPE_COLOURS[t]}"></i>${escapeHtml(t)} ${pct(c ?? 0, rows)}`)
    .join(' ')}${f.missing ? ` <i class="swatch" style="background:#eee"></i>missing ${pct(f.missing, rows)}` : ''}`;
  return `<section class="card"><h3>${escapeHtml(f.name)}</h3>
<div>${typeBar(f, rows)} <small>${legend}</small></div>
${htmlKeyValues([
  ['present', String(f.count)],
  ['missing', String(f.missing)],
  ['null', String(f.nulls)],
  ['empty', String(f.empty)],
  ['distinct', `${f.distinct}${f.distinct_method === 'exact' ? '' : ' (HyperLogLog estimate)'}`],
])}
${formats ? `<p>formats: ${formats}</p>` : ''}${issues ? `<p class="bad">issues: ${issues}</p>` : ''}
<div class="figures">${topBars(f)}${f.numeric ? boxPlot(f.numeric, `${f.name} values`) : ''}${!f.numeric && f.numeric_strings ? boxPlot(f.numeric_strings, `${f.name} numbers in strings`) : ''}${f.length ? boxPlot(f.length, `${f.name} string length`) : ''}</div>
</section>`;
}

function timeSection(t: TimeReport): string {
  return `<h2>Time (${escapeHtml(t.field)})</h2>
<p>${t.start ? `From ${escapeHtml(t.start)} to ${escapeHtml(t.end)}: <b>${t.span_days} days</b>` : 'No readable time'}; ${t.rows_with_time} rows with a time, ${t.rows_without_time} without. A raw production sample should cover at least 90 days, unfiltered.</p>
${htmlList(t.warnings.map(escapeHtml), { class: 'bad' })}
${timeChart(t)}
${
  t.changes.length
    ? `<h3>Changes inside the sample</h3>${htmlTable(
        ['field', 'what', 'before', 'after', 'from', 'z'],
        t.changes.map((c) => [
          escapeHtml(c.field),
          escapeHtml(c.metric),
          `${num(c.before)} (${c.rows_before} rows)`,
          `${num(c.after)} (${c.rows_after} rows)`,
          escapeHtml(c.changed_at),
          numberCell(num(c.z)),
        ]),
      )}`
    : '<p>No field changed its missing rate, type mix or format part-way through.</p>'
}`;
}

/** The audit as one self-contained HTML page: inline CSS and SVG, no script, no external asset; every record value escaped. */
export function auditReportHtml(r: AuditHtmlInput): string {
  const rows = r.rows.parsed;
  const s = r.source;
  const problems = r.issues.filter((i) => i.kind !== 'leading_trailing_whitespace');
  const clean = problems.length === 0 && !(r.comparison && r.comparison.counts.high > 0);
  const verdict = clean
    ? 'No problems found beyond the profile below.'
    : `${problems.length} kind(s) of problem found${r.comparison ? `, ${r.comparison.counts.high} high-severity change(s) against the baseline` : ''}: see the tables below.`;
  const d = r.rows.duplicate_keys;
  return htmlPage({
    title: `Airlock audit: ${s.file}`,
    body: `<h1>Audit of a raw sample</h1>
<p><code>${escapeHtml(s.file)}</code> — ${escapeHtml(s.format)}${s.compressed ? ' (gzip)' : ''}${s.delimiter ? `, delimiter <code>${escapeHtml(JSON.stringify(s.delimiter))}</code>, ${s.header ? 'with' : 'without'} a header` : ''}, ${(s.bytes / 1e6).toFixed(2)} MB — generated ${escapeHtml(r.generated_at)} by <code>airlock audit</code></p>
<p class="verdict ${clean ? 'pass' : 'fail'}">${escapeHtml(verdict)}</p>
<h2>Rows</h2>
${htmlKeyValues([
  ['rows read', String(r.rows.total)],
  ['parsed', String(r.rows.parsed)],
  ['unparseable', String(r.rows.unparseable)],
  ['exact duplicates', `${r.rows.duplicates}${r.rows.duplicates_exact ? '' : ' (estimate)'}`],
  ['line endings', `LF ${r.rows.line_endings.lf}, CRLF ${r.rows.line_endings.crlf}, CR ${r.rows.line_endings.cr}`],
])}
${d ? `<p>Key <code>${escapeHtml(d.field)}</code>: ${d.rows} row(s) repeat ${d.keys} key value(s); ${d.missing} row(s) have no key.</p>` : ''}
${
  r.rows.unparseable_examples.length
    ? htmlTable(
        ['row', 'why it could not be read'],
        r.rows.unparseable_examples.map((u) => [numberCell(u.row), escapeHtml(u.reason)]),
      )
    : ''
}
<h2>Issues</h2>
<p>Row numbers are lines in JSONL and CSV files and items (from 1) in a JSON array.</p>
${issuesTable(r.issues)}
${r.time ? timeSection(r.time) : ''}
${r.comparison ? comparisonSection(r.comparison, r.baseline_source?.file ?? 'baseline') : ''}
<h2>Fields (${r.fields.length})</h2>
<p>Bar: share of rows per JSON type (grey: key absent). Boxes: 5th–95th percentile line, quartile box, red median, over min–max.</p>
${r.fields.map((f) => fieldCard(f, rows)).join('\n')}`,
  });
}
