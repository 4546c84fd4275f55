import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { openStore } from '../store/db.js';
import { action, printJson } from './output.js';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('bring the database named by the config (or --database) to the latest schema')
    .option('--database <url>', 'sqlite:PATH or postgres://… (overrides the config)')
    .option('--json', 'print { database, applied: [names] }')
    .action(
      action(async (opts: { database?: string; json?: boolean }, cmd: Command) => {
        const g = cmd.optsWithGlobals() as { config?: string };
        const url = opts.database ?? process.env.AIRLOCK_DATABASE ?? loadConfig(g.config).database;
        const store = openStore(url);
        try {
          const applied = await store.migrate();
          if (opts.json) printJson({ database: store.displayUrl, applied });
          else
            process.stdout.write(
              applied.length
                ? `applied ${applied.length} migration(s) to ${store.displayUrl}: ${applied.join(', ')}\n`
                : `${store.displayUrl} is up to date\n`,
            );
        } finally {
          await store.close();
        }
      }),
    );
}
