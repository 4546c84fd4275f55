import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Comparison, compareProfiles } from '../audit/compare.js';
import { auditReportHtml } from '../audit/html.js';
import { type AuditIssue, type AuditProfile, Profiler } from '../audit/profile.js';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { evidenceHashes } from '../pipeline/routing-versions.js';
import { openStore } from '../store/db.js';
import { insertEvidence } from '../store/routing.js';
import { action, Progress, printJson } from './output.js';
import { DEFAULT_MAX_LINE_BYTES } from './read-lines.js';
import { readSample, type SampleInfo, sniffSample } from './read-sample.js';

interface AuditOptions {
  baseline?: string;
  json?: boolean;
  html?: string;
  format?: string;
  key?: string;
  timeField?: string;
  pipeline?: string;
  failOn?: string;
  maxLineBytes: number;
}

export interface AuditReport extends AuditProfile {
  source: SampleInfo & { file: string };
  baseline_source?: SampleInfo & { file: string };
  comparison?: Comparison;
  generated_at: string;
}

/** Profiles one file with one Profiler, showing progress on a terminal. */
export async function profileFile(
  file: string,
  options: { format?: string; key?: string; timeField?: string; label: string; maxLineBytes?: number },
): Promise<{ info: SampleInfo; profile: AuditProfile }> {
  const info = sniffSample(file, options.format);
  const profiler = new Profiler({ key: options.key, timeField: options.timeField });
  const progress = new Progress(options.label);
  let read = 0;
  let rows = 0;
  const pct = () =>
    info.bytes > 0 ? `${Math.min(100, Math.floor((read / info.bytes) * 100))}% of ${(info.bytes / 1e6).toFixed(0)} MB` : '';
  for await (const item of readSample(file, info, profiler, (n) => (read += n), options.maxLineBytes)) {
    rows++;
    if ('error' in item) profiler.addUnparseable(item.row, item.error);
    else profiler.add(item.value, { row: item.row, raw: item.raw, invalidUtf8: item.invalidUtf8 });
    if ((rows & 1023) === 0) progress.update(rows, undefined, pct());
  }
  progress.done(rows, undefined, pct());
  const profile = profiler.result();
  if (profile.rows.total === 0) throw new AirlockError('USAGE', `${file} holds no rows`);
  return { info, profile };
}

/** Parses a whole number ≥ 1 given to an option, or a usage error naming it. */
const positiveInteger = (name: string) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !(n >= 1)) throw new AirlockError('USAGE', `${name} must be a whole number of at least 1, got "${v}"`);
  return n;
};

