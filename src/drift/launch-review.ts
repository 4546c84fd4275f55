/**
 * The 30-day post-launch monitoring review (pure): its data, the recommended actions each backed by a figure, and
 * its Markdown and HTML renderings. src/readiness/launch-review.ts gathers the data from the database.
 */
import { escapeHtml, htmlPage, htmlTable } from '../report/html.js';

export interface DayDrift {
  date: string;
  rows: number;
  dataset_drift: boolean;
  drift_share: number;
  /** Fields that drifted that day (inputs and @model outputs). */
  drifted: string[];
}

export interface FieldOverTime {
  name: string;
  test: string;
  days_tested: number;
  days_drifted: number;
  /** Largest severity over the days (statistic / threshold, or log p / log alpha; ≥ 1 is drift). */
  max_severity: number;
  series: { date: string; statistic: number | null; drift: boolean }[];
}

export interface DayOutputs {
  date: string;
  records: number;
  auto_share: number | null;
  review_share: number | null;
  model_failure_share: number | null;
  estimated_accuracy: number | null;
  verdicts: number;
  realised_accuracy: number | null;
  estimated_accuracy_reviewed: number | null;
  audit_verdicts: number;
  audit_accuracy: number | null;
}

export interface ReviewReport {
  pipeline: string;
  generated_at: string;
  period: { from: string; to: string; days: number };
  reference: { version: number; source: string; rows: number; created_at: string } | null;
  drift: { days: DayDrift[]; fields: FieldOverTime[]; open_episodes: { field: string; opened_at: string | null }[] };
  schema: {
    records_received: number;
    quarantined: number;
    quarantined_by_day: { date: string; n: number }[];
    halts: { id: number; kind: string; field: string; status: string; opened_at: string; resolved_at: string | null }[];
    contract_versions: { version: number; source: string; created_at: string; note: string | null }[];
  };
  model: {
    days: DayOutputs[];
    /** Over the whole period. */
    totals: Omit<DayOutputs, 'date'>;
    calibrations: { at: string; rows: number; ece: number | null; calibrated_ece: number | null; threshold: number | null }[];
    routing_versions: { version: number; status: string; threshold: number | null; activated_at: string | null }[];
  };
  review: {
    by_type: { type: string; open: number; breached_open: number; sla_attainment: { share: number | null; met: number; n: number } }[];
  };
  delivery: {
    destinations: {
      destination: string;
      delivered: number;
      pending: number;
      dead_lettered: number;
      attempts_retried: number;
      throttled: number;
      breaker_state: string | null;
      breaker_openings: number;
    }[];
  };
  recommendations: { action: string; because: string }[];
}

