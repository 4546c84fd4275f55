import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { type ContractChange, describeChange, diffContracts, isBreaking, type Party } from '../contract/diff.js';
import { type Contract, compileContract, type ViolationKind } from '../contract/gate.js';
import { type InferOptions, Inferrer } from '../contract/infer.js';
import { AirlockError, describeJsonError } from '../errors.js';
import { action, Progress, printJson } from './output.js';
import { detectFormat, type InputFormat, readRecords } from './read-records.js';

const FORMATS = ['jsonl', 'ndjson', 'json', 'csv', 'tsv'];

const threshold = (v: string) => {
  const x = Number(v);
  if (!(x > 0 && x <= 1)) throw new AirlockError('USAGE', `--required-threshold must be a number in (0, 1], got "${v}"`);
  return x;
};

const wholeNumber = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v.trim())) throw new AirlockError('USAGE', `${name} must be a whole number ≥ 0, got "${v}"`);
  return Number(v);
};

/** Reads a file's records; a file that cannot be read at all is a usage error (exit 2), not a failed check. */
async function* records(file: string, format: InputFormat) {
  try {
    yield* readRecords(file, format);
  } catch (err) {
    if (err instanceof AirlockError) throw new AirlockError('USAGE', err.message);
    throw err;
  }
}

/** Reads and parses a contract file (a JSON Schema); exit 2 when it is missing or not JSON. */
function readSchema(file: string): object {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AirlockError('USAGE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new AirlockError(
      'CONTRACT_INVALID',
      `${file} is not valid JSON: ${describeJsonError(text.replace(/^\uFEFF/, ''), err as Error)}`,
    );
  }
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema))) {
    throw new AirlockError('CONTRACT_INVALID', `${file} is not a JSON Schema (expected an object)`);
  }
  return schema as object;
}

