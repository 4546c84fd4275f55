import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { AirlockError } from '../errors.js';
import { action, Progress, printJson } from './output.js';

/** The PostgreSQL tools to use instead, for the message and the README. */
export function postgresBackupAdvice(displayUrl: string): string {
  return [
    `airlock backup copies SQLite databases; ${displayUrl} is PostgreSQL — back it up with PostgreSQL's own tools:`,
    `  pg_dump --format=custom --file=airlock.dump '${displayUrl}'`,
    `  pg_restore --clean --if-exists --no-owner --dbname='${displayUrl}' airlock.dump`,
    'or take base backups with WAL archiving (pg_basebackup, archive_command) for point-in-time recovery.',
  ].join('\n');
}

export interface BackupReport {
  database: string;
  backup: string;
  pages: number;
  bytes: number;
  records: number;
  /** Times SQLite restarted the copy because another process wrote between two steps. */
  restarts: number;
  check: 'ok';
  seconds: number;
}

/**
 * Copies a live SQLite database with SQLite's online backup API: pages are copied in steps while `airlock serve`
 * keeps writing. A write by another process between two steps restarts the copy, so after a restart the rest is
 * copied in one step (one read transaction: WAL readers do not block writers). The copy is written beside the
 * destination, checked (`quick_check`) and then renamed into place, so a destination file is always complete.
 */
export async function backupSqlite(file: string, dest: string, options: { force?: boolean } = {}): Promise<BackupReport> {
  const started = Date.now();
  if (!existsSync(file)) throw new AirlockError('USAGE', `no SQLite database at ${file}`);
  const target = path.resolve(dest);
  if (target === path.resolve(file)) throw new AirlockError('USAGE', 'the backup must go to another file than the database itself');
  if (existsSync(target) && !options.force) throw new AirlockError('USAGE', `${dest} already exists (use --force to replace it)`);
  mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.partial-${process.pid}`;
  for (const f of [partial, `${partial}-wal`, `${partial}-shm`]) rmSync(f, { force: true });
  const source = new BetterSqlite3(file, { fileMustExist: true });
  source.pragma('busy_timeout = 5000');
  const progress = new Progress('backup: pages');
  let restarts = 0;
  let lastRemaining = Number.POSITIVE_INFINITY;
  let pages = 0;
  try {
    const result = await source.backup(partial, {
      progress({ totalPages, remainingPages }) {
        if (remainingPages > lastRemaining) restarts++;
        lastRemaining = remainingPages;
        progress.update(totalPages - remainingPages, totalPages);
        // After a restart: the rest in one step. Otherwise about 2% per step, so progress moves on large files.
        return restarts > 0 ? 0x7fffffff : Math.max(256, Math.ceil(totalPages / 50));
      },
    });
    pages = result.totalPages;
    progress.done(pages, pages);
  } catch (err) {
    rmSync(partial, { force: true });
    throw new AirlockError('INTERNAL', `the backup of ${file} failed: ${(err as Error).message}`);
  } finally {
    source.close();
  }
  const copy = new BetterSqlite3(partial, { fileMustExist: true });
  let records = 0;
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new AirlockError('INTERNAL', `the copy failed SQLite's quick_check: ${String(check)}`);
    records = Number((copy.prepare('select count(*) as n from records').get() as { n: number } | undefined)?.n ?? 0);
  } finally {
    copy.close();
  }
  renameSync(partial, target);
  return {
    database: file,
    backup: target,
    pages,
    bytes: statSync(target).size,
    records,
    restarts,
    check: 'ok',
    seconds: (Date.now() - started) / 1000,
  };
}

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description('copy the SQLite database to <dest> while the server runs (SQLite online backup); PostgreSQL: prints the pg_dump commands')
    .argument('<dest>', 'the file to write the copy to (e.g. backups/airlock-2026-01-31.db)')
    .option('--database <url>', 'sqlite:PATH (overrides the config; also AIRLOCK_DATABASE)')
    .option('--force', 'replace <dest> if it exists')
    .option('--json', 'print { database, backup, pages, bytes, records, restarts, check, seconds }')
    .action(
      action(async (dest: string, opts: { database?: string; force?: boolean; json?: boolean }, cmd: Command) => {
        const g = cmd.optsWithGlobals() as { config?: string };
        const url = opts.database ?? process.env.AIRLOCK_DATABASE ?? loadConfig(g.config).database;
        if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
          throw new AirlockError('USAGE', postgresBackupAdvice(url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@')));
        }
        if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') {
          throw new AirlockError('USAGE', `airlock backup needs a SQLite file (sqlite:PATH), got "${url}"`);
        }
        const report = await backupSqlite(url.slice('sqlite:'.length), dest, { force: opts.force });
        if (opts.json) printJson(report);
        else
          process.stdout.write(
            `backed up ${report.database} to ${report.backup}: ${report.records} records, ${(report.bytes / 1e6).toFixed(1)} MB, quick_check ok, ${report.seconds.toFixed(1)} s${report.restarts ? ` (${report.restarts} restart(s) while the server wrote)` : ''}\n`,
          );
        return 0;
      }),
    );
}
