import type { Command } from 'commander';
import { loadConfig, resolveConfigPath } from '../config/load.js';
import { configJsonSchema } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { checkModelFiles } from '../models/index.js';
import { action, printJson } from './output.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('check a config file, or print its JSON Schema');

  config
    .command('check')
    .description('validate a config and print every problem with its path in the file (exit 2 when there is one)')
    .argument('[file]', 'the config file (default: --config, AIRLOCK_CONFIG, ./airlock.yaml)')
    .option('--json', 'print { ok, file, problems: [{ path, line, message }] }')
    .action(
      action(async (file: string | undefined, opts: { json?: boolean }, cmd: Command) => {
        const path = resolveConfigPath(file ?? (cmd.optsWithGlobals().config as string | undefined));
        try {
          const cfg = loadConfig(path, { checks: [checkModelFiles] });
          const pipelines = Object.keys(cfg.pipelines);
          if (opts.json) printJson({ ok: true, file: path, pipelines, problems: [] });
          else
            process.stdout.write(
              `${path}: ok (${pipelines.length} pipeline${pipelines.length === 1 ? '' : 's'}: ${pipelines.join(', ') || 'none'})\n`,
            );
          return 0;
        } catch (err) {
          if (!(err instanceof ConfigError) || !opts.json) throw err;
          printJson({ ok: false, file: path, problems: err.problems });
          return 2;
        }
      }),
    );

  config
    .command('schema')
    .description("print the config's JSON Schema (2020-12), for editors")
    .action(
      action(async () => {
        printJson(configJsonSchema);
      }),
    );
}
