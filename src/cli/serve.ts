import { type Command, Option } from 'commander';
import { loadConfig } from '../config/load.js';
import { checkModelFiles } from '../models/index.js';
import { createServer, type ServerRole } from '../server/app.js';
import { action } from './output.js';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP API and the pipeline workers (migrates the database first)')
    .addOption(
      new Option('--role <role>', 'api: HTTP only; worker: pipeline stages only; all: both')
        .choices(['api', 'worker', 'all'])
        .default('all'),
    )
    .option('--port <port>', 'listen on this port (overrides server.port)', (v) => Number.parseInt(v, 10))
    .option('--host <host>', 'listen on this address (overrides server.host)')
    .option('--database <url>', 'sqlite:PATH or postgres://… (overrides the config; also AIRLOCK_DATABASE)')
    .action(
      action(async (opts: { role: ServerRole; port?: number; host?: string; database?: string }, cmd: Command) => {
        const g = cmd.optsWithGlobals() as { config?: string };
        const config = loadConfig(g.config, { database: opts.database ?? process.env.AIRLOCK_DATABASE, checks: [checkModelFiles] });
        if (opts.port !== undefined && (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535)) {
          process.stderr.write(`airlock: --port must be a port number, got ${String(opts.port)}\n`);
          return 2;
        }
        const server = await createServer(config, { role: opts.role });
        const log = server.airlock.runtime.logger;
        let closing = false;
        const shutdown = (signal: string) => {
          if (closing) return;
          closing = true;
          log.info({ signal }, 'shutting down: finishing the work in hand');
          server.close().then(
            () => process.exit(0),
            (err) => {
              log.error({ err }, 'shutdown failed');
              process.exit(1);
            },
          );
        };
        process.on('SIGINT', () => shutdown('SIGINT'));
        process.on('SIGTERM', () => shutdown('SIGTERM'));
        const url = await server.listen({ port: opts.port, host: opts.host });
        log.info(
          {
            url: url ?? null,
            role: opts.role,
            database: server.airlock.runtime.store.displayUrl,
            pipelines: Object.keys(config.pipelines),
          },
          url ? `Airlock listening on ${url}` : 'Airlock worker started',
        );
        await new Promise(() => {});
      }),
    );
}
