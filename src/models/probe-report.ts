/** The probe report for people: a terminal page and a self-contained HTML page (pure). */
import { FINDINGS, type FindingName } from '../audit/edge-cases.js';
import { escapeHtml, htmlList, htmlPage, htmlTable, numberCell } from '../report/html.js';
import type { ProbeReport } from './probe.js';

/** How the reports name each finding. */
const FINDING_LABEL: Record<FindingName, string> = {
  crashes: 'crashes',
  errors: 'error responses',
  timeouts: 'timeouts',
  latency_outliers: 'latency outliers',
  confident_garbage: 'confident on garbage',
  confident_errors: 'confident errors',
};

const num = (x: number | null, digits = 3) => (x === null ? '—' : String(+x.toFixed(digits)));

/** The report for a terminal: counts against limits, examples, what garbage and hard cases got, latency, the verdict. */
export function probeReportText(r: ProbeReport, html?: string): string {
  const out: string[] = [
    `probe of ${r.pipeline} (model ${r.model.type}, seed ${r.seed}): ${r.cases.total} cases — ${r.cases.perturbations} perturbations, ${r.cases.garbage} garbage, ${r.cases.hard_cases} plausible hard cases`,
    `threshold ${r.threshold} (${r.threshold_source}${r.calibrated ? ', on calibrated confidence' : ''}); timeout ${r.timeout_ms} ms per call`,
    '',
  ];
  const width = Math.max(...FINDINGS.map((f) => FINDING_LABEL[f].length));
  for (const f of FINDINGS) {
    const limit = r.limits[f];
    const over = r.over_limits.includes(f);
    out.push(
      `  ${FINDING_LABEL[f].padEnd(width)}  ${String(r.findings[f]).padStart(5)}   limit ${limit === null ? 'none' : limit}${over ? '   ✗ over the limit' : ''}`,
    );
  }
  for (const f of FINDINGS) {
    if (r.examples[f].length === 0) continue;
    out.push('', `${FINDING_LABEL[f]}:`);
    for (const e of r.examples[f]) out.push(`  ${e.case} — ${e.description}: ${e.detail}`);
    if (r.findings[f] > r.examples[f].length) out.push(`  … and ${r.findings[f] - r.examples[f].length} more`);
  }
  out.push('');
  const g = r.garbage;
  if (g.cases > 0) {
    const labels = Object.entries(g.labels)
      .sort((a, b) => b[1] - a[1])
      .map(([l, n]) => `${l} ${n}`)
      .join(', ');
    out.push(
      `garbage: ${g.answered} of ${g.cases} answered, ${g.confident} at or above the threshold; mean confidence ${num(g.mean_confidence)}${labels ? `; labels: ${labels}` : ''}`,
      `  confident by variant: ${Object.entries(g.variants)
        .map(([v, x]) => `${v} ${x.confident}/${x.cases}`)
        .join(', ')}`,
    );
  }
  const h = r.hard_cases;
  if (h.cases > 0) {
    out.push(
      `hard cases: ${h.cases} sample records farthest from ${r.pilot ? 'the pilot' : 'the rest of the sample'}; ${
        h.labelled > 0
          ? `${h.labelled} labelled, accuracy ${num(h.accuracy)}, ${h.confident_errors} confident errors`
          : 'no labels to judge them'
      }`,
      `  farthest: ${h.ranked
        .slice(0, 5)
        .map((x) => `line ${x.line} (${x.score.toFixed(3)})`)
        .join(', ')}${h.ranked.length > 5 ? ', …' : ''}`,
    );
  }
  out.push(
    `latency: median ${num(r.latency.median_ms)} ms, p95 ${num(r.latency.p95_ms)} ms, max ${num(r.latency.max_ms)} ms; outlier fence ${
      r.latency.outlier_fence_ms === null ? 'n/a (too few answers)' : `${num(r.latency.outlier_fence_ms)} ms`
    }`,
  );
  if (r.duplicates.inconsistent > 0)
    out.push(`duplicates: ${r.duplicates.inconsistent} of ${r.duplicates.pairs} pairs answered differently`);
  for (const s of r.cases.skipped_families) out.push(`not generated: ${s.family} (${s.reason})`);
  if (html) out.push(`report: ${html}`);
  if (r.stored) out.push(`stored as evidence #${r.stored.evidence_id} of ${r.pipeline}`);
  out.push(
    r.passed
      ? 'passed: every count is within its limit'
      : `FAILED: ${r.over_limits.map((f) => `${FINDING_LABEL[f]} ${r.findings[f]} > ${r.limits[f]}`).join(', ')}`,
  );
  return out.join('\n');
}

