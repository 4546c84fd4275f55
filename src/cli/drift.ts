import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { compareSummaries, type DriftOptions, type DriftTestName, type FieldDrift } from '../drift/compare.js';
import { driftReportHtml } from '../drift/html.js';
import { buildSpec, DriftSummary } from '../drift/summary.js';
import { AirlockError } from '../errors.js';
import { action, Progress, printJson } from './output.js';
import { detectFormat, type InputFormat, readRecords } from './read-records.js';

interface DriftCliOptions {
  json?: boolean;
  html?: string;
  format?: string;
  text?: string;
  notText?: string;
  exclude?: string;
  share: number;
  test: string[];
  reservoir: number;
}

const TESTS: DriftTestName[] = ['ks', 'chi_square', 'z', 'wasserstein', 'jensen_shannon', 'psi'];
const NUMERIC = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** CSV and TSV cells are strings: '' is missing, numbers and true/false get their type back. */
function coerceCells(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return row;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row as Record<string, unknown>)) {
    if (typeof v !== 'string') out[k] = v;
    else if (v === '') out[k] = null;
    else if (NUMERIC.test(v.trim())) out[k] = Number(v);
    else if (v === 'true' || v === 'false') out[k] = v === 'true';
    else out[k] = v;
  }
  return out;
}

export async function* rowsOf(file: string, format: InputFormat, label: string): AsyncGenerator<unknown> {
  const progress = new Progress(`reading ${label}`);
  const bad: string[] = [];
  let n = 0;
  try {
    for await (const item of readRecords(file, format)) {
      if ('error' in item) {
        bad.push(`line ${item.line}: ${item.error}`);
        continue;
      }
      n++;
      progress.update(n);
      yield format === 'csv' || format === 'tsv' ? coerceCells(item.value) : item.value;
    }
  } catch (err) {
    if (err instanceof AirlockError) throw new AirlockError('USAGE', err.message);
    throw err;
  }
  progress.done(n);
  if (bad.length > 0) {
    throw new AirlockError(
      'USAGE',
      `${file} has ${bad.length} unreadable line(s):\n  ${bad.slice(0, 5).join('\n  ')}${bad.length > 5 ? `\n  … and ${bad.length - 5} more` : ''}`,
    );
  }
  if (n === 0) throw new AirlockError('USAGE', `${file} holds no records`);
}

const list = (s?: string) =>
  s
    ?.split(',')
    .map((x) => x.trim())
    .filter(Boolean);

function parseOverrides(specs: string[]): NonNullable<DriftOptions['fields']> {
  const out: NonNullable<DriftOptions['fields']> = {};
  for (const s of specs) {
    const m = /^(.+)=([a-z_]+)(?::([0-9.eE+-]+))?$/.exec(s);
    if (!m || !(TESTS as string[]).concat('skip').includes(m[2]) || (m[3] !== undefined && !Number.isFinite(Number(m[3])))) {
      throw new AirlockError('USAGE', `--test expects FIELD=TEST[:THRESHOLD] with TEST one of ${TESTS.join(', ')}, skip (got "${s}")`);
    }
    out[m[1]] =
      m[2] === 'skip' ? { skip: true } : { test: m[2] as DriftTestName, threshold: m[3] === undefined ? undefined : Number(m[3]) };
  }
  return out;
}

const fmt = (x: number | null | undefined): string =>
  x === null || x === undefined || Number.isNaN(x)
    ? '-'
    : Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0)
      ? x.toExponential(2)
      : x.toFixed(4);

