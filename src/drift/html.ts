/** The drift report as one self-contained HTML page: a table of fields, and per field inline SVG bars (reference vs current). */
import type { DriftReport, FieldDrift } from './compare.js';

export const escapeHtml = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

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
      `<rect x="${labelW}" y="${y + 1}" width="${((r / max) * barW).toFixed(1)}" height="7" class="ref"><title>reference ${(r * 100).toFixed(1)} %</title></rect>` +
      `<rect x="${labelW}" y="${y + 8}" width="${((c / max) * barW).toFixed(1)}" height="7" class="cur"><title>current ${(c * 100).toFixed(1)} %</title></rect>` +
      `<text x="${labelW + barW + 6}" y="${y + 12}">${(r * 100).toFixed(1)} → ${(c * 100).toFixed(1)} %</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 120}" height="${h}" role="img" aria-label="${escapeHtml(`distribution of ${f.name}`)}">${parts.join('')}</svg>`;
}

export interface DriftHtmlContext {
  reference: string;
  current: string;
  generatedAt: string;
}

export function driftReportHtml(report: DriftReport, ctx: DriftHtmlContext): string {
  const rows = report.fields
    .map(
      (f) =>
        `<tr class="${f.drift ? 'drift' : ''}"><td><a href="#f-${escapeHtml(encodeURIComponent(f.name))}">${escapeHtml(f.name)}</a></td><td>${escapeHtml(f.type)}</td>` +
        `<td>${escapeHtml(f.test)}</td><td>${num(f.statistic)}</td><td>${num(f.p_value_adjusted ?? f.p_value)}</td><td>${num(f.threshold, 2)}</td>` +
        `<td>${f.drift ? '<b>drift</b>' : 'ok'}</td><td>${num(f.ks)}</td><td>${num(f.psi)}</td><td>${num(f.wasserstein_norm)}</td><td>${num(f.jensen_shannon)}</td></tr>`,
    )
    .join('\n');
  const details = report.fields
    .filter((f) => f.bins)
    .map(
      (f) =>
        `<section id="f-${escapeHtml(encodeURIComponent(f.name))}"><h3>${escapeHtml(f.name)} ${f.drift ? '<span class="badge">drift</span>' : ''}</h3>` +
        `<p>${escapeHtml(f.type)}, ${escapeHtml(f.test)}${f.note ? ` — ${escapeHtml(f.note)}` : ''}. Reference: ${f.reference.present} values ` +
        `(${(f.reference.missing_share * 100).toFixed(1)} % missing); current: ${f.current.present} (${(f.current.missing_share * 100).toFixed(1)} % missing).` +
        `${f.oov_rate ? ` Out-of-vocabulary tokens: ${(f.oov_rate.reference * 100).toFixed(1)} % → ${(f.oov_rate.current * 100).toFixed(1)} %.` : ''}</p>${bars(f)}</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Airlock drift report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
tr.drift td{background:#fdecea}.badge{background:#c62828;color:#fff;border-radius:3px;padding:0 .4rem;font-size:12px}
svg text{font-size:11px;fill:#333}rect.ref{fill:#90a4ae}rect.cur{fill:#ef6c00}section{margin:1.5rem 0}
</style></head><body>
<h1>Drift report</h1>
<p>Reference <code>${escapeHtml(ctx.reference)}</code> (${report.reference_rows} rows) vs current <code>${escapeHtml(ctx.current)}</code> (${report.current_rows} rows), ${escapeHtml(ctx.generatedAt)}.</p>
<p><b>${report.dataset_drift ? 'Dataset drift' : 'No dataset drift'}</b>: ${report.drifted_fields} of ${report.tested_fields} fields drifted (${(report.drift_share * 100).toFixed(1)} %; threshold ${(report.share_threshold * 100).toFixed(0)} %).</p>
<p>Bars: <svg width="10" height="10"><rect width="10" height="10" class="ref"/></svg> reference, <svg width="10" height="10"><rect width="10" height="10" class="cur"/></svg> current (share of values per bin).</p>
<table><thead><tr><th>field</th><th>type</th><th>test</th><th>statistic</th><th>p (adjusted)</th><th>threshold</th><th>result</th><th>KS</th><th>PSI</th><th>Wasserstein/σ</th><th>Jensen–Shannon</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${details}
</body></html>
`;
}
