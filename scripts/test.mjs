#!/usr/bin/env node
// `npm test`: every suite in turn, each within its time budget, then the time each took.
// With arguments (`npm test -- test/api.test.ts -t name`) it runs vitest with them instead, without budgets.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');

/** The suites, in the order they run: a vitest project each (see vitest.config.ts), with its budget in minutes. */
const SUITES = [
  { project: 'suites', budget: 10, what: 'unit tests, and the HTTP API, CLI, review and drift suites on both backends' },
  { project: 'timed', budget: 10, what: 'delivery under load and faults, outage, several workers (one file at a time)' },
  { project: 'faults', budget: 7, what: 'SIGKILL, PostgreSQL restart, outages during a burst, SQLite busy, clock jumps' },
  { project: 'demo', budget: 3, what: 'the demo behind npm start, on a slice of the corpus' },
  { project: 'browser', budget: 5, what: 'the console in Chromium' },
];

const args = process.argv.slice(2);
if (args.length > 0) {
  const child = spawn(process.execPath, [vitest, 'run', ...args], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  const results = [];
  for (const suite of SUITES) {
    const started = Date.now();
    console.log(`\n== suite ${suite.project} (budget ${suite.budget} min): ${suite.what}`);
    const outcome = await run(suite);
    const minutes = (Date.now() - started) / 60_000;
    results.push({ ...suite, minutes, outcome });
    console.log(`== suite ${suite.project}: ${outcome} in ${minutes.toFixed(1)} min (budget ${suite.budget} min)`);
  }
  console.log('\n| suite | result | minutes | budget |\n|---|---|---:|---:|');
  for (const r of results) console.log(`| ${r.project} | ${r.outcome} | ${r.minutes.toFixed(1)} | ${r.budget} |`);
  const total = results.reduce((s, r) => s + r.minutes, 0);
  console.log(
    `| all | ${results.every((r) => r.outcome === 'passed') ? 'passed' : 'FAILED'} | ${total.toFixed(1)} | ${SUITES.reduce((s, r) => s + r.budget, 0)} |`,
  );
  const dir = path.join(root, 'test-results');
  if (!existsSync(dir)) mkdirSync(dir);
  writeFileSync(path.join(dir, 'suites.json'), `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`);
  process.exit(results.every((r) => r.outcome === 'passed') ? 0 : 1);
}

/** Runs one project; past its budget the whole process group is stopped and the suite fails. */
function run(suite) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [vitest, 'run', '--project', suite.project], {
      cwd: root,
      stdio: 'inherit',
      detached: true,
    });
    const stop = () => {
      try {
        process.kill(-child.pid, 'SIGINT');
      } catch {}
    };
    process.once('SIGINT', stop);
    let overBudget = false;
    const timer = setTimeout(() => {
      overBudget = true;
      console.error(`== suite ${suite.project} went past its budget of ${suite.budget} min: stopping it`);
      try {
        process.kill(-child.pid, 'SIGTERM');
        setTimeout(() => {
          try {
            process.kill(-child.pid, 'SIGKILL');
          } catch {}
        }, 10_000).unref();
      } catch {}
    }, suite.budget * 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('SIGINT', stop);
      if (signal === 'SIGINT') process.exit(130);
      resolve(overBudget ? 'over budget' : code === 0 ? 'passed' : 'failed');
    });
  });
}
