// Benchmark 2: single-record HTTP ingest. autocannon POSTs one ticket per request, each with a unique id,
// to a server running in a child process: Airlock (`createServer(config, { role: 'api' })`, workers not
// started) or a bare Fastify endpoint that parses the JSON and answers 202 without storing anything.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { PIPELINE, singleTicketTemplate } from './workload.mjs';

const TARGET = path.join(path.dirname(fileURLToPath(import.meta.url)), 'http-target.mjs');

function startTarget(args) {
  return new Promise((resolve, reject) => {
    const child = fork(TARGET, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const onExit = (code) => reject(new Error(`target ${args[0]} exited with code ${code} before listening`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.once('message', (m) => {
      child.off('exit', onExit);
      resolve({ child, url: m.url });
    });
  });
}

function ask(child, message, answer) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (!m[answer]) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send(message);
  });
}

function stopTarget(child) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('target did not stop within 15 s'));
    }, 15_000);
    child.on('message', (m) => {
      if (!m.stopped) return;
      clearTimeout(timer);
      child.once('exit', () => resolve(m.stopped));
    });
    child.send('stop');
  });
}

let loadRun = 0;

function load(url, seconds, connections) {
  // A unique id per request. (autocannon's `idReplacement` is not used: it announces a Content-Length that
  // assumes 27-character ids, and its url-safe ids are shorter, so servers wait for the missing bytes.)
  const [head, tail] = singleTicketTemplate().split('[<id>]');
  const prefix = `${process.pid.toString(36)}-${(++loadRun).toString(36)}-`;
  let n = 0;
  return autocannon({
    url: `${url}/v1/pipelines/${PIPELINE}/records`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [
      {
        setupRequest(request) {
          request.body = `${head}${prefix}${(n++).toString(36)}${tail}`;
          return request;
        },
      },
    ],
    connections,
    duration: seconds,
  });
}

/** Loads one target: a warm-up (discarded), then the measured run. */
export async function benchHttp({ label, args, seconds, warmupSeconds, connections, log }) {
  const { child, url } = await startTarget(args);
  let warm;
  let r;
  try {
    warm = await load(url, warmupSeconds, connections);
    await ask(child, 'reset', 'reset');
    r = await load(url, seconds, connections);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const stopped = await stopTarget(child);
  const ok = r['2xx'];
  const result = {
    label,
    rps: ok / r.duration,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    ok,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: r.duration,
    stored: stopped.stored,
    // Requests per Ingestor transaction during the measured run (group commit); null for the bare peer.
    perTransaction: stopped.transactions ? stopped.jobs / stopped.transactions : null,
    sent2xx: warm['2xx'] + ok,
  };
  // Every 202 must be a stored record (a few more may be stored: requests still in flight when a run ended).
  if (result.stored !== null && result.stored < result.sent2xx) {
    throw new Error(`${label}: ${result.sent2xx} requests were answered 2xx but only ${result.stored} records are stored`);
  }
  log(
    `  ${label}: ${Math.round(result.rps).toLocaleString('en-US')} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms` +
      (result.perTransaction ? `, ${result.perTransaction.toFixed(1)} requests per transaction` : '') +
      (result.non2xx || result.errors || result.timeouts
        ? `, non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`
        : ''),
  );
  return result;
}
