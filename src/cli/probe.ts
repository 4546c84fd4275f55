import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type EdgeCase,
  FINDINGS,
  type FindingName,
  generateEdgeCases,
  type ProbeCase,
  type ProbeOutcome,
  type ProbeSummary,
  summarizeProbe,
} from '../audit/edge-cases.js';
import { describeReason, rankByNovelty } from '../audit/novelty.js';
import { type Calibrator, parseCalibrator } from '../calibration/calibrators.js';
import { loadConfig } from '../config/load.js';
import type { ModelConfig } from '../config/sections/model.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { AirlockError } from '../errors.js';
import { createModelAdapter, type ModelAdapter, ModelCallError, modelFingerprint } from '../models/index.js';
import { type RoutingPolicy, route } from '../pipeline/router.js';
import { evidenceHashes } from '../pipeline/routing-versions.js';
import { openStore, type Store } from '../store/db.js';
import { activeRoutingVersion, insertEvidence } from '../store/routing.js';
import { action, Progress, printJson } from './output.js';
import { detectFormat, readRecords } from './read-records.js';

interface ProbeOptions {
  pipeline: string;
  sample: string;
  pilot?: string;
  seed: number;
  cases: number;
  hardCases: number;
  labelField: string;
  concurrency?: number;
  format?: string;
  json?: boolean;
  html?: string;
}

/**
 * What `airlock probe --json` prints (stable field names):
 * - `pipeline`, `seed`, `model` ({ type, fingerprint }), `threshold` (the effective auto-accept threshold) and
 *   `threshold_source` (`routing version N` or `routing.auto_accept_at`), `calibrated` (whether confidence was passed
 *   through the active version's calibrator before the comparison), `timeout_ms`, `concurrency`;
 * - `sample`, `pilot`: records read and lines that could not be read; `cases`: how many of each kind were sent,
 *   and the families that could not be made from this sample;
 * - `findings`: counts of `crashes`, `errors`, `timeouts`, `latency_outliers`, `confident_garbage`, `confident_errors`;
 *   `examples`: up to 5 per finding ({ case, family, description, detail }, never a record's values);
 * - `families`, `latency`, `garbage`, `hard_cases` (with `ranked`: each hard case's sample line, score and reasons),
 *   `duplicates`: the detail behind the counts;
 * - `limits` (null: no limit), `over_limits`, `passed`; `stored` ({ evidence_id } or null), `warnings`.
 */
export interface ProbeReport extends Omit<ProbeSummary, 'hard_cases'> {
  /** The summary's counts, what the records were compared with, and each hard case: its line, score and reasons. */
  hard_cases: ProbeSummary['hard_cases'] & {
    reference: 'pilot' | 'sample';
    ranked: { case: string; line: number; score: number; reasons: string[] }[];
  };
  pipeline: string;
  seed: number;
  model: { type: string; fingerprint: string };
  threshold: number;
  threshold_source: string;
  calibrated: boolean;
  timeout_ms: number;
  concurrency: number;
  sample: { file: string; records: number; unreadable: number; labelled: number };
  pilot: { file: string; records: number; unreadable: number } | null;
  cases: {
    total: number;
    perturbations: number;
    garbage: number;
    hard_cases: number;
    skipped_families: { family: string; reason: string }[];
  };
  stored: { evidence_id: number } | null;
  warnings: string[];
}

const positiveInteger = (name: string, min: number) => (v: string) => {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) {
    throw new AirlockError('USAGE', `${name} must be an integer of at least ${min}, got "${v}"`);
  }
  return Number(v);
};

class ProbeTimeout extends Error {}

/** Reads a sample file: its objects, and how many lines were not usable records. */
async function readSample(
  file: string,
  format?: string,
): Promise<{ records: Record<string, unknown>[]; unreadable: number; lines: number[] }> {
  const fmt = detectFormat(file, format);
  const records: Record<string, unknown>[] = [];
  const lines: number[] = [];
  let unreadable = 0;
  try {
    for await (const item of readRecords(file, fmt)) {
      if ('error' in item || typeof item.value !== 'object' || item.value === null || Array.isArray(item.value)) unreadable++;
      else {
        records.push(item.value as Record<string, unknown>);
        lines.push(item.line);
      }
    }
  } catch (err) {
    if (err instanceof AirlockError) throw new AirlockError('USAGE', err.message);
    throw err;
  }
  return { records, unreadable, lines };
}

