// Time budget: 20 s; about 2 s (three runs of a small node script).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/serve.js';

/** An `npm audit --json` report (format 2) with one high advisory in a production dependency. */
const REPORT = {
  auditReportVersion: 2,
  vulnerabilities: {
    'left-pad': {
      name: 'left-pad',
      severity: 'high',
      via: [
        {
          source: 1099999,
          name: 'left-pad',
          title: 'Prototype pollution',
          url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc',
          severity: 'high',
        },
      ],
    },
    wrapper: { name: 'wrapper', severity: 'high', via: ['left-pad'] },
    tiny: {
      name: 'tiny',
      severity: 'low',
      via: [{ source: 1, name: 'tiny', title: 'Minor', url: 'https://github.com/advisories/GHSA-low', severity: 'low' }],
    },
  },
  metadata: { vulnerabilities: { info: 0, low: 1, moderate: 0, high: 2, critical: 0, total: 3 } },
};

function run(allowlist: unknown, report: unknown = REPORT): Promise<{ code: number; out: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'airlock-audit-'));
  writeFileSync(path.join(dir, 'report.json'), typeof report === 'string' ? report : JSON.stringify(report));
  writeFileSync(path.join(dir, 'allow.json'), JSON.stringify(allowlist));
  const args = [
    'scripts/audit-check.mjs',
    '--report',
    path.join(dir, 'report.json'),
    '--allowlist',
    path.join(dir, 'allow.json'),
    '--today',
    '2026-06-01',
  ];
  return new Promise((resolve) =>
    execFile(process.execPath, args, { cwd: repoRoot }, (err, stdout, stderr) =>
      resolve({ code: Number(err?.code ?? 0), out: stdout + stderr }),
    ),
  );
}

const entry = (review_by: string) => ({
  id: 'GHSA-aaaa-bbbb-cccc',
  package: 'left-pad',
  reason: 'only reached from the build, never with user input',
  review_by,
});

describe('npm audit gate (scripts/audit-check.mjs)', () => {
  it('fails on a high advisory that is not allowed, naming it; low ones do not block', async () => {
    const r = await run({ advisories: [] });
    expect(r.code).toBe(1);
    expect(r.out).toContain('0 critical, 2 high, 0 moderate, 1 low; 0 high/critical allowed by audit-allowlist.json, 1 blocking');
    expect(r.out).toContain('BLOCKING high left-pad GHSA-aaaa-bbbb-cccc Prototype pollution');
  });

  it('passes when the advisory is allowed with a reason and a review date still ahead; fails once the date has passed', async () => {
    const ok = await run({ advisories: [entry('2026-09-01')] });
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('allowed  high left-pad GHSA-aaaa-bbbb-cccc: only reached from the build');
    const expired = await run({ advisories: [entry('2026-05-31')] });
    expect(expired.code).toBe(1);
    expect(expired.out).toContain('its allow-list entry expired on 2026-05-31');
  });

  it('refuses an allow-list entry without a reason (exit 2), and warns without failing when the endpoint cannot be reached', async () => {
    const bad = await run({ advisories: [{ id: 'GHSA-aaaa-bbbb-cccc', package: 'left-pad', review_by: '2026-09-01' }] });
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('advisories[0] needs a "reason"');
    const offline = await run(
      { advisories: [] },
      { message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk' },
    );
    expect(offline.code).toBe(0);
    expect(offline.out).toContain('WARNING: the npm audit endpoint could not be reached (405 Method Not Allowed');
  });
});
