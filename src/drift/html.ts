/** The drift report as one self-contained HTML page: a table of fields, and per field inline SVG bars (reference vs current). */
import { escapeHtml, htmlPage, htmlTable, numberCell, svgImage } from '../report/html.js';
import type { DriftReport, FieldDrift } from './compare.js';

const num = (x: number | null | undefined, digits = 4): string =>
  x === null || x === undefined || Number.isNaN(x)
    ? '–'
    : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0)
      ? x.toExponential(2)
      : x.toFixed(digits);

function bars(f: FieldDrift): string {
  const b = f.bins;
  if (!b || b.labels.length === 0) return '';
  const rT = b.reference.reduce((s, x) => s + x, 0) || 1;
  const cT = b.current.reduce((s, x) => s + x, 0) || 1;
  const shares = b.labels.map((_, i) => [b.reference[i] / rT, b.current[i] / cT]);
  const max = Math.max(...shares.flat(), 1e-9);
  const row = 18;
  const labelW = 170;
  const barW = 260;
  const h = b.labels.length * row + 4;
  const parts = b.labels.map((label, i) => {
    const y = i * row + 2;
    const [r, c] = shares[i];
    return (
      `<text x="${labelW - 6}" y="${y + 12}" text-anchor="end">${escapeHtml(label.length > 28 ? `${label.slice(0, 27)}…` : label)}</text>` +
      `<rect x="${labelW}" y="${y + 1}" width="${((r / max) * barW).toFixed(1)}" height="7" class="reference"><title>reference ${(r * 100).toFixed(1)} %</title></rect>` +
      `<rect x="${labelW}" y="${y + 8}" width="${((c / max) * barW).toFixed(1)}" height="7" class="current"><title>current ${(c * 100).toFixed(1)} %</title></rect>` +
      `<text x="${labelW + barW + 6}" y="${y + 12}">${(r * 100).toFixed(1)} → ${(c * 100).toFixed(1)} %</text>`
    );
  });
  return svgImage({ width: labelW + barW + 120, height: h, label: `distribution of ${f.name}` }, parts.join(''));
}

export interface DriftHtmlContext {
  reference: string;
  current: string;
  generatedAt: string;
}

/** The drift report as one page: the dataset verdict, a table of every field's test, and each field's bars. */
export function driftReportHtml(report: DriftReport, ctx: DriftHtmlContext): string {
  const anchor = (f: FieldDrift) => `f-${escapeHtml(encodeURIComponent(f.name))}`;
  const table = htmlTable(
    ['field', 'type', 'test', 'statistic', 'p (adjusted)', 'threshold', 'result', 'KS', 'PSI', 'Wasserstein/σ', 'Jensen–Shannon'],
    report.fields.map((f) => ({
      class: f.drift ? 'flag' : '',
      cells: [
        `<a href="#${anchor(f)}">${escapeHtml(f.name)}</a>`,
        escapeHtml(f.type),
        escapeHtml(f.test),
        numberCell(num(f.statistic)),
        numberCell(num(f.p_value_adjusted ?? f.p_value)),
        numberCell(num(f.threshold, 2)),
        f.drift ? '<b>drift</b>' : 'ok',
        numberCell(num(f.ks)),
        numberCell(num(f.psi)),
        numberCell(num(f.wasserstein_norm)),
        numberCell(num(f.jensen_shannon)),
      ],
    })),
  );
  const details = report.fields
    .filter((f) => f.bins)
    .map(
      (f) =>
        `<section id="${anchor(f)}"><h3>${escapeHtml(f.name)} ${f.drift ? '<span class="badge">drift</span>' : ''}</h3>` +
        `<p>${escapeHtml(f.type)}, ${escapeHtml(f.test)}${f.note ? ` — ${escapeHtml(f.note)}` : ''}. Reference: ${f.reference.present} values ` +
        `(${(f.reference.missing_share * 100).toFixed(1)} % missing); current: ${f.current.present} (${(f.current.missing_share * 100).toFixed(1)} % missing).` +
        `${f.oov_rate ? ` Out-of-vocabulary tokens: ${(f.oov_rate.reference * 100).toFixed(1)} % → ${(f.oov_rate.current * 100).toFixed(1)} %.` : ''}</p>${bars(f)}</section>`,
    )
    .join('\n');
  const swatch = (side: 'reference' | 'current') =>
    svgImage({ width: 10, height: 10, label: side }, `<rect width="10" height="10" class="${side}"/>`);
  return htmlPage({
    title: 'Airlock drift report',
    body: `<h1>Drift report</h1>
<p>Reference <code>${escapeHtml(ctx.reference)}</code> (${report.reference_rows} rows) vs current <code>${escapeHtml(ctx.current)}</code> (${report.current_rows} rows), ${escapeHtml(ctx.generatedAt)}.</p>
<p class="verdict ${report.dataset_drift ? 'fail' : 'pass'}">${report.dataset_drift ? 'Dataset drift' : 'No dataset drift'}: ${report.drifted_fields} of ${report.tested_fields} fields drifted (${(report.drift_share * 100).toFixed(1)} %; threshold ${(report.share_threshold * 100).toFixed(0)} %).</p>
<p>Bars: ${swatch('reference')} reference, ${swatch('current')} current (share of values per bin).</p>
${table}
${details}`,
  });
}
