import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAuditCommand } from './audit.js';
import { registerBackupCommand } from './backup.js';
import { registerCalibrateCommand } from './calibrate.js';
import { registerConfigCommands } from './config.js';
import { registerContractCommands } from './contract.js';
import { addContractAdminCommands } from './contract-halt.js';
import { registerDeliveryCommands } from './deliveries.js';
import { registerDemoCommand } from './demo.js';
import { registerDriftCommand } from './drift.js';
import { registerIngestCommand } from './ingest.js';
import { registerMigrateCommand } from './migrate.js';
import { reportError } from './output.js';
import { registerProbeCommand } from './probe.js';
import { registerPurgeCommand } from './purge.js';
import { registerQuarantineCommands } from './quarantine.js';
import { registerReadinessCommand } from './readiness.js';
import { registerReferenceCommand } from './reference.js';
import { registerReviewReportCommand } from './review-report.js';
import { registerRunbookCommand } from './runbook.js';
import { registerServeCommand } from './serve.js';
import { registerThresholdsCommands } from './thresholds.js';
import { registerTokensCommands } from './tokens.js';
import { registerTrainCommand } from './train.js';
import { registerUsersCommands } from './users.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('airlock')
    .description('Airlock: the production layer around an AI model')
    .version(pkg.version)
    .option('-c, --config <file>', 'the config file (default: AIRLOCK_CONFIG, else ./airlock.yaml)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServeCommand(program);
  registerIngestCommand(program);
  registerMigrateCommand(program);
  registerCalibrateCommand(program);
  registerDriftCommand(program);
  registerReferenceCommand(program);
  registerReviewReportCommand(program);
  registerAuditCommand(program);
  registerProbeCommand(program);
  registerThresholdsCommands(program);
  registerTrainCommand(program);
  registerDemoCommand(program);
  registerConfigCommands(program);
  addContractAdminCommands(registerContractCommands(program));
  registerQuarantineCommands(program);
  registerDeliveryCommands(program);
  registerRunbookCommand(program);
  registerReadinessCommand(program);
  registerUsersCommands(program);
  registerPurgeCommand(program);
  registerBackupCommand(program);
  registerTokensCommands(program);
  // Usage mistakes at any depth (e.g. `users token create`) exit 2 through main(), not from inside commander.
  const override = (c: Command): void => {
    for (const sub of c.commands) {
      sub.exitOverride();
      override(sub);
    }
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; a usage mistake exits 2 (docs/design.md).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(err);
  }
}
