import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { reviewReportHtml, reviewReportMarkdown } from '../drift/launch-review.js';
import { AirlockError } from '../errors.js';
import { evidenceHashes } from '../pipeline/routing-versions.js';
import { gatherReviewReport } from '../readiness/launch-review.js';
import { insertEvidence } from '../store/routing.js';
import { withRuntime } from './admin.js';
import { action, printJson } from './output.js';

interface ReviewReportOptions {
  pipeline: string;
  days: number;
  html?: string;
  md?: string;
  json?: boolean;
}

export function registerReviewReportCommand(program: Command): void {
  program
    .command('review-report')
    .description(
      'the post-launch monitoring review of a pipeline from its database: drift per field over time, schema changes and quarantine, calibration and estimated vs realised accuracy, review SLA attainment, delivery health, and recommended actions each backed by a figure',
    )
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .option(
      '--days <n>',
      'length of the period in whole UTC days, ending today',
      (v: string) => {
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 366)
          throw new AirlockError('USAGE', `--days must be a whole number from 1 to 366, got "${v}"`);
        return Number(v);
      },
      30,
    )
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .option('--md <file>', 'also write the report as Markdown')
    .option(
      '--json',
      'print the report as JSON: pipeline, period, reference, drift { days, fields, open_episodes }, schema, model { days, totals, calibrations, routing_versions }, review { by_type }, delivery { destinations }, recommendations [{ action, because }]',
    )
    .action(
      action(async (opts: ReviewReportOptions, cmd: Command) => {
        if (!opts.pipeline) throw new AirlockError('USAGE', '--pipeline is required');
        const report = await withRuntime(cmd, async (rt) => {
          const r = await gatherReviewReport(rt, opts.pipeline, opts.days);
          // Stored as evidence, so readiness can see the 30-day review was done (docs/design.md: evidence with its hashes).
          const pipeline = rt.config.pipelines[opts.pipeline];
          if (pipeline) {
            await insertEvidence(rt.store.db, {
              kind: 'review_report',
              pipeline: opts.pipeline,
              now: rt.clock.now(),
              hashes: evidenceHashes(rt.config, pipeline, null),
              summary: { days: r.period.days, from: r.period.from, to: r.period.to },
              report: r,
            });
          }
          return r;
        });
        if (opts.html) writeFileSync(opts.html, reviewReportHtml(report));
        if (opts.md) writeFileSync(opts.md, reviewReportMarkdown(report));
        if (opts.json) printJson(report);
        else process.stdout.write(reviewReportMarkdown(report));
        return 0;
      }),
    );
}