/** A failure in words — the status, the connection error or the model's message, cut short; never the record. */
function classify(err: unknown, timeoutMs: number): { status: 'crash' | 'error' | 'timeout'; reason: string } {
  const short = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}…` : s);
  if (err instanceof ProbeTimeout) return { status: 'timeout', reason: `no answer within ${timeoutMs} ms` };
  if (err instanceof ModelCallError) {
    if (/timed out/.test(err.message) || err.status === 408) return { status: 'timeout', reason: `no answer within ${timeoutMs} ms` };
    if (err.status !== undefined) {
      return err.status >= 500
        ? { status: 'crash', reason: `answered ${err.status}` }
        : { status: 'error', reason: `answered ${err.status}` };
    }
    if (err.message.startsWith('model threw')) return { status: 'crash', reason: short(err.message) };
    if (err.kind === 'unavailable')
      return { status: 'crash', reason: short(err.message.replace(/^model unreachable/, 'connection failed')) };
    return { status: 'error', reason: short(err.message) };
  }
  return { status: 'crash', reason: short(`adapter failed: ${(err as Error)?.message ?? String(err)}`) };
}

/** The model config the probe calls: the probe's timeout per call, and no retries (every failure counts). */
function probeModelConfig(model: ModelConfig, timeoutMs: number): ModelConfig {
  return { ...model, timeoutMs, retries: 0 } as ModelConfig;
}

/** The routing policy in effect: the active routing version of the database, else `routing.auto_accept_at`. */
async function effectivePolicy(store: Store | undefined, pipeline: PipelineConfig, warnings: string[]): Promise<RoutingPolicy> {
  const fallback: RoutingPolicy = { version: null, calibrator: null, threshold: pipeline.routing.autoAcceptAt };
  if (!store) return fallback;
  const row = await activeRoutingVersion(store.db, pipeline.name);
  if (!row) return fallback;
  try {
    const threshold = JSON.parse(row.threshold) as { value: number };
    const calibrator: Calibrator | null = row.calibrator ? parseCalibrator(JSON.parse(row.calibrator)) : null;
    return { version: row.version, calibrator, threshold: threshold.value };
  } catch {
    warnings.push(`active routing version ${row.version} is unreadable; using routing.auto_accept_at`);
    return fallback;
  }
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
  onDone: () => void,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
      onDone();
    }
  });
  await Promise.all(workers);
  return out;
}

export function registerProbeCommand(program: Command): void {
  program
    .command('probe')
    .description(
      "break the model on purpose before launch: edge cases and garbage made from a sample, and the sample's records farthest from the pilot, sent through the pipeline's model",
    )
    .requiredOption('--pipeline <name>', 'the pipeline whose model, threshold and probe limits are used')
    .requiredOption('--sample <file>', 'production sample (JSONL, JSON, CSV or TSV; gzip too): edge cases are made from it')
    .option(
      '--pilot <file>',
      'pilot sample: the plausible hard cases are the sample records farthest from it (default: from the rest of the sample)',
    )
    .option('--seed <n>', 'seed of the generated cases', positiveInteger('--seed', 0), 1)
    .option('--cases <n>', 'how many edge cases to generate (a duplicate pair counts once)', positiveInteger('--cases', 1), 200)
    .option('--hard-cases <n>', 'how many sample records farthest from the pilot to send (0: none)', positiveInteger('--hard-cases', 0), 20)
    .option(
      '--label-field <name>',
      "the sample's label field: removed before a record goes to the model, compared with its answer",
      'label',
    )
    .option('--concurrency <n>', 'model calls in flight (default: the model config’s concurrency)', positiveInteger('--concurrency', 1))
    .option('--format <format>', 'format of the sample and pilot files when their names do not tell (jsonl, json, csv, tsv)')
    .option(
      '--json',
      'print the report as JSON (pipeline, seed, threshold, cases, findings, examples, families, latency, garbage, hard_cases, limits, over_limits, passed)',
    )
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .action(
      action(async (opts: ProbeOptions, cmd: Command) => {
        const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
        const pipeline = config.pipelines[opts.pipeline];
        if (!pipeline) {
          throw new AirlockError(
            'USAGE',
            `pipeline "${opts.pipeline}" is not in the config (${Object.keys(config.pipelines).join(', ') || 'none'})`,
          );
        }
        const warnings: string[] = [];
        const sample = await readSample(opts.sample, opts.format);
        if (sample.records.length === 0) throw new AirlockError('USAGE', `${opts.sample} holds no records`);
        const pilot = opts.pilot ? await readSample(opts.pilot, opts.format) : undefined;
        if (pilot && pilot.records.length === 0) throw new AirlockError('USAGE', `${opts.pilot} holds no records`);
        if (sample.unreadable > 0) warnings.push(`${sample.unreadable} line(s) of ${opts.sample} are not JSON objects and were left out`);

        // The label never reaches the model.
        const labelField = opts.labelField;
        const labels = sample.records.map((r) =>
          r[labelField] === undefined || r[labelField] === null ? undefined : String(r[labelField]),
        );
        const strip = (r: Record<string, unknown>) => {
          const { [labelField]: _label, ...rest } = r;
          return rest;
        };
        const records = sample.records.map(strip);
        const pilotRecords = pilot?.records.map(strip);

        // The database: the effective threshold, and where the report is stored. Unreachable: warn and go on.
        let store: Store | undefined;
        try {
          store = openStore(config.database);
          await store.migrate();
        } catch (err) {
          warnings.push(
            `cannot open the database (${(err as Error).message}): the threshold is routing.auto_accept_at and the report is not stored`,
          );
          await store?.close().catch(() => {});
          store = undefined;
        }
        try {
          let policy: RoutingPolicy;
          try {
            policy = await effectivePolicy(store, pipeline, warnings);
          } catch (err) {
            warnings.push(`cannot read the routing versions (${(err as Error).message}): the threshold is routing.auto_accept_at`);
            policy = { version: null, calibrator: null, threshold: pipeline.routing.autoAcceptAt };
          }

          const generated = generateEdgeCases(records, { seed: opts.seed, count: opts.cases, keep: ['id'] });
          const ranked = opts.hardCases > 0 ? rankByNovelty(records, pilotRecords, { exclude: ['id'] }).slice(0, opts.hardCases) : [];
          const reference = pilotRecords ? 'the pilot' : 'the rest of the sample';
          const hardCases = ranked.map((n, k) => ({
            case: `hard-${k + 1}`,
            line: sample.lines[n.index],
            score: Math.round(n.score * 1e6) / 1e6,
            reasons: n.reasons.map(describeReason),
          }));
          const hard = ranked.map((n, k) => ({
            id: `hard-${k + 1}`,
            family: 'hard_case' as const,
            kind: 'hard_case' as const,
            description: `sample line ${sample.lines[n.index]}, far from ${reference} (score ${n.score.toFixed(3)}${
              n.reasons.length ? `: ${n.reasons.map(describeReason).join('; ')}` : ''
            })`,
            expected: labels[n.index],
            record: records[n.index],
          }));
          const all: (ProbeCase & { record: unknown })[] = [
            ...generated.cases.map((c: EdgeCase) => ({
              id: c.id,
              family: c.family,
              kind: c.kind,
              variant: c.variant,
              description: c.description,
              record: c.record,
            })),
            ...hard,
          ];

          const timeoutMs = pipeline.probe.timeoutMs;
          const concurrency = opts.concurrency ?? pipeline.model.concurrency;
          let adapter: ModelAdapter;
          try {
            adapter = createModelAdapter(probeModelConfig(pipeline.model, timeoutMs));
          } catch (err) {
            throw new AirlockError('CONFIG_INVALID', `cannot build the model of ${pipeline.name}: ${(err as Error).message}`);
          }
          const progress = new Progress('probing');
          let done = 0;
          const outcomes = await mapLimited(
            all,
            concurrency,
            async (c): Promise<ProbeOutcome> => {
              const started = performance.now();
              let timer: NodeJS.Timeout | undefined;
              try {
                const prediction = await Promise.race([
                  adapter.predict(c.record),
                  new Promise<never>((_, reject) => {
                    timer = setTimeout(() => reject(new ProbeTimeout()), timeoutMs);
                  }),
                ]);
                // The adapter's own measure: in-process models are timed without the queueing of concurrent calls.
                const latencyMs = Number.isFinite(prediction.latencyMs) ? prediction.latencyMs : performance.now() - started;
                const d = route(pipeline, policy, c.record, c.id, prediction);
                return {
                  status: 'answered',
                  label: prediction.label,
                  confidence: d.calibratedConfidence,
                  rawConfidence: prediction.confidence,
                  confident: d.calibratedConfidence >= d.threshold,
                  latencyMs,
                };
              } catch (err) {
                return { ...classify(err, timeoutMs), latencyMs: performance.now() - started };
              } finally {
                if (timer) clearTimeout(timer);
              }
            },
            () => progress.update(++done, all.length),
          );
          progress.done(done, all.length);
          await adapter.close?.().catch(() => {});

          const duplicateOf = new Map(generated.cases.filter((c) => c.duplicateOf).map((c) => [c.id, c.duplicateOf as string]));
          const summary = summarizeProbe(all, outcomes, pipeline.probe.limits, { duplicateOf });
          const report: ProbeReport = {
            pipeline: pipeline.name,
            seed: opts.seed,
            model: { type: pipeline.model.type, fingerprint: modelFingerprint(pipeline.model) },
            threshold: policy.threshold,
            threshold_source: policy.version === null ? 'routing.auto_accept_at' : `routing version ${policy.version}`,
            calibrated: policy.calibrator !== null,
            timeout_ms: timeoutMs,
            concurrency,
            sample: {
              file: opts.sample,
              records: records.length,
              unreadable: sample.unreadable,
              labelled: labels.filter((l) => l !== undefined).length,
            },
            pilot: pilot && opts.pilot ? { file: opts.pilot, records: pilot.records.length, unreadable: pilot.unreadable } : null,
            cases: {
              total: all.length,
              perturbations: generated.cases.filter((c) => c.kind === 'perturbation').length,
              garbage: generated.cases.filter((c) => c.kind === 'garbage').length,
              hard_cases: hard.length,
              skipped_families: generated.skipped,
            },
            ...summary,
            hard_cases: { ...summary.hard_cases, reference: pilotRecords ? 'pilot' : 'sample', ranked: hardCases },
            stored: null,
            warnings,
          };

          if (store) {
            try {
              const evidenceId = await insertEvidence(store.db, {
                kind: 'probe',
                pipeline: pipeline.name,
                now: Date.now(),
                hashes: evidenceHashes(config, pipeline, policy.calibrator),
                summary: {
                  seed: report.seed,
                  cases: report.cases.total,
                  threshold: report.threshold,
                  findings: report.findings,
                  over_limits: report.over_limits,
                  passed: report.passed,
                },
                report,
              });
              report.stored = { evidence_id: evidenceId };
            } catch (err) {
              warnings.push(`the report could not be stored as evidence: ${(err as Error).message}`);
            }
          }
          if (opts.html) writeFileSync(opts.html, probeReportHtml(report, new Date().toISOString()));
          for (const w of warnings) process.stderr.write(`airlock: warning: ${w}\n`);
          if (opts.json) printJson(report);
          else process.stdout.write(`${probeReportText(report, opts.html)}\n`);
          // Exit 1 when a count of findings is above its limit (pipelines.<p>.probe.limits), for CI.
          return report.passed ? 0 : 1;
        } finally {
          await store?.close().catch(() => {});
        }
      }),
    );
}

const FINDING_LABEL: Record<FindingName, string> = {
  crashes: 'crashes',
  errors: 'error responses',
  timeouts: 'timeouts',
  latency_outliers: 'latency outliers',
  confident_garbage: 'confident on garbage',
  confident_errors: 'confident errors',
};

const num = (x: number | null, digits = 3) => (x === null ? '—' : String(+x.toFixed(digits)));

function probeReportText(r: ProbeReport, html?: string): string {
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

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** The report as one self-contained HTML page (no scripts, no external resources; every text escaped). */
export function probeReportHtml(r: ProbeReport, generatedAt: string): string {
  const rows = FINDINGS.map((f) => {
    const over = r.over_limits.includes(f);
    return `<tr class="${over ? 'over' : ''}"><td>${esc(FINDING_LABEL[f])}</td><td class="n">${r.findings[f]}</td><td class="n">${esc(
      r.limits[f] === null ? 'none' : r.limits[f],
    )}</td><td>${over ? 'over the limit' : 'ok'}</td></tr>`;
  }).join('\n');
  const examples = FINDINGS.filter((f) => r.examples[f].length > 0)
    .map(
      (f) => `<h3>${esc(FINDING_LABEL[f])} (${r.findings[f]})</h3>