const ISSUE_KINDS_HELP =
  'comma-separated issue kinds (unparseable, invalid_utf8, mojibake, duplicate_rows, duplicate_keys, short_time_span, …) and/or change severities (high, medium) that make the command exit 1';

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description(
      'profile a raw production sample (JSONL, JSON, CSV/TSV, gzip): fields, formats, encoding problems, duplicates, time span; compare it with a pilot sample',
    )
    .argument(
      '<sample>',
      'the production sample: .jsonl, .json, .csv, .tsv (optionally .gz); format detected from the name and the first bytes',
    )
    .option('--baseline <file>', 'the pilot sample to compare with: what changed, ranked by severity')
    .option('--json', 'print the report as JSON (source, rows, fields[], issues[], time, comparison)')
    .option('--html <file>', 'also write the report as one self-contained HTML page')
    .option('--format <format>', 'force the input format: jsonl, json, csv or tsv')
    .option('--key <field>', 'a field (dotted path) that should be unique: count rows that repeat a key')
    .option('--time-field <field>', 'a field (dotted path) that dates each row: time span, gaps, and changes inside the sample')
    .option('--pipeline <name>', 'store the report as evidence of this pipeline (default: the config’s only pipeline)')
    .option('--fail-on <list>', ISSUE_KINDS_HELP)
    .option(
      '--max-line-bytes <n>',
      'the longest line (JSONL, CSV) read into memory; a longer one is reported as unparseable by its number and skipped',
      positiveInteger('--max-line-bytes'),
      DEFAULT_MAX_LINE_BYTES,
    )
    .action(
      action(async (file: string, opts: AuditOptions, cmd: Command) => {
        const globals = cmd.optsWithGlobals() as { config?: string };
        const storeIt = Boolean(globals.config || opts.pipeline);
        const config = storeIt ? loadConfig(globals.config) : undefined;
        let pipeline = opts.pipeline;
        if (config) {
          const names = Object.keys(config.pipelines);
          if (!pipeline) {
            if (names.length !== 1) {
              throw new AirlockError(
                'USAGE',
                `the config has ${names.length} pipelines (${names.join(', ') || 'none'}); name one with --pipeline`,
              );
            }
            pipeline = names[0];
          } else if (!config.pipelines[pipeline]) {
            throw new AirlockError('USAGE', `pipeline "${pipeline}" is not in the config (${names.join(', ') || 'none'})`);
          }
        }
        const failOn = (opts.failOn ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);

        const sample = await profileFile(file, {
          format: opts.format,
          key: opts.key,
          timeField: opts.timeField,
          label: `auditing ${file}`,
          maxLineBytes: opts.maxLineBytes,
        });
        const report: AuditReport = {
          source: { file, ...sample.info },
          generated_at: new Date().toISOString(),
          ...sample.profile,
        };
        if (opts.baseline) {
          const base = await profileFile(opts.baseline, {
            format: opts.format,
            key: opts.key,
            label: `reading baseline ${opts.baseline}`,
            maxLineBytes: opts.maxLineBytes,
          });
          report.baseline_source = { file: opts.baseline, ...base.info };
          report.comparison = compareProfiles(base.profile, sample.profile);
        }
        if (opts.html) writeFileSync(opts.html, auditReportHtml(report));

        let evidenceId: number | undefined;
        if (config && pipeline) {
          const store = openStore(config.database);
          try {
            await store.migrate();
            evidenceId = await insertEvidence(store.db, {
              kind: 'audit',
              pipeline,
              now: Date.now(),
              hashes: evidenceHashes(config, config.pipelines[pipeline], null),
              summary: auditSummary(report),
              report,
            });
          } finally {
            await store.close();
          }
        }

        if (opts.json) printJson(evidenceId === undefined ? report : { ...report, stored: { evidence_id: evidenceId, pipeline } });
        else process.stdout.write(`${humanReport(report, opts, evidenceId, pipeline)}\n`);

        const failed = failOn.filter((k) =>
          k === 'high' || k === 'medium' || k === 'low'
            ? (report.comparison?.changes ?? []).some((c) => severityAtLeast(c.severity, k))
            : report.issues.some((i) => i.kind === k),
        );
        if (failed.length > 0) {
          process.stderr.write(`airlock: audit findings over the limits: ${failed.join(', ')}\n`);
          return 1;
        }
        return 0;
      }),
    );
}

const RANK = { high: 0, medium: 1, low: 2 } as const;
const severityAtLeast = (s: keyof typeof RANK, limit: keyof typeof RANK) => RANK[s] <= RANK[limit];

/** The few figures readiness cites from an audit. */
export function auditSummary(r: AuditReport): Record<string, unknown> {
  return {
    source: r.source.file,
    format: r.source.format,
    rows: r.rows.total,
    unparseable: r.rows.unparseable,
    duplicates: r.rows.duplicates,
    fields: r.fields.length,
    issues: Object.fromEntries(r.issues.reduce((m, i) => m.set(i.kind, (m.get(i.kind) ?? 0) + i.count), new Map<string, number>())),
    time_span_days: r.time?.span_days ?? null,
    time_changes: r.time?.changes.length ?? null,
    baseline: r.baseline_source?.file ?? null,
    changes: r.comparison?.counts ?? null,
  };
}

