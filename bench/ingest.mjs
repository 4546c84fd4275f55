// Benchmark 1: bulk ingest through the contract gate and into the database, Airlock vs the same work done
// by hand (the ceiling). Both sides get the same NDJSON batches, the same contract, the same ajv options,
// the same tables and the same durability (SQLite WAL + synchronous=FULL; PostgreSQL's default
// synchronous_commit), one transaction per batch, one batch in flight at a time.
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { createAirlock } from '../dist/pipeline/airlock.js';
import { parseNdjsonBody } from '../dist/server/body.js';
import { recreateBenchDatabase } from './postgres.mjs';
import { benchConfig, ndjsonBatches, PIPELINE, TICKET_SCHEMA } from './workload.mjs';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

// ---- the ceiling: no Airlock code ----

/** The tables Airlock's migration creates for records and events (src/store/migrations.ts), per backend. */
function ddl(kind) {
  const autoId = kind === 'postgres' ? 'seq bigserial primary key' : 'seq integer primary key autoincrement';
  const ms = kind === 'postgres' ? 'bigint' : 'integer';
  return [
    `create table records (${autoId}, pipeline text not null, id text not null, body text not null, body_hash text not null,
      status text not null, contract_hash text, violations text, prediction text, decision text,
      score_attempts integer not null default 0, available_at ${ms} not null, lease_owner text, lease_until ${ms},
      created_at ${ms} not null, updated_at ${ms} not null, unique (pipeline, id))`,
    'create index records_status_seq on records (status, seq)',
    `create table events (${autoId}, pipeline text not null, record_id text not null, at ${ms} not null, kind text not null, detail text not null)`,
    'create index events_record on events (pipeline, record_id, seq)',
  ];
}

/** JSON.parse per line + ajv validation + a sha256 of the line (the idempotency hash column). */
function makeGate() {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  const validate = ajv.compile(TICKET_SCHEMA);
  const contractHash = createHash('sha256').update(JSON.stringify(TICKET_SCHEMA)).digest('hex');
  const detail = JSON.stringify({ contract: contractHash.slice(0, 12) });
  return {
    contractHash,
    detail,
    check(text) {
      const out = [];
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const body = JSON.parse(line);
        const ok = validate(body);
        out.push({
          id: String(body.id),
          body: line,
          hash: createHash('sha256').update(line).digest('hex'),
          status: ok ? 'received' : 'quarantined',
          violations: ok ? null : JSON.stringify(validate.errors),
        });
      }
      return out;
    },
  };
}

async function ceilingSqlite(file, batches) {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  for (const s of ddl('sqlite')) db.exec(s);
  const gate = makeGate();
  const insertRecord = db.prepare(
    `insert into records (pipeline, id, body, body_hash, status, contract_hash, violations, prediction, decision,
      score_attempts, available_at, lease_owner, lease_until, created_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, null, null, 0, ?, null, null, ?, ?)`,
  );
  const insertEvent = db.prepare('insert into events (pipeline, record_id, at, kind, detail) values (?, ?, ?, ?, ?)');
  const write = db.transaction((rows, now) => {
    for (const r of rows) insertRecord.run(PIPELINE, r.id, r.body, r.hash, r.status, gate.contractHash, r.violations, now, now, now);
    for (const r of rows) insertEvent.run(PIPELINE, r.id, now, 'received', gate.detail);
  });
  const started = performance.now();
  for (const text of batches) write(gate.check(text), Date.now());
  const seconds = (performance.now() - started) / 1000;
  const stored = db.prepare('select (select count(*) from records) as r, (select count(*) from events) as e').get();
  db.close();
  return { seconds, records: stored.r, events: stored.e };
}

async function ceilingPostgres(url, batches) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  for (const s of ddl('postgres')) await client.query(s);
  const gate = makeGate();
  const insertRecords = {
    name: 'ceiling_records',
    text: `insert into records (pipeline, id, body, body_hash, status, contract_hash, violations, prediction, decision,
             score_attempts, available_at, lease_owner, lease_until, created_at, updated_at)
           select $1, u.id, u.body, u.hash, u.status, $2, u.violations, null, null, 0, $3, null, null, $3, $3
           from unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) as u(id, body, hash, status, violations)`,
  };
  const insertEvents = {
    name: 'ceiling_events',
    text: `insert into events (pipeline, record_id, at, kind, detail)
           select $1, u.id, $2, 'received', $3 from unnest($4::text[]) as u(id)`,
  };
  const started = performance.now();
  for (const text of batches) {
    const rows = gate.check(text);
    const now = Date.now();
    const ids = rows.map((r) => r.id);
    await client.query('begin');
    await client.query({
      ...insertRecords,
      values: [
        PIPELINE,
        gate.contractHash,
        now,
        ids,
        rows.map((r) => r.body),
        rows.map((r) => r.hash),
        rows.map((r) => r.status),
        rows.map((r) => r.violations),
      ],
    });
    await client.query({ ...insertEvents, values: [PIPELINE, now, gate.detail, ids] });
    await client.query('commit');
  }
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await client.query('select (select count(*) from records)::int as r, (select count(*) from events)::int as e');
  await client.end();
  return { seconds, records: rows[0].r, events: rows[0].e };
}

