import type { Command } from 'commander';
import { AirlockError } from '../errors.js';
import { acceptHalt, contractVersionViews, haltStatus, rejectHalt } from '../pipeline/halts.js';
import { type ActingOptions, actingAs, addActingOptions, pipelineName, readJsonFile, withRuntime } from './admin.js';
import { action, printJson } from './output.js';

/** `contract status|accept|reject|versions`: the schema-change halt of a running pipeline. */
export function addContractAdminCommands(contract: Command): void {
  contract
    .command('status')
    .description("the pipeline's contract version and halt: the change, the backlog waiting, and what accepting would change")
    .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
    .option('--json', 'print { pipeline, halted, halt, backlog, quarantined_with_change, proposed, contract, history }')
    .action(
      action(async (opts: { pipeline?: string; json?: boolean }, cmd: Command) => {
        const status = await withRuntime(cmd, (rt) => haltStatus(rt, pipelineName(rt, opts.pipeline)));
        if (opts.json) return printJson(status);
        const out: string[] = [];
        out.push(
          `${status.pipeline}: contract version ${status.contract?.version ?? '-'}${status.contract ? ` (${status.contract.hash.slice(0, 12)})` : ' (no contract)'}`,
        );
        if (!status.halt) {
          out.push('not halted');
        } else {
          const h = status.halt;
          out.push(
            `HALTED since ${h.opened_at} (halt #${h.id}): ${h.change.kind} on field "${h.change.field}" in ${String(h.detail.records)} records`,
            `  waiting: ${status.backlog} records halted, ${status.quarantined_with_change} quarantined earlier with the same change`,
            `  example record ids: ${(h.detail.example_ids as string[]).join(', ')}`,
          );
          if (status.proposed) {
            out.push('  accepting it would change the contract:');
            for (const c of status.proposed.changes) out.push(`    - ${c}`);
            if (status.proposed.still_rejected > 0)
              out.push(`    (${status.proposed.still_rejected} of those records would still break it and stay quarantined)`);
          }
          out.push(
            `  decide: airlock contract accept --pipeline ${status.pipeline}   |   airlock contract reject --pipeline ${status.pipeline}`,
          );
        }
        process.stdout.write(`${out.join('\n')}\n`);
      }),
    );

  addActingOptions(
    contract
      .command('accept')
      .description('accept the change that halted the pipeline as a new contract version; the backlog resumes in arrival order')
      .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
      .option('--contract <file>', 'accept this JSON Schema instead of the one Airlock derives from the records that showed the change'),
  )
    .option('--note <text>', 'why (recorded)')
    .option('--json', 'print { pipeline, halt, decision, version, changes, released, resumed }')
    .action(
      action(async (opts: ActingOptions & { pipeline?: string; contract?: string; note?: string; json?: boolean }, cmd: Command) => {
        const schema = opts.contract ? readJsonFile(opts.contract, 'the contract') : undefined;
        if (schema !== undefined && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
          throw new AirlockError('USAGE', `${opts.contract} is not a JSON Schema object`);
        }
        const out = await withRuntime(cmd, async (rt) =>
          acceptHalt(rt, pipelineName(rt, opts.pipeline), {
            actor: await actingAs(rt, opts),
            note: opts.note,
            schema: schema as object | undefined,
          }),
        );
        if (opts.json) return printJson(out);
        process.stdout.write(
          `accepted halt #${out.halt} of ${out.pipeline}: contract version ${out.version} is active\n${(out.changes ?? []).map((c) => `  - ${c}\n`).join('')}` +
            `${out.released} quarantined records released; ${out.resumed} records resumed (re-checked and queued for scoring in arrival order)\n`,
        );
      }),
    );

  addActingOptions(
    contract
      .command('reject')
      .description('reject the change: records that showed it are quarantined, the rest of the backlog resumes')
      .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)'),
  )
    .option('--note <text>', 'why (recorded)')
    .option('--json', 'print { pipeline, halt, decision, quarantined, resumed }')
    .action(
      action(async (opts: ActingOptions & { pipeline?: string; note?: string; json?: boolean }, cmd: Command) => {
        const out = await withRuntime(cmd, async (rt) =>
          rejectHalt(rt, pipelineName(rt, opts.pipeline), { actor: await actingAs(rt, opts), note: opts.note }),
        );
        if (opts.json) return printJson(out);
        process.stdout.write(
          `rejected halt #${out.halt} of ${out.pipeline}: ${out.quarantined} records quarantined; ${out.resumed} records resumed\n`,
        );
      }),
    );

  contract
    .command('versions')
    .description('every contract version of a pipeline: where it came from, who accepted it, which is active')
    .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
    .option('--json', 'print { pipeline, versions: [{ version, status, source, hash, created_at, created_by, note, schema }] }')
    .action(
      action(async (opts: { pipeline?: string; json?: boolean }, cmd: Command) => {
        const { name, rows } = await withRuntime(cmd, async (rt) => {
          const name = pipelineName(rt, opts.pipeline);
          return { name, rows: await contractVersionViews(rt, name) };
        });
        if (opts.json) return printJson({ pipeline: name, versions: rows });
        if (rows.length === 0) {
          process.stdout.write(`${name} has no contract\n`);
          return;
        }
        for (const v of rows) {
          process.stdout.write(
            `v${v.version}  ${v.status.padEnd(10)}  ${v.source.padEnd(8)}  ${v.hash.slice(0, 12)}  ${v.created_at}${v.created_by ? ` by ${v.created_by}` : ''}${v.note ? `  ${v.note}` : ''}\n`,
          );
        }
      }),
    );
}
