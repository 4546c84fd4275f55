import type { Command } from 'commander';
import { AirlockError } from '../errors.js';
import { type PurgeRun, purgePipeline } from '../pipeline/retention.js';
import { who, withRuntime } from './admin.js';
import { action, printJson } from './output.js';

/**
 * `airlock purge`: runs the retention purge now, as the worker does on its schedule — the content of delivered and
 * discarded records past `retention.payloads` is blanked; ids, statuses, events and aggregates stay. `--json` prints
 * `{ runs: [{ pipeline, status: ran | dry_run, run_id, cutoff, policy, actor, due_at, purged }] }`.
 */
export function registerPurgeCommand(program: Command): void {
  program
    .command('purge')
    .description("blank the content of finished records past their pipeline's retention.payloads now (audited)")
    .option('--pipeline <name>', 'only this pipeline (default: every pipeline with retention:)')
    .option('--dry-run', 'count the records that would be purged; change nothing')
    .option('--by <name>', 'who runs it, for the audit trail (default: AIRLOCK_USER, else the login name)')
    .option('--json', 'print the runs as JSON')
    .action(
      action(async (opts: { pipeline?: string; dryRun?: boolean; by?: string; json?: boolean }, cmd: Command) =>
        withRuntime(cmd, async (rt) => {
          let names: string[];
          if (opts.pipeline) {
            if (!rt.config.pipelines[opts.pipeline]) throw new AirlockError('USAGE', `pipeline "${opts.pipeline}" is not in the config`);
            names = [opts.pipeline];
          } else {
            names = Object.values(rt.config.pipelines)
              .filter((p) => p.retention)
              .map((p) => p.name);
            if (names.length === 0) {
              throw new AirlockError('USAGE', 'no pipeline in the config has retention.payloads: nothing is ever purged');
            }
          }
          const actor = opts.by ?? who() ?? 'cli';
          const runs: PurgeRun[] = [];
          for (const name of names) runs.push(await purgePipeline(rt, name, { now: rt.clock.now(), actor, dryRun: opts.dryRun }));
          if (opts.json) printJson({ runs });
          else {
            for (const r of runs) {
              process.stdout.write(
                r.status === 'dry_run'
                  ? `${r.pipeline}: ${r.purged} record(s) would be purged (${r.policy}; last changed before ${r.cutoff}); nothing changed\n`
                  : `${r.pipeline}: purged the content of ${r.purged} record(s) (${r.policy}; last changed before ${r.cutoff}); run #${r.run_id} by ${r.actor}\n`,
              );
            }
          }
          return 0;
        }),
      ),
    );
}
