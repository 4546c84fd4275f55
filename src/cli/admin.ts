import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { findUser } from '../accounts/users.js';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { type Airlock, createAirlock } from '../pipeline/airlock.js';
import type { Actor } from '../review/case-authority.js';
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

/** The options by which a command that acts on a review case says who acts. */
export interface ActingOptions {
  as?: string;
  by?: string;
}

/** Adds `--as NAME` and `--by NAME` to a command that acts on a review case (a quarantine, a halt, a dead letter). */
export function addActingOptions(cmd: Command): Command {
  return cmd
    .option('--as <user>', "act as this user of `airlock users`: their role, teams and the case type's rules apply")
    .option('--by <name>', 'without --as: the name recorded for the admin acting (default: AIRLOCK_USER or USER)');
}

/**
 * Who a command acts as: with --as, that user (their role and teams; the same rules as on the server); without it,
 * an admin, recorded by --by, AIRLOCK_USER or USER. Says which on stderr, so no one mistakes an admin's act for a
 * person's.
 */
export async function actingAs(rt: Runtime, opts: ActingOptions): Promise<Actor> {
  if (opts.as) {
    const user = await findUser(rt.store.db, opts.as);
    if (!user) throw new AirlockError('USAGE', `--as ${opts.as}: no such user (see airlock users list)`);
    if (user.disabled) throw new AirlockError('USAGE', `--as ${opts.as}: the user is disabled`);
    process.stderr.write(`acting as ${user.name} (${user.role})\n`);
    return { name: user.name, role: user.role };
  }
  const name = opts.by ?? who() ?? 'admin';
  process.stderr.write(`acting as an admin, recorded as ${name} (give --as USER to act as a person)\n`);
  return { name, role: 'admin' };
}
