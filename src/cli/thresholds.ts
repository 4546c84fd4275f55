import type { Command } from 'commander';
import type { AirlockConfig } from '../config/airlock-config.js';
import { loadConfig } from '../config/load.js';
import { parseDuration } from '../config/units.js';
import { AirlockError } from '../errors.js';
import { accuracyWindows, type RefitRun, refitSchedule, runRefit } from '../pipeline/refit.js';
import { activateVersion, routingHistory } from '../pipeline/routing-versions.js';
import { openStore, type Store } from '../store/db.js';
import { misclassifications } from '../store/labels.js';
import { withRuntime } from './admin.js';
import { action, printJson } from './output.js';

async function withStore<T>(cmd: Command, pipeline: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
  if (!config.pipelines[pipeline]) throw new AirlockError('USAGE', `pipeline "${pipeline}" is not in the config`);
  const store = openStore(config.database);
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

function pipelineOf(config: AirlockConfig, name: string) {
  const p = config.pipelines[name];
  if (!p) throw new AirlockError('USAGE', `pipeline "${name}" is not in the config`);
  return p;
}

const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(digits)}%`);

/** One paragraph about a refit, for people. */
export function describeRefit(run: RefitRun): string {
  if (run.status !== 'ran') return `${run.pipeline}: no refit — ${run.reason}`;
  const lines = [`${run.pipeline}: refit ${run.outcome} — ${run.reason}`];
  if (run.rows) lines.push(`  labels: ${run.rows.calibration} calibration, ${run.rows.audit} audit, ${run.rows.review} review verdicts`);
  const b = run.before;
  const a = run.after;
  if (b) {
    lines.push(
      `  in force: threshold ${b.threshold.toFixed(4)}, coverage ${pct(b.coverage)}, error ${pct(b.error, 2)}, at most ${pct(b.error_upper_bound, 2)}`,
    );
  }
  if (a) {
    lines.push(
      `  refitted: threshold ${a.threshold.toFixed(4)}, coverage ${pct(a.coverage)}, error ${pct(a.error, 2)}, at most ${pct(a.error_upper_bound, 2)}`,
    );
  }
  if (run.version !== null) {
    lines.push(
      run.version_status === 'active'
        ? `  routing version ${run.version} applied itself (${run.auto_apply})`
        : `  routing version ${run.version} proposed${run.auto_apply ? ` (${run.auto_apply})` : ''}; approve with: airlock thresholds approve --pipeline ${run.pipeline} --version ${run.version}`,
    );
  }
  lines.push(
    `  ${run.misclassified} production misclassifications found by reviewers since the version in force; evidence #${run.evidence_id}`,
  );
  return lines.join('\n');
}

const versionNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new AirlockError('USAGE', `--version must be a positive whole number, got "${v}"`);
  return n;
};