function printReadable(fields: FieldDrift[], summary: string): void {
  const head = ['field', 'type', 'test', 'statistic', 'p (adj.)', 'threshold', 'result'];
  const rows = fields.map((f) => [
    f.name,
    f.type,
    f.test,
    fmt(f.statistic),
    fmt(f.p_value_adjusted ?? f.p_value),
    fmt(f.threshold),
    f.test === 'none' ? (f.note ?? '') : f.drift ? 'DRIFT' : 'ok',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  process.stdout.write(`${line(head)}\n${rows.map(line).join('\n')}\n\n${summary}\n`);
}

export function registerDriftCommand(program: Command): void {
  program
    .command('drift')
    .description('compare CURRENT with REFERENCE field by field; exit 1 when the dataset drifted (for CI)')
    .argument('<reference>', 'the reference sample (JSONL, JSON array, CSV or TSV; gzip too)')
    .argument('<current>', 'the data to check against it')
    .option(
      '--json',
      'print the report as JSON: dataset_drift, drift_share, fields[] with name, type, test, statistic, p_value, threshold, drift, ks, psi, wasserstein_norm, jensen_shannon',
    )
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .option('--format <format>', 'input format of both files when their names do not tell: jsonl, json, csv, tsv')
    .option('--text <fields>', 'comma-separated string fields to treat as free text (length, non-ASCII share, charset, tokens)')
    .option('--not-text <fields>', 'comma-separated string fields never treated as text')
    .option('--exclude <fields>', 'comma-separated fields to leave out (ids, timestamps)')
    .option(
      '--share <p>',
      'share of drifted fields that makes dataset drift',
      (v: string) => {
        const x = Number(v);
        if (!(x > 0 && x <= 1)) throw new AirlockError('USAGE', `--share must be in (0, 1], got "${v}"`);
        return x;
      },
      0.5,
    )
    .option(
      '--test <field=test[:threshold]>',
      `per-field test (${TESTS.join(', ')}) or skip; repeatable`,
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option(
      '--reservoir <n>',
      'values kept per field: KS and Wasserstein are exact (= scipy on the whole file) for fields with at most this many numbers, from sketches above',
      (v: string) => {
        if (!/^\d+$/.test(v) || Number(v) < 1) throw new AirlockError('USAGE', `--reservoir must be a positive integer, got "${v}"`);
        return Number(v);
      },
      100_000,
    )
    .action(
      action(async (referenceFile: string, currentFile: string, opts: DriftCliOptions) => {
        const fields = parseOverrides(opts.test);
        const refFormat = detectFormat(referenceFile, opts.format);
        const curFormat = detectFormat(currentFile, opts.format);
        const referenceRows: unknown[] = [];
        for await (const row of rowsOf(referenceFile, refFormat, 'reference')) referenceRows.push(row);
        const spec = buildSpec(referenceRows, {
          text: list(opts.text),
          notText: list(opts.notText),
          exclude: list(opts.exclude),
          reservoir: opts.reservoir,
        });
        const reference = new DriftSummary(spec).addAll(referenceRows);
        referenceRows.length = 0;
        const current = new DriftSummary(spec);
        for await (const row of rowsOf(currentFile, curFormat, 'current')) current.add(row);
        let report: ReturnType<typeof compareSummaries>;
        try {
          report = compareSummaries(reference, current, { shareThreshold: opts.share, fields });
        } catch (err) {
          if (err instanceof RangeError) throw new AirlockError('USAGE', err.message);
          throw err;
        }
        if (opts.html) {
          writeFileSync(
            opts.html,
            driftReportHtml(report, { reference: referenceFile, current: currentFile, generatedAt: new Date().toISOString() }),
          );
        }
        if (opts.json) printJson(report);
        else {
          printReadable(
            report.fields,
            `${report.dataset_drift ? 'Dataset drift' : 'No dataset drift'}: ${report.drifted_fields} of ${report.tested_fields} fields drifted ` +
              `(${(report.drift_share * 100).toFixed(1)} %, threshold ${(report.share_threshold * 100).toFixed(0)} %); ` +
              `reference ${report.reference_rows} rows, current ${report.current_rows} rows.`,
          );
        }
        return report.dataset_drift ? 1 : 0;
      }),
    );
}
