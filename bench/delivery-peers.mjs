// Deliveries per second to a no-op loopback HTTP destination on PostgreSQL, beside graphile-worker and pg-boss doing
// the same work in the same run: every job is one HTTP POST of the same JSON body, jobs are in the database before the
// clock starts, every system gets a fresh database, the same connection pool (10) and the same concurrency (16
// requests in flight), and is configured as its documentation recommends for throughput. With rate limits off, and on
// (100/s: Airlock's `rate_limit`; the peers, which have no rate limit of their own, a token bucket in the job handler
// with the same burst), plus how well each kept to the limit, measured at the destination.
//   node bench/delivery-peers.mjs        (after npm run build; writes its section into bench/RESULTS.md)
//   BENCH_DELIVERY_JOBS (5000)  BENCH_DELIVERY_LIMITED_JOBS (1500)  BENCH_DELIVERY_LIMIT (100)
//   BENCH_DELIVERY_RUNS (5): runs of each system without a limit, interleaved (A B C A B C …); the median is reported
import { fork } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseConfig } from '../dist/index.js';
import { createAirlock } from '../dist/pipeline/airlock.js';
import { createLogger } from '../dist/runtime/logger.js';
import { openStore } from '../dist/store/db.js';
import { findPostgres, recreateBenchDatabase } from './postgres.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const version = (name) => require(`${name}/package.json`).version;
const intEnv = (name, dflt) => {
  const v = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};

const POOL = 10;
const CONCURRENCY = 16;
const BODY = {
  record: { id: 't-0', subject: 'Printer on fire', customer_id: 42, body: 'The office printer started smoking during a print job.' },
  decision: { label: 'urgent', source: 'auto', confidence: 0.97 },
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const HEADING = 'Deliveries beside graphile-worker and pg-boss';

// ---- the destination: a child process that answers 200 at once and remembers when each request came ----
if (process.argv[2] === '--target') {
  let times = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      times.push(performance.timeOrigin + performance.now());
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  server.keepAliveTimeout = 10_000;
  server.listen(0, '127.0.0.1', () => process.send({ url: `http://127.0.0.1:${server.address().port}/hook` }));
  process.on('message', (m) => {
    if (m === 'count') process.send({ count: times.length });
    else if (m === 'times') process.send({ times });
    else if (m === 'reset') {
      times = [];
      process.send({ reset: true });
    } else if (m === 'stop') server.close(() => process.exit(0));
  });
}

function startTarget() {
  const child = fork(self, ['--target'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = (m, key) =>
    new Promise((resolve) => {
      const on = (msg) => {
        if (key in msg) {
          child.off('message', on);
          resolve(msg[key]);
        }
      };
      child.on('message', on);
      child.send(m);
    });
  return new Promise((resolve) => {
    child.once('message', (m) =>
      resolve({
        url: m.url,
        count: () => ask('count', 'count'),
        times: () => ask('times', 'times'),
        reset: () => ask('reset', 'reset'),
        stop: () => child.send('stop'),
      }),
    );
  });
}

/** A token bucket as Airlock's (rate per second, burst a fifth of a second's worth): the peers' rate limit. */
function tokenBucket(perSecond) {
  const burst = Math.max(1, Math.ceil(perSecond * 0.2));
  let tokens = burst;
  let last = performance.now();
  return async function take() {
    for (;;) {
      const t = performance.now();
      tokens = Math.min(burst, tokens + ((t - last) * perSecond) / 1000);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - tokens) * 1000) / perSecond)));
    }
  };
}

const post = async (url, body) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  await res.text();
  if (res.status >= 300) throw new Error(`destination answered ${res.status}`);
};

