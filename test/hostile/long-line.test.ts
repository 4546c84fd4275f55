// Time budget: 60 s. Issue: `airlock audit` on a small .gz holding one line of hundreds of MB ran past 120 s at 500 MB
// (the line buffer was concatenated on every chunk). The line is now cut at --max-line-bytes, reported by number and
// skipped in bounded memory, and the audit reads on.
import { createWriteStream, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runAirlock } from '../support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'airlock-long-line-'));
const LINE_MB = 300;
let file = '';

beforeAll(async () => {
  file = path.join(dir, 'sample.jsonl.gz');
  const gzip = createGzip({ level: 9 });
  const out = createWriteStream(file);
  gzip.pipe(out);
  const chunk = Buffer.alloc(1 << 20, 0x61);
  gzip.write('{"id":"huge","text":"');
  for (let i = 0; i < LINE_MB; i++) if (!gzip.write(chunk)) await new Promise<void>((r) => gzip.once('drain', () => r()));
  gzip.end('"}\n{"id":"after","text":"small"}\n');
  await new Promise<void>((r) => out.on('close', () => r()));
}, 60_000);

describe('airlock audit on a compressed file with one enormous line', () => {
  it('reports the line as unparseable by number, reads the next one, and stays within a bounded memory', async () => {
    expect(statSync(file).size).toBeLessThan(2 * 1024 * 1024);
    // Reports the child's peak resident memory on exit (in kB), so the test sees what the process really held.
    const probe = path.join(dir, 'max-rss.cjs');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write('max_rss_kb=' + process.resourceUsage().maxRSS + '\\n'));\n");
    const r = await runAirlock(['audit', file, '--json'], { cwd: dir, env: { NODE_OPTIONS: `--require ${probe}` }, timeoutMs: 50_000 });
    expect([0, 1]).toContain(r.code);
    const report = JSON.parse(r.stdout) as {
      rows: { total: number; parsed: number; unparseable: number };
      issues: { kind: string; examples?: unknown[] }[];
    };
    expect(report.rows.parsed).toBe(1);
    expect(report.rows.unparseable).toBe(1);
    expect(r.stdout).toMatch(/longer than the limit of 16777216 \(--max-line-bytes\)/);
    const rssMb = Number(/max_rss_kb=(\d+)/.exec(r.stderr)?.[1]) / 1024;
    // The line is 300 MB; reading it whole would need at least that. The limit keeps 16 MB of it.
    expect(rssMb).toBeLessThan(LINE_MB * 0.6);
  }, 60_000);

  it('takes a lower limit from --max-line-bytes, and refuses a limit that is not a number', async () => {
    const small = path.join(dir, 'small.jsonl');
    writeFileSync(small, `{"a":"${'x'.repeat(200)}"}\n{"a":"ok"}\n`);
    const r = await runAirlock(['audit', small, '--json', '--max-line-bytes', '100'], { cwd: dir });
    expect(r.stdout).toMatch(/longer than the limit of 100/);
    const bad = await runAirlock(['audit', small, '--max-line-bytes', 'lots'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-line-bytes must be a whole number/);
  });
});
