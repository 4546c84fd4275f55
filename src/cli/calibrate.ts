import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { CalibrationMethod } from '../calibration/calibrators.js';
import { calibrationReportHtml } from '../calibration/html.js';
import { parsePredictions } from '../calibration/predictions.js';
import { calibrationReport } from '../calibration/report.js';
import type { ThresholdMethod } from '../calibration/threshold.js';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { type StoredCalibration, storeCalibration } from '../pipeline/routing-versions.js';
import { openStore } from '../store/db.js';
import { action, Progress, printJson } from './output.js';
import { detectFormat, readRecords } from './read-records.js';

interface CalibrateOptions {
  method?: CalibrationMethod;
  targetAccuracy: number;
  delta: number;
  thresholdMethod: 'ltt' | 'sgr';
  fitFraction: number;
  seed: number;
  classes?: string;
  json?: boolean;
  html?: string;
  pipeline?: string;
  apply?: boolean;
  by?: string;
}

const fraction = (name: string) => (v: string) => {
  const x = Number(v);
  if (!(x > 0 && x < 1)) throw new AirlockError('USAGE', `${name} must be a number between 0 and 1 (exclusive), got "${v}"`);
  return x;
};

const seedOption = (v: string) => {
  if (!/^\d+$/.test(v.trim())) throw new AirlockError('USAGE', `--seed must be a non-negative integer, got "${v}"`);
  return Number(v);
};