async function waitUntil(check, what, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- the three systems ----

async function runAirlock({ pgInfo, target, jobs, limit }) {
  const config = parseConfig(`
database: "${pgInfo.benchUrl}"
logging: { level: silent }
worker: { poll_interval: 20ms }
pipelines:
  p:
    model: { type: http, url: "http://127.0.0.1:9/unused" }
    destinations:
      target:
        type: webhook
        url: "${target.url}"
        concurrency: ${CONCURRENCY}
        timeout: 10s
        rate_limit: ${limit ? `${limit}/s` : '1000000/s'}
`);
  const store = openStore(config.database, { poolSize: POOL });
  const airlock = await createAirlock(config, { store, logger: createLogger('silent') });
  const client = new pg.Client({ connectionString: pgInfo.benchUrl });
  await client.connect();
  const now = Date.now();
  // The state right after the decision stage committed N records: each decided, with its outbox row pending.
  await client.query(
    `insert into records (pipeline, id, body, body_hash, status, decision, score_attempts, available_at, created_at, updated_at)
     select 'p', 'r-' || g, $1, md5(g::text), 'decided', $2, 0, $3, $3, $3 from generate_series(1, $4) g`,
    [JSON.stringify(BODY.record), JSON.stringify(BODY.decision), now, jobs],
  );
  await client.query(
    `insert into deliveries (pipeline, record_id, destination, idempotency_key, status, attempts, next_attempt_at, created_at, updated_at)
     select 'p', 'r-' || g, 'target', 'k-' || g, 'pending', 0, $1, $1, $1 from generate_series(1, $2) g`,
    [now, jobs],
  );
  await client.query('analyze');
  const started = performance.now();
  airlock.workers.start();
  const done = async () =>
    Number((await client.query(`select count(*)::int as n from deliveries where status = 'delivered'`)).rows[0].n) === jobs;
  await waitUntil(done, 'Airlock to deliver every job');
  const seconds = (performance.now() - started) / 1000;
  await airlock.close();
  await store.close();
  await client.end();
  return seconds;
}

async function runGraphileWorker({ pgInfo, target, jobs, limit }) {
  const { run, runMigrations } = await import('graphile-worker');
  const logFactory = () => () => {};
  const { Logger } = await import('graphile-worker');
  const logger = new Logger(logFactory);
  await runMigrations({ connectionString: pgInfo.benchUrl, logger });
  const client = new pg.Client({ connectionString: pgInfo.benchUrl });
  await client.connect();
  // Bulk insert through the library's own SQL API (add_jobs), one row per job.
  await client.query(
    `select graphile_worker.add_jobs(array(
       select json_populate_record(null::graphile_worker.job_spec, json_build_object('identifier', 'post', 'payload', json_build_object('n', g, 'body', $1::json)))
       from generate_series(1, $2) g))`,
    [JSON.stringify(BODY), jobs],
  );
  const take = limit ? tokenBucket(limit) : undefined;
  const started = performance.now();
  // Its docs: concurrency is the knob for throughput; jobs are announced by LISTEN/NOTIFY, so polling is a fallback.
  const runner = await run({
    connectionString: pgInfo.benchUrl,
    concurrency: CONCURRENCY,
    maxPoolSize: POOL,
    noHandleSignals: true,
    pollInterval: 1000,
    logger,
    taskList: {
      post: async (payload) => {
        if (take) await take();
        await post(target.url, JSON.stringify(payload.body));
      },
    },
  });
  const done = async () => Number((await client.query('select count(*)::int as n from graphile_worker.jobs')).rows[0].n) === 0;
  await waitUntil(done, 'graphile-worker to finish every job');
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  await client.end();
  return seconds;
}

async function runPgBoss({ pgInfo, target, jobs, limit }) {
  const { default: PgBoss } = await import('pg-boss');
  const boss = new PgBoss({ connectionString: pgInfo.benchUrl, max: POOL, supervise: false, schedule: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue('post');
  for (let i = 0; i < jobs; i += 1000) {
    await boss.insert(Array.from({ length: Math.min(1000, jobs - i) }, (_, k) => ({ name: 'post', data: { n: i + k, body: BODY } })));
  }
  const client = new pg.Client({ connectionString: pgInfo.benchUrl });
  await client.connect();
  const take = limit ? tokenBucket(limit) : undefined;
  // Its docs: fetch in batches (batchSize) and run several workers; each batch's jobs go out CONCURRENCY / WORKERS at
  // a time, so at most CONCURRENCY requests are in flight in all.
  const WORKERS = 2;
  const BATCH = 100;
  const perWorker = CONCURRENCY / WORKERS;
  const handler = async (batch) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(perWorker, batch.length) }, async () => {
        while (next < batch.length) {
          const job = batch[next++];
          if (take) await take();
          await post(target.url, JSON.stringify(job.data.body));
        }
      }),
    );
  };
  const started = performance.now();
  for (let w = 0; w < WORKERS; w++) await boss.work('post', { batchSize: BATCH, pollingIntervalSeconds: 0.5 }, handler);
  const done = async () =>
    Number((await client.query(`select count(*)::int as n from pgboss.job where name = 'post' and state = 'completed'`)).rows[0].n) ===
    jobs;
  await waitUntil(done, 'pg-boss to complete every job');
  const seconds = (performance.now() - started) / 1000;
  await boss.stop({ graceful: false, wait: true, close: true });
  await client.end();
  return seconds;
}

/** Adherence at the destination: the achieved rate, and the most requests in any one-second window. */
function adherence(times, limit) {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi] - sorted[lo] >= 1000) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  const span = (sorted[sorted.length - 1] - sorted[0]) / 1000;
  // Requests over the limit: in the worst one-second window, beyond limit + the burst a bucket may add (a fifth of a second).
  const allowed = limit + Math.ceil(limit * 0.2);
  return { achieved: (sorted.length - 1) / span, peak, overLimit: Math.max(0, peak - allowed) };
}

