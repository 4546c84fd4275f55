import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type Calibrator, parseCalibrator } from '../calibration/calibrators.js';
import { loadConfig } from '../config/load.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { AirlockError } from '../errors.js';
import { type ProbeReport, type ProbeSample, probeModel } from '../models/probe.js';
import { probeReportHtml, probeReportText } from '../models/probe-report.js';
import { type RoutingPolicy, route } from '../pipeline/router.js';
import { fallbackPolicy, policyOfVersion } from '../pipeline/routing-policies.js';
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

const positiveInteger = (name: string, min: number) => (v: string) => {
  if (!/^\d+$/.test(v.trim()) || Number(v) < min) {
    throw new AirlockError('USAGE', `${name} must be an integer of at least ${min}, got "${v}"`);
  }
  return Number(v);
};

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

          let progress: Progress | undefined;
          const probed = await probeModel({
            pipeline,
            sample,
            pilot,
            seed: opts.seed,
            cases: opts.cases,
            hardCases: opts.hardCases,
            labelField: opts.labelField,
            concurrency: opts.concurrency,
            threshold: {
              value: policy.threshold,
              source: policy.version === null ? 'routing.auto_accept_at' : `routing version ${policy.version}`,
              calibrated: policy.calibrator !== null,
            },
            judge: (record, caseId, prediction) => route(pipeline, policy, record, caseId, prediction),
            onProgress: (done, total) => {
              progress ??= new Progress('probing');
              if (done > 0) progress.update(done, total);
            },
          });
          progress?.done(probed.cases.total, probed.cases.total);
          const report: ProbeReport = { ...probed, stored: null, warnings };

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

/** Reads a sample file: its objects, and how many lines were not usable records. */
async function readSample(file: string, format?: string): Promise<ProbeSample> {
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
  return { file, records, lines, unreadable };
}

/** The routing policy in effect, as serving reads it: the active routing version of the database, else `routing.auto_accept_at`. */
async function effectivePolicy(store: Store | undefined, pipeline: PipelineConfig, warnings: string[]): Promise<RoutingPolicy> {
  const fallback = fallbackPolicy(pipeline);
  if (!store) return fallback;
  const row = await activeRoutingVersion(store.db, pipeline.name);
  if (!row) return fallback;
  try {
    return policyOfVersion(row);
  } catch {
    warnings.push(`active routing version ${row.version} is unreadable; using routing.auto_accept_at`);
    return fallback;
  }
}
