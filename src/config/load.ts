/**
 * Loading `airlock.yaml`, in four stages: parse the text (yaml.ts), expand `${VAR}` (env.ts), validate and fill in
 * defaults (validate.ts), resolve each section into the config the rest of Airlock uses (airlock-config.ts and
 * sections/). Every stage reports every problem it finds, with its path and line, before the load fails.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ConfigProblem } from '../errors.js';
import { type AirlockConfig, resolveAirlockConfig } from './airlock-config.js';
import { expandEnv } from './env.js';
import { dedupe, type Report, type SettingPath } from './problems.js';
import { validateConfig } from './validate.js';
import { parseConfigText } from './yaml.js';

export interface LoadConfigOptions {
  /** Environment used for ${VAR} expansion (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Overrides the database URL (e.g. from --database or AIRLOCK_DATABASE). */
  database?: string;
  /**
   * Checks of meaning that need domain code (a model file's format, say): run on the resolved config, each problem
   * reported with its line like the loader's own. The config folder imports no domain code; the edges pass these.
   */
  checks?: ConfigCheck[];
}

/** A check run on the resolved config; `at` is the path of the setting in the file. */
export type ConfigCheck = (config: AirlockConfig) => { at: SettingPath; message: string }[];

/** Finds the config file as docs/design.md says: --config, else AIRLOCK_CONFIG, else ./airlock.yaml. */
export function resolveConfigPath(explicit?: string, env: Record<string, string | undefined> = process.env): string {
  const chosen = explicit ?? env.AIRLOCK_CONFIG ?? 'airlock.yaml';
  return path.resolve(chosen);
}

/** Reads, expands, validates and resolves a config file. Throws ConfigError listing every problem. */
export function loadConfig(file?: string, options: LoadConfigOptions = {}): AirlockConfig {
  const abs = resolveConfigPath(file, options.env ?? process.env);
  if (!existsSync(abs)) {
    throw new ConfigError([{ path: '', message: `config file not found: ${abs} (use --config FILE or AIRLOCK_CONFIG)` }]);
  }
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [{ path: '', message: `cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }],
      abs,
    );
  }
  // An empty file is a mistake (a wrong path, a failed write), not a config with every default.
  if (text.replace(/^\uFEFF/, '').trim() === '')
    throw new ConfigError([{ path: '', message: 'the file is empty; expected a mapping of settings' }], abs);
  return parseConfig(text, { ...options, file: abs });
}

/** Parses config text (YAML or JSON). `file` names it in messages and anchors relative paths. */
export function parseConfig(text: string, options: LoadConfigOptions & { file?: string; dir?: string } = {}): AirlockConfig {
  const file = options.file;
  const relative = file ? path.relative(process.cwd(), file) : undefined;
  const display = file ? (relative && !relative.startsWith('..') ? relative : file) : undefined;
  const { value, lineOf } = parseConfigText(text, display);
  const hash = createHash('sha256').update(text).digest('hex');

  const problems: ConfigProblem[] = [];
  const report: Report = (at, message) => problems.push({ path: at.join('.'), line: lineOf(at), message });
  const fail = () => new ConfigError(dedupe(problems), display);

  const expanded = expandEnv(value, options.env ?? process.env, report) as Record<string, unknown>;
  if (options.database) expanded.database = options.database;

  const validated = validateConfig(expanded, lineOf, new Set(problems.map((p) => p.path)));
  problems.push(...validated.problems);
  if (!validated.settings || problems.length > 0) throw fail();

  const dir = options.dir ?? (file ? path.dirname(file) : process.cwd());
  const config = resolveAirlockConfig(validated.settings, { dir, report });
  if (problems.length > 0) throw fail();
  const loaded = { ...config, file, hash };
  for (const check of options.checks ?? []) for (const p of check(loaded)) report(p.at, p.message);
  if (problems.length > 0) throw fail();
  return loaded;
}