const SYSTEMS = [
  ['Airlock', runAirlock],
  ['graphile-worker', runGraphileWorker],
  ['pg-boss', runPgBoss],
];

export async function benchDeliveryPeers({ pg: pgInfo, log = console.log } = {}) {
  if (!pgInfo || pgInfo.skip) return { skip: pgInfo?.skip ?? 'no PostgreSQL' };
  const jobs = intEnv('BENCH_DELIVERY_JOBS', 5_000);
  const limitedJobs = intEnv('BENCH_DELIVERY_LIMITED_JOBS', 1_500);
  const limit = intEnv('BENCH_DELIVERY_LIMIT', 100);
  const runs = intEnv('BENCH_DELIVERY_RUNS', 5);
  const target = await startTarget();
  const rows = [];
  try {
    for (const [mode, n, lim, repeat] of [
      ['off', jobs, undefined, runs],
      ['on', limitedJobs, limit, 1],
    ]) {
      // Interleaved runs, so that a slow spell of the shared machine falls on every system rather than on one.
      const samples = new Map(SYSTEMS.map(([name]) => [name, []]));
      for (let k = 0; k < repeat; k++) {
        for (const [name, fn] of SYSTEMS) {
          await recreateBenchDatabase(pgInfo.adminUrl);
          await target.reset();
          const seconds = await fn({ pgInfo, target, jobs: n, limit: lim });
          const times = await target.times();
          samples.get(name).push({ seconds, times });
          log(
            `  rate limit ${mode.padEnd(3)} ${name.padEnd(16)} run ${k + 1}/${repeat}: ${fmt(n / seconds)} deliveries/s (${fmt(n)} in ${seconds.toFixed(2)} s, ${fmt(times.length)} requests)`,
          );
        }
      }
      for (const [name] of SYSTEMS) {
        const inOrder = samples.get(name).map((x) => x.seconds);
        const all = [...samples.get(name)].sort((a, b) => a.seconds - b.seconds);
        const mid = all[Math.floor(all.length / 2)];
        const row = {
          mode,
          name,
          jobs: n,
          runs: all.length,
          seconds: mid.seconds,
          perSecond: n / mid.seconds,
          range: [n / all[all.length - 1].seconds, n / all[0].seconds],
          secondsByRun: inOrder,
          requests: mid.times.length,
        };
        if (lim) Object.assign(row, adherence(mid.times, lim));
        rows.push(row);
        if (lim) log(`  rate limit ${mode.padEnd(3)} ${name.padEnd(16)} peak ${row.peak} in 1 s for a limit of ${lim}/s`);
      }
    }
  } finally {
    target.stop();
  }
  return {
    jobs,
    limitedJobs,
    limit,
    runs,
    rows,
    // When and how busy the machine was (this section may be run on its own, apart from the rest of the bench).
    when: { date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), load: os.loadavg()[0], cpus: os.availableParallelism() },
    versions: { graphile: version('graphile-worker'), pgboss: version('pg-boss'), pg: version('pg') },
  };
}