const pct = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)} %`);
const num = (x: number | null | undefined, digits = 3) => (x === null || x === undefined ? '–' : Number(x.toFixed(digits)).toString());

/** At least this many verdicts before a gap between estimated and realised accuracy is called. */
export const MIN_VERDICTS = 30;
/** An SLA attainment below this is called (with at least 5 cases). */
export const SLA_TARGET = 0.9;

/** The recommended actions, each backed by a figure of the report. */
export function recommendActions(r: Omit<ReviewReport, 'recommendations'>): ReviewReport['recommendations'] {
  const out: ReviewReport['recommendations'] = [];
  const p = r.pipeline;
  if (!r.reference) {
    out.push({
      action: `Load a drift reference: airlock reference --pipeline ${p} PILOT_SAMPLE (or set drift.reference_days with launch.go_live)`,
      because: `${r.schema.records_received} records arrived in the period and none could be compared with the pilot`,
    });
  }
  const open = new Set(r.drift.open_episodes.map((e) => e.field));
  for (const f of r.drift.fields) {
    if (f.days_drifted === 0) continue;
    if (f.days_drifted < 3 && !open.has(f.name)) continue;
    const share = f.days_tested ? f.days_drifted / f.days_tested : 0;
    const isOutput = f.name.startsWith('@model.');
    out.push({
      action: isOutput
        ? `Check the model's outputs (${f.name}): find which inputs moved it, and whether the labelled data still represents production`
        : `Find out what changed upstream in ${f.name}; if the change is the new normal, reload the reference and re-run airlock calibrate`,
      because: `${f.name} drifted on ${f.days_drifted} of ${f.days_tested} days (${pct(share, 0)}), max ${f.test} severity ${num(f.max_severity, 2)}${open.has(f.name) ? ', episode still open' : ''}`,
    });
  }
  const t = r.model.totals;
  if (t.verdicts >= MIN_VERDICTS && t.realised_accuracy !== null && t.estimated_accuracy_reviewed !== null) {
    const gap = t.estimated_accuracy_reviewed - t.realised_accuracy;
    if (Math.abs(gap) >= 0.05) {
      out.push({
        action: `Re-calibrate: the confidence ${gap > 0 ? 'overstates' : 'understates'} accuracy (airlock calibrate with the reviewers' verdicts)`,
        because: `on ${t.verdicts} reviewed records the estimated accuracy was ${pct(t.estimated_accuracy_reviewed)} and the realised ${pct(t.realised_accuracy)}`,
      });
    }
  }
  if (
    t.audit_verdicts >= MIN_VERDICTS &&
    t.audit_accuracy !== null &&
    t.estimated_accuracy !== null &&
    t.estimated_accuracy - t.audit_accuracy >= 0.05
  ) {
    out.push({
      action: 'Raise the auto-accept threshold or re-calibrate: auto-decided records are less accurate than estimated',
      because: `audit sample: ${pct(t.audit_accuracy)} accurate over ${t.audit_verdicts} verdicts vs ${pct(t.estimated_accuracy)} estimated`,
    });
  }
  for (const c of r.review.by_type) {
    const s = c.sla_attainment;
    if (s.share !== null && s.n >= 5 && s.share < SLA_TARGET) {
      out.push({
        action: `Add reviewer capacity or revisit the SLA of ${c.type} cases`,
        because: `${pct(s.share)} of ${c.type} cases met their SLA (${s.met} of ${s.n}); ${c.breached_open} open cases are past it`,
      });
    }
  }
  for (const d of r.delivery.destinations) {
    if (d.dead_lettered > 0) {
      out.push({
        action: `Replay or discard the dead letters of ${d.destination} (airlock deliveries dead-letters --pipeline ${p})`,
        because: `${d.dead_lettered} deliveries to ${d.destination} were refused for good`,
      });
    }
    const attempts = d.delivered + d.dead_lettered + d.attempts_retried;
    if (d.throttled > 0 && attempts > 0 && d.throttled / attempts >= 0.05) {
      out.push({
        action: `Lower destinations.${d.destination}.rate_limit (or ask the vendor for a higher limit)`,
        because: `${d.throttled} answers said "too fast" (429) — ${pct(d.throttled / attempts)} of ${attempts} attempts`,
      });
    }
    if (d.breaker_openings > 0) {
      out.push({
        action: `Check the availability of ${d.destination} with its owner`,
        because: `its circuit breaker opened ${d.breaker_openings} time(s)${d.breaker_state === 'open' ? ' and is open now' : ''}`,
      });
    }
  }
  const q = r.schema;
  if (q.records_received > 0 && q.quarantined / q.records_received >= 0.01) {
    out.push({
      action: 'Ask the producer to fix the records that break the contract, or accept the change (airlock contract diff)',
      because: `${q.quarantined} of ${q.records_received} records (${pct(q.quarantined / q.records_received)}) were quarantined`,
    });
  }
  for (const h of q.halts.filter((x) => x.status === 'open')) {
    out.push({
      action: `Decide on the schema change that halted ${p}: accept or reject halt #${h.id}`,
      because: `${h.kind} on ${h.field} has held records since ${h.opened_at}`,
    });
  }
  return out;
}

/**
 * Text that came from records or people (field names, notes, sources) as Markdown shows it, not obeys it: HTML
 * characters escaped (a field named "<img src=x onerror=…>" stays text in any Markdown viewer) and `|` escaped so it
 * cannot end a table cell.
 */
export function mdText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');
}