export function registerThresholdsCommands(program: Command): void {
  const thresholds = program
    .command('thresholds')
    .description(
      'routing versions (calibrator + auto-accept threshold) of a pipeline: history, approval, rollback, and the feedback loop (refit, schedule, accuracy, misclassified)',
    );

  thresholds
    .command('history')
    .description('every routing version of a pipeline, with its threshold, guarantee and status')
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .option('--json', 'print { pipeline, versions: [{ version, status, threshold, calibrator, evidence_id, … }] }')
    .action(
      action(async (opts: { pipeline: string; json?: boolean }, cmd: Command) => {
        const versions = await withStore(cmd, opts.pipeline, (store) => routingHistory(store, opts.pipeline));
        if (opts.json) return printJson({ pipeline: opts.pipeline, versions });
        if (versions.length === 0) {
          process.stdout.write(`${opts.pipeline} has no routing version: routing.auto_accept_at from the config applies\n`);
          return;
        }
        for (const v of versions) {
          const t = v.threshold;
          process.stdout.write(
            `v${v.version}  ${v.status.padEnd(8)}  threshold ${t.value.toFixed(4)} (${v.calibrator ? v.calibrator.method : 'raw'})  coverage ${(t.coverage * 100).toFixed(1)}%  error ≤ ${(t.error_upper_bound * 100).toFixed(2)}% w.p. ≥ ${+(1 - t.delta).toFixed(6)} (${t.method})  made ${v.created_at}${v.created_by ? ` by ${v.created_by}` : ''}${v.activated_at ? `, active since ${v.activated_at}${v.activated_by ? ` by ${v.activated_by}` : ''}` : ''}\n`,
          );
        }
      }),
    );

  thresholds
    .command('approve')
    .description('activate a proposed routing version (the latest proposal unless --version is given)')
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .option('--version <n>', 'the version to approve', versionNumber)
    .option('--by <name>', 'who approves (recorded)', process.env.USER)
    .option('--json', 'print the version now active')
    .action(
      action(async (opts: { pipeline: string; version?: number; by?: string; json?: boolean }, cmd: Command) => {
        const v = await withStore(cmd, opts.pipeline, (store) =>
          activateVersion(store, opts.pipeline, opts.version ?? 'latest-proposed', opts.by ?? null, Date.now()),
        );
        if (opts.json) return printJson(v);
        process.stdout.write(`routing version ${v.version} of ${opts.pipeline} is active (running servers pick it up within 5 s)\n`);
      }),
    );

  thresholds
    .command('refit')
    .description(
      'refit calibrator and threshold now from the labels gathered (calibration set, audit samples, review verdicts) and propose the result (or apply it within routing.refit.auto_apply)',
    )
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .option('--by <name>', 'who asks for it (recorded)', process.env.USER)
    .option('--json', 'print { status, outcome, reason, evidence_id, version, version_status, before, after, rows, misclassified }')
    .action(
      action(async (opts: { pipeline: string; by?: string; json?: boolean }, cmd: Command) => {
        const run = await withRuntime(cmd, (rt) => {
          pipelineOf(rt.config, opts.pipeline);
          return runRefit(rt, opts.pipeline, { now: Date.now(), by: opts.by ?? null });
        });
        if (opts.json) printJson(run);
        else process.stdout.write(`${describeRefit(run)}\n`);
        return run.status === 'ran' && run.outcome === 'ok' ? 0 : 1;
      }),
    );

  thresholds
    .command('schedule')
    .description('the refit schedule from launch.go_live (weekly for 60 days, then routing.refit.cadence) and the refits that ran')
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .option('--json', 'print { pipeline, go_live, enabled, next_at, refits: [{ due_at, ran_at, outcome, evidence_id, version }] }')
    .action(
      action(async (opts: { pipeline: string; json?: boolean }, cmd: Command) => {
        const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
        const s = await withStore(cmd, opts.pipeline, (store) => refitSchedule(store, config, opts.pipeline, Date.now()));
        if (opts.json) return printJson(s);
        const out = [
          s.go_live
            ? `${s.pipeline}: go-live ${s.go_live}; ${s.enabled ? `next refit ${s.next_at}` : 'scheduled refits are off (routing.refit.enabled: false)'}`
            : `${s.pipeline}: no launch.go_live in the config, so no scheduled refits (refit on demand with airlock thresholds refit)`,
          ...s.refits.map(
            (r) =>
              `  due ${r.due_at}  ran ${r.ran_at}  ${r.outcome}${r.version ? `  → version ${r.version}` : ''}  evidence #${r.evidence_id ?? '—'}`,
          ),
        ];
        process.stdout.write(`${out.join('\n')}\n`);
      }),
    );

  thresholds
    .command('accuracy')
    .description(
      'per window: accuracy estimated without labels (mean calibrated confidence, CBPE) beside the accuracy realised on audit and review labels',
    )
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .option('--window <duration>', 'window length', '1d')
    .option('--windows <n>', 'how many windows, newest last', '14')
    .option(
      '--json',
      'print { pipeline, window, windows: [{ start, end, scored, auto, review, estimated_accuracy, realised_accuracy, … }] }',
    )
    .action(
      action(async (opts: { pipeline: string; window: string; windows: string; json?: boolean }, cmd: Command) => {
        let windowMs: number;
        try {
          windowMs = parseDuration(opts.window);
        } catch {
          throw new AirlockError('USAGE', `--window must be a duration such as 1h or 1d, got "${opts.window}"`);
        }
        const count = Number(opts.windows);
        if (!Number.isInteger(count) || count < 1 || count > 1000)
          throw new AirlockError('USAGE', `--windows must be 1 to 1000, got "${opts.windows}"`);
        const windows = await withStore(cmd, opts.pipeline, (store) =>
          accuracyWindows(store, opts.pipeline, { now: Date.now(), windowMs, windows: count }),
        );
        if (opts.json) return printJson({ pipeline: opts.pipeline, window: opts.window, windows });
        const pct = (v: number | null) => (v === null ? '   —  ' : `${(v * 100).toFixed(1).padStart(5)}%`);
        const out = ['window start               scored   auto  review  estimated  realised  (audit labels, review labels)'];
        for (const w of windows) {
          out.push(
            `${w.start}  ${String(w.scored).padStart(6)} ${String(w.auto).padStart(6)} ${String(w.review).padStart(7)}   ${pct(w.estimated_accuracy)}    ${pct(w.realised_accuracy)}  (${w.audit_labels}, ${w.review_labels})`,
          );
        }
        process.stdout.write(`${out.join('\n')}\n`);
      }),
    );

  thresholds
    .command('misclassified')
    .description('production misclassifications found by reviewers (verdict differs from the model), for the weekly review')
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .option('--days <n>', 'look back this many days', '7')
    .option('--json', 'print { pipeline, days, misclassifications: [{ record_id, source, predicted, verdict, raw_confidence, at }] }')
    .action(
      action(async (opts: { pipeline: string; days: string; json?: boolean }, cmd: Command) => {
        const days = Number(opts.days);
        if (!Number.isInteger(days) || days < 1)
          throw new AirlockError('USAGE', `--days must be a positive whole number, got "${opts.days}"`);
        const rows = await withStore(cmd, opts.pipeline, (store) =>
          misclassifications(store.db, opts.pipeline, Date.now() - days * 86_400_000),
        );
        const list = rows.map((r) => ({
          record_id: r.record_id,
          source: r.source,
          predicted: r.predicted,
          verdict: r.label,
          raw_confidence: r.raw_confidence,
          at: new Date(r.created_at).toISOString(),
        }));
        if (opts.json) return printJson({ pipeline: opts.pipeline, days, misclassifications: list });
        if (list.length === 0) {
          process.stdout.write(`no misclassifications found by reviewers in ${opts.pipeline} in the last ${days} days\n`);
          return;
        }
        for (const m of list) {
          process.stdout.write(
            `${m.at}  ${m.record_id}  model said ${m.predicted} (${m.raw_confidence.toFixed(3)}), ${m.source} verdict ${m.verdict}\n`,
          );
        }
      }),
    );

  thresholds
    .command('rollback')
    .description('make an earlier routing version active again')
    .requiredOption('-p, --pipeline <name>', 'the pipeline')
    .requiredOption('--to <n>', 'the version to return to', versionNumber)
    .option('--by <name>', 'who rolls back (recorded)', process.env.USER)
    .option('--json', 'print the version now active')
    .action(
      action(async (opts: { pipeline: string; to: number; by?: string; json?: boolean }, cmd: Command) => {
        const v = await withStore(cmd, opts.pipeline, (store) =>
          activateVersion(store, opts.pipeline, opts.to, opts.by ?? null, Date.now()),
        );
        if (opts.json) return printJson(v);
        process.stdout.write(`routing version ${v.version} of ${opts.pipeline} is active again (running servers pick it up within 5 s)\n`);
      }),
    );
}
