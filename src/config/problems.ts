/**
 * Where a problem in the config file is, and how each stage of the loader reports one: every stage reports and goes
 * on, so `airlock config check` lists every problem at once, each with its path and line.
 */
import type { ConfigProblem } from '../errors.js';

/** A setting's place in the file: keys and list indexes from the top, e.g. `['pipelines', 'tickets', 'model', 'url']`. */
export type SettingPath = (string | number)[];

/** The 1-based line of a setting in the file, when the file has it. */
export type LineOf = (at: SettingPath) => number | undefined;

/** Reports a problem at a setting. */
export type Report = (at: SettingPath, message: string) => void;

/** What a section's resolver is given besides its settings. */
export interface ResolveContext {
  /** The folder that relative paths in the config are resolved against. */
  dir: string;
  report: Report;
}

/** The problems in line order, each reported once. */
export function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  const sorted = [...problems].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return sorted.filter((p) => {
    const key = `${p.path}|${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
