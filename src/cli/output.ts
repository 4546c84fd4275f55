import { AirlockError, ConfigError } from '../errors.js';

/** Whether progress may be drawn: stderr is a terminal and CI is not set. */
export const interactive = (): boolean => Boolean(process.stderr.isTTY) && !process.env.CI;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Runs a command's action and turns errors into one clear message and docs/design.md's exit codes:
 * 2 for usage and config errors, 1 for problems found; no stack trace for a user's mistake.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: an action may return nothing
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | undefined | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}

export function reportError(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`airlock: the config has ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}:\n`);
    for (const line of err.message.split('\n')) process.stderr.write(`  ${line}\n`);
    return 2;
  }
  if (err instanceof AirlockError) {
    process.stderr.write(`airlock: ${err.message}\n`);
    return err.exitCode;
  }
  const e = err as Error & { code?: string };
  process.stderr.write(`airlock: ${e?.message ?? String(err)}\n`);
  if (process.env.AIRLOCK_DEBUG && e?.stack) process.stderr.write(`${e.stack}\n`);
  return 1;
}

/** A one-line progress display on stderr, redrawn at most ten times a second; silent when not a terminal. */
export class Progress {
  private last = 0;
  private readonly enabled = interactive();
  private readonly started = Date.now();
  constructor(private readonly label: string) {}

  update(done: number, total?: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.draw(done, total, extra);
  }

  private draw(done: number, total?: number, extra = ''): void {
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? Math.round(done / secs) : 0;
    let bar = '';
    if (total && total > 0) {
      const width = 24;
      const filled = Math.min(width, Math.round((done / total) * width));
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor((done / total) * 100)}% `;
    }
    process.stderr.write(`\r\x1b[2K${this.label} ${bar}${done}${total ? `/${total}` : ''} (${rate}/s)${extra ? ` ${extra}` : ''}`);
  }

  done(done: number, total?: number, extra = ''): void {
    if (!this.enabled) return;
    this.draw(done, total, extra);
    process.stderr.write('\n');
  }
}
