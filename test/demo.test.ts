import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAirlock } from './support/cli.js';
import { ensureBuilt } from './support/serve.js';

/**
 * `airlock demo --fast` (what `npm start` runs, on a smaller slice): the whole story on the real SpamAssassin corpus,
 * and its own accounting — every production mail sent is applied at the simulated Zendesk, dead-lettered, waiting in
 * review, quarantined or discarded, counted through the simulator and the API.
 */
describe('airlock demo --fast', () => {
  const workspace = mkdtempSync(path.join(tmpdir(), 'airlock-demo-'));
  afterAll(() => rmSync(workspace, { recursive: true, force: true }));

  it('runs pilot to production on real mail, names every phase with its figure, and loses nothing', { timeout: 420_000 }, async () => {
    ensureBuilt();
    const run = await runAirlock(['demo', '--fast', '--workspace', workspace, '--port', '0', '--per-group', '80'], {
      cwd: workspace,
      timeoutMs: 400_000,
    });
    expect(run.stderr).not.toMatch(/Error|at .*\.js:\d+/);
    expect(run.code).toBe(0);
    const phases = run.stdout.slice(run.stdout.indexOf('\nPhases:'));
    for (const name of ['audit', 'calibration', 'threshold', 'probe', 'load test', 'readiness', 'drift', 'halt', 'review', 'delivery']) {
      expect(phases).toMatch(new RegExp(`\\n  ${name}\\s+\\S`));
    }
    // 80 mails from each of the three production folders.
    expect(run.stdout).toMatch(
      /Sent 240 = applied (\d+) \+ dead letters (\d+) \+ in review (\d+) \+ quarantined (\d+) \+ discarded (\d+) → nothing lost/,
    );
    expect(run.stdout).toMatch(/halted: unknown_field on "title"/);
    expect(phases).toMatch(/load test\s+offered 10\/s .* lost 0, duplicate effects 0/);
    expect(phases).toMatch(/delivery\s+\d+ tickets applied .* 0 duplicate effects/);
    // The printed commands can be re-run by hand from the workspace; the token is never printed.
    expect(run.stdout).toContain('$ airlock calibrate calibration.jsonl');
    expect(run.stdout).not.toMatch(/alk_[A-Za-z0-9_-]{20,}/);
  });
});
