/** The readiness report for people: a terminal page and a self-contained HTML page (pure). */
import { escapeHtml, htmlPage, htmlTable, numberCell } from '../report/html.js';
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
  out.push(`Gate: ${r.passed ? 'PASSED' : 'FAILED'} — ${r.gate.why}`);
  return out.join('\n');
}

/** How each status is coloured on the page. */
const STATUS_CLASS: Record<CheckStatus, string> = { pass: 'ok', fail: 'bad', stale: 'warn', manual: 'muted' };

/** One HTML page, no external resources; every text from the report is escaped. */
export function readinessHtml(r: ReadinessReport): string {
  const e = escapeHtml;
  const sections = r.sections
    .map(
      (s) => `<section>
<h2>${e(s.title)} <span class="muted">${e(points(s.score))} / ${s.checks.length}</span></h2>
${htmlTable(
  ['', 'check', 'evidence', 'fix', 'points'],
  s.checks.map((c) => [
    {
      html: `<b title="${e(c.status)}">${e(MARK[c.status])} ${e(c.status)}</b>${c.blocking ? '<br><small>blocking</small>' : ''}`,
      class: STATUS_CLASS[c.status],
    },
    `<code>${e(c.id)}</code><br>${e(c.title)}`,
    `${e(c.evidence)}${c.artefact ? `<br><small>${e(c.artefact.kind)} #${c.artefact.id}, ${e(c.artefact.created_at)}</small>` : ''}`,
    c.fix ? `<code>${e(c.fix)}</code>` : '',
    numberCell(e(points(c.points))),
  ]),
)}
</section>`,
    )
    .join('\n');
  return htmlPage({
    title: `Production readiness — ${r.pipeline}`,
    body: `<h1>Production readiness of <code>${e(r.pipeline)}</code></h1>
<p>${e(r.generated_at)}</p>
<p class="verdict ${r.passed ? 'pass' : 'fail'}">Score ${e(points(r.score))}${r.min_score !== null ? ` (minimum ${e(points(r.min_score))})` : ''} — gate ${r.passed ? 'passed' : 'failed'}</p>
<p>Gate: ${e(r.gate.why)}.</p>
${r.blocking_failed.length ? `<p>Blocking checks not passing: ${r.blocking_failed.map((id) => `<code>${e(id)}</code>`).join(', ')}</p>` : ''}
<p><small>Scoring as Google's ML Test Score: a check earns ½ point when done once by hand and 1 when Airlock does it automatically and repeatedly; a section's score is the sum of its checks, the score the lowest section. Evidence counts only when it was made with the config, contract, model and calibrator in force (else <em>stale</em>).</small></p>
${sections}`,
  });
}
