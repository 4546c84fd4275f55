// Benchmark 3: `airlock audit` throughput and peak memory on a generated JSONL file, beside pandas on the same
// file in the same run (read_json(lines=True) + describe(include='all') + isna().sum() — the usual first look).
// Both run as child processes under /usr/bin/time -v, which reports each one's peak RSS.
//   BENCH_AUDIT_MB (1024)  size of the generated file in MB
// Standalone: node bench/audit.mjs (after npm run build).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, '..', 'bin', 'airlock');

/** A small deterministic PRNG (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = 'order refund late broken invoice login password shipping address card charge account email urgent thanks please help'.split(
  ' ',
);
const STATUS = ['open', 'pending', 'closed', 'escalated', 'spam'];

/** Writes ~`bytes` of support-ticket JSONL (~330 bytes a row: 12 fields, nested, optional, a few messy values). */
export async function generateJsonl(file, bytes, seed = 1) {
  const r = rng(seed);
  const out = createWriteStream(file);
  let written = 0;
  let rows = 0;
  const start = Date.UTC(2024, 0, 1);
  while (written < bytes) {
    const lines = [];
    for (let k = 0; k < 2000; k++) {
      rows++;
      const n = 3 + Math.floor(r() * 12);
      const words = Array.from({ length: n }, () => WORDS[Math.floor(r() * WORDS.length)]);
      const rec = {
        id: rows,
        created_at: new Date(start + Math.floor(r() * 120 * 86_400_000)).toISOString(),
        customer: {
          name: `Customer ${Math.floor(r() * 50_000)}`,
          email: `c${Math.floor(r() * 50_000)}@example.com`,
          tier: r() < 0.1 ? null : ['free', 'pro', 'team'][Math.floor(r() * 3)],
        },
        subject: words.slice(0, 4).join(' '),
        body: r() < 0.01 ? `<p>${words.join(' ')}</p>` : r() < 0.005 ? `${words.join(' ')} cafÃ©` : words.join(' '),
        status: STATUS[Math.floor(r() * STATUS.length)],
        amount: r() < 0.05 ? String(Math.round(r() * 50_000) / 100) : Math.round(r() * 50_000) / 100,
        priority: Math.floor(r() * 5),
        tags: words.slice(0, Math.floor(r() * 4)),
      };
      if (r() < 0.7) rec.phone = `+1 555 ${String(Math.floor(r() * 1e7)).padStart(7, '0')}`;
      if (r() < 0.3) rec.order_id = crypto.randomUUID();
      lines.push(JSON.stringify(rec));
    }
    const chunk = `${lines.join('\n')}\n`;
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await new Promise((res) => out.once('drain', res));
  }
  await new Promise((res, rej) => out.end((e) => (e ? rej(e) : res())));
  return { rows, bytes: statSync(file).size };
}

// describe() on a column of dicts is quadratic in pandas 1.5 (hours at this size) and fails on lists (unhashable),
// so nested objects are expanded into dotted columns (json_normalize, as the audit sees them) and lists become tuples.
const PANDAS = `
import sys, time
import pandas as pd
t0 = time.perf_counter()
df = pd.read_json(sys.argv[1], lines=True)
for c in list(df.columns):
    kinds = set(type(v) for v in df[c].dropna().head(1000))
    if dict in kinds:
        nested = pd.json_normalize(df[c].map(lambda v: v if isinstance(v, dict) else {}).tolist()).add_prefix(c + '.')
        df = pd.concat([df.drop(columns=[c]), nested], axis=1)
    elif list in kinds:
        df[c] = df[c].map(lambda v: tuple(v) if isinstance(v, list) else v)
d = df.describe(include='all', datetime_is_numeric=True)
nulls = df.isna().sum()
print(len(df), len(df.columns), time.perf_counter() - t0)
`;

/** Runs a command under /usr/bin/time -v: wall seconds, peak RSS (MB), exit code, the last lines of its stderr. */
function timed(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-v', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      if (stdout.length < 1e6) stdout += d;
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ seconds, peakMb: rss ? Number(rss[1]) / 1024 : null, code, stdout, stderr: stderr.split('\n').slice(-30).join('\n') });
    });
  });
}