<table><tr><th>case</th><th>family</th><th>what was done</th><th>what happened</th></tr>
${r.examples[f].map((e) => `<tr><td>${esc(e.case)}</td><td>${esc(e.family)}</td><td>${esc(e.description)}</td><td>${esc(e.detail)}</td></tr>`).join('\n')}
</table>`,
    )
    .join('\n');
  const families = Object.entries(r.families)
    .map(
      ([name, f]) =>
        `<tr><td>${esc(name)}</td><td class="n">${f.cases}</td><td class="n">${f.answered}</td><td class="n">${f.crashes}</td><td class="n">${f.errors}</td><td class="n">${f.timeouts}</td><td class="n">${f.confident}</td></tr>`,
    )
    .join('\n');
  const g = r.garbage;
  const h = r.hard_cases;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(`airlock probe — ${r.pipeline}`)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.over td{background:#fde8e6}
.verdict{font-weight:600;padding:.5rem .75rem;display:inline-block;border-radius:4px}.pass{background:#e3f4e6}.fail{background:#fde8e6}
small{color:#666}
</style></head><body>
<h1>Probe of ${esc(r.pipeline)}</h1>
<p><small>${esc(generatedAt)} · model ${esc(r.model.type)} · seed ${esc(r.seed)} · sample ${esc(r.sample.file)} (${r.sample.records} records)${
    r.pilot ? ` · pilot ${esc(r.pilot.file)} (${r.pilot.records} records)` : ''
  }</small></p>
<p class="verdict ${r.passed ? 'pass' : 'fail'}">${r.passed ? 'Passed: every count is within its limit' : `Failed: ${esc(r.over_limits.map((f) => FINDING_LABEL[f]).join(', '))} over the limit`}</p>
<p>${r.cases.total} cases: ${r.cases.perturbations} perturbations, ${r.cases.garbage} garbage, ${r.cases.hard_cases} plausible hard cases.
Threshold ${esc(r.threshold)} (${esc(r.threshold_source)}${r.calibrated ? ', on calibrated confidence' : ''}); timeout ${r.timeout_ms} ms per call.</p>
<h2>Findings</h2>
<table><tr><th>finding</th><th>count</th><th>limit</th><th></th></tr>
${rows}
</table>
${examples}
<h2>Garbage</h2>
<p>${g.answered} of ${g.cases} answered; ${g.confident} at or above the threshold; mean confidence ${esc(num(g.mean_confidence))}.
Labels: ${esc(
    Object.entries(g.labels)
      .map(([l, n]) => `${l} ${n}`)
      .join(', ') || '—',
  )}. Confident by variant: ${esc(
    Object.entries(g.variants)
      .map(([v, x]) => `${v} ${x.confident}/${x.cases}`)
      .join(', ') || '—',
  )}.</p>
<h2>Plausible hard cases</h2>
<p>${h.cases} sample records farthest from ${r.pilot ? 'the pilot' : 'the rest of the sample'}; ${h.labelled} labelled, accuracy ${esc(num(h.accuracy))}, ${h.confident_errors} confident errors.</p>
${
  h.ranked.length
    ? `<table><tr><th>case</th><th>sample line</th><th>score</th><th>why it is far</th></tr>
${h.ranked.map((x) => `<tr><td>${esc(x.case)}</td><td class="n">${x.line}</td><td class="n">${x.score.toFixed(3)}</td><td>${esc(x.reasons.join('; '))}</td></tr>`).join('\n')}
</table>`
    : ''
}
<h2>Families</h2>
<table><tr><th>family</th><th>cases</th><th>answered</th><th>crashes</th><th>errors</th><th>timeouts</th><th>confident</th></tr>
${families}
</table>
<h2>Latency</h2>
<p>median ${esc(num(r.latency.median_ms))} ms, p95 ${esc(num(r.latency.p95_ms))} ms, max ${esc(num(r.latency.max_ms))} ms; outlier fence (Q3 + 3·IQR) ${esc(
    r.latency.outlier_fence_ms === null ? 'n/a' : `${num(r.latency.outlier_fence_ms)} ms`,
  )}</p>
${r.warnings.length ? `<h2>Warnings</h2><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
