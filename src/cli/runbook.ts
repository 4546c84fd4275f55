import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { AirlockConfig } from '../config/airlock-config.js';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { routingHistory } from '../pipeline/routing-versions.js';
import { buildRunbook } from '../review/runbook.js';
import type { RunbookCheck, RunbookFinding } from '../review/runbook-check.js';
import { renderRunbookHtml, renderRunbookMarkdown } from '../review/runbook-render.js';
import { openStore } from '../store/db.js';
import { action, printJson } from './output.js';

interface RunbookOptions {
  format: string;
  check?: boolean;
  json?: boolean;
  coverage: string[];
  fromDatabase?: boolean;
  at?: string;
  out?: string;
}

/** `--coverage tickets=0.8` (repeatable), or `--coverage 0.8` when the config has one pipeline. */
function parseCoverage(values: string[], pipelines: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const eq = v.lastIndexOf('=');
    const name = eq < 0 ? (pipelines.length === 1 ? pipelines[0] : undefined) : v.slice(0, eq);
    const share = Number(eq < 0 ? v : v.slice(eq + 1));
    if (name === undefined)
      throw new AirlockError('USAGE', `--coverage ${v}: the config has ${pipelines.length} pipelines; write PIPELINE=SHARE`);
    if (!pipelines.includes(name))
      throw new AirlockError('USAGE', `--coverage ${v}: pipeline "${name}" is not in the config (${pipelines.join(', ') || 'none'})`);
    if (!Number.isFinite(share) || share < 0 || share > 1)
      throw new AirlockError('USAGE', `--coverage ${v}: the share must be a number from 0 to 1`);
    out[name] = share;
  }
  return out;
}

function where(f: Pick<RunbookFinding, 'pipeline' | 'case_type' | 'team'>): string {
  if (f.pipeline && f.case_type) return `${f.pipeline} / ${f.case_type}`;
  if (f.pipeline) return f.pipeline;
  if (f.team) return `team ${f.team}`;
  return 'config';
}

function printCheck(file: string, check: RunbookCheck): void {
  const lines: string[] = [];
  if (check.ok) lines.push(`${file}: runbook check passed`);
  else {
    lines.push(`${file}: runbook check failed, ${check.findings.length} problem${check.findings.length === 1 ? '' : 's'}:`);
    for (const f of check.findings) lines.push(`  ${where(f)}: ${f.problem}`, `    fix: ${f.fix}`);
  }
  if (check.warnings.length > 0) {
    lines.push('warnings:');
    for (const w of check.warnings) lines.push(`  ${where(w)}: ${w.message}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The auto-accept coverage of each pipeline's active routing version (the calibration in force), from the database. */
async function coverageFromDatabase(config: AirlockConfig): Promise<Record<string, number>> {
  const store = openStore(config.database);
  try {
    await store.migrate();
    const out: Record<string, number> = {};
    for (const name of Object.keys(config.pipelines)) {
      const active = (await routingHistory(store, name)).find((v) => v.status === 'active');
      const coverage = active?.threshold.coverage;
      if (typeof coverage === 'number') out[name] = coverage;
    }
    return out;
  } finally {
    await store.close();
  }
}

export function registerRunbookCommand(program: Command): void {
  program
    .command('runbook')
    .description(
      'print the operational runbook made from the config (owners, SLAs, authority, escalation, on call, alerts); --check fails on gaps',
    )
    .option('--format <format>', 'md or html', 'md')
    .option('--check', 'only check: list every problem, naming each case type, and exit 1 when there is one')
    .option(
      '--json',
      'print { ok, findings: [{ pipeline, case_type, team?, problem, fix }], warnings: [{ pipeline, case_type, message }] } (and runbook without --check)',
    )
    .option(
      '--coverage <pipeline=share>',
      'auto-accept coverage of a pipeline (e.g. tickets=0.82, from its latest calibration) for the staffing check; repeatable',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--from-database',
      "take each pipeline's coverage from its active routing version (its latest applied calibration) in the config's database",
    )
    .option('--at <date-time>', 'make the runbook for this moment (on-call shifts, holidays), e.g. 2026-11-02T09:00:00Z')
    .option('--out <file>', 'write the runbook to a file instead of stdout')
    .action(
      action(async (opts: RunbookOptions, cmd: Command) => {
        if (opts.format !== 'md' && opts.format !== 'html') throw new AirlockError('USAGE', `--format ${opts.format}: expected md or html`);
        const now = opts.at === undefined ? Date.now() : Date.parse(opts.at);
        if (!Number.isFinite(now)) throw new AirlockError('USAGE', `--at ${opts.at}: expected a date-time like 2026-11-02T09:00:00Z`);
        const file = resolveConfigPath((cmd.optsWithGlobals() as { config?: string }).config);
        // Config only, unless --from-database: the runbook runs in CI before anything is deployed.
        const config = loadConfig(file);
        const coverage = {
          ...(opts.fromDatabase ? await coverageFromDatabase(config) : {}),
          ...parseCoverage(opts.coverage, Object.keys(config.pipelines)),
        };
        const runbook = buildRunbook(config, { now, coverage });
        const check = runbook.check;
        const shown = path.relative(process.cwd(), file).startsWith('..') ? file : path.relative(process.cwd(), file);
        if (opts.json) {
          printJson(opts.check ? { ok: check.ok, findings: check.findings, warnings: check.warnings } : { ...check, runbook });
        } else if (opts.check) {
          printCheck(shown, check);
        } else {
          const text = opts.format === 'html' ? renderRunbookHtml(runbook) : renderRunbookMarkdown(runbook);
          if (opts.out) {
            writeFileSync(opts.out, text);
            process.stderr.write(
              `wrote ${opts.out}${check.ok ? '' : ` (the check found ${check.findings.length} problem${check.findings.length === 1 ? '' : 's'})`}\n`,
            );
          } else process.stdout.write(text);
        }
        return opts.check && !check.ok ? 1 : 0;
      }),
    );
}
