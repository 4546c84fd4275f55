import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { parseDuration, parseRate } from '../config/units.js';
import { AirlockError } from '../errors.js';
import { openStore } from '../store/db.js';
import { insertEvidence } from '../store/routing.js';
import { action, interactive, printJson } from './output.js';

/** Nearest-rank percentile (Hyndman & Fan 1996, definition 1; what k6 reports is close to it): the ⌈p·n⌉-th smallest. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export interface Threshold {
  text: string;
  metric: string;
  op: '<' | '<=' | '>' | '>=' | '==' | '!=';
  value: number;
}

const THRESHOLD_METRICS = [
  'p50',
  'p95',
  'p99',
  'lost',
  'duplicates',
  'dead_letters',
  'throttled',
  'retries',
  'breaker_openings',
  'achieved_rate',
  'delivered_rate',
  'drain',
  'refused',
];

/** Parses `p99<30s`, `lost==0`, `achieved_rate>=45`: durations in seconds, rates per second. */
export function parseThreshold(text: string): Threshold {
  const m = /^\s*([a-z_0-9]+)\s*(<=|>=|==|!=|<|>)\s*([0-9.]+)\s*(ms|s|m)?\s*$/.exec(text);
  if (!m || !THRESHOLD_METRICS.includes(m[1]))
    throw new AirlockError(
      'USAGE',
      `threshold "${text}" is not METRIC OP VALUE with METRIC one of ${THRESHOLD_METRICS.join(', ')} (e.g. 'p99<30s', 'lost==0')`,
    );
  const unit = m[4];
  const value = Number(m[3]) * (unit === 'ms' ? 0.001 : unit === 'm' ? 60 : 1);
  return { text: text.trim(), metric: m[1], op: m[2] as Threshold['op'], value };
}

function holds(actual: number, t: Threshold): boolean {
  switch (t.op) {
    case '<':
      return actual < t.value;
    case '<=':
      return actual <= t.value;
    case '>':
      return actual > t.value;
    case '>=':
      return actual >= t.value;
    case '==':
      return actual === t.value;
    default:
      return actual !== t.value;
  }
}