const pct = (n: number, d: number) => (d === 0 ? '—' : `${((n / d) * 100).toFixed(1)}%`);

function issueLine(i: AuditIssue): string {
  const where = i.field ? ` in ${i.field}` : '';
  const ex = i.examples.length ? ` (e.g. row ${i.examples.slice(0, 3).join(', ')})` : '';
  return `  ${i.kind}${where}: ${i.count}${i.exact === false ? ' (estimated)' : ''}${ex}${i.detail ? ` — ${i.detail}` : ''}`;
}

function humanReport(r: AuditReport, opts: AuditOptions, evidenceId: number | undefined, pipeline: string | undefined): string {
  const s = r.source;
  const out: string[] = [];
  const fmt = `${s.format}${s.compressed ? ', gzip' : ''}${s.delimiter ? `, delimiter ${JSON.stringify(s.delimiter)}, ${s.header ? 'header' : 'no header'}` : ''}`;
  out.push(
    `${s.file} (${fmt}): ${r.rows.total} rows, ${r.rows.unparseable} unparseable, ${r.rows.duplicates} exact duplicate(s), ${r.fields.length} fields`,
  );
  for (const u of r.rows.unparseable_examples.slice(0, 5)) out.push(`  ${s.file}:${u.row}: ${u.reason}`);
  if (r.rows.duplicate_keys) {
    const d = r.rows.duplicate_keys;
    out.push(`key ${d.field}: ${d.rows} row(s) repeat ${d.keys} key(s); ${d.missing} row(s) without it`);
  }
  out.push('', 'fields:');
  const n = r.rows.parsed;
  const w = Math.min(32, Math.max(5, ...r.fields.map((f) => f.name.length)));
  for (const f of r.fields.slice(0, 60)) {
    const types = Object.entries(f.types)
      .map(([t, c]) => `${t} ${pct(c ?? 0, f.count)}`)
      .join(', ');
    const formats = Object.entries(f.formats)
      .slice(0, 2)
      .map(([k, c]) => `${k} ${c}`)
      .join(', ');
    out.push(
      `  ${f.name.padEnd(w)}  missing ${pct(f.missing, n).padStart(6)}  null ${String(f.nulls).padStart(5)}  empty ${String(f.empty).padStart(5)}  distinct ${f.distinct_method === 'exact' ? '' : '~'}${f.distinct}  [${types}]${formats ? `  formats: ${formats}` : ''}`,
    );
  }
  if (r.fields.length > 60) out.push(`  … and ${r.fields.length - 60} more (--json or --html for all)`);
  out.push('', r.issues.length ? 'issues:' : 'issues: none found');
  for (const i of r.issues.slice(0, 25)) out.push(issueLine(i));
  if (r.issues.length > 25) out.push(`  … and ${r.issues.length - 25} more`);
  if (r.time) {
    const t = r.time;
    out.push('', `time (${t.field}): ${t.start ?? '?'} to ${t.end ?? '?'}, ${t.span_days} days, ${t.rows_with_time} rows with a time`);
    for (const wn of t.warnings) out.push(`  warning: ${wn}`);
    for (const c of t.changes.slice(0, 10)) {
      out.push(`  change: ${c.field} ${c.metric} ${c.before} → ${c.after} from ${c.changed_at} (z ${c.z})`);
    }
  }
  if (r.comparison) {
    const c = r.comparison;
    out.push(
      '',
      `compared with ${opts.baseline} (${c.baseline_rows} rows): ${c.counts.high} high, ${c.counts.medium} medium, ${c.counts.low} low`,
    );
    for (const ch of c.changes.slice(0, 20)) out.push(`  [${ch.severity}] ${ch.kind}: ${ch.summary}`);
    if (c.changes.length > 20) out.push(`  … and ${c.changes.length - 20} more`);
  }
  if (opts.html) out.push('', `report: ${opts.html}`);
  if (evidenceId !== undefined) out.push(`stored as evidence #${evidenceId} of ${pipeline}`);
  return out.join('\n');
}