/** The report as one self-contained HTML page (no scripts, no external resources; every text escaped). */
export function probeReportHtml(r: ProbeReport, generatedAt: string): string {
  const findings = htmlTable(
    ['finding', 'count', 'limit', ''],
    FINDINGS.map((f) => {
      const over = r.over_limits.includes(f);
      return {
        class: over ? 'flag' : '',
        cells: [
          escapeHtml(FINDING_LABEL[f]),
          numberCell(r.findings[f]),
          numberCell(escapeHtml(r.limits[f] === null ? 'none' : r.limits[f])),
          over ? 'over the limit' : 'ok',
        ],
      };
    }),
  );
  const examples = FINDINGS.filter((f) => r.examples[f].length > 0)
    .map(
      (f) =>
        `<h3>${escapeHtml(FINDING_LABEL[f])} (${r.findings[f]})</h3>\n${htmlTable(
          ['case', 'family', 'what was done', 'what happened'],
          r.examples[f].map((e) => [escapeHtml(e.case), escapeHtml(e.family), escapeHtml(e.description), escapeHtml(e.detail)]),
        )}`,
    )
    .join('\n');
  const families = htmlTable(
    ['family', 'cases', 'answered', 'crashes', 'errors', 'timeouts', 'confident'],
    Object.entries(r.families).map(([name, f]) => [
      escapeHtml(name),
      numberCell(f.cases),
      numberCell(f.answered),
      numberCell(f.crashes),
      numberCell(f.errors),
      numberCell(f.timeouts),
      numberCell(f.confident),
    ]),
  );
  const g = r.garbage;
  const h = r.hard_cases;
  const ranked = h.ranked.length
    ? htmlTable(
        ['case', 'sample line', 'score', 'why it is far'],
        h.ranked.map((x) => [escapeHtml(x.case), numberCell(x.line), numberCell(x.score.toFixed(3)), escapeHtml(x.reasons.join('; '))]),
      )
    : '';
  return htmlPage({
    title: `airlock probe — ${r.pipeline}`,
    body: `<h1>Probe of ${escapeHtml(r.pipeline)}</h1>
<p><small>${escapeHtml(generatedAt)} · model ${escapeHtml(r.model.type)} · seed ${escapeHtml(r.seed)} · sample ${escapeHtml(r.sample.file)} (${r.sample.records} records)${
      r.pilot ? ` · pilot ${escapeHtml(r.pilot.file)} (${r.pilot.records} records)` : ''
    }</small></p>
<p class="verdict ${r.passed ? 'pass' : 'fail'}">${r.passed ? 'Passed: every count is within its limit' : `Failed: ${escapeHtml(r.over_limits.map((f) => FINDING_LABEL[f]).join(', '))} over the limit`}</p>
<p>${r.cases.total} cases: ${r.cases.perturbations} perturbations, ${r.cases.garbage} garbage, ${r.cases.hard_cases} plausible hard cases.
Threshold ${escapeHtml(r.threshold)} (${escapeHtml(r.threshold_source)}${r.calibrated ? ', on calibrated confidence' : ''}); timeout ${r.timeout_ms} ms per call.</p>
<h2>Findings</h2>
${findings}
${examples}
<h2>Garbage</h2>
<p>${g.answered} of ${g.cases} answered; ${g.confident} at or above the threshold; mean confidence ${escapeHtml(num(g.mean_confidence))}.
Labels: ${escapeHtml(
      Object.entries(g.labels)
        .map(([l, n]) => `${l} ${n}`)
        .join(', ') || '—',
    )}. Confident by variant: ${escapeHtml(
      Object.entries(g.variants)
        .map(([v, x]) => `${v} ${x.confident}/${x.cases}`)
        .join(', ') || '—',
    )}.</p>
<h2>Plausible hard cases</h2>
<p>${h.cases} sample records farthest from ${r.pilot ? 'the pilot' : 'the rest of the sample'}; ${h.labelled} labelled, accuracy ${escapeHtml(num(h.accuracy))}, ${h.confident_errors} confident errors.</p>
${ranked}
<h2>Families</h2>
${families}
<h2>Latency</h2>
<p>median ${escapeHtml(num(r.latency.median_ms))} ms, p95 ${escapeHtml(num(r.latency.p95_ms))} ms, max ${escapeHtml(num(r.latency.max_ms))} ms; outlier fence (Q3 + 3·IQR) ${escapeHtml(
      r.latency.outlier_fence_ms === null ? 'n/a' : `${num(r.latency.outlier_fence_ms)} ms`,
    )}</p>
${r.warnings.length ? `<h2>Warnings</h2>${htmlList(r.warnings.map(escapeHtml))}` : ''}`,
  });
}
