import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { readinessHtml, readinessReport, readinessText, sendTestAlert, type TestAlertResult } from '../readiness/index.js';
import { createLogger } from '../runtime/logger.js';
import { openStore } from '../store/db.js';
import { action, printJson } from './output.js';

interface ReadinessOptions {
  pipeline?: string;
  json?: boolean;
  html?: string;
  minScore?: string;
  testAlert?: boolean;
  at?: string;
}

export function registerReadinessCommand(program: Command): void {
  program
    .command('readiness')
    .description(
      'the production-readiness report of a pipeline over its evidence (audit, calibration, probe, load test, runbook, drift reference, alerts, …); exit 1 below --min-score or when a blocking check fails',
    )
    .option('-p, --pipeline <name>', 'the pipeline (default: the config’s only pipeline)')
    .option(
      '--json',
      'print { pipeline, generated_at, score, min_score, passed, blocking_failed, sections: [{ name, title, score, checks: [{ id, title, status: pass|fail|manual|stale, points, blocking, evidence, fix, artefact }] }] }',
    )
    .option('--html <file>', 'also write the report as one self-contained HTML page')
    .option(
      '--min-score <n>',
      'exit 1 when the score (the lowest section’s points) is below this (default: readiness.min_score of the pipeline)',
    )
    .option(
      '--test-alert',
      'first send a test alert through every sink in alerts: and store the outcome as evidence (change.alerts cites it)',
    )
    .option('--at <date-time>', 'judge as of this moment instead of now (evidence age, SLA deadlines), e.g. 2026-12-15T09:00:00Z')
    .action(
      action(async (opts: ReadinessOptions, cmd: Command) => {
        const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
        const names = Object.keys(config.pipelines);
        const pipeline = opts.pipeline ?? (names.length === 1 ? names[0] : undefined);
        if (pipeline === undefined) {
          throw new AirlockError(
            'USAGE',
            `the config has ${names.length} pipelines (${names.join(', ') || 'none'}): say which with --pipeline`,
          );
        }
        if (!config.pipelines[pipeline])
          throw new AirlockError('USAGE', `pipeline "${pipeline}" is not in the config (${names.join(', ') || 'none'})`);
        let minScore: number | undefined;
        if (opts.minScore !== undefined) {
          minScore = Number(opts.minScore);
          if (opts.minScore.trim() === '' || !Number.isFinite(minScore) || minScore < 0)
            throw new AirlockError('USAGE', `--min-score ${opts.minScore}: expected a number of points, 0 or more (e.g. 1.5)`);
        }
        const now = opts.at === undefined ? Date.now() : Date.parse(opts.at);
        if (!Number.isFinite(now)) throw new AirlockError('USAGE', `--at ${opts.at}: expected a date-time like 2026-12-15T09:00:00Z`);

        const store = openStore(config.database);
        let alert: TestAlertResult | undefined;
        let report: Awaited<ReturnType<typeof readinessReport>>;
        try {
          await store.migrate();
          if (opts.testAlert) {
            // The log sink writes to stderr, so --json on stdout stays one document.
            alert = await sendTestAlert(store, config, pipeline, createLogger('info', process.stderr), now);
          }
          report = await readinessReport(store, config, pipeline, { now, minScore });
        } finally {
          await store.close();
        }
        if (opts.html) writeFileSync(opts.html, readinessHtml(report));
        if (opts.json) printJson(alert ? { ...report, test_alert: alert } : report);
        else {
          if (alert) {
            const lines = alert.sinks.map((s) => `  ${s.delivered ? '✓' : '✗'} ${s.sink}${s.error ? `: ${s.error}` : ''}`);
            process.stdout.write(`test alert (stored as evidence #${alert.evidence_id}):\n${lines.join('\n')}\n\n`);
          }
          process.stdout.write(`${readinessText(report, Math.max(60, Math.min(process.stdout.columns ?? 100, 140)))}\n`);
          if (opts.html) process.stdout.write(`wrote ${opts.html}\n`);
        }
        return report.passed ? 0 : 1;
      }),
    );
}
