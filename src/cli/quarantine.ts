import type { Command } from 'commander';
import { AirlockError } from '../errors.js';
import { discardQuarantined, listQuarantine, releaseQuarantined, showQuarantined } from '../pipeline/quarantine.js';
import { type ActingOptions, actingAs, addActingOptions, pipelineName, readJsonFile, withRuntime } from './admin.js';
import { action, printJson } from './output.js';

/** `quarantine list|show|release|discard`: records the contract gate held back, for a person to decide. */
export function registerQuarantineCommands(program: Command): void {
  const q = program
    .command('quarantine')
    .description('records held back by the contract gate: list, inspect, release (re-checked), edit and release, discard');

  q.command('list')
    .description('quarantined records, oldest first, with their violations')
    .option('-p, --pipeline <name>', 'only this pipeline')
    .option('--kind <kind>', 'only records with a violation of this kind (unknown_field, missing_required, type_mismatch, …)')
    .option('--field <field>', 'only records with a violation on this field (dotted path)')
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 100)
    .option('--json', 'print { records: [{ pipeline, id, case_id, received_at, contract_version, violations, edited }], total }')
    .action(
      action(async (opts: { pipeline?: string; kind?: string; field?: string; limit: number; json?: boolean }, cmd: Command) => {
        if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new AirlockError('USAGE', '--limit must be a positive whole number');
        const out = await withRuntime(cmd, (rt) =>
          listQuarantine(rt, { pipeline: opts.pipeline, kind: opts.kind, field: opts.field, limit: opts.limit }),
        );
        if (opts.json) return printJson(out);
        if (out.total === 0) {
          process.stdout.write('no quarantined records\n');
          return;
        }
        for (const r of out.records) {
          const v = r.violations.map((x) => `${x.kind} ${x.field || '(record)'}`).join('; ');
          process.stdout.write(`${r.pipeline}/${r.id}  ${r.received_at}  ${v}${r.edited ? '  (edited)' : ''}\n`);
        }
        if (out.total > out.records.length) process.stdout.write(`… ${out.total - out.records.length} more (use --limit)\n`);
      }),
    );

  q.command('show')
    .description('one record with its body, violations and audit trail')
    .argument('<id>', 'the record id')
    .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
    .action(
      action(async (id: string, opts: { pipeline?: string }, cmd: Command) => {
        const out = await withRuntime(cmd, (rt) => showQuarantined(rt, pipelineName(rt, opts.pipeline), id));
        printJson(out);
      }),
    );

  addActingOptions(
    q
      .command('release')
      .description('check the record again against the contract in force and, if it passes, send it on to scoring')
      .argument('<id>', 'the record id')
      .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
      .option('--edit <file>', 'release this corrected record (a JSON file) instead; the received body is kept beside it'),
  )
    .option('--note <text>', 'why (recorded)')
    .option('--json', 'print { pipeline, id, status, released, violations }')
    .action(
      action(
        async (id: string, opts: ActingOptions & { pipeline?: string; edit?: string; note?: string; json?: boolean }, cmd: Command) => {
          const body = opts.edit ? readJsonFile(opts.edit, 'the edited record') : undefined;
          const out = await withRuntime(cmd, async (rt) =>
            releaseQuarantined(rt, pipelineName(rt, opts.pipeline), id, { actor: await actingAs(rt, opts), note: opts.note, body }),
          );
          if (opts.json) printJson(out);
          else if (out.released) process.stdout.write(`${out.pipeline}/${out.id} released: ${out.status}\n`);
          else {
            process.stdout.write(
              `${out.pipeline}/${out.id} still breaks the contract and stays quarantined:\n${out.violations.map((v) => `  ${v.kind} at ${v.path}: ${v.message}\n`).join('')}`,
            );
          }
          return out.released ? 0 : 1;
        },
      ),
    );

  addActingOptions(
    q
      .command('discard')
      .description('throw the record away, with a reason (it stays in the database, discarded, with its trail)')
      .argument('<id>', 'the record id')
      .requiredOption('--reason <text>', 'why (required, recorded)')
      .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)'),
  )
    .option('--json', 'print { pipeline, id, status }')
    .action(
      action(async (id: string, opts: ActingOptions & { pipeline?: string; reason: string; json?: boolean }, cmd: Command) => {
        const out = await withRuntime(cmd, async (rt) =>
          discardQuarantined(rt, pipelineName(rt, opts.pipeline), id, { actor: await actingAs(rt, opts), reason: opts.reason }),
        );
        if (opts.json) return printJson(out);
        process.stdout.write(`${out.pipeline}/${out.id} discarded\n`);
      }),
    );
}
