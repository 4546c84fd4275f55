import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { startVendorSimulator } from '../delivery/simulator.js';
import type { AirlockServer } from '../server/app.js';
import { demoConfig } from './demo/config.js';
import {
  auditProduction,
  calibrateThreshold,
  inferContract,
  loadDriftReference,
  probeModel,
  readCorpus,
  trainModel,
} from './demo/pilot.js';
import {
  accountForProduction,
  checkReadiness,
  Interruption,
  loadTest,
  openApi,
  productionMail,
  startServer,
  streamProduction,
  waitUntilSettled,
} from './demo/production.js';
import { SimulatedReviewer } from './demo/reviewer.js';
import { type DemoOptions, DemoRun, example, sleep } from './demo/workspace.js';
import { action } from './output.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run Airlock on real mail (the SpamAssassin corpus), pilot to production: audit, contract, training, calibration, threshold, probe, load test, then serving with drift, a schema change, review and delivery',
    )
    .option('--fast', 'a smaller slice that finishes on its own and checks its own accounting (for tests and CI)')
    .option('--workspace <dir>', 'where the demo writes its data, config and database', path.join(example, '.demo'))
    .option('--port <n>', 'the console and API port', '8080')
    .option('--rate <n>', 'production records per second', undefined)
    .option('--per-group <n>', 'mails taken from each corpus folder (default: all; 120 with --fast)')
    .action(action(async (opts: DemoOptions) => runDemo(opts)));
}

/**
 * `airlock demo`: the inbox-triage story on real mail, pilot to production — the pilot phase (src/cli/demo/pilot.ts)
 * writes the data, contract, model and evidence into the workspace; the production phase (src/cli/demo/production.ts)
 * serves the pipeline, streams production mail through it and accounts for every mail. Returns the exit code.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const run = new DemoRun(opts);
  run.prepareWorkspace();
  const corpus = await readCorpus(run);
  await inferContract(run);
  await trainModel(run);

  const sim = await startVendorSimulator({ preset: 'zendesk-enterprise', port: 0 });
  let server: AirlockServer | undefined;
  let reviewer: SimulatedReviewer | undefined;
  // Ctrl-C during production stops the stream and closes the server cleanly (before it, the pilot steps just end).
  const interruption = new Interruption();
  try {
    const goLive = new Date().toISOString().slice(0, 10);
    writeFileSync(run.file('airlock.yaml'), demoConfig(sim.url, run.port, goLive));
    await auditProduction(run);
    await calibrateThreshold(run);
    await probeModel(run);
    await loadDriftReference(run, corpus);

    server = await startServer(run);
    const api = await openApi(run, server);
    await loadTest(run, api, sim);
    await checkReadiness(run);

    run.say(
      `10. Production: ${corpus.parsed.production} mails streamed at ${run.rate}/s to ${api.base}; mid-stream the upstream renames "subject" to "title"`,
    );
    run.say(`   console: ${api.base}/  — sign in as lead / demo-lead-password or reviewer / demo-reviewer-password`);
    const mail = productionMail(corpus);
    const appliedBefore = sim.stats().effects;
    reviewer = new SimulatedReviewer(run, api, mail.truth, mail.ids);
    interruption.listen();
    const stream = await streamProduction(run, api, mail, interruption);
    await waitUntilSettled(run, api, stream, interruption);
    await reviewer.stop();
    if (interruption.interrupted) {
      run.say(`\nStopped (Ctrl-C) during production. Nothing is lost: every record is in ${run.file('airlock.db')}.`);
      return 130;
    }

    const ok = await accountForProduction(run, api, sim, mail, stream, { simulatedDecisions: reviewer.decisions, appliedBefore });
    run.say('\nPhases:');
    for (const p of run.phases) run.say(`  ${p.name.padEnd(12)} ${p.figure}`);
    if (!ok) return 1;
    if (run.fast) return 0;
    run.say(`\nThe console stays up at ${api.base}/ — Ctrl-C stops the demo.`);
    while (!interruption.interrupted) await sleep(200);
    run.say('\nStopping (Ctrl-C): the server finishes what it holds and closes.');
    return 0;
  } finally {
    interruption.stopListening();
    void reviewer?.stop();
    await server?.close();
    await sim.close();
  }
}
