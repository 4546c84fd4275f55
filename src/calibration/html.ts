import type { ReliabilityBin } from './metrics.js';
import type { CalibrationReport } from './report.js';

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const f = (x: number | null | undefined, digits = 4): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);

const W = 320;
const H = 320;
const PAD = 36;
const sx = (v: number) => PAD + v * (W - 2 * PAD);
const sy = (v: number) => H - PAD - v * (H - 2 * PAD);

function axes(xLabel: string, yLabel: string): string {
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (t) =>
        `<text x="${sx(t)}" y="${H - PAD + 14}" text-anchor="middle">${t}</text><text x="${PAD - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`,
    )
    .join('');
  return `<rect x="${PAD}" y="${PAD}" width="${W - 2 * PAD}" height="${H - 2 * PAD}" fill="none" stroke="#bbb"/>${ticks}
<text x="${W / 2}" y="${H - 4}" text-anchor="middle">${esc(xLabel)}</text>
<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${esc(yLabel)}</text>`;
}

/** Reliability diagram: accuracy per confidence bin against the diagonal of perfect calibration. */
function reliabilitySvg(bins: ReliabilityBin[], title: string): string {
  const bars = bins
    .filter((b) => b.accuracy !== null)
    .map((b) => {
      const x = sx(b.lo);
      const w = sx(b.hi) - sx(b.lo) - 1;
      const y = sy(b.accuracy as number);
      const gapY = sy(b.meanConfidence as number);
      return `<rect x="${x}" y="${y}" width="${w}" height="${sy(0) - y}" fill="#4a78c2"><title>(${b.lo.toFixed(3)}, ${b.hi.toFixed(3)}]: ${b.count} rows, accuracy ${f(b.accuracy, 3)}, mean confidence ${f(b.meanConfidence, 3)}</title></rect>
<rect x="${x}" y="${Math.min(y, gapY)}" width="${w}" height="${Math.abs(gapY - y)}" fill="#e05a47" opacity="0.45"/>`;
    })
    .join('');
  return `<figure><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${axes('confidence', 'accuracy')}${bars}
<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#333" stroke-dasharray="4 3"/></svg><figcaption>${esc(title)} — blue: accuracy per bin; red: gap to the diagonal</figcaption></figure>`;
}

function histogramSvg(h: { lo: number; hi: number; count: number }[], title: string): string {
  const max = Math.max(1, ...h.map((b) => b.count));
  const bars = h
    .map((b) => {
      const y = sy(b.count / max);
      return `<rect x="${sx(b.lo)}" y="${y}" width="${sx(b.hi) - sx(b.lo) - 1}" height="${sy(0) - y}" fill="#7a9a50"><title>${b.count} rows in (${b.lo}, ${b.hi}]</title></rect>`;
    })
    .join('');
  return `<figure><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${axes('confidence', 'share of the largest bin')}${bars}</svg><figcaption>${esc(title)}</figcaption></figure>`;
}

function coverageSvg(points: { coverage: number; accuracy: number }[], target: number, title: string): string {
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.coverage).toFixed(1)},${sy(p.accuracy).toFixed(1)}`).join(' ');
  return `<figure><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${axes('coverage (share auto-accepted)', 'accuracy of the accepted')}
