import { defineConfig } from 'vitest/config';

/**
 * Suites that measure rates, timeouts and recovery on real processes: they run one at a time, after the rest, so
 * that two of them never share the 2 cores (a rate measured under another suite's load is the other suite's figure).
 */
const timed = ['test/delivery-*.test.ts', 'test/outage.test.ts', 'test/workers.test.ts'];

/** Faults injected into real processes and databases (issue: hardening): one file at a time, after the timed suites. */
const faults = ['test/faults/**/*.test.ts'];

/** The demo behind `npm start`, on a slice of the corpus. */
const demo = ['test/demo.test.ts'];

/** The console in a real browser (Chromium): one file at a time, last, within a time budget (about 3 minutes in all). */
const browser = ['test/console/**/*.test.ts'];

export default defineConfig({
  test: {
    // Unit tests are fast; tests that spawn the CLI several times need more than 20 s on 2 loaded cores (CI saw 20 s
    // timeouts when the machine ran at half speed); end-to-end suites set their own, larger budgets per test.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suites',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: [...timed, ...faults, ...demo, ...browser],
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: { name: 'timed', include: timed, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
      {
        extends: true,
        test: { name: 'faults', include: faults, fileParallelism: false, sequence: { groupOrder: 3 } },
      },
      {
        extends: true,
        test: { name: 'demo', include: demo, fileParallelism: false, sequence: { groupOrder: 4 } },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          include: browser,
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 5 },
        },
      },
    ],
  },
});