export async function benchAudit({ tmp, megabytes, log = console.log }) {
  if (!existsSync('/usr/bin/time')) return { skip: '/usr/bin/time is not installed (apt-get install time)' };
  const file = path.join(tmp, 'audit-sample.jsonl');
  const t0 = performance.now();
  const gen = await generateJsonl(file, megabytes * 1024 * 1024);
  log(
    `  generated ${gen.rows.toLocaleString('en-US')} rows, ${(gen.bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );
  const a = await timed(process.execPath, [bin, 'audit', file, '--json', '--key', 'id', '--time-field', 'created_at']);
  let airlock;
  if (a.code !== 0) airlock = { error: `exit ${a.code}: ${a.stderr}` };
  else {
    const report = JSON.parse(a.stdout);
    airlock = {
      rows: report.rows.total,
      fields: report.fields.length,
      seconds: a.seconds,
      peakMb: a.peakMb,
      rowsPerSecond: report.rows.total / a.seconds,
    };
  }
  log(
    `  airlock audit: ${airlock.error ?? `${fmt(airlock.rowsPerSecond)} rows/s, ${airlock.seconds.toFixed(1)} s, peak RSS ${fmt(airlock.peakMb)} MB`}`,
  );
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const p = await timed(python, ['-c', PANDAS, file]);
  let pandas;
  if (p.code !== 0)
    pandas = { error: `exit ${p.code}: ${p.stderr.trim().split('\n').slice(-3).join(' ')}`, seconds: p.seconds, peakMb: p.peakMb };
  else {
    const [rows, cols] = p.stdout.trim().split(/\s+/).map(Number);
    pandas = { rows, fields: cols, seconds: p.seconds, peakMb: p.peakMb, rowsPerSecond: rows / p.seconds };
  }
  const version = await timed(python, ['-c', 'import pandas; print(pandas.__version__)']);
  pandas.version = version.stdout.trim();
  log(
    `  pandas ${pandas.version}: ${pandas.error ?? `${fmt(pandas.rowsPerSecond)} rows/s, ${pandas.seconds.toFixed(1)} s, peak RSS ${fmt(pandas.peakMb)} MB`}`,
  );
  rmSync(file, { force: true });
  return { megabytes, fileBytes: gen.bytes, rows: gen.rows, airlock, pandas };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** The RESULTS.md section. */
export function auditSection(r) {
  const out = ['## 3. Auditing a raw sample', ''];
  if (r.skip) return [...out, `Skipped: ${r.skip}.`, ''].join('\n');
  out.push(
    `A generated support-ticket JSONL file of ${(r.fileBytes / 1e6).toFixed(0)} MB (${fmt(r.rows)} rows, 12 fields with nested objects, arrays, ` +
      'optional fields, a few numbers in strings, HTML and mojibake). **Airlock**: `airlock audit FILE --json --key id --time-field created_at` ' +
      '(streams the file; every field profiled: types, distinct, top values, quantiles, formats, text issues; duplicates, duplicate keys, time span and changes). ' +
      '**Peer**: pandas `read_json(lines=True)`, nested objects expanded into dotted columns with `json_normalize` and lists made tuples ' +
      "(without that `describe` is quadratic on a column of dicts and fails on lists), then `describe(include='all')` + `isna().sum()`, " +
      'on the same file. Both are child processes ' +
      'timed from spawn to exit; peak RSS from `/usr/bin/time -v`.',
    '',
  );
  out.push('| Tool | rows/s | seconds | peak RSS MB | |', '|---|---:|---:|---:|---|');
  const row = (name, x) =>
    x.error
      ? `| ${name} | failed | ${x.seconds?.toFixed(1) ?? ''} | ${x.peakMb ? fmt(x.peakMb) : ''} | ${x.error.replace(/\|/g, '/').slice(0, 200)} |`
      : `| ${name} | ${fmt(x.rowsPerSecond)} | ${x.seconds.toFixed(1)} | ${fmt(x.peakMb)} | ${x.fields} fields |`;
  out.push(row('airlock audit', r.airlock), row(`pandas ${r.pandas.version}`, r.pandas), '');
  if (!r.airlock.error && !r.pandas.error) {
    out.push(
      `What it means: on this file the audit runs at ${(r.airlock.rowsPerSecond / r.pandas.rowsPerSecond).toFixed(2)} × pandas' speed ` +
        `while holding ${fmt(r.airlock.peakMb)} MB at its peak against pandas' ${fmt(r.pandas.peakMb)} MB ` +
        `(${((r.pandas.peakMb / r.fileBytes) * 1e6).toFixed(1)} × the file's size for pandas, ${((r.airlock.peakMb / r.fileBytes) * 1e6).toFixed(2)} × for the audit): ` +
        'the audit’s memory depends on the number of fields and the sketch sizes, not on the number of rows.',
      '',
    );
  }
  return out.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const mb = Number.parseInt(process.env.BENCH_AUDIT_MB ?? '', 10) || 1024;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-audit-'));
  try {
    console.log(`Audit bench: ${mb} MB of JSONL`);
    const r = await benchAudit({ tmp, megabytes: mb });
    console.log(`\n${auditSection(r)}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
