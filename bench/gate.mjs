// Benchmark: the contract gate's cost per record beside bare ajv on the same records, in the same run.
//   bare ajv       — the compiled JSON Schema validator alone (allErrors, formats), nothing else: the ceiling
//   contract       — Airlock's Contract.validate: the same ajv plus each violation's kind, field and pointer
//   gate (SQLite)  — gateRecords over batches of 500 inside a SQLite transaction, as ingest runs it: the contract in
//                    force and the halt state read once per batch, the policy per record, sightings for structural
//                    changes (no record rows written: that is the ingest benchmark's part)
// 3% of the records break the contract (a wrong type on `plan`, policy quarantine here) so the violation path is
// measured too.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { compileContract } from '../dist/contract/gate.js';
import { parseConfig } from '../dist/index.js';
import { createAirlock } from '../dist/pipeline/airlock.js';
import { gateRecords } from '../dist/pipeline/gate.js';
import { rng, TICKET_SCHEMA, ticket } from './workload.mjs';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

function records(n) {
  const rand = rng(7);
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = ticket(`g-${i}`, rand);
    if (i % 33 === 0) r.plan = 42;
    out.push(r);
  }
  return out;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Nanoseconds per record of `fn(records)`, median of `runs`. */
async function time(runs, n, fn) {
  const ns = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ns.push(Number(process.hrtime.bigint() - t) / n);
  }
  return median(ns);
}

export async function benchGate({ tmp, records: n, runs, log }) {
  const recs = records(n);
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  const validate = ajv.compile(TICKET_SCHEMA);
  const contract = compileContract(TICKET_SCHEMA);
  // Warm-up: JIT both paths.
  for (const r of recs.slice(0, 5000)) {
    validate(r);
    contract.validate(r);
  }
  let bad = 0;
  const bare = await time(runs, n, () => {
    bad = 0;
    for (const r of recs) if (!validate(r)) bad++;
  });
  const mapped = await time(runs, n, () => {
    for (const r of recs) contract.validate(r);
  });

  const dir = path.join(tmp, 'gate');
  mkdirSync(dir, { recursive: true });
  const config = parseConfig(
    `database: sqlite:./gate.db
logging: { level: silent }
pipelines:
  tickets:
    contract: ${JSON.stringify(TICKET_SCHEMA)}
    gate: { policies: { type_mismatch: quarantine } }
    model: { type: http, url: "http://127.0.0.1:9/never-called" }
`,
    { file: path.join(dir, 'airlock.yaml') },
  );
  const airlock = await createAirlock(config, { logger: undefined });
  const { db } = airlock.runtime.store;
  const pipeline = config.pipelines.tickets;
  const items = recs.map((r) => ({ id: r.id, body: r }));
  const gated = await time(runs, n, async () => {
    for (let i = 0; i < items.length; i += 500) {
      await db.transaction().execute((trx) => gateRecords(trx, pipeline, items.slice(i, i + 500), Date.now()));
    }
  });
  await airlock.close();
  const result = { records: n, invalid: bad, bareNs: bare, contractNs: mapped, gateNs: gated };
  log(
    `   bare ajv ${(bare / 1000).toFixed(2)} µs/record · Airlock contract ${(mapped / 1000).toFixed(2)} µs (${(mapped / bare).toFixed(2)}×) · gate in a SQLite transaction ${(gated / 1000).toFixed(2)} µs (${(gated / bare).toFixed(2)}×) · ${bad} of ${n} break the contract`,
  );
  return result;
}
