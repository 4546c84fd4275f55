import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AirlockError } from '../../errors.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** The inbox-triage example: the corpus reader, and the default workspace. */
export const example = path.join(repoRoot, 'examples', 'inbox-triage');
const bin = path.join(repoRoot, 'bin', 'airlock');

/** What `airlock demo` is told on the command line. */
export interface DemoOptions {
  fast?: boolean;
  workspace?: string;
  port?: string;
  rate?: string;
  perGroup?: string;
}

/** One run of the demo: its settings, its workspace, and what it has printed of each phase. */
export class DemoRun {
  readonly fast: boolean;
  /** The workspace: data, config, model, reports and database. */
  readonly ws: string;
  readonly port: number;
  /** Production records per second. */
  readonly rate: number;
  /** Mails taken from each corpus folder; undefined: all. */
  readonly perGroup?: number;
  /** Each phase's name and figure, for the summary at the end. */
  readonly phases: { name: string; figure: string }[] = [];

  /** Checks the options (a usage error names the bad one). */
  constructor(opts: DemoOptions) {
    this.fast = Boolean(opts.fast);
    this.ws = path.resolve(opts.workspace ?? path.join(example, '.demo'));
    this.port = Number(opts.port ?? 8080);
    this.rate = Number(opts.rate ?? (this.fast ? 40 : 8));
    this.perGroup = opts.perGroup ? Number(opts.perGroup) : this.fast ? 120 : undefined;
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 65535)
      throw new AirlockError('USAGE', `--port must be a port number, got "${opts.port}"`);
    if (!(this.rate > 0)) throw new AirlockError('USAGE', `--rate must be a positive number, got "${opts.rate}"`);
    if (this.perGroup !== undefined && !(Number.isInteger(this.perGroup) && this.perGroup > 0))
      throw new AirlockError('USAGE', `--per-group must be a positive whole number, got "${opts.perGroup}"`);
  }

  /** Makes the workspace, and empties the database a previous run left there. */
  prepareWorkspace(): void {
    mkdirSync(this.ws, { recursive: true });
    for (const f of ['airlock.db', 'airlock.db-wal', 'airlock.db-shm'])
      if (existsSync(path.join(this.ws, f))) writeFileSync(path.join(this.ws, f), '');
  }

  /** A path inside the workspace. */
  file(...parts: string[]): string {
    return path.join(this.ws, ...parts);
  }

  /** Prints one line (or more) of the demo's story. */
  say(text: string): void {
    process.stdout.write(`${text}\n`);
  }

  /** Records a phase's figure and prints it. */
  phase(name: string, figure: string): void {
    this.phases.push({ name, figure });
    this.say(`  → ${figure}\n`);
  }

  /** Runs `airlock ARGS` in the workspace, prints the command (so it can be re-run by hand) and returns stdout. */
  airlock(args: string[], options: { allowExit?: number[]; redact?: string } = {}): Promise<{ code: number; stdout: string }> {
    const shown = args.map((a) => (a === options.redact ? '$AIRLOCK_TOKEN' : /\s/.test(a) ? JSON.stringify(a) : a));
    process.stdout.write(`  $ airlock ${shown.join(' ')}\n`);
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: this.ws, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        const ok = [0, ...(options.allowExit ?? [])];
        if (code !== null && ok.includes(code)) resolve({ code, stdout });
        else reject(new AirlockError('INTERNAL', `airlock ${args[0]} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' ')}`));
      });
    });
  }

  /** Runs `airlock ARGS --json …` in the workspace and reads what it printed. */
  async airlockJson(args: string[], options: { allowExit?: number[]; redact?: string } = {}): Promise<CommandJson> {
    return jsonOf((await this.airlock(args, options)).stdout);
  }
}

/** Another command's --json output (or an API answer), read field by field with fallbacks. */
// biome-ignore lint/suspicious/noExplicitAny: read field by field with fallbacks
export type CommandJson = Record<string, unknown> & { [k: string]: any };

/** Another command's --json output, parsed. */
export const jsonOf = (text: string) => JSON.parse(text) as CommandJson;

/** A share as a percentage: 0.125 → `12.5%`. */
export const pct = (v: number, digits = 1) => `${(v * 100).toFixed(digits)}%`;

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The objects of a JSONL file. */
export function readJsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}

/** Writes rows as a JSONL file. */
export function writeJsonl(file: string, rows: unknown[]): void {
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
}