/** Sums the samples of a Prometheus metric (text format) whose labels contain `match`. */
function promSum(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(match).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

interface Options {
  pipeline: string;
  url?: string;
  token?: string;
  rate: string;
  duration: string;
  burst: number;
  sample?: string;
  simulator?: string[];
  threshold?: string[];
  drainTimeout: string;
  batch: number;
  json?: boolean;
}

const WAITING = ['received', 'scoring', 'decided'];

/**
 * `airlock loadtest`: an open-model load (arrivals on a fixed schedule, whatever the response times, so no coordinated
 * omission) through the whole path of a running server, reported as k6 does, judged by thresholds (exit 99), and
 * stored as evidence. Lost and duplicate effects are counted from outside Airlock's tables: the ids the server
 * acknowledged against what the simulators applied (`/_keys`) and what the API shows as dead letters, review or quarantine.
 */
export async function runLoadtest(opts: Options, configFile: string | undefined) {
  const config = loadConfig(configFile);
  const pipeline = config.pipelines[opts.pipeline];
  if (!pipeline) throw new AirlockError('USAGE', `pipeline "${opts.pipeline}" is not in the config`);
  const base = (opts.url ?? process.env.AIRLOCK_URL ?? `http://${config.server.host}:${config.server.port}`).replace(/\/+$/, '');
  const token = opts.token ?? process.env.AIRLOCK_TOKEN;
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  let rate: ReturnType<typeof parseRate>;
  let durationMs: number;
  let drainMs: number;
  try {
    rate = parseRate(opts.rate);
    durationMs = parseDuration(opts.duration);
    drainMs = parseDuration(opts.drainTimeout);
  } catch (err) {
    throw new AirlockError('USAGE', (err as Error).message);
  }
  const thresholds = (opts.threshold ?? []).map(parseThreshold);
  const perMs = rate.count / rate.intervalMs;
  const scheduled = Math.floor(perMs * durationMs);
  const total = scheduled + opts.burst;
  const sample = opts.sample
    ? readFileSync(opts.sample, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  const runId = Date.now().toString(36);
  const recordOf = (i: number) => ({
    ...(sample.length ? sample[i % sample.length] : { text: `load test record ${i}` }),
    id: `lt-${runId}-${String(i).padStart(7, '0')}`,
  });
  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
    return res;
  };
  const metricsText = async () => (await get('/metrics')).text();
  const before = await metricsText();

  // The open model: record i is due at burst ? 0 : (i - burst) / rate; every 10 ms the due records go in one POST.
  const dueAt = new Map<string, number>();
  const acknowledged: string[] = [];
  const refused: string[] = [];
  const posts: Promise<void>[] = [];
  const started = Date.now();
  let next = 0;
  const progress = interactive() && !opts.json;
  while (next < total) {
    const elapsed = Date.now() - started;
    const due = Math.min(total, opts.burst + Math.floor(elapsed * perMs) + (elapsed >= durationMs ? scheduled : 0));
    while (next < due) {
      const batch: (Record<string, unknown> & { id: string })[] = [];
      for (; next < due && batch.length < opts.batch; next++) {
        const r = recordOf(next);
        dueAt.set(r.id, started + (next < opts.burst ? 0 : (next - opts.burst) / perMs));
        batch.push(r);
      }
      posts.push(
        fetch(`${base}/v1/pipelines/${opts.pipeline}/records`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/x-ndjson' },
          body: batch.map((b) => JSON.stringify(b)).join('\n'),
          signal: AbortSignal.timeout(60_000),
        }).then(
          async (res) => {
            const body = (await res.json().catch(() => ({}))) as { ids?: string[] };
            if (res.status === 202 || res.status === 207) acknowledged.push(...(body.ids ?? []));
            const ok = new Set(body.ids ?? []);
            for (const b of batch) if (!ok.has(b.id)) refused.push(b.id);
          },
          () => {
            for (const b of batch) refused.push(b.id);
          },
        ),
      );
    }
    if (progress) process.stderr.write(`\rsent ${next}/${total}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(posts);
  const sentAt = Date.now();
  if (progress) process.stderr.write(`\rsent ${total}/${total}; draining…\n`);

  // Drain: until the pipeline has nothing waiting on the system.
  let drained = false;
  while (Date.now() - sentAt < drainMs) {
    const p = (
      (await (await get('/v1/pipelines')).json()) as { pipelines: { name: string; records: Record<string, number> }[] }
    ).pipelines.find((x) => x.name === opts.pipeline);
    const waiting = WAITING.reduce((n, s) => n + (p?.records[s] ?? 0), 0);
    if (waiting === 0) {
      drained = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const drainSeconds = (Date.now() - sentAt) / 1000;

  // What happened to each acknowledged record, from the API.
  const latencies: number[] = [];
  const byStatus: Record<string, number> = {};
  const deliveredKeys: { id: string; key: string }[] = [];
  let lost = 0;
  const lostExamples: string[] = [];
  let firstDelivered = Number.POSITIVE_INFINITY;
  let lastDelivered = 0;
  let cursor = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (cursor < acknowledged.length) {
        const id = acknowledged[cursor++];
        const res = await fetch(`${base}/v1/pipelines/${opts.pipeline}/records/${encodeURIComponent(id)}`, { headers });
        if (res.status === 404) {
          lost++;
          if (lostExamples.length < 10) lostExamples.push(id);
          continue;
        }
        const v = (await res.json()) as {
          status: string;
          events: { at: string; kind: string }[];
          deliveries: { idempotency_key: string; status: string }[];
        };
        byStatus[v.status] = (byStatus[v.status] ?? 0) + 1;
        if (WAITING.includes(v.status)) {
          lost++;
          if (lostExamples.length < 10) lostExamples.push(id);
        }
        if (v.status === 'delivered') {
          const at = Date.parse(v.events.filter((e) => e.kind === 'delivered').pop()?.at ?? '');
          if (Number.isFinite(at)) {
            latencies.push((at - (dueAt.get(id) ?? started)) / 1000);
            firstDelivered = Math.min(firstDelivered, at);
            lastDelivered = Math.max(lastDelivered, at);
          }
          for (const d of v.deliveries) deliveredKeys.push({ id, key: d.idempotency_key });
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);

  // Effects at the destinations, counted by the simulators themselves.
  let duplicates = 0;
  let throttledAtSimulators = 0;
  if (opts.simulator?.length) {
    const applied = new Map<string, number>();
    for (const s of opts.simulator) {
      const u = s.replace(/\/+$/, '');
      const keys = (await (await fetch(`${u}/_keys`)).json()) as Record<string, number>;
      for (const [k, n] of Object.entries(keys)) applied.set(k, (applied.get(k) ?? 0) + n);
      const st = (await (await fetch(`${u}/_stats`)).json()) as { throttled_429: number };
      throttledAtSimulators += st.throttled_429;
    }
    for (const { id, key } of deliveredKeys) {
      const n = applied.get(key) ?? 0;
      if (n === 0) {
        lost++;
        if (lostExamples.length < 10) lostExamples.push(id);
      }
      if (n > 1) duplicates += n - 1;
    }
  }

  const after = await metricsText();
  const delta = (name: string, match: Record<string, string> = {}) =>
    promSum(after, name, { pipeline: opts.pipeline, ...match }) - promSum(before, name, { pipeline: opts.pipeline, ...match });
  const sendSeconds = (sentAt - started) / 1000;
  const report = {
    pipeline: opts.pipeline,
    url: base,
    offered: { records: total, rate_per_second: rate.count / (rate.intervalMs / 1000), duration_s: durationMs / 1000, burst: opts.burst },
    achieved_rate: round(acknowledged.length / Math.max(0.001, sendSeconds)),
    acknowledged: acknowledged.length,
    refused: refused.length,
    delivered_rate: lastDelivered > firstDelivered ? round((byStatus.delivered ?? 0) / ((lastDelivered - firstDelivered) / 1000)) : null,
    latency_s: {
      p50: percentile(latencies, 0.5),
      p95: percentile(latencies, 0.95),
      p99: percentile(latencies, 0.99),
      max: latencies.length ? latencies[latencies.length - 1] : null,
    },
    by_status: byStatus,
    throttled: Math.max(throttledAtSimulators, delta('airlock_delivery_throttled_total')),
    retries: delta('airlock_delivery_attempts_total', { outcome: 'retry' }),
    breaker_openings: delta('airlock_delivery_breaker_openings'),
    dead_letters: byStatus.dead_lettered ?? 0,
    lost,
    lost_examples: lostExamples,
    duplicates,
    drained,
    drain_s: round(drainSeconds),
    thresholds: [] as { threshold: string; actual: number | null; passed: boolean }[],
    passed: true,
  };
  const actual: Record<string, number | null> = {
    p50: report.latency_s.p50,
    p95: report.latency_s.p95,
    p99: report.latency_s.p99,
    lost: report.lost,
    duplicates: report.duplicates,
    dead_letters: report.dead_letters,
    throttled: report.throttled,
    retries: report.retries,
    breaker_openings: report.breaker_openings,
    achieved_rate: report.achieved_rate,
    delivered_rate: report.delivered_rate,
    drain: report.drain_s,
    refused: report.refused,
  };
  for (const t of thresholds) {
    const a = actual[t.metric];
    const passed = a !== null && a !== undefined && holds(a, t);
    report.thresholds.push({ threshold: t.text, actual: a ?? null, passed });
  }
  report.passed = report.thresholds.every((t) => t.passed) && drained;

  // Stored so readiness can cite it; a database that cannot be opened is said, not fatal.
  let evidenceId: number | null = null;
  try {
    const store = openStore(config.database);
    try {
      await store.migrate();
      evidenceId = await insertEvidence(store.db, {
        kind: 'loadtest',
        pipeline: opts.pipeline,
        now: Date.now(),
        hashes: { config: config.hash, contract: pipeline.contract?.hash ?? null },
        summary: {
          achieved_rate: report.achieved_rate,
          p99: report.latency_s.p99,
          lost: report.lost,
          duplicates: report.duplicates,
          dead_letters: report.dead_letters,
          passed: report.passed,
        },
        report,
      });
    } finally {
      await store.close();
    }
  } catch (err) {
    process.stderr.write(`airlock: the load test was not stored as evidence: ${(err as Error).message}\n`);
  }
  return { ...report, evidence_id: evidenceId };
}

const round = (x: number) => Math.round(x * 100) / 100;

export function registerLoadtestCommand(program: Command): void {
  program
    .command('loadtest')
    .description('an open-model load through a running server (ingest → delivered), reported as k6 does; exit 99 when a threshold fails')
    .requiredOption('-p, --pipeline <name>', 'the pipeline to load')
    .option('--url <url>', 'the server (default AIRLOCK_URL, else the config’s server block)')
    .option('--token <token>', 'API token (default AIRLOCK_TOKEN)')
    .option('--rate <rate>', 'arrival rate, independent of response times', '50/s')
    .option('--duration <d>', 'how long records arrive', '60s')
    .option('--burst <n>', 'records sent at once at the start, on top of the rate', (v) => Number.parseInt(v, 10), 0)
    .option('--sample <file>', 'JSONL records to send (their ids are replaced); default: { text }')
    .option('--simulator <url...>', 'vendor simulators whose /_keys and /_stats count applied and duplicate effects')
    .option('--threshold <expr...>', "e.g. 'p99<30s' 'lost==0' 'duplicates==0' 'achieved_rate>=45'")
    .option('--drain-timeout <d>', 'longest wait for the backlog to drain', '5m')
    .option('--batch <n>', 'most records per POST', (v) => Number.parseInt(v, 10), 500)
    .option('--json', 'print the report as JSON')
    .action(
      action(async (opts: Options, cmd: Command) => {
        const r = await runLoadtest(opts, (cmd.optsWithGlobals() as { config?: string }).config);
        if (opts.json) printJson(r);
        else {
          const lat = r.latency_s;
          const s = (x: number | null) => (x === null ? '-' : `${x.toFixed(2)}s`);
          process.stdout.write(
            [
              `loadtest ${r.pipeline} → ${r.url}`,
              `  offered        ${r.offered.records} records at ${r.offered.rate_per_second}/s for ${r.offered.duration_s}s${r.offered.burst ? ` + burst ${r.offered.burst}` : ''}`,
              `  achieved       ${r.achieved_rate}/s acknowledged (${r.acknowledged}), ${r.refused} refused`,
              `  delivered      ${r.by_status.delivered ?? 0}${r.delivered_rate ? ` at ${r.delivered_rate}/s` : ''}`,
              `  latency        p50 ${s(lat.p50)}  p95 ${s(lat.p95)}  p99 ${s(lat.p99)}  max ${s(lat.max)}  (scheduled arrival → delivered)`,
              `  429s ${r.throttled}  retries ${r.retries}  breaker openings ${r.breaker_openings}  dead letters ${r.dead_letters}`,
              `  lost ${r.lost}  duplicate effects ${r.duplicates}  drained ${r.drained ? `in ${r.drain_s}s` : `NO (after ${r.drain_s}s)`}`,
              `  by status      ${JSON.stringify(r.by_status)}`,
              ...r.thresholds.map((t) => `  ${t.passed ? '✓' : '✗'} ${t.threshold} (actual ${t.actual ?? 'none'})`),
              r.evidence_id ? `  stored as evidence #${r.evidence_id}` : '',
            ]
              .filter(Boolean)
              .join('\n') + '\n',
          );
        }
        // k6's convention: 99 when a threshold failed.
        return r.passed ? 0 : 99;
      }),
    );
}
