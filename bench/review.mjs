// Benchmark: 50 concurrent reviewers claim the next case and decide it, from 100,000 open cases, on SQLite and
// PostgreSQL. Reports claim latency p50/p99 (the goal: p99 < 50 ms) and double claims (must be 0).
// Deciding is the case's resolution (status resolved, lease cleared) in its own statement, as a person's decision
// commits after the claim.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { parseConfig } from '../dist/index.js';
import { createAirlock } from '../dist/pipeline/airlock.js';
import { claimNextCase } from '../dist/review/queue.js';
import { createLogger } from '../dist/runtime/logger.js';
import { insertCases } from '../dist/store/cases.js';
import { openStore } from '../dist/store/db.js';
import { recreateBenchDatabase } from './postgres.mjs';

function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]);
}

async function run({ database, cases, reviewers, claims, log, label }) {
  const config = parseConfig(
    `database: ${database}\nlogging: { level: silent }\npipelines:\n  p:\n    model: { type: http, url: "http://127.0.0.1:9/x" }\n`,
  );
  const store = openStore(config.database, { poolSize: reviewers + 2 });
  const airlock = await createAirlock(config, { store, logger: createLogger('silent') });
  const db = airlock.runtime.store.db;
  const now = Date.now();
  const batch = [];
  for (let i = 0; i < cases; i++) {
    batch.push({
      pipeline: 'p',
      recordId: `r-${i}`,
      type: 'low_confidence',
      owner: null,
      reason: {},
      slaDueAt: now + 3_600_000 + (i % 1000) * 1000,
      now,
      priority: i % 4,
    });
    if (batch.length === 500) await insertCases(db, batch.splice(0));
  }
  if (batch.length > 0) await insertCases(db, batch);
  // Fresh statistics, as autovacuum's analyze would have after a load this size (without them PostgreSQL sorts).
  if (database.startsWith('postgres')) await sql`analyze review_cases`.execute(db);
  const latencies = [];
  const seen = new Set();
  let doubles = 0;
  let left = claims;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: reviewers }, async (_, k) => {
      const me = { name: `reviewer-${k}`, role: 'lead' };
      while (left-- > 0) {
        const t = performance.now();
        const c = await claimNextCase(airlock.runtime, me);
        latencies.push(performance.now() - t);
        if (!c) return;
        if (seen.has(c.id)) doubles++;
        seen.add(c.id);
        await db
          .updateTable('review_cases')
          .set({ status: 'resolved', resolved_at: Date.now(), claimed_by: null, lease_until: null })
          .where('id', '=', c.id)
          .execute();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await airlock.close();
  await store.close();
  latencies.sort((a, b) => a - b);
  const result = {
    label,
    cases,
    reviewers,
    claims: seen.size,
    doubles,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    perSecond: seen.size / seconds,
  };
  log(
    `   ${label}: ${result.claims} claims by ${reviewers} reviewers from ${cases.toLocaleString('en-US')} open cases — claim p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms, ${Math.round(result.perSecond)} claims+decisions/s, ${doubles} double claims`,
  );
  return result;
}

export async function benchReview({ tmp, pg, cases = 100_000, reviewers = 50, claims = 5000, log }) {
  const dir = path.join(tmp, 'review');
  mkdirSync(dir, { recursive: true });
  const out = [await run({ database: `sqlite:${path.join(dir, 'review.db')}`, cases, reviewers, claims, log, label: 'SQLite' })];
  if (pg && !pg.skip) {
    await recreateBenchDatabase(pg.adminUrl);
    out.push(await run({ database: pg.benchUrl, cases, reviewers, claims, log, label: 'PostgreSQL' }));
  }
  return out;
}

export function reviewSection(results) {
  const lines = [
    '',
    '## 6. The review queue: 50 concurrent reviewers',
    '',
    `50 reviewers claim the next case (priority, then SLA deadline) and decide it, from ${results[0].cases.toLocaleString('en-US')} open cases; ` +
      'each claim is one `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)` on PostgreSQL (one writer at a time on SQLite). Goal from the issue: claim p99 < 50 ms, zero double claims.',
    '',
    '| backend | claims | claim p50 | claim p99 | claims + decisions / s | double claims |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    lines.push(
      `| ${r.label} | ${r.claims.toLocaleString('en-US')} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.doubles} |`,
    );
  }
  return lines.join('\n');
}
