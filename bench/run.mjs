// `npm run bench`: builds, then measures Airlock beside its ceiling/peer in the same run and writes
// bench/RESULTS.md. Knobs (for quick checks; the defaults are what RESULTS.md reports):
//   AIRLOCK_BENCH_POSTGRES_URL  a PostgreSQL server the bench may create and drop `airlock_bench` on
//                               (default postgres://postgres@127.0.0.1:5432/test; skipped if it does not answer)
//   BENCH_RECORDS (50000)  BENCH_RUNS (5)  BENCH_HTTP_SECONDS (10)  BENCH_AUDIT_MB (1024)  BENCH_DRIFT_N (1000000)  BENCH_CALIBRATION_N (1000000)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditSection, benchAudit } from './audit.mjs';
import { benchCalibration, calibrationSection, calibrationSummaryLine } from './calibration.mjs';
import { benchDeliveryPeers, deliveryPeersSection } from './delivery-peers.mjs';
import { flushDisk, fsyncMillis } from './disk.mjs';
import { benchDrift, driftSection, driftSummaryLine } from './drift.mjs';
import { benchGate } from './gate.mjs';
import { benchHttp } from './http.mjs';
import { benchIngest } from './ingest.mjs';
import { dropBenchDatabase, findPostgres, recreateBenchDatabase } from './postgres.mjs';
import { benchReview, reviewSection } from './review.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const version = (name) => require(`${name}/package.json`).version;
const intEnv = (name, dflt) => {
  const v = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

const RECORDS = intEnv('BENCH_RECORDS', 50_000);
const RUNS = intEnv('BENCH_RUNS', 5);
const BATCH = 500;
const WARMUP_RECORDS = Math.min(RECORDS, 10_000);
const HTTP_SECONDS = intEnv('BENCH_HTTP_SECONDS', 10);
const HTTP_WARMUP_SECONDS = Math.max(1, Math.round(HTTP_SECONDS / 5));
const CONNECTIONS = 50;
const AUDIT_MB = intEnv('BENCH_AUDIT_MB', 1024);
const DRIFT_N = intEnv('BENCH_DRIFT_N', 1_000_000);
const CALIBRATION_N = intEnv('BENCH_CALIBRATION_N', 1_000_000);

const log = (s) => console.log(s);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (x) => `${Math.round(x * 100)} %`;
const us = (rate) => (1e6 / rate).toFixed(1);

const started = performance.now();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-'));
const machine = {
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown',
  node: process.version,
  os: `${os.type()} ${os.release()}`,
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  fsyncMs: fsyncMillis(tmp),
  fsyncHttpMs: undefined,
};

const pgInfo = await findPostgres();
log(`Airlock bench — ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, ${machine.date}`);
log(
  pgInfo.skip
    ? `PostgreSQL: skipped — ${pgInfo.skip}`
    : `PostgreSQL ${pgInfo.version} (synchronous_commit=${pgInfo.synchronousCommit}), bench database airlock_bench`,
);

const ingest = [];
const http = {};
const peers = {};
let audit;
let gate;
let drift;
let review;
let calibration;
let deliveryPeers;
try {
  // ---- 1. bulk ingest ----
  log(
    `\n1. Bulk ingest: ${fmt(RECORDS)} records in batches of ${BATCH}, median of ${RUNS} runs after a ${fmt(WARMUP_RECORDS)}-record warm-up`,
  );
  flushDisk();
  const common = { tmp, records: RECORDS, batchSize: BATCH, runs: RUNS, warmup: WARMUP_RECORDS, log };
  ingest.push(await benchIngest({ ...common, backend: 'sqlite' }));
  if (!pgInfo.skip) ingest.push(await benchIngest({ ...common, backend: 'postgres', pg: pgInfo }));

  // ---- 2. single-record HTTP ----
  if (!pgInfo.skip) await dropBenchDatabase(pgInfo.adminUrl); // and checkpoint: no PostgreSQL writeback during the HTTP runs
  log(
    `\n2. Single-record HTTP ingest: autocannon, ${CONNECTIONS} connections, ${HTTP_SECONDS} s per target after ${HTTP_WARMUP_SECONDS} s of warm-up`,
  );
  const httpCommon = { seconds: HTTP_SECONDS, warmupSeconds: HTTP_WARMUP_SECONDS, connections: CONNECTIONS, log };
  // The peer is measured right before each Airlock target, so a pair sees the same machine state.
  const bare = async () => {
    flushDisk();
    return benchHttp({ ...httpCommon, label: 'bare Fastify (parse + 202, no storage)', args: ['bare'] });
  };
  peers.sqlite = await bare();
  flushDisk();
  machine.fsyncHttpMs = fsyncMillis(tmp);
  http.sqlite = await benchHttp({
    ...httpCommon,
    label: 'Airlock serve, SQLite',
    args: ['airlock', `sqlite:${path.join(tmp, 'http', 'airlock.db')}`, path.join(tmp, 'http')],
  });
  if (!pgInfo.skip) {
    peers.postgres = await bare();
    await recreateBenchDatabase(pgInfo.adminUrl);
    flushDisk();
    http.postgres = await benchHttp({
      ...httpCommon,
      label: 'Airlock serve, PostgreSQL',
      args: ['airlock', pgInfo.benchUrl, path.join(tmp, 'http-pg')],
    });
  }

  // ---- 3. audit of a raw sample ----
  log(`\n3. Audit: airlock audit vs pandas on ${fmt(AUDIT_MB)} MB of generated JSONL`);
  audit = await benchAudit({ tmp, megabytes: AUDIT_MB, log });

  // ---- 4. the contract gate per record ----
  log(`\n4. Contract gate: ${fmt(RECORDS)} records, median of ${RUNS} runs`);
  gate = await benchGate({ tmp, records: RECORDS, runs: RUNS, log });

  // ---- 5. drift statistics beside SciPy ----
  log(`\n5. Drift: KS and Wasserstein on ${fmt(DRIFT_N)} vs ${fmt(DRIFT_N)} values beside SciPy; summary cost and size`);
  drift = await benchDrift({ n: DRIFT_N, log });

  // ---- 6. the review queue under 50 concurrent reviewers ----
  log('\n6. Review queue: 50 concurrent reviewers from 100,000 open cases');
  review = await benchReview({ tmp, pg: pgInfo, log });

  // ---- 7. calibration metrics and the threshold search beside scikit-learn ----
  log(`\n7. Calibration: metrics, calibrator fits and the LTT threshold search on ${fmt(CALIBRATION_N)} predictions beside scikit-learn`);
  calibration = await benchCalibration({ n: CALIBRATION_N, log });

  // ---- 8. deliveries beside graphile-worker and pg-boss ----
  log('\n8. Deliveries to a no-op HTTP destination on PostgreSQL beside graphile-worker and pg-boss, rate limit off and on');
  deliveryPeers = await benchDeliveryPeers({ pg: pgInfo, log });
} finally {
  rmSync(tmp, { recursive: true, force: true });
  if (!pgInfo.skip) await dropBenchDatabase(pgInfo.adminUrl).catch(() => {});
}

const totalSeconds = (performance.now() - started) / 1000;
const markdown = report();
writeFileSync(path.join(here, 'RESULTS.md'), markdown);
log(`\n${summary()}`);
log(`\nWrote bench/RESULTS.md (bench took ${totalSeconds.toFixed(0)} s).`);

// ---- output ----

function goalLine() {
  const s = ingest.find((r) => r.backend === 'sqlite');
  const met = s.ratio >= 0.5;
  const cores = machine.cpus === 2 ? 'on 2 cores' : `on ${machine.cpus} cores (the goal is stated for 2)`;
  const range = `${Math.min(...s.ratios).toFixed(2)}–${Math.max(...s.ratios).toFixed(2)}`;
  return `Goal from the issue: Airlock ≥ half the ceiling on SQLite on 2 cores — ${met ? '**met**' : '**not met**'}: ${s.ratio.toFixed(2)} × ${cores} (single runs: ${range}).`;
}

function summary() {
  const lines = ['Summary'];
  for (const r of ingest) {
    lines.push(
      `  ingest ${r.backend.padEnd(8)}: Airlock ${fmt(r.airlock)} records/s vs ceiling ${fmt(r.ceiling)} records/s → ${r.ratio.toFixed(2)} ×`,
    );
  }
  if (pgInfo.skip) lines.push('  ingest postgres: skipped (no PostgreSQL)');
  for (const key of ['sqlite', 'postgres']) {
    const a = http[key];
    if (!a) continue;
    lines.push(
      `  http   ${key.padEnd(8)}: Airlock ${fmt(a.rps)} req/s, p99 ${a.p99} ms vs bare Fastify ${fmt(peers[key].rps)} req/s, p99 ${peers[key].p99} ms → ${(a.rps / peers[key].rps).toFixed(2)} × (${perTx(a)} requests per transaction)`,
    );
  }
  if (audit && !audit.skip && !audit.airlock.error) {
    lines.push(
      `  audit        : Airlock ${fmt(audit.airlock.rowsPerSecond)} rows/s, peak ${fmt(audit.airlock.peakMb)} MB vs pandas ${audit.pandas.error ? 'failed' : `${fmt(audit.pandas.rowsPerSecond)} rows/s, peak ${fmt(audit.pandas.peakMb)} MB`}`,
    );
  }
  if (gate) {
    lines.push(
      `  gate         : ${(gate.gateNs / 1000).toFixed(2)} µs/record in a SQLite transaction, Airlock contract ${(gate.contractNs / 1000).toFixed(2)} µs vs bare ajv ${(gate.bareNs / 1000).toFixed(2)} µs`,
    );
  }
  if (drift) lines.push(driftSummaryLine(drift));
  for (const r of review ?? []) {
    lines.push(
      `  review ${r.label.padEnd(10)}: claim p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms (goal < 50 ms), ${r.doubles} double claims`,
    );
  }
  if (calibration) lines.push(calibrationSummaryLine(calibration));
  lines.push(`  ${goalLine().replace(/\*\*/g, '')}`);
  return lines.join('\n');
}

function perTx(a) {
  return a.perTransaction ? a.perTransaction.toFixed(1) : 'n/a';
}

/** What the requests-per-transaction figures say about group commit. */
function groupCommitClause(hs, hp) {
  if (!hs.perTransaction) return 'the number of requests per transaction was not measured.';
  const floor = machine.fsyncHttpMs ? Math.round(1000 / machine.fsyncHttpMs) : undefined;
  if (hs.perTransaction < 1.5) {
    return (
      `on SQLite every request still got its own transaction (${perTx(hs)} per transaction), so throughput is bounded by one fsync per record` +
      (floor ? ` (~${fmt(floor)}/s at this disk's ${machine.fsyncHttpMs.toFixed(2)} ms)` : '') +
      (hp?.perTransaction ? `, whereas on PostgreSQL ${perTx(hp)} requests shared each transaction.` : '.')
    );
  }
  return `group commit shared each transaction between ${perTx(hs)} requests on SQLite${hp?.perTransaction ? ` and ${perTx(hp)} on PostgreSQL` : ''}.`;
}

function report() {
  const s = ingest.find((r) => r.backend === 'sqlite');
  const p = ingest.find((r) => r.backend === 'postgres');
  const runs = (xs) => xs.map(fmt).join(', ');
  const out = [];
  out.push('# Airlock benchmarks', '');
  out.push('Generated by `npm run bench` (bench/run.mjs); every figure stands beside its peer or ceiling measured in the same run.', '');
  out.push('| Machine | |', '|---|---|');
  out.push(`| CPUs | ${machine.cpus} (${machine.cpuModel}) |`);
  out.push(`| Node | ${machine.node} |`);
  out.push(`| OS | ${machine.os} |`);
  out.push(`| Date | ${machine.date} |`);
  out.push(`| SQLite | better-sqlite3 ${version('better-sqlite3')}, WAL, synchronous=FULL, file in the OS temp dir |`);
  out.push(
    `| PostgreSQL | ${pgInfo.skip ? `skipped: ${pgInfo.skip}` : `${pgInfo.version} on localhost, synchronous_commit=${pgInfo.synchronousCommit}, pg ${version('pg')}`} |`,
  );
  out.push(
    `| Disk (temp dir) | 4 kB write + fsync: median ${machine.fsyncMs.toFixed(2)} ms at the start, ${machine.fsyncHttpMs?.toFixed(2) ?? '–'} ms right before the Airlock SQLite HTTP run |`,
  );
  out.push(`| Whole bench | ${totalSeconds.toFixed(0)} s (without the build) |`, '');

  out.push('## 1. Bulk ingest through the contract gate and into the database', '');
  out.push(
    `${fmt(RECORDS)} support-ticket records (8 fields, ~0.4 kB each, all valid) in NDJSON batches of ${BATCH}, one batch in flight, ` +
      `one transaction per batch, every run on an empty database; records/s is the median of ${RUNS} runs after a ${fmt(WARMUP_RECORDS)}-record warm-up. ` +
      '**Airlock**: `JSON.parse` of each batch (the HTTP path’s NDJSON parser), then `ingestor.ingest(pipeline, items)` of ' +
      '`createAirlock(config)` (workers not started) against a JSON Schema 2020-12 contract. ' +
      '**Ceiling**: the same work with no Airlock code — `JSON.parse` per line, ajv 2020 + ajv-formats with the same options, a sha256 of the line, ' +
      'then the record row and one `received` event row per record inserted into the same tables with the same durability ' +
      '(better-sqlite3 prepared statements; pg with one `insert … select from unnest(…)` per table).',
    '',
  );
  out.push(
    '| Backend | Airlock records/s | Ceiling records/s | Airlock / ceiling (median of paired runs) | µs per record (Airlock / ceiling) | Runs: Airlock; ceiling |',
  );
  out.push('|---|---:|---:|---:|---:|---|');
  for (const r of ingest) {
    const name = r.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
    out.push(
      `| ${name} | ${fmt(r.airlock)} | ${fmt(r.ceiling)} | ${r.ratio.toFixed(2)} | ${us(r.airlock)} / ${us(r.ceiling)} | ${runs(r.runs.airlock)}; ${runs(r.runs.ceiling)} |`,
    );
  }
  if (!p) out.push('| PostgreSQL | skipped | skipped | | | no PostgreSQL answered |');
  out.push('');
  out.push(goalLine(), '');
  out.push(
    `What it means: on SQLite Airlock ingests at ${pct(s.ratio)} of what a hand-written parse-validate-insert loop reaches, ` +
      `i.e. its own machinery (id handling, canonical-JSON hashing, the duplicate-id lookup, Kysely query building, metrics) costs ` +
      `${(1e6 / s.airlock - 1e6 / s.ceiling).toFixed(1)} µs per record on top of the ${us(s.ceiling)} µs the durable work itself needs` +
      (p
        ? `; on PostgreSQL the ratio is ${p.ratio.toFixed(2)} (${(1e6 / p.airlock - 1e6 / p.ceiling).toFixed(1)} µs per record on top).`
        : '.'),
    '',
  );

  out.push('## 2. Single-record HTTP ingest', '');
  out.push(
    `autocannon ${version('autocannon')} (programmatic), ${CONNECTIONS} connections, ${HTTP_SECONDS} s per target after ${HTTP_WARMUP_SECONDS} s of warm-up, ` +
      'each request a `POST /v1/pipelines/tickets/records` of one JSON ticket with a unique `id`. The server runs in a child process ' +
      "(so the load generator does not share its event loop) on the same machine: **Airlock** is `createServer(config, { role: 'api' })` " +
      'listening on port 0 (an acknowledged record is committed to disk; workers not started); the **peer** is a bare Fastify ' +
      `${version('fastify')} route that parses the JSON and answers 202 without storing it, measured right before each Airlock target. ` +
      'req/s counts 2xx answers; every 2xx was checked to be a stored record.',
    '',
  );
  out.push(
    '| Target | req/s | p50 ms | p99 ms | Peer (bare Fastify) req/s | Peer p99 ms | Airlock / peer (req/s) | Requests per transaction | non-2xx / errors |',
  );
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [key, name] of [
    ['sqlite', 'Airlock serve, SQLite'],
    ['postgres', 'Airlock serve, PostgreSQL'],
  ]) {
    const a = http[key];
    const b = peers[key];
    if (!a) {
      out.push(`| ${name} | skipped | | | | | | | no PostgreSQL answered |`);
      continue;
    }
    out.push(
      `| ${name} | ${fmt(a.rps)} | ${a.p50} | ${a.p99} | ${fmt(b.rps)} | ${b.p99} | ${(a.rps / b.rps).toFixed(2)} | ${perTx(a)} | ${a.non2xx} / ${a.errors + a.timeouts} |`,
    );
  }
  out.push('');
  const hs = http.sqlite;
  const hp = http.postgres;
  out.push(
    `"Requests per transaction" is how many requests the Ingestor's group commit wrote in one transaction (counted in the server process). ` +
      `What it means: with every record durable before its 202, Airlock on SQLite answers ${fmt(hs.rps)} single-record requests/s ` +
      `(${pct(hs.rps / peers.sqlite.rps)} of an endpoint that stores nothing, p99 ${hs.p99} ms)` +
      (hp ? ` and ${fmt(hp.rps)} req/s on PostgreSQL (p99 ${hp.p99} ms)` : '') +
      `; ${groupCommitClause(hs, hp)}`,
    '',
  );
  if (audit) out.push(auditSection(audit));
  if (gate) {
    out.push(
      '',
      '## 4. The contract gate per record, beside bare ajv',
      '',
      `${fmt(gate.records)} support tickets (${fmt(gate.invalid)} of them break the contract), median of ${RUNS} runs. ` +
        '**bare ajv**: the compiled validator alone (ajv 2020, allErrors, formats) — the ceiling. ' +
        "**Airlock contract**: `Contract.validate`, the same ajv plus each violation's kind, field and JSON Pointer. " +
        '**gate**: `gateRecords` over batches of 500 in a SQLite transaction, as ingest runs it — the contract version in force, ' +
        'the halt state and rejected changes read once per batch, the policy per record (no record rows written).',
      '',
      '| | µs per record | × bare ajv |',
      '|---|---:|---:|',
      `| bare ajv | ${(gate.bareNs / 1000).toFixed(2)} | 1.00 |`,
      `| Airlock contract | ${(gate.contractNs / 1000).toFixed(2)} | ${(gate.contractNs / gate.bareNs).toFixed(2)} |`,
      `| gate in a SQLite transaction | ${(gate.gateNs / 1000).toFixed(2)} | ${(gate.gateNs / gate.bareNs).toFixed(2)} |`,
    );
  }
  if (drift) out.push(driftSection(drift));
  if (review) out.push(reviewSection(review));
  if (calibration) out.push(calibrationSection(calibration));
  if (deliveryPeers) out.push(deliveryPeersSection(deliveryPeers));
  return out.join('\n');
}
