import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../pipeline/context.js';
import { acceptHalt, contractVersionViews, haltStatus, rejectHalt } from '../pipeline/halts.js';
import { discardQuarantined, listQuarantine, releaseQuarantined, showQuarantined } from '../pipeline/quarantine.js';
import { who, withRuntime } from './admin.js';
import { action, printJson } from './output.js';

/** The pipeline named by --pipeline, or the config's only pipeline. */
function pipelineName(rt: Runtime, given: string | undefined): string {
  const names = Object.keys(rt.config.pipelines);
  if (given) {
    if (!rt.config.pipelines[given])
      throw new AirlockError('USAGE', `pipeline "${given}" is not in the config (it has: ${names.join(', ') || 'none'})`);
    return given;
  }
  if (names.length === 1) return names[0];
  throw new AirlockError('USAGE', `name the pipeline with --pipeline (the config has ${names.length}: ${names.join(', ')})`);
}

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AirlockError('USAGE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new AirlockError('USAGE', `${file} (${what}) is not valid JSON: ${(err as Error).message}`);
  }
}

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

  contract
    .command('accept')
    .description('accept the change that halted the pipeline as a new contract version; the backlog resumes in arrival order')
    .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
    .option('--contract <file>', 'accept this JSON Schema instead of the one Airlock derives from the records that showed the change')
    .option('--by <name>', 'who decides (recorded; default: AIRLOCK_USER or USER)')
    .option('--note <text>', 'why (recorded)')
    .option('--json', 'print { pipeline, halt, decision, version, changes, released, resumed }')
    .action(
      action(async (opts: { pipeline?: string; contract?: string; by?: string; note?: string; json?: boolean }, cmd: Command) => {
        const schema = opts.contract ? readJsonFile(opts.contract, 'the contract') : undefined;
        if (schema !== undefined && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
          throw new AirlockError('USAGE', `${opts.contract} is not a JSON Schema object`);
        }
        const out = await withRuntime(cmd, (rt) =>
          acceptHalt(rt, pipelineName(rt, opts.pipeline), { by: opts.by ?? who(), note: opts.note, schema: schema as object | undefined }),
        );
        if (opts.json) return printJson(out);
        process.stdout.write(
          `accepted halt #${out.halt} of ${out.pipeline}: contract version ${out.version} is active\n${(out.changes ?? []).map((c) => `  - ${c}\n`).join('')}` +
            `${out.released} quarantined records released; ${out.resumed} records resumed (re-checked and queued for scoring in arrival order)\n`,
        );
      }),
    );

  contract
    .command('reject')
    .description('reject the change: records that showed it are quarantined, the rest of the backlog resumes')
    .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
    .option('--by <name>', 'who decides (recorded; default: AIRLOCK_USER or USER)')
    .option('--note <text>', 'why (recorded)')
    .option('--json', 'print { pipeline, halt, decision, quarantined, resumed }')
    .action(
      action(async (opts: { pipeline?: string; by?: string; note?: string; json?: boolean }, cmd: Command) => {
        const out = await withRuntime(cmd, (rt) =>
          rejectHalt(rt, pipelineName(rt, opts.pipeline), { by: opts.by ?? who(), note: opts.note }),
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

  q.command('release')
    .description('check the record again against the contract in force and, if it passes, send it on to scoring')
    .argument('<id>', 'the record id')
    .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
    .option('--edit <file>', 'release this corrected record (a JSON file) instead; the received body is kept beside it')
    .option('--by <name>', 'who releases (recorded; default: AIRLOCK_USER or USER)')
    .option('--note <text>', 'why (recorded)')
    .option('--json', 'print { pipeline, id, status, released, violations }')
    .action(
      action(async (id: string, opts: { pipeline?: string; edit?: string; by?: string; note?: string; json?: boolean }, cmd: Command) => {
        const body = opts.edit ? readJsonFile(opts.edit, 'the edited record') : undefined;
        const out = await withRuntime(cmd, (rt) =>
          releaseQuarantined(rt, pipelineName(rt, opts.pipeline), id, { by: opts.by ?? who(), note: opts.note, body }),
        );
        if (opts.json) printJson(out);
        else if (out.released) process.stdout.write(`${out.pipeline}/${out.id} released: ${out.status}\n`);
        else {
          process.stdout.write(
            `${out.pipeline}/${out.id} still breaks the contract and stays quarantined:\n${out.violations.map((v) => `  ${v.kind} at ${v.path}: ${v.message}\n`).join('')}`,
          );
        }
        return out.released ? 0 : 1;
      }),
    );

  q.command('discard')
    .description('throw the record away, with a reason (it stays in the database, discarded, with its trail)')
    .argument('<id>', 'the record id')
    .requiredOption('--reason <text>', 'why (required, recorded)')
    .option('-p, --pipeline <name>', 'the pipeline (default: the only one in the config)')
    .option('--by <name>', 'who discards (recorded; default: AIRLOCK_USER or USER)')
    .option('--json', 'print { pipeline, id, status }')
    .action(
      action(async (id: string, opts: { pipeline?: string; reason: string; by?: string; json?: boolean }, cmd: Command) => {
        const out = await withRuntime(cmd, (rt) =>
          discardQuarantined(rt, pipelineName(rt, opts.pipeline), id, { by: opts.by ?? who(), reason: opts.reason }),
        );
        if (opts.json) return printJson(out);
        process.stdout.write(`${out.pipeline}/${out.id} discarded\n`);
      }),
    );
}