<path d="${path}" fill="none" stroke="#4a78c2" stroke-width="2"/><line x1="${sx(0)}" y1="${sy(target)}" x2="${sx(1)}" y2="${sy(target)}" stroke="#e05a47" stroke-dasharray="4 3"/></svg><figcaption>${esc(title)} — red: target accuracy ${target}</figcaption></figure>`;
}

/** The calibration report as one self-contained HTML page (inline CSS and SVG, no script, no external asset). */
export function calibrationReportHtml(r: CalibrationReport, meta: { source: string; generatedAt: string; targetAccuracy: number }): string {
  const t = r.threshold;
  const metricsRow = (name: string, raw: string, cal: string) => `<tr><th>${esc(name)}</th><td>${raw}</td><td>${cal}</td></tr>`;
  const c = r.calibrated;
  const thresholdText = t.feasible
    ? `Auto-accept at ${t.confidence} confidence ≥ <b>${f(t.value)}</b>: coverage ${pct(t.coverage)}, error ${pct(t.error)} among the accepted, at most <b>${pct(t.error_upper_bound)}</b> with probability ≥ ${+(1 - t.delta).toFixed(6)} (${esc(t.method)}, α = ${t.alpha}).`
    : `<b>No threshold carries the guarantee</b> (target error ${t.alpha}, δ = ${t.delta}): ${esc(t.reason)}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Airlock calibration report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}table{border-collapse:collapse}td,th{padding:.25rem .7rem;border-bottom:1px solid #ddd;text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0}figcaption{font-size:12px;color:#555;max-width:${W}px}svg text{font-size:10px;fill:#444}
.verdict{padding:.8rem 1rem;border-left:4px solid ${t.feasible ? '#3a8a3a' : '#c23a3a'};background:#f6f6f6}
</style></head><body>
<h1>Calibration report</h1>
<p>${esc(meta.source)} — ${r.rows} labelled predictions — generated ${esc(meta.generatedAt)}</p>
<p class="verdict">${thresholdText}</p>
<h2>Metrics</h2>
<table><thead><tr><th></th><th>raw (all rows)</th><th>${c ? `calibrated: ${esc(c.method)} (evaluation split, ${c.rows} rows)` : 'calibrated'}</th></tr></thead><tbody>
${metricsRow('accuracy', f(r.accuracy), c ? f(c.accuracy) : '—')}
${metricsRow('ECE (15 equal-width bins)', `${f(r.ece)} [${f(r.ece_interval[0])}, ${f(r.ece_interval[1])}]`, c ? `${f(c.ece)} (raw on this split ${f(c.raw_on_evaluation.ece)})` : '—')}
${metricsRow('ECE (equal-mass bins)', f(r.ece_equal_mass), c ? f(c.ece_equal_mass) : '—')}
${metricsRow('debiased L2 calibration error', f(r.ece_debiased), c ? f(c.ece_debiased) : '—')}
${metricsRow('MCE', f(r.mce), c ? f(c.mce) : '—')}
${metricsRow(`Brier (${r.brier_kind})`, `${f(r.brier)} [${f(r.brier_interval[0])}, ${f(r.brier_interval[1])}]`, c ? `${f(c.brier)} (top-label; raw ${f(c.raw_on_evaluation.brier)})` : '—')}
${metricsRow('Brier reliability / resolution / uncertainty', `${f(r.brier_decomposition.reliability)} / ${f(r.brier_decomposition.resolution)} / ${f(r.brier_decomposition.uncertainty)}`, c ? `${f(c.brier_decomposition.reliability)} / ${f(c.brier_decomposition.resolution)} / ${f(c.brier_decomposition.uncertainty)}` : '—')}
${metricsRow('NLL', f(r.nll), c ? f(c.nll) : '—')}
${metricsRow('AUROC of confidence (right vs wrong)', f(r.auroc), c ? f(c.auroc) : '—')}
</tbody></table>
<h2>Reliability</h2>
<div class="charts">${reliabilitySvg(r.reliability, 'Raw confidence')}${c ? reliabilitySvg(c.reliability, `Calibrated (${c.method})`) : ''}${histogramSvg(r.confidence_histogram, 'Confidence histogram (raw)')}${coverageSvg(c ? c.coverage_accuracy : r.coverage_accuracy, meta.targetAccuracy, 'Coverage–accuracy')}</div>
<h2>Wrong but confident</h2>
<table><thead><tr><th>row</th><th>label</th><th>predicted</th><th>confidence</th></tr></thead><tbody>
${r.wrong_but_confident.map((w) => `<tr><td>${w.row}</td><td>${esc(w.label)}</td><td>${esc(w.predicted)}</td><td>${f(w.confidence)}</td></tr>`).join('\n')}
</tbody></table>
${
  t.segments
    ? `<h2>Per segment</h2><table><thead><tr><th>segment</th><th>threshold</th><th>coverage</th><th>error</th><th>upper bound</th></tr></thead><tbody>${Object.entries(
        t.segments,
      )
        .map(
          ([name, s]) =>
            `<tr><td>${esc(name)}</td><td>${s.feasible ? f(s.value) : 'none'}</td><td>${pct(s.coverage)}</td><td>${pct(s.error)}</td><td>${s.feasible ? pct(s.error_upper_bound) : esc(s.reason)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : ''
}
${r.notes.length ? `<h2>Notes</h2><ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