function loadContract(file: string): Contract {
  const schema = readSchema(file);
  try {
    return compileContract(schema);
  } catch (err) {
    throw new AirlockError('CONTRACT_INVALID', `${file}: ${(err as Error).message}`);
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Creates the `contract` command group with `infer`, `diff` and `check`, and returns it so more subcommands
 * (accept, reject, versions) can be added to the same group.
 */
export function registerContractCommands(program: Command): Command {
  const contract = program
    .command('contract')
    .description('JSON Schema contracts of records: infer one from a sample, compare two, check a file against one');
  addInferCommand(contract);
  addDiffCommand(contract);
  addCheckCommand(contract);
  return contract;
}

interface InferCliOptions {
  format?: string;
  requiredThreshold: number;
  bounds?: boolean;
  enumMax: number;
  quiet?: boolean;
}

function addInferCommand(contract: Command): void {
  contract
    .command('infer')
    .description('infer a contract (JSON Schema 2020-12) from a sample of records; the schema goes to stdout')
    .argument('<sample>', 'JSONL, JSON array, CSV or TSV (gzip too)')
    .addOption(new Option('--format <format>', 'input format (default: from the file name)').choices(FORMATS))
    .option(
      '--required-threshold <share>',
      'a field present in at least this share of rows is required (1 gives a contract that accepts every sample row)',
      threshold,
      0.99,
    )
    .option('--bounds', 'add minimum/maximum, minLength/maxLength and minItems/maxItems from the sample')
    .option('--enum-max <n>', 'most distinct values a string field may have to become an enum (0: no enums)', wholeNumber('--enum-max'), 20)
    .option('-q, --quiet', 'no summary on stderr')
    .action(
      action(async (file: string, opts: InferCliOptions) => {
        const format = detectFormat(file, opts.format);
        const inferrer = new Inferrer();
        const progress = new Progress('reading sample');
        let unreadable = 0;
        let firstUnreadable: number | undefined;
        for await (const item of records(file, format)) {
          if ('error' in item) {
            unreadable++;
            firstUnreadable ??= item.line;
          } else inferrer.add(item.value);
          progress.update(inferrer.rows + unreadable);
        }
        progress.done(inferrer.rows + unreadable);
        if (inferrer.rows === 0) throw new AirlockError('USAGE', `${file} holds no readable records to infer a contract from`);
        const options: InferOptions = { requiredThreshold: opts.requiredThreshold, bounds: Boolean(opts.bounds), enumMax: opts.enumMax };
        const schema = inferrer.schema(options);
        printJson(schema);
        if (!opts.quiet) {
          const s = inferrer.summary(options);
          const parts = [
            `${plural(s.rows, 'row')} read`,
            plural(s.fields.length, 'field'),
            `${s.required.length} required`,
            s.enums.length > 0 ? `${plural(s.enums.length, 'enum')} (${s.enums.map((e) => e.field).join(', ')})` : '0 enums',
            s.formats.length > 0
              ? `${plural(s.formats.length, 'format')} (${s.formats.map((f) => `${f.field}: ${f.format}`).join(', ')})`
              : '',
          ].filter(Boolean);
          let line = `inferred from ${file}: ${parts.join(', ')}`;
          if (unreadable > 0) line += `; ${plural(unreadable, 'unreadable row')} skipped (first at row ${firstUnreadable})`;
          if (s.sometimes_missing.length > 0) {
            line += `; required though missing in some rows, which the contract rejects: ${s.sometimes_missing.map((m) => `${m.field} (${m.missing})`).join(', ')}`;
          }
          process.stderr.write(`${line}\n`);
        }
        return 0;
      }),
    );
}

const FAIL_ON = ['any', 'producers', 'consumers', 'none'] as const;
type FailOn = (typeof FAIL_ON)[number];

function addDiffCommand(contract: Command): void {
  contract
    .command('diff')
    .description('list the changes from one contract to another and whom each breaks; exit 1 when one is breaking')
    .argument('<old>', 'the current contract (JSON Schema)')
    .argument('<new>', 'the proposed contract (JSON Schema)')
    .addOption(
      new Option('--fail-on <party>', 'exit 1 when a change breaks this party (any: either; none: never)')
        .choices([...FAIL_ON])
        .default('any'),
    )
    .option('--json', 'print { old, new, breaking, changes: [{ path, change, keyword, from, to, values?, breaking_for }] }')
    .action(
      action(async (oldFile: string, newFile: string, opts: { json?: boolean; failOn: FailOn }) => {
        const oldSchema = readSchema(oldFile);
        const newSchema = readSchema(newFile);
        const changes = diffContracts(oldSchema, newSchema);
        const breaking = { producers: isBreaking(changes, 'producers'), consumers: isBreaking(changes, 'consumers') };
        if (opts.json) printJson({ old: oldFile, new: newFile, breaking, changes });
        else process.stdout.write(readableDiff(oldFile, newFile, changes));
        const fails =
          opts.failOn === 'none'
            ? false
            : opts.failOn === 'any'
              ? breaking.producers || breaking.consumers
              : breaking[opts.failOn as Party];
        return fails ? 1 : 0;
      }),
    );
}

function readableDiff(oldFile: string, newFile: string, changes: ContractChange[]): string {
  if (changes.length === 0) return `no changes from ${oldFile} to ${newFile}\n`;
  const width = Math.min(40, Math.max(...changes.map((c) => (c.path || '(record)').length)));
  const lines = [`${plural(changes.length, 'change')} from ${oldFile} to ${newFile}:`];
  for (const c of changes) {
    const who = c.breaking_for.length > 0 ? `breaking for ${c.breaking_for.join(' and ')}` : 'not breaking';
    lines.push(`  ${(c.path || '(record)').padEnd(width)}  ${describeChange(c)}  [${who}]`);
  }
  const count = (p: Party) => changes.filter((c) => c.breaking_for.includes(p)).length;
  lines.push(`${count('producers')} breaking for producers, ${count('consumers')} breaking for consumers`);
  return `${lines.join('\n')}\n`;
}

interface CheckedViolation {
  row: number;
  path: string;
  kind: ViolationKind;
  field: string;
  message: string;
}

interface CheckCliOptions {
  format?: string;
  json?: boolean;
  maxExamples?: number;
}

function addCheckCommand(contract: Command): void {
  contract
    .command('check')
    .description('check every record of a file against a contract; exit 1 when any record breaks it')
    .argument('<contract>', 'the contract (JSON Schema 2020-12)')
    .argument('<file>', 'JSONL, JSON array, CSV or TSV (gzip too)')
    .addOption(new Option('--format <format>', 'input format (default: from the file name)').choices(FORMATS))
    .option(
      '--max-examples <n>',
      'list at most this many violations per kind and field (default: 5 in the readable output, all with --json); counts include all',
      wholeNumber('--max-examples'),
    )
    .option(
      '--json',
      'print { rows, valid, invalid, violations: [{ row, path, kind, field, message }], by_kind, by_field, listed, total_violations }',
    )
    .action(
      action(async (contractFile: string, file: string, opts: CheckCliOptions) => {
        const contract = loadContract(contractFile);
        const format = detectFormat(file, opts.format);
        const maxExamples = opts.maxExamples ?? (opts.json ? Number.POSITIVE_INFINITY : 5);
        const progress = new Progress('checking');
        let rows = 0;
        let invalid = 0;
        let total = 0;
        const byKind: Partial<Record<ViolationKind, number>> = {};
        const byField = new Map<string, { count: number; kinds: Set<ViolationKind> }>();
        const listed: CheckedViolation[] = [];
        /** How many violations of each kind and field are listed so far. */
        const shown = new Map<string, number>();
        const note = (v: CheckedViolation) => {
          total++;
          byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
          let f = byField.get(v.field);
          if (!f) byField.set(v.field, (f = { count: 0, kinds: new Set() }));
          f.count++;
          f.kinds.add(v.kind);
          const key = `${v.kind}\u0000${v.field}`;
          const n = shown.get(key) ?? 0;
          if (n < maxExamples) {
            shown.set(key, n + 1);
            listed.push(v);
          }
        };
        for await (const item of records(file, format)) {
          rows++;
          if ('error' in item) {
            invalid++;
            note({ row: item.line, path: '/', kind: 'unparseable', field: '', message: item.error });
          } else {
            const violations = contract.validate(item.value);
            if (violations.length > 0) invalid++;
            for (const v of violations) note({ row: item.line, path: v.path, kind: v.kind, field: v.field, message: v.message });
          }
          progress.update(rows, undefined, invalid > 0 ? `${invalid} invalid` : '');
        }
        progress.done(rows, undefined, invalid > 0 ? `${invalid} invalid` : '');
        const fields = [...byField.entries()].sort((a, b) => b[1].count - a[1].count);
        if (opts.json) {
          printJson({
            contract: contractFile,
            file,
            rows,
            valid: rows - invalid,
            invalid,
            total_violations: total,
            listed: listed.length,
            violations: listed,
            by_kind: byKind,
            by_field: Object.fromEntries(fields.map(([f, x]) => [f, x.count])),
          });
        } else {
          const out: string[] = [];
          for (const v of listed) out.push(`row ${v.row}: ${v.path}  ${v.kind}  ${v.message}`);
          if (listed.length < total) out.push(`… ${total - listed.length} more (at most ${maxExamples} listed per kind and field)`);
          out.push(
            `${file}: ${plural(rows, 'row')}, ${rows - invalid} valid, ${invalid} invalid` +
              (total > 0 ? ` (${plural(total, 'violation')})` : ''),
          );
          if (total > 0) {
            const kinds = Object.entries(byKind).sort((a, b) => b[1] - a[1]);
            out.push(`by kind:  ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}`);
            const top = fields.slice(0, 10).map(([f, x]) => `${f || '(record)'} ${x.count} (${[...x.kinds].join(', ')})`);
            if (fields.length > 10) top.push(`… ${fields.length - 10} more fields`);
            out.push(`by field: ${top.join(', ')}`);
          }
          process.stdout.write(`${out.join('\n')}\n`);
        }
        return invalid > 0 ? 1 : 0;
      }),
    );
}
