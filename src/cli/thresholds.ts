import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { activateVersion, routingHistory } from '../pipeline/routing-versions.js';
import { openStore, type Store } from '../store/db.js';
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

const versionNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new AirlockError('USAGE', `--version must be a positive whole number, got "${v}"`);
  return n;
};

export function registerThresholdsCommands(program: Command): void {
  const thresholds = program
    .command('thresholds')
    .description('routing versions (calibrator + auto-accept threshold) of a pipeline: history, approval, rollback');

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
          const t = v.threshold as {
            value: number;
            alpha: number;
            delta: number;
            coverage: number;
            error_upper_bound: number;
            method: string;
          };
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