export function registerCalibrateCommand(program: Command): void {
  program
    .command('calibrate')
    .description('measure how far confidence is from accuracy, fit a calibrator, and choose an auto-accept threshold with a guarantee')
    .argument(
      '<predictions>',
      'JSONL (or JSON array) of { label, probs } or { label, confidence, predicted }; optional logits, segment, weight',
    )
    .addOption(
      new Option('--method <method>', 'calibrator (default: temperature when rows have probs, else platt)').choices([
        'temperature',
        'platt',
        'isotonic',
        'histogram',
      ]),
    )
    .option('--target-accuracy <p>', 'accuracy required among auto-accepted records', fraction('--target-accuracy'), 0.99)
    .option('--delta <p>', 'allowed probability that the guarantee fails', fraction('--delta'), 0.05)
    .addOption(
      new Option('--threshold-method <m>', 'ltt: Learn-then-Test with Hoeffding–Bentkus p-values; sgr: Clopper–Pearson (SGR)')
        .choices(['ltt', 'sgr'])
        .default('ltt'),
    )
    .option(
      '--fit-fraction <p>',
      'share of rows the calibrator is fitted on; the rest evaluate it and choose the threshold',
      fraction('--fit-fraction'),
      0.5,
    )
    .option('--seed <n>', 'seed of the split and the bootstrap', seedOption, 1)
    .option('--classes <list>', 'comma-separated class names, for rows whose probs is an array')
    .option(
      '--json',
      'print the report as JSON (rows, accuracy, ece, ece_equal_mass, ece_debiased, mce, brier, nll, auroc, reliability, calibrated, threshold)',
    )
    .option('--html <file>', 'also write the report as a self-contained HTML page')
    .option(
      '--pipeline <name>',
      'store the report as evidence of this pipeline (database of --config) and propose its calibrator and threshold as the next routing version',
    )
    .option('--apply', 'with --pipeline: make that version active at once instead of waiting for `airlock thresholds approve`')
    .option('--by <name>', 'who made the version (recorded with it)', process.env.USER)
    .action(
      action(async (file: string, opts: CalibrateOptions, cmd: Command) => {
        if (opts.apply && !opts.pipeline) throw new AirlockError('USAGE', '--apply needs --pipeline (and the config that names it)');
        const config = opts.pipeline ? loadConfig((cmd.optsWithGlobals() as { config?: string }).config) : undefined;
        if (config && opts.pipeline && !config.pipelines[opts.pipeline]) {
          throw new AirlockError(
            'USAGE',
            `pipeline "${opts.pipeline}" is not in the config (${Object.keys(config.pipelines).join(', ') || 'none'})`,
          );
        }
        const format = detectFormat(file, file.endsWith('.json') || file.endsWith('.json.gz') ? 'json' : 'jsonl');
        const rows: unknown[] = [];
        /** The file's row (line in JSONL, item in a JSON array) of each value in `rows`. */
        const fileRows: number[] = [];
        const unreadable: { row: number; message: string }[] = [];
        const progress = new Progress('reading predictions');
        try {
          for await (const item of readRecords(file, format)) {
            if ('error' in item) unreadable.push({ row: item.line, message: item.error });
            else {
              rows.push(item.value);
              fileRows.push(item.line);
            }
            progress.update(rows.length);
          }
        } catch (err) {
          // A file that cannot be read at all is a usage error (exit 2), not a failed check.
          if (err instanceof AirlockError) throw new AirlockError('USAGE', err.message);
          throw err;
        }
        progress.done(rows.length);
        const { predictions, errors } = parsePredictions(rows, { classes: opts.classes?.split(',').map((s) => s.trim()) });
        const problems = [...unreadable, ...errors.map((e) => ({ ...e, row: e.row ? fileRows[e.row - 1] : e.row }))].sort(
          (a, b) => a.row - b.row,
        );
        if (problems.length > 0) {
          const shown = problems.slice(0, 10).map((e) => (e.row ? `row ${e.row}: ${e.message}` : e.message));
          throw new AirlockError(
            'USAGE',
            `${file} has ${problems.length} unusable row(s):\n  ${shown.join('\n  ')}${problems.length > 10 ? `\n  … and ${problems.length - 10} more` : ''}`,
          );
        }
        if (predictions.n === 0) throw new AirlockError('USAGE', `${file} holds no predictions`);
        let report: ReturnType<typeof calibrationReport>;
        try {
          report = calibrationReport(predictions, {
            method: opts.method,
            targetAccuracy: opts.targetAccuracy,
            delta: opts.delta,
            thresholdMethod: (opts.thresholdMethod === 'sgr' ? 'sgr-cp' : 'ltt-hb') as ThresholdMethod,
            fitFraction: opts.fitFraction,
            seed: opts.seed,
          });
        } catch (err) {
          if (err instanceof RangeError) throw new AirlockError('USAGE', err.message);
          throw err;
        }
        if (opts.html) {
          writeFileSync(
            opts.html,
            calibrationReportHtml(report, { source: file, generatedAt: new Date().toISOString(), targetAccuracy: opts.targetAccuracy }),
          );
        }
        const t = report.threshold;
        let stored: StoredCalibration | undefined;
        if (config && opts.pipeline) {
          const store = openStore(config.database);
          try {
            await store.migrate();
            stored = await storeCalibration(store, config, opts.pipeline, report, {
              apply: Boolean(opts.apply),
              by: opts.by ?? null,
              source: file,
              now: Date.now(),
              predictions,
            });
          } finally {
            await store.close();
          }
        }
        if (opts.json) {
          printJson(
            stored ? { ...report, stored: { evidence_id: stored.evidenceId, version: stored.version, status: stored.status } } : report,
          );
        } else {
          const c = report.calibrated;
          const out = [
            `${report.rows} predictions, accuracy ${report.accuracy.toFixed(4)}`,
            `raw:        ECE ${report.ece.toFixed(4)} [${report.ece_interval.map((x) => x.toFixed(4)).join(', ')}], Brier ${report.brier.toFixed(4)} (${report.brier_kind}), NLL ${report.nll.toFixed(4)}, AUROC ${report.auroc?.toFixed(4) ?? 'n/a'}`,
            c
              ? `calibrated: ${c.method} fitted on ${c.fit_rows} rows, on ${c.rows} held-out rows ECE ${c.raw_on_evaluation.ece.toFixed(4)} → ${c.ece.toFixed(4)}, Brier ${c.raw_on_evaluation.brier.toFixed(4)} → ${c.brier.toFixed(4)} (top-label)`
              : 'calibrated: (too few rows to fit and evaluate a calibrator)',
            t.feasible
              ? `threshold:  auto-accept at ${t.confidence} confidence ≥ ${t.value.toFixed(4)} — coverage ${(t.coverage * 100).toFixed(1)}%, error ${(t.error * 100).toFixed(2)}%, at most ${(t.error_upper_bound * 100).toFixed(2)}% with probability ≥ ${+(1 - t.delta).toFixed(6)} (${t.method})`
              : `threshold:  none meets accuracy ${opts.targetAccuracy} with probability ≥ ${+(1 - opts.delta).toFixed(6)}: ${t.reason}`,
          ];
          if (report.wrong_but_confident.length > 0) {
            const w = report.wrong_but_confident.slice(0, 5);
            out.push(
              `most confident errors: ${w.map((x) => `row ${x.row} (${x.predicted} at ${x.confidence.toFixed(3)}, was ${x.label})`).join('; ')}`,
            );
          }
          for (const n of report.notes) out.push(`note: ${n}`);
          if (opts.html) out.push(`report: ${opts.html}`);
          if (stored) {
            out.push(
              stored.version === null
                ? `stored as evidence #${stored.evidenceId} of ${opts.pipeline}; no routing version (no threshold carries the guarantee)`
                : stored.status === 'active'
                  ? `stored as evidence #${stored.evidenceId}; routing version ${stored.version} of ${opts.pipeline} is now active`
                  : `stored as evidence #${stored.evidenceId}; routing version ${stored.version} of ${opts.pipeline} is proposed — approve it with: airlock thresholds approve --pipeline ${opts.pipeline} --version ${stored.version}`,
            );
          }
          process.stdout.write(`${out.join('\n')}\n`);
        }
        // Exit 1 when no threshold carries the requested guarantee (a check that CI can gate on).
        return t.feasible ? 0 : 1;
      }),
    );
}
