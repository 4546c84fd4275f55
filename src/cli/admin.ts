import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Runtime } from '../pipeline/context.js';
import { createAirlock, createLogger } from '../pipeline/runtime.js';

/** Opens the config's database (no workers, no server) for an admin action (DESIGN.md: CLI and server share the database). */
export async function withRuntime<T>(cmd: Command, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const config = loadConfig((cmd.optsWithGlobals() as { config?: string }).config);
  const airlock = await createAirlock(config, { logger: createLogger(config.logging.level, process.stderr) });
  try {
    return await fn(airlock.runtime);
  } finally {
    await airlock.close();
  }
}

/** Who runs an admin command, as recorded in the audit trail: AIRLOCK_USER, else the login name. */
export const who = (): string | null => process.env.AIRLOCK_USER ?? process.env.USER ?? null;
