#!/usr/bin/env node
// `npm run quickstart`: runs the quickstart pipeline end to end on the embedded SQLite database.
// 1. starts a local helpdesk (a webhook receiver that applies each idempotency key once),
// 2. starts `airlock serve` with examples/quickstart/airlock.yaml,
// 3. sends examples/quickstart/tickets.jsonl with `airlock ingest`,
// 4. prints where every record ended up, then keeps serving until Ctrl-C (or exits with --once).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const bin = path.join(root, 'bin/airlock');
const once = process.argv.includes('--once');
const port = Number(process.env.AIRLOCK_PORT ?? 8080);

if (!existsSync(path.join(root, 'dist/cli/main.js'))) {
  console.error('airlock is not built yet: run `npm install` (or `npm run build`) first.');
  process.exit(2);
}

// --- the helpdesk: applies one effect per idempotency key -------------------------------------------
const applied = new Map();
let requests = 0;
const helpdesk = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    requests++;
    const key = req.headers['idempotency-key'];
    if (!applied.has(key)) applied.set(key, JSON.parse(body));
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ ticket: key }));
  });
});
await new Promise((r) => helpdesk.listen(Number(process.env.HELPDESK_PORT ?? 0), '127.0.0.1', r));
const helpdeskUrl = `http://127.0.0.1:${helpdesk.address().port}/tickets`;

// --- airlock serve ------------------------------------------------------------------------------------
mkdirSync(path.join(here, '.airlock'), { recursive: true });
const logFile = path.join(here, '.airlock', 'serve.log');
const log = openSync(logFile, 'a');
const server = spawn(process.execPath, [bin, 'serve', '--config', path.join(here, 'airlock.yaml'), '--port', String(port)], {
  env: { ...process.env, HELPDESK_URL: helpdeskUrl },
  stdio: ['ignore', log, log],
});
let serverExited = false;
server.on('exit', (code) => {
  serverExited = true;
  if (code && code !== 0) {
    console.error(`airlock serve exited with code ${code}; see ${path.relative(process.cwd(), logFile)}`);
    helpdesk.close();
    process.exit(1);
  }
});
const base = `http://127.0.0.1:${port}`;
const stop = async (code = 0) => {
  if (!serverExited) {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  helpdesk.close();
  process.exit(code);
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
for (let i = 0; ; i++) {
  try {
    const res = await fetch(`${base}/readyz`);
    if (res.ok) break;
  } catch {}
  if (i > 100 || serverExited) {
    console.error(`airlock serve did not become ready on ${base} (is port ${port} free? set AIRLOCK_PORT); log: ${logFile}`);
    await stop(1);
  }
  await sleep(100);
}
console.log(`Airlock is serving on ${base} (log: ${path.relative(process.cwd(), logFile)})`);

// --- send the tickets ------------------------------------------------------------------------------
const ingest = spawn(process.execPath, [bin, 'ingest', path.join(here, 'tickets.jsonl'), '--pipeline', 'tickets', '--url', base], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
await new Promise((r) => ingest.once('exit', r));

// --- wait for the pipeline to settle, then report -------------------------------------------------------
let counts = {};
for (let i = 0; i < 300; i++) {
  const res = await fetch(`${base}/v1/pipelines`);
  counts = (await res.json()).pipelines[0].records;
  if (!counts.received && !counts.scoring && !counts.decided) break;
  await sleep(100);
}
const cases = (await (await fetch(`${base}/v1/review/cases?pipeline=tickets`)).json()).cases;
const byType = {};
for (const c of cases) byType[`${c.type} (owner ${c.owner ?? 'none'})`] = (byType[`${c.type} (owner ${c.owner ?? 'none'})`] ?? 0) + 1;
console.log('\nRecords by status:', counts);
console.log('Open review cases:', byType);
console.log(`Helpdesk: ${applied.size} tickets created from ${requests} requests (one effect per idempotency key)\n`);
const example = cases[0];
console.log('Try:');
console.log(`  curl -s ${base}/v1/pipelines/tickets/records/T-1001 | jq`);
if (example)
  console.log(
    `  curl -s -X POST ${base}/v1/review/cases/${example.id}/decision -H 'content-type: application/json' -d '{"label":"billing"}' | jq .status`,
  );
console.log(`  curl -s ${base}/metrics | grep airlock_records`);

if (once) await stop(0);
console.log('\nPress Ctrl-C to stop.');
