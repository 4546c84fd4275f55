// Benchmark: the drift engine beside SciPy on the same data, in the same run.
//   1. KS (ks_2samp, method auto) and Wasserstein distance on BENCH_DRIFT_N vs BENCH_DRIFT_N values (default 1,000,000):
//      Airlock's ks2Samp / wassersteinDistance in this process, scipy.stats in a python3 child reading the same
//      float64 values from a file; each timed as the best of 3 (sorting included on both sides), statistics compared.
//   2. Summary update cost per record (5 fields: normal, log-normal, category, boolean, 1–5).
//   3. Size of a merged summary of 100 fields (JSON, and gzipped).
// Standalone: node bench/drift.mjs (after npm run build).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { best, runPython } from './python.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const SCIPY = `
import sys, time, json
import numpy as np
from scipy import stats
import scipy
x = np.fromfile(sys.argv[1], dtype=np.float64)
y = np.fromfile(sys.argv[2], dtype=np.float64)
def best(f):
    t = []
    for _ in range(3):
        t0 = time.perf_counter(); r = f(); t.append(time.perf_counter() - t0)
    return min(t), r
tk, ks = best(lambda: stats.ks_2samp(x, y))
tw, w = best(lambda: stats.wasserstein_distance(x, y))
print(json.dumps({'version': scipy.__version__, 'ks': [float(ks.statistic), float(ks.pvalue)], 'w': float(w), 'ks_s': tk, 'w_s': tw}))
`;

export async function benchDrift({ n = 1_000_000, log = console.log } = {}) {
  const drift = await import(path.join(here, '..', 'dist', 'drift', 'index.js'));
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-drift-'));
  try {
    // ---- 1. KS and Wasserstein beside SciPy ----
    const x = drift.normalSample(1, n);
    const y = drift.normalSample(2, n, { shift: 0.002 });
    writeFileSync(path.join(tmp, 'x.f64'), Buffer.from(x.buffer));
    writeFileSync(path.join(tmp, 'y.f64'), Buffer.from(y.buffer));
    const [ksS, ks] = best(() => drift.ks2Samp(x, y));
    const [wS, w] = best(() => drift.wassersteinDistance(x, y));
    let scipy;
    try {
      scipy = await runPython(SCIPY, [path.join(tmp, 'x.f64'), path.join(tmp, 'y.f64')]);
    } catch (err) {
      scipy = { skip: err.message.split('\n')[0] };
    }
    const stats = { n, ks: { airlock: ksS, statistic: ks.statistic, pValue: ks.pValue }, w: { airlock: wS, value: w }, scipy };
    log(`  KS ${fmt(n)} vs ${fmt(n)}: Airlock ${ksS.toFixed(3)} s (D = ${ks.statistic}, p = ${ks.pValue.toPrecision(6)})`);
    if (!scipy.skip) {
      log(
        `                       SciPy ${scipy.version} ${scipy.ks_s.toFixed(3)} s (D = ${scipy.ks[0]}, p = ${scipy.ks[1].toPrecision(6)})`,
      );
      log(`  Wasserstein: Airlock ${wS.toFixed(3)} s (${w}) vs SciPy ${scipy.w_s.toFixed(3)} s (${scipy.w})`);
    } else log(`  SciPy skipped: ${scipy.skip}`);

    // ---- 2. summary update cost ----
    const rows = 200_000;
    const r = drift.mulberry32(3);
    const cats = ['web', 'email', 'phone', 'chat', 'partner'];
    const records = Array.from({ length: rows }, (_, i) => ({
      score: x[i],
      amount: Math.round(Math.exp(x[i]) * 100) / 100,
      channel: cats[Math.floor(r() * r() * 5)],
      vip: r() < 0.2,
      stars: 1 + Math.floor(r() * 5),
    }));
    const spec = drift.buildSpec(records.slice(0, 20_000));
    const s = new drift.DriftSummary(spec);
    for (const rec of records.slice(0, 20_000)) s.add(rec); // warm-up
    const t0 = performance.now();
    const s2 = new drift.DriftSummary(spec);
    for (const rec of records) s2.add(rec);
    const perRecordUs = ((performance.now() - t0) * 1000) / rows;
    log(`  Summary update: ${perRecordUs.toFixed(2)} µs per record of 5 fields (${(perRecordUs / 5).toFixed(2)} µs per field value)`);

    // ---- 3. merged-summary size for 100 fields ----
    const wide = (seed, count) => {
      const g = drift.mulberry32(seed);
      return Array.from({ length: count }, () => {
        const o = {};
        for (let f = 0; f < 100; f++) {
          const kind = f % 4;
          let z = 0;
          for (let k = 0; k < 12; k++) z += g();
          z -= 6;
          o[`f${f}`] =
            kind === 0 ? z : kind === 1 ? Math.round(Math.exp(z) * 100) / 100 : kind === 2 ? cats[Math.floor(g() * 5)] : g() < 0.3;
        }
        return o;
      });
    };
    const wideSpec = drift.buildSpec(wide(10, 5000));
    const windows = Array.from({ length: 10 }, (_, i) => drift.summarize(wideSpec, wide(100 + i, 5000)));
    const merged = drift.mergeSummaries(wideSpec, ...windows);
    const json = JSON.stringify(merged.toJSON());
    const noReservoir = JSON.stringify(merged.toJSON(), (k, v) => (k === 'reservoir' ? undefined : v));
    const size = {
      bytes: Buffer.byteLength(json),
      gzip: gzipSync(json).length,
      withoutReservoir: Buffer.byteLength(noReservoir),
      withoutReservoirGzip: gzipSync(noReservoir).length,
      rows: merged.rows,
    };
    log(
      `  Merged summary, 100 fields (50 numeric, 25 categorical, 25 boolean), 10 windows × 5,000 rows: ${kb(size.bytes)} JSON (${kb(size.gzip)} gzipped); ` +
        `without the 1,000-value reservoirs ${kb(size.withoutReservoir)} (${kb(size.withoutReservoirGzip)} gzipped)`,
    );
    return { stats, perRecordUs, size };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const fmt = (v) => Math.round(v).toLocaleString('en-US');
const kb = (b) => `${(b / 1024).toFixed(0)} kB`;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number.parseInt(process.env.BENCH_DRIFT_N ?? '', 10);
  console.log('Drift engine beside SciPy');
  await benchDrift({ n: Number.isFinite(n) && n > 0 ? n : 1_000_000 });
}

/** One line for the bench summary. */
export function driftSummaryLine(d) {
  const s = d.stats;
  const sc = s.scipy.skip ? 'SciPy skipped' : `SciPy ${s.scipy.ks_s.toFixed(2)} s / ${s.scipy.w_s.toFixed(2)} s`;
  return `  drift        : KS / Wasserstein on ${fmt(s.n)} vs ${fmt(s.n)}: Airlock ${s.ks.airlock.toFixed(2)} s / ${s.w.airlock.toFixed(2)} s vs ${sc}; summary update ${d.perRecordUs.toFixed(2)} µs/record; 100-field summary ${kb(d.size.bytes)}`;
}

/** The RESULTS.md section. */
export function driftSection(d) {
  const s = d.stats;
  const same = (a, b) => (a === b ? 'identical' : `differs by ${Math.abs(a - b).toExponential(1)}`);
  const rows = s.scipy.skip
    ? [`| KS (ks_2samp) | ${s.ks.airlock.toFixed(3)} | skipped: ${s.scipy.skip} | | |`]
    : [
        `| KS (\`ks_2samp\`, method auto → asymptotic) | ${s.ks.airlock.toFixed(3)} | ${s.scipy.ks_s.toFixed(3)} | ${(s.scipy.ks_s / s.ks.airlock).toFixed(2)} | D ${same(s.ks.statistic, s.scipy.ks[0])}; p ${s.ks.pValue.toPrecision(6)} vs ${s.scipy.ks[1].toPrecision(6)} |`,
        `| Wasserstein (\`wasserstein_distance\`) | ${s.w.airlock.toFixed(3)} | ${s.scipy.w_s.toFixed(3)} | ${(s.scipy.w_s / s.w.airlock).toFixed(2)} | ${same(s.w.value, s.scipy.w)} (${s.w.value.toPrecision(8)}) |`,
      ];
  return [
    '## 5. Drift statistics beside SciPy',
    '',
    `${fmt(s.n)} vs ${fmt(s.n)} float64 values (Irwin–Hall normals, the second shifted by 0.002), the same values on both sides ` +
      `(SciPy ${s.scipy.version ?? ''} in a python3 child reads them from a file). Best of 3 runs each, sorting included.`,
    '',
    '| Statistic | Airlock s | SciPy s | SciPy / Airlock | Same statistic? |',
    '|---|---:|---:|---:|---|',
    ...rows,
    '',
    `Summary update cost: ${d.perRecordUs.toFixed(2)} µs per record of 5 fields (numeric, log-normal, category, boolean, 1–5), ` +
      `${(d.perRecordUs / 5).toFixed(2)} µs per field value. Merged summary of 100 fields (10 windows × 5,000 rows): ` +
      `${kb(d.size.bytes)} of JSON (${kb(d.size.gzip)} gzipped), of which the 1,000-value reservoirs are most; ` +
      `${kb(d.size.withoutReservoir)} (${kb(d.size.withoutReservoirGzip)} gzipped) without them.`,
    '',
  ].join('\n');
}
