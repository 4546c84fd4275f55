/** The readiness report for people: a terminal page and a self-contained HTML page (pure). */
import type { CheckStatus, ReadinessReport } from './report.js';

const MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', stale: '~', manual: '?' };
const points = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** Wraps text at `width` columns, every line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

export function readinessText(r: ReadinessReport, width = 100): string {
  const out: string[] = [];
  out.push(`Production readiness of ${r.pipeline} — ${r.generated_at}`);
  out.push('');
  for (const s of r.sections) {
    const max = s.checks.length;
    out.push(`${s.title}   ${points(s.score)} of ${max}`);
    for (const c of s.checks) {
      const flags = [c.status === 'pass' ? '' : c.status.toUpperCase(), c.blocking ? 'blocking' : ''].filter(Boolean).join(', ');
      out.push(`  ${MARK[c.status]} ${c.id}  ${c.title}${flags ? `  [${flags}]` : ''}  (${points(c.points)})`);
      out.push(`      ${wrap(c.evidence, width - 6, '      ')}`);
      if (c.fix) out.push(`      fix: ${wrap(c.fix, width - 11, '           ')}`);
    }
    out.push('');
  }
  const lowest = r.sections.filter((s) => s.score === r.score).map((s) => s.name);
  out.push(
    `Score ${points(r.score)} (the lowest section: ${lowest.join(', ')}; ½ point per check done once by hand, 1 when automatic and repeated)`,
  );
  if (r.min_score !== null) out.push(`Minimum score ${points(r.min_score)}: ${r.score >= r.min_score ? 'met' : 'NOT met'}`);
  if (r.blocking_failed.length > 0) out.push(`Blocking checks not passing: ${r.blocking_failed.join(', ')}`);
  const gated = r.min_score !== null || r.sections.some((s) => s.checks.some((c) => c.blocking));
  out.push(r.passed ? `Gate: PASSED${gated ? '' : ' (nothing to gate on: give --min-score or readiness.blocking)'}` : 'Gate: FAILED');
  return out.join('\n');
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** One HTML page, no external resources; every text from the report is escaped. */
export function readinessHtml(r: ReadinessReport): string {
  const e = escapeHtml;
  const sections = r.sections
    .map(
      (s) => `<section>
<h2>${e(s.title)} <span class="score">${e(points(s.score))} / ${s.checks.length}</span></h2>
<table>
<thead><tr><th></th><th>check</th><th>evidence</th><th>fix</th><th>points</th></tr></thead>
<tbody>
${s.checks
  .map(
    (c) => `<tr class="${e(c.status)}">
<td class="status" title="${e(c.status)}">${e(MARK[c.status])} ${e(c.status)}${c.blocking ? '<br><small>blocking</small>' : ''}</td>
<td><code>${e(c.id)}</code><br>${e(c.title)}</td>
<td>${e(c.evidence)}${c.artefact ? `<br><small>${e(c.artefact.kind)} #${c.artefact.id}, ${e(c.artefact.created_at)}</small>` : ''}</td>
<td>${c.fix ? `<code>${e(c.fix)}</code>` : ''}</td>
<td class="n">${e(points(c.points))}</td>
</tr>`,
  )
  .join('\n')}
</tbody>
</table>
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Production readiness — ${e(r.pipeline)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1f24; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
.score { font-weight: normal; color: #555; }
.verdict { font-size: 1.2rem; padding: .6rem 1rem; border-radius: 6px; display: inline-block; }
.verdict.passed { background: #e6f4ea; color: #145a2c; }
.verdict.failed { background: #fdecea; color: #8a1c13; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .45rem .5rem; border-bottom: 1px solid #e3e5e8; }
td.n { text-align: right; }
td.status { white-space: nowrap; font-weight: 600; }
tr.pass td.status { color: #157f3b; }
tr.fail td.status { color: #b3261e; }
tr.stale td.status { color: #9a6700; }
tr.manual td.status { color: #555; }
code { font: 12.5px ui-monospace, monospace; background: #f3f4f6; padding: 0 .2rem; border-radius: 3px; word-break: break-word; }
small { color: #666; }
</style>
</head>
<body>
<h1>Production readiness of <code>${e(r.pipeline)}</code></h1>
<p>${e(r.generated_at)}</p>
<p class="verdict ${r.passed ? 'passed' : 'failed'}">Score ${e(points(r.score))}${r.min_score !== null ? ` (minimum ${e(points(r.min_score))})` : ''} — gate ${r.passed ? 'passed' : 'failed'}</p>
${r.blocking_failed.length ? `<p>Blocking checks not passing: ${r.blocking_failed.map((id) => `<code>${e(id)}</code>`).join(', ')}</p>` : ''}
<p><small>Scoring as Google's ML Test Score: a check earns ½ point when done once by hand and 1 when Airlock does it automatically and repeatedly; a section's score is the sum of its checks, the score the lowest section. Evidence counts only when it was made with the config, contract, model and calibrator in force (else <em>stale</em>).</small></p>
${sections}
</body>
</html>
`;
}