/** The inverse of mdText, for the HTML page made from the Markdown (which escapes again for HTML). */
function mdUnescape(s: string): string {
  return s.replace(/\\\|/g, '|').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function reviewReportMarkdown(r: ReviewReport): string {
  const L: string[] = [];
  L.push(`# ${r.pipeline}: ${r.period.days}-day monitoring review`, '');
  L.push(`${r.period.from} – ${r.period.to}. Generated ${r.generated_at}.`, '');
  L.push('## Recommended actions', '');
  if (r.recommendations.length === 0) L.push('None: every figure below is within its limit.');
  for (const a of r.recommendations) L.push(`- **${mdText(a.action)}** — ${mdText(a.because)}.`);
  L.push('', '## Drift per field', '');
  L.push(
    r.reference
      ? `Reference: version ${r.reference.version} (${r.reference.source}, ${r.reference.rows} records, ${r.reference.created_at}). Daily windows.`
      : 'No reference profile: drift was not measured.',
    '',
  );
  if (r.drift.fields.length > 0) {
    L.push('| field | test | days drifted | max severity | by day (▲ drift) |', '|---|---|---|---|---|');
    for (const f of r.drift.fields) {
      L.push(
        `| ${mdText(f.name)} | ${f.test} | ${f.days_drifted} / ${f.days_tested} | ${num(f.max_severity, 2)} | ${f.series.map((s) => (s.drift ? '▲' : '·')).join('')} |`,
      );
    }
    L.push('');
  }
  if (r.drift.days.length > 0) {
    L.push('| day | records | drift share | drifted fields |', '|---|---|---|---|');
    for (const d of r.drift.days)
      L.push(`| ${d.date} | ${d.rows} | ${pct(d.drift_share, 0)} | ${d.drifted.map(mdText).join(', ') || '–'} |`);
    L.push('');
  }
  L.push('## Schema changes and quarantine', '');
  L.push(
    `${r.schema.records_received} records received, ${r.schema.quarantined} quarantined (${pct(r.schema.records_received ? r.schema.quarantined / r.schema.records_received : null)}).`,
    '',
  );
  for (const h of r.schema.halts)
    L.push(
      `- halt #${h.id}: ${h.kind} on ${mdText(h.field)}, ${h.status} (opened ${h.opened_at}${h.resolved_at ? `, resolved ${h.resolved_at}` : ''})`,
    );
  for (const c of r.schema.contract_versions)
    L.push(`- contract version ${c.version} (${mdText(c.source)}) from ${c.created_at}${c.note ? `: ${mdText(c.note)}` : ''}`);
  L.push('', '## Model: calibration and accuracy over time', '');
  L.push(
    `Estimated accuracy is the mean calibrated confidence (CBPE); realised accuracy is the share of reviewed records whose verdict equals the model's label, held against the estimate on the same records; the audit sample is a uniform sample of auto-decided records.`,
    '',
  );
  L.push(
    '| day | records | auto | review | estimated | verdicts | realised | estimated (reviewed) | audit |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const d of [...r.model.days, { date: 'all', ...r.model.totals }]) {
    L.push(
      `| ${d.date} | ${d.records} | ${pct(d.auto_share)} | ${pct(d.review_share)} | ${pct(d.estimated_accuracy)} | ${d.verdicts} | ${pct(d.realised_accuracy)} | ${pct(d.estimated_accuracy_reviewed)} | ${d.audit_verdicts ? `${pct(d.audit_accuracy)} (${d.audit_verdicts})` : '–'} |`,
    );
  }
  L.push('');
  for (const c of r.model.calibrations)
    L.push(`- calibration ${c.at}: ${c.rows} rows, ECE ${num(c.ece)} → ${num(c.calibrated_ece)}, threshold ${num(c.threshold)}`);
  for (const v of r.model.routing_versions)
    L.push(
      `- routing version ${v.version} (${v.status}), threshold ${num(v.threshold)}${v.activated_at ? `, active since ${v.activated_at}` : ''}`,
    );
  L.push('', '## Review SLA attainment', '');
  L.push('| case type | met / resolved | attainment | open | open past SLA |', '|---|---|---|---|---|');
  for (const c of r.review.by_type)
    L.push(
      `| ${mdText(c.type)} | ${c.sla_attainment.met} / ${c.sla_attainment.n} | ${pct(c.sla_attainment.share)} | ${c.open} | ${c.breached_open} |`,
    );
  L.push('', '## Delivery health', '');
  L.push('| destination | delivered | pending | dead letters | retries | 429s | breaker openings |', '|---|---|---|---|---|---|---|');
  for (const d of r.delivery.destinations) {
    L.push(
      `| ${mdText(d.destination)} | ${d.delivered} | ${d.pending} | ${d.dead_lettered} | ${d.attempts_retried} | ${d.throttled} | ${d.breaker_openings}${d.breaker_state === 'open' ? ' (open now)' : ''} |`,
    );
  }
  L.push('');
  return L.join('\n');
}

/** Markdown tables and lists as a self-contained HTML page (no script, no external asset). */
export function reviewReportHtml(r: ReviewReport): string {
  const md = reviewReportMarkdown(r).split('\n');
  const body: string[] = [];
  let table: string[][] | null = null;
  let list = false;
  const inline = (s: string) => escapeHtml(mdUnescape(s)).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>');
  const flushTable = () => {
    if (!table) return;
    const [head, , ...rows] = table;
    body.push(
      htmlTable(
        head,
        rows.map((row) => row.map(inline)),
      ),
    );
    table = null;
  };
  for (const line of md) {
    if (line.startsWith('|')) {
      if (list) body.push('</ul>');
      list = false;
      table ??= [];
      table.push(
        line
          .slice(1, -1)
          .split(/(?<!\\)\|/)
          .map((c) => c.trim()),
      );
      continue;
    }
    flushTable();
    if (line.startsWith('- ')) {
      if (!list) body.push('<ul>');
      list = true;
      body.push(`<li>${inline(line.slice(2))}</li>`);
      continue;
    }
    if (list) body.push('</ul>');
    list = false;
    if (line.startsWith('## ')) body.push(`<h2>${inline(line.slice(3))}</h2>`);
    else if (line.startsWith('# ')) body.push(`<h1>${inline(line.slice(2))}</h1>`);
    else if (line.trim()) body.push(`<p>${inline(line)}</p>`);
  }
  flushTable();
  if (list) body.push('</ul>');
  return htmlPage({ title: `${r.pipeline}: ${r.period.days}-day monitoring review`, body: body.join('\n') });
}
