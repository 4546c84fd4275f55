import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort } from './support/serve.js';

describe('npm run quickstart', () => {
  it('serves the example pipeline, ingests its tickets and reports where every record ended up', async () => {
    rmSync('examples/quickstart/.airlock', { recursive: true, force: true });
    const port = await freePort();
    const run = spawnSync(process.execPath, ['examples/quickstart/run.mjs', '--once'], {
      env: { ...process.env, AIRLOCK_PORT: String(port) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('63 accepted (3 quarantined)');
    // 60 tickets pass the contract: each is either delivered or waiting in review; 3 are quarantined.
    const statuses = /Records by status: (\{[^}]*\})/.exec(run.stdout.replace(/\n\s*/g, ' '))?.[1] ?? '';
    const counts = Object.fromEntries([...statuses.matchAll(/(\w+): (\d+)/g)].map((m) => [m[1], Number(m[2])]));
    expect(counts.quarantined).toBe(3);
    expect((counts.delivered ?? 0) + (counts.in_review ?? 0)).toBe(60);
    expect(counts.delivered).toBeGreaterThan(30);
    expect(run.stdout).toMatch(new RegExp(`Helpdesk: ${counts.delivered} tickets created`));
  }, 90_000);
});
