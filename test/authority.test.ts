// Time budget: 90 s for the file (both backends). Issue: authority that holds on every path — each attack below was
// reproduced against `serve` on loopback before the fix, and is replayed here through HTTP (and the CLI).
//   1. one person satisfying reviews.required: 2 alone;
//   2. team ownership checked only when claiming (decide, heartbeat, release, bulk, search by id);
//   3. the direct quarantine routes (and the CLI) skipping the case type's actions;
//   4. limits checked on the stored body, not on the body that will be delivered.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createToken } from '../src/accounts/tokens.js';
import { addUser } from '../src/accounts/users.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { runAirlock } from './support/cli.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { waitFor } from './support/servers.js';

describe.each(backends)('review rules hold on every door, on %s', (backend) => {
  let db: TestDatabase;
  let server: AirlockServer;
  let base: string;
  let dir: string;
  let file: string;
  const tokens: Record<string, string> = {};

  const call = (who: string, method: string, p: string, body?: unknown) =>
    fetch(`${base}${p}`, {
      method,
      headers: { authorization: `Bearer ${tokens[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const decide = (who: string, id: number, body: unknown) => call(who, 'POST', `/v1/review/cases/${id}/decision`, body);
  /** Sends a record and waits for its first case (review) or its quarantine. */
  const send = async (pipeline: string, record: Record<string, unknown>) => {
    const res = await call('machine', 'POST', `/v1/pipelines/${pipeline}/records`, record);
    expect(res.status).toBe(202);
    return waitFor(
      async () => {
        const r = await json(call('dana', 'GET', `/v1/pipelines/${pipeline}/records/${record.id}`));
        return r.cases?.[0] ? { record: r, case: r.cases[0] as { id: number; type: string } } : undefined;
      },
      15_000,
      `a case for ${record.id}`,
    );
  };
  const problem = async (res: Response) => ({ status: res.status, detail: String((await json(res)).detail) });

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-authority-'));
    writeFileSync(path.join(dir, 'model.mjs'), "export function predict() { return { label: 'refund', confidence: 0.5 }; }\n");
    const contract = { type: 'object', properties: { id: { type: 'string' }, amount: { type: 'number' } }, required: ['id', 'amount'] };
    file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        logging: { level: 'silent' },
        worker: { poll_interval: '20ms' },
        teams: { support: { members: ['ana', 'bob'] }, other: { members: ['olga'] } },
        pipelines: {
          orders: {
            model: { type: 'module', path: './model.mjs' },
            contract,
            gate: { policies: { type_mismatch: 'quarantine', missing_required: 'quarantine' } },
            review: {
              case_types: {
                low_confidence: { owner: 'support', reviews: { required: 2 } },
                // Reviewers may only ask for information or escalate a quarantined record; a lead releases it.
                quarantine: { owner: 'support', actions: { reviewer: ['request_info', 'escalate'] } },
              },
            },
          },
          claims: {
            model: { type: 'module', path: './model.mjs' },
            review: { case_types: { low_confidence: { owner: 'other' } } },
          },
          refunds: {
            model: { type: 'module', path: './model.mjs' },
            contract,
            gate: { policies: { type_mismatch: 'quarantine', missing_required: 'quarantine' } },
            review: { case_types: { quarantine: { owner: 'support', limits: [{ field: 'amount', reviewer: 500 }] } } },
          },
        },
      }),
    );
    const config = parseConfig(readFileSync(file, 'utf8'), { file });
    server = await createServer(config, { logger: createLogger('silent') });
    base = (await server.listen({ port: 0 })) as string;
    const store = server.airlock.runtime.store.db;
    const now = Date.now();
    for (const [name, role] of [
      ['ana', 'reviewer'],
      ['bob', 'reviewer'],
      ['olga', 'reviewer'],
      ['dana', 'lead'],
      ['machine', 'ingest'],
    ] as const) {
      await addUser(store, name, role, null, now);
      tokens[name] = (await createToken(store, name, 'test', now)).token;
    }
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('1. one person cannot make up two required reviews: the second verdict is refused and says why', async () => {
    const { case: c } = await send('orders', { id: 'o-twice', amount: 10 });
    expect((await json(decide('ana', c.id, { action: 'approve' }))).case_outcome.case_state).toBe('pending');
    const again = await problem(await decide('ana', c.id, { action: 'approve' }));
    expect(again.status).toBe(403);
    expect(again.detail).toMatch(/ana already reviewed case \d+: its 2 reviews must come from different people/);
    // Nor by another action, nor in bulk.
    expect((await decide('ana', c.id, { action: 'reject', reason: 'no' })).status).toBe(403);
    const bulk = await json(call('ana', 'POST', '/v1/review/cases/bulk', { ids: [c.id], action: 'approve' }));
    expect(bulk.results[0]).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    const open = await json(call('dana', 'GET', `/v1/review/cases/${c.id}`));
    expect(open.status).toBe('open');
    // A second person resolves it.
    const two = await json(decide('bob', c.id, { action: 'approve' }));
    expect(two.case_outcome.case_state).toBe('resolved');
    expect(two.decision).toMatchObject({ label: 'refund', by: 'bob' });
  });

  it('2. a reviewer of another team cannot decide, hold, release, bulk-decide or find a case by its id', async () => {
    const { case: c } = await send('claims', { id: 'c-other', amount: 10 });
    const decided = await problem(await decide('ana', c.id, { action: 'approve' }));
    expect(decided).toEqual({ status: 403, detail: `review case ${c.id} is owned by team other; ana works in team support` });
    // The heartbeat no longer takes the lease of any open case: repeated, it held every case hostage.
    expect((await call('ana', 'POST', `/v1/review/cases/${c.id}/heartbeat`, {})).status).toBe(403);
    const held = await json(call('olga', 'POST', `/v1/review/cases/${c.id}/heartbeat`, {}));
    expect(held.held_by).toBe('olga');
    expect((await call('ana', 'POST', `/v1/review/cases/${c.id}/release`, {})).status).toBe(403);
    const bulk = await json(call('ana', 'POST', '/v1/review/cases/bulk', { ids: [c.id], action: 'approve' }));
    expect(bulk.results[0]).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    // Search shows a reviewer the cases of their teams; a lead sees them all.
    const ids = async (who: string) =>
      ((await json(call(who, 'GET', '/v1/review/cases?pipeline=claims&status=all'))).cases as { id: number }[]).map((x) => x.id);
    expect(await ids('ana')).toEqual([]);
    expect(await ids('dana')).toContain(c.id);
    // The case view offers ana nothing; its owner may decide.
    expect((await json(call('ana', 'GET', `/v1/review/cases/${c.id}`))).allowed_actions).toEqual([]);
    expect((await json(decide('olga', c.id, { action: 'approve' }))).case_outcome.case_state).toBe('resolved');
  });

  it('3. the quarantine routes and the CLI apply the case type: a reviewer may not release what only a lead may', async () => {
    const { case: c, record } = await send('orders', { id: 'q-1', amount: 'lots' });
    expect(c.type).toBe('quarantine');
    expect(record.status).toBe('quarantined');
    const release = await problem(
      await call('ana', 'POST', '/v1/pipelines/orders/quarantine/q-1/release', { record: { id: 'q-1', amount: 12 } }),
    );
    expect(release.status).toBe(403);
    expect(release.detail).toMatch(/ana may not approve case \d+: a reviewer may not approve cases of this type/);
    expect((await call('ana', 'POST', '/v1/pipelines/orders/quarantine/q-1/discard', { reason: 'junk' })).status).toBe(403);
    expect((await json(call('dana', 'GET', '/v1/pipelines/orders/records/q-1'))).status).toBe('quarantined');
    // The CLI acting as ana is held to the same rule, and says who it acts as.
    const asAna = await runAirlock(['--config', file, 'quarantine', 'release', 'q-1', '--pipeline', 'orders', '--as', 'ana'], { cwd: dir });
    expect(asAna.code).not.toBe(0);
    expect(asAna.stderr).toMatch(/acting as ana \(reviewer\)/);
    expect(asAna.stderr).toMatch(/a reviewer may not approve cases of this type/);
    // A lead releases it (edited into shape); through the case too the same rule holds for ana.
    const byLead = await json(
      call('dana', 'POST', '/v1/pipelines/orders/quarantine/q-1/release', { record: { id: 'q-1', amount: 12 } }),
    );
    expect(byLead.released).toBe(true);
  });

  it('4. limits hold on the record as it will be delivered, and as it is stored', async () => {
    // Stored 100 (within the reviewer's 500), edited to 99,999: refused.
    await send('refunds', { id: 'r-up', amount: '100' });
    const up = await problem(
      await call('ana', 'POST', '/v1/pipelines/refunds/quarantine/r-up/release', { record: { id: 'r-up', amount: 99_999 } }),
    );
    expect(up.status).toBe(403);
    expect(up.detail).toMatch(/as edited: a reviewer may approve only up to amount 500; this record has 99999/);
    // Stored 99,999, edited down to 100 to slip under the limit: refused too.
    await send('refunds', { id: 'r-down', amount: '99999' });
    const down = await problem(
      await call('ana', 'POST', '/v1/pipelines/refunds/quarantine/r-down/release', { record: { id: 'r-down', amount: 100 } }),
    );
    expect(down.status).toBe(403);
    expect(down.detail).toMatch(/may approve only up to amount 500; this record has 99999/);
    // Within the limit both ways: released, and the edited body is the one that goes on.
    await send('refunds', { id: 'r-ok', amount: '120' });
    const ok = await json(call('ana', 'POST', '/v1/pipelines/refunds/quarantine/r-ok/release', { record: { id: 'r-ok', amount: 120 } }));
    expect(ok.released).toBe(true);
    expect((await json(call('dana', 'GET', '/v1/pipelines/refunds/records/r-ok'))).record).toEqual({ id: 'r-ok', amount: 120 });
  });
});