export function deliveryPeersSection(r) {
  const out = ['', `## 8. ${HEADING}`, ''];
  if (r.skip) {
    out.push(`Skipped: ${r.skip}`);
    return out.join('\n');
  }
  out.push(
    `Every job is one HTTP POST of the same ~0.3 kB JSON body to a no-op destination on loopback (a child process that answers 200 at once), ` +
      `on PostgreSQL; the jobs are in the database before the clock starts and a run ends when the system's own tables say every job is done. ` +
      `Each system gets a fresh database, a pool of ${POOL} connections and ${CONCURRENCY} requests in flight: ` +
      `**Airlock** — the delivery stage of \`createAirlock\` (outbox rows claimed with \`FOR UPDATE SKIP LOCKED\`, group commit of outcomes, ` +
      'the circuit breaker row and the shared token bucket of the destination on every round, the record settled when its last delivery is final), ' +
      `destination \`concurrency: ${CONCURRENCY}\`; ` +
      `**graphile-worker ${r.versions.graphile}** (the last release that runs on Node 20; 0.18 needs Node 22) — \`run({ concurrency: ${CONCURRENCY}, maxPoolSize: ${POOL} })\` (jobs announced by LISTEN/NOTIFY), jobs added with its \`add_jobs\`; ` +
      `**pg-boss ${r.versions.pgboss}** (the last major that runs on Node 20; 11 needs Node 22) — 2 \`work()\` loops fetching batches of 100 (\`batchSize\`, its documented way to raise throughput) ` +
      `at the shortest polling interval it allows (0.5 s), each batch posted 8 at a time, jobs added with \`insert\`. ` +
      `With the rate limit on (${r.limit}/s): Airlock's \`rate_limit\` (a token bucket leased in blocks from the database); the peers have no rate limit of their own, ` +
      `so their handler takes a token from an in-process bucket with the same burst (a fifth of a second). ` +
      `Without a limit, ${r.runs ?? 1} runs of each system, interleaved, and the median (with the slowest and fastest run); with the limit, one run each` +
      (r.when
        ? `, ${r.when.date}, load average ${r.when.load.toFixed(1)} on ${r.when.cpus} CPUs (the machine is shared: compare within the run).`
        : '.'),
    '',
    '| Rate limit | System | Jobs | Seconds | Deliveries/s | Runs: slowest – fastest /s | × best peer |',
    '|---|---|---:|---:|---:|---:|---:|',
  );
  for (const mode of ['off', 'on']) {
    const rows = r.rows.filter((x) => x.mode === mode);
    const best = Math.max(...rows.filter((x) => x.name !== 'Airlock').map((x) => x.perSecond));
    for (const x of rows) {
      out.push(
        `| ${mode === 'off' ? 'off' : `${r.limit}/s`} | ${x.name} | ${fmt(x.jobs)} | ${x.seconds.toFixed(2)} | ${fmt(x.perSecond)} | ${x.range && x.runs > 1 ? `${fmt(x.range[0])} – ${fmt(x.range[1])}` : '—'} | ${(x.perSecond / best).toFixed(2)} |`,
      );
    }
  }
  out.push(
    '',
    `Rate-limit adherence at the destination (limit ${r.limit}/s): the achieved rate over the run, and the most requests in any one-second window ` +
      '(a token bucket may add its burst, a fifth of a second’s worth, on top of the limit once).',
    '',
    '| System | Achieved/s | % of limit | Peak in any 1 s | Requests beyond limit + burst |',
    '|---|---:|---:|---:|---:|',
  );
  for (const x of r.rows.filter((y) => y.mode === 'on')) {
    out.push(`| ${x.name} | ${fmt(x.achieved)} | ${Math.round((x.achieved / r.limit) * 100)} % | ${x.peak} | ${x.overLimit} |`);
  }
  const off = r.rows.filter((x) => x.mode === 'off');
  const a = off.find((x) => x.name === 'Airlock');
  const bestPeer = off.filter((x) => x.name !== 'Airlock').sort((x, y) => y.perSecond - x.perSecond)[0];
  out.push(
    '',
    `What it means: without a rate limit Airlock delivered ${fmt(a.perSecond)}/s (median) against ${fmt(bestPeer.perSecond)}/s for the better peer (${bestPeer.name}), ` +
      `${(a.perSecond / bestPeer.perSecond).toFixed(2)} ×${
        a.secondsByRun?.length > 1
          ? ` (faster than it in ${a.secondsByRun.filter((t, k) => t < bestPeer.secondsByRun[k]).length} of ${a.secondsByRun.length} interleaved rounds; the runs of both overlap, so the lead is in the median, not in every run)`
          : ''
      } — while doing more per job than a job queue does (a per-destination breaker and rate-limit check, ` +
      'an audit event and the record’s own state per delivery). With the limit on, all three are bound by it; the adherence table says how closely each kept to it.',
  );
  return out.join('\n');
}

/** Replaces (or appends) this section in bench/RESULTS.md, leaving the other sections as they are. */
function writeSection(markdown) {
  const file = path.join(here, 'RESULTS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Airlock benchmarks\n';
  const at = old.indexOf(HEADING);
  const start = at < 0 ? -1 : old.lastIndexOf('\n## ', at);
  let next = start < 0 ? -1 : old.indexOf('\n## ', start + 1);
  if (next < 0) next = old.length;
  const updated = start < 0 ? `${old.trimEnd()}\n${markdown}\n` : `${old.slice(0, start)}${markdown}\n${old.slice(next)}`;
  writeFileSync(file, updated.endsWith('\n') ? updated : `${updated}\n`);
}

if (process.argv[2] !== '--target' && process.argv[1] && path.resolve(process.argv[1]) === self) {
  const pgInfo = await findPostgres();
  console.log(
    `Deliveries beside graphile-worker and pg-boss on PostgreSQL${pgInfo.skip ? ` — skipped: ${pgInfo.skip}` : ` ${pgInfo.version}`}`,
  );
  const started = performance.now();
  const r = await benchDeliveryPeers({ pg: pgInfo });
  writeSection(deliveryPeersSection(r));
  console.log(`Wrote the section "${HEADING}" of bench/RESULTS.md (${((performance.now() - started) / 1000).toFixed(0)} s).`);
  process.exit(0);
}
