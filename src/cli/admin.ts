import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { type Airlock, createAirlock } from '../pipeline/airlock.js';
import type { Runtime } from '../runtime/context.js';
import { createLogger } from '../runtime/logger.js';

/** Opens the config's database (no workers, no server) for an admin action (docs/design.md: CLI and server share the database). */
export async function withRuntime<T>(cmd: Command, fn: (rt: Runtime, airlock: Airlock) => Promise<T>): Promise<T> {
  const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
  const airlock = await createAirlock(config, { logger: createLogger(config.logging.level, process.stderr) });
  try {
    return await fn(airlock.runtime, airlock);
  } finally {
    await airlock.close();
  }
}

/** Who runs an admin command, as recorded in the audit trail: AIRLOCK_USER, else the login name. */
export const who = (): string | null => process.env.AIRLOCK_USER ?? process.env.USER ?? null;

export /** The pipeline named by --pipeline, or the config's only pipeline. */
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

/** A JSON file given to a command (a contract, an edited record), or a usage error naming it. */
export function readJsonFile(file: string, what: string): unknown {
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
