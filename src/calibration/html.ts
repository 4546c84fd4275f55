import { escapeHtml, htmlFigure, htmlList, htmlPage, htmlTable, numberCell, svgImage } from '../report/html.js';
import type { ReliabilityBin } from './metrics.js';
import type { CalibrationReport } from './report.js';

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
<text x="${W / 2}" y="${H - 4}" text-anchor="middle">${escapeHtml(xLabel)}</text>
<text x="12" y="${H / 2}" text-anchor="middle" transform="rotate(-90 12 ${H / 2})">${escapeHtml(yLabel)}</text>`;
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
  const chart = svgImage(
    { width: W, height: H, label: title },
    `${axes('confidence', 'accuracy')}${bars}
<line x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}" stroke="#333" stroke-dasharray="4 3"/>`,
  );
  return htmlFigure(chart, `${title} — blue: accuracy per bin; red: gap to the diagonal`);
}

function histogramSvg(h: { lo: number; hi: number; count: number }[], title: string): string {
  const max = Math.max(1, ...h.map((b) => b.count));
  const bars = h
    .map((b) => {
      const y = sy(b.count / max);
      return `<rect x="${sx(b.lo)}" y="${y}" width="${sx(b.hi) - sx(b.lo) - 1}" height="${sy(0) - y}" fill="#7a9a50"><title>${b.count} rows in (${b.lo}, ${b.hi}]</title></rect>`;
    })
    .join('');
  return htmlFigure(svgImage({ width: W, height: H, label: title }, `${axes('confidence', 'share of the largest bin')}${bars}`), title);
}

function coverageSvg(points: { coverage: number; accuracy: number }[], target: number, title: string): string {
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.coverage).toFixed(1)},${sy(p.accuracy).toFixed(1)}`).join(' ');
  const chart = svgImage(
    { width: W, height: H, label: title },
    `${axes('coverage (share auto-accepted)', 'accuracy of the accepted')}
<path d="${path}" fill="none" stroke="#4a78c2" stroke-width="2"/><line x1="${sx(0)}" y1="${sy(target)}" x2="${sx(1)}" y2="${sy(target)}" stroke="#e05a47" stroke-dasharray="4 3"/>`,
  );
  return htmlFigure(chart, `${title} — red: target accuracy ${target}`);
}

/** The calibration report as one self-contained HTML page (inline CSS and SVG, no script, no external asset). */
export function calibrationReportHtml(r: CalibrationReport, meta: { source: string; generatedAt: string; targetAccuracy: number }): string {
  const t = r.threshold;
  const c = r.calibrated;
  const thresholdText = t.feasible
    ? `Auto-accept at ${t.confidence} confidence ≥ <b>${f(t.value)}</b>: coverage ${pct(t.coverage)}, error ${pct(t.error)} among the accepted, at most <b>${pct(t.error_upper_bound)}</b> with probability ≥ ${+(1 - t.delta).toFixed(6)} (${escapeHtml(t.method)}, α = ${t.alpha}).`
    : `<b>No threshold carries the guarantee</b> (target error ${t.alpha}, δ = ${t.delta}): ${escapeHtml(t.reason)}`;
  const metric = (name: string, raw: string, calibrated: string) => [`<b>${escapeHtml(name)}</b>`, raw, calibrated];
  const metrics = htmlTable(
    ['', 'raw (all rows)', c ? `calibrated: ${c.method} (evaluation split, ${c.rows} rows)` : 'calibrated'],
    [
      metric('accuracy', f(r.accuracy), c ? f(c.accuracy) : '—'),
      metric(
        'ECE (15 equal-width bins)',
        `${f(r.ece)} [${f(r.ece_interval[0])}, ${f(r.ece_interval[1])}]`,
        c ? `${f(c.ece)} (raw on this split ${f(c.raw_on_evaluation.ece)})` : '—',
      ),
      metric('ECE (equal-mass bins)', f(r.ece_equal_mass), c ? f(c.ece_equal_mass) : '—'),
      metric('debiased L2 calibration error', f(r.ece_debiased), c ? f(c.ece_debiased) : '—'),
      metric('MCE', f(r.mce), c ? f(c.mce) : '—'),
      metric(
        `Brier (${r.brier_kind})`,
        `${f(r.brier)} [${f(r.brier_interval[0])}, ${f(r.brier_interval[1])}]`,
        c ? `${f(c.brier)} (top-label; raw ${f(c.raw_on_evaluation.brier)})` : '—',
      ),
      metric(
        'Brier reliability / resolution / uncertainty',
        `${f(r.brier_decomposition.reliability)} / ${f(r.brier_decomposition.resolution)} / ${f(r.brier_decomposition.uncertainty)}`,
        c
          ? `${f(c.brier_decomposition.reliability)} / ${f(c.brier_decomposition.resolution)} / ${f(c.brier_decomposition.uncertainty)}`
          : '—',
      ),
      metric('NLL', f(r.nll), c ? f(c.nll) : '—'),
      metric('AUROC of confidence (right vs wrong)', f(r.auroc), c ? f(c.auroc) : '—'),
    ],
  );
  const wrong = htmlTable(
    ['row', 'label', 'predicted', 'confidence'],
    r.wrong_but_confident.map((w) => [numberCell(w.row), escapeHtml(w.label), escapeHtml(w.predicted), numberCell(f(w.confidence))]),
  );
  const segments = t.segments
    ? `<h2>Per segment</h2>${htmlTable(
        ['segment', 'threshold', 'coverage', 'error', 'upper bound'],
        Object.entries(t.segments).map(([name, s]) => [
          escapeHtml(name),
          s.feasible ? f(s.value) : 'none',
          pct(s.coverage),
          pct(s.error),
          s.feasible ? pct(s.error_upper_bound) : escapeHtml(s.reason),
        ]),
      )}`
    : '';
  return htmlPage({
    title: 'Airlock calibration report',
    body: `<h1>Calibration report</h1>
<p>${escapeHtml(meta.source)} — ${r.rows} labelled predictions — generated ${escapeHtml(meta.generatedAt)}</p>
<p class="verdict ${t.feasible ? 'pass' : 'fail'}">${thresholdText}</p>
<h2>Metrics</h2>
${metrics}
<h2>Reliability</h2>
<div class="figures">${reliabilitySvg(r.reliability, 'Raw confidence')}${c ? reliabilitySvg(c.reliability, `Calibrated (${c.method})`) : ''}${histogramSvg(r.confidence_histogram, 'Confidence histogram (raw)')}${coverageSvg(c ? c.coverage_accuracy : r.coverage_accuracy, meta.targetAccuracy, 'Coverage–accuracy')}</div>
<h2>Wrong but confident</h2>
${wrong}
${segments}
${r.notes.length ? `<h2>Notes</h2>${htmlList(r.notes.map(escapeHtml))}` : ''}`,
  });
}