// ---- Airlock ----

async function airlockIngest(config, batches) {
  const airlock = await createAirlock(config); // migrates; the workers are not started
  try {
    let quarantined = 0;
    const started = performance.now();
    for (const text of batches) {
      const items = parseNdjsonBody(text); // what POST …/records does with an NDJSON body
      const result = await airlock.ingestor.ingest(PIPELINE, items);
      if (result.accepted.length !== items.length)
        throw new Error(`Airlock refused ${result.refused.length} records: ${result.refused[0]?.message}`);
      for (const a of result.accepted) if (a.status !== 'received') quarantined++;
    }
    const seconds = (performance.now() - started) / 1000;
    if (quarantined > 0) throw new Error(`${quarantined} bench records were quarantined; the workload should be valid`);
    const db = airlock.runtime.store.db;
    const r = await db
      .selectFrom('records')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    const e = await db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    return { seconds, records: Number(r.n), events: Number(e.n) };
  } finally {
    await airlock.close();
  }
}

// ---- the runs ----

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Runs one backend: a warm-up of each side, then `runs` measured runs of each, alternating which side goes
 * first. Every run starts on an empty database. Returns records/s per run and the medians.
 */
export async function benchIngest({ backend, tmp, pg: pgInfo, records, batchSize, runs, warmup, log }) {
  let n = 0;
  const sqliteFile = () => path.join(tmp, `ingest-${++n}.db`);
  const cleanSqlite = (file) => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  };
  const sides = {
    airlock: async (batches) => {
      if (backend === 'sqlite') {
        const file = sqliteFile();
        try {
          return await airlockIngest(benchConfig(path.join(tmp, 'airlock'), `sqlite:${file}`), batches);
        } finally {
          cleanSqlite(file);
        }
      }
      await recreateBenchDatabase(pgInfo.adminUrl);
      return airlockIngest(benchConfig(path.join(tmp, 'airlock'), pgInfo.benchUrl), batches);
    },
    ceiling: async (batches) => {
      if (backend === 'sqlite') {
        const file = sqliteFile();
        try {
          return await ceilingSqlite(file, batches);
        } finally {
          cleanSqlite(file);
        }
      }
      await recreateBenchDatabase(pgInfo.adminUrl);
      return ceilingPostgres(pgInfo.benchUrl, batches);
    },
  };

  const warm = ndjsonBatches('warm', warmup, batchSize, 99);
  for (const side of ['airlock', 'ceiling']) await sides[side](warm);

  const perRun = { airlock: [], ceiling: [] };
  for (let run = 0; run < runs; run++) {
    const batches = ndjsonBatches(`r${run}`, records, batchSize, run + 1);
    const order = run % 2 === 0 ? ['airlock', 'ceiling'] : ['ceiling', 'airlock'];
    for (const side of order) {
      const r = await sides[side](batches);
      if (r.records !== records || r.events !== records) {
        throw new Error(`${side} on ${backend} stored ${r.records} records and ${r.events} events, expected ${records} of each`);
      }
      const rate = records / r.seconds;
      perRun[side].push(rate);
      log(
        `  ${backend} ${side.padEnd(7)} run ${run + 1}: ${Math.round(rate).toLocaleString('en-US')} records/s (${r.seconds.toFixed(2)} s)`,
      );
    }
  }
  // Each run's two sides ran back to back, so the ratio is taken per run and then the median of those:
  // it is steadier than a ratio of medians when the machine's speed drifts between runs.
  const ratios = perRun.airlock.map((a, i) => a / perRun.ceiling[i]);
  return { backend, airlock: median(perRun.airlock), ceiling: median(perRun.ceiling), ratio: median(ratios), ratios, runs: perRun };
}
