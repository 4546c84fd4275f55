// Time budget: 60 s for the file (about 15 s per backend on 2 loaded cores; one CLI run per backend).
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createToken } from '../src/accounts/tokens.js';
import { addUser } from '../src/accounts/users.js';
import { loadConfig } from '../src/config/load.js';
import { canonicalJson } from '../src/contract/gate.js';
import { discardQuarantined } from '../src/pipeline/quarantine.js';
import { purgePipeline, RetentionStage } from '../src/pipeline/retention.js';
import type { Runtime } from '../src/runtime/context.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { insertRecords } from '../src/store/records.js';
import type { RecordStatus } from '../src/store/tables.js';
import { runAirlock } from './support/cli.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { ensureBuilt } from './support/serve.js';
import { waitFor } from './support/servers.js';

const DAY = 86_400_000;
const EMAIL = 'ann.secret@example.com';
const TEXT = 'my account number is 12345678';
const PASSWORD = 'correct horse battery staple';

const content = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  subject: 'hello',
  c: 0.99,
  customer: { email: EMAIL, name: 'Ann' },
  body: TEXT,
  ...extra,
});

/** Records made by the pipeline itself, with the state each must reach. */
const THROUGH_PIPELINE: [Record<string, unknown>, RecordStatus][] = [
  [content('delivered-old-1'), 'delivered'],
  [content('delivered-old-2'), 'delivered'],
  [content('delivered-old-3'), 'delivered'],
  [content('delivered-new'), 'delivered'],
  [content('review-old', { c: 0.5 }), 'in_review'],
  [content('dead-old', { subject: 'refuse' }), 'dead_lettered'],
  [{ ...content('quarantined-old'), subject: undefined }, 'quarantined'],
  [{ ...content('discarded-old'), subject: undefined }, 'quarantined'],
];
/** States the pipeline only passes through (or a halt would stop the whole pipeline): stored as they are found. */
const STORED: RecordStatus[] = ['received', 'scoring', 'decided', 'halted'];
const PURGED_BY_CLI = ['delivered-old-1', 'delivered-old-2', 'delivered-old-3', 'discarded-old'];
const KEPT = ['delivered-new', 'review-old', 'dead-old', 'quarantined-old', ...STORED.map((s) => `${s}-old`)];

describe.each(backends)('data lifecycle on %s', (backend) => {
  let db: TestDatabase;
  let dir: string;
  let file: string;
  let server: AirlockServer;
  let rt: Runtime;
  let base: string;
  let destination: Server;
  let admin: string;
  const sessions: Record<string, string> = {};

  const as = (who: string, p: string, init: RequestInit = {}) =>
    fetch(`${base}${p}`, {
      ...init,
      headers: {
        ...(who === 'admin' ? { authorization: `Bearer ${admin}` } : { cookie: sessions[who] }),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });
  const view = async (id: string, who = 'admin') => json(as(who, `/v1/pipelines/mail/records/${id}`));
  const cli = (...args: string[]) => runAirlock([...args, '--config', file], { cwd: dir, timeoutMs: 30_000 });
  const pipelineEvents = async () =>
    (await rt.store.db.selectFrom('events').selectAll().where('pipeline', '=', 'mail').where('record_id', '=', '').execute())
      .filter((e) => e.kind === 'payloads_purged')
      .map((e) => JSON.parse(e.detail));

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase(backend);
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-lifecycle-'));
    writeFileSync(path.join(dir, 'model.mjs'), 'export function predict(r) { return { label: "spam", confidence: r.c }; }\n');
    // A destination that refuses the records whose subject is "refuse", echoing the customer's address.
    destination = createHttpServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        const { record } = JSON.parse(text) as { record: { subject?: string; customer?: { email?: string } } };
        const refuse = record.subject === 'refuse';
        res.writeHead(refuse ? 400 : 201, { 'content-type': 'application/json' });
        res.end(JSON.stringify(refuse ? { error: `no account for ${record.customer?.email}` } : { ok: true }));
      });
    });
    await new Promise<void>((r) => destination.listen(0, '127.0.0.1', () => r()));
    file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        worker: { poll_interval: '20ms' },
        logging: { level: 'silent' },
        pipelines: {
          mail: {
            contract: { type: 'object', required: ['subject'] },
            model: { type: 'module', path: './model.mjs' },
            routing: { auto_accept_at: 0.9 },
            // every: 30d, so the server's own schedule runs once at start-up and not again during the test.
            retention: { payloads: '30d', every: '30d' },
            redact: ['customer.email', 'body'],
            destinations: {
              crm: {
                type: 'webhook',
                url: `http://127.0.0.1:${(destination.address() as AddressInfo).port}/hook`,
                retry: { base: '50ms' },
              },
            },
          },
        },
      }),
    );
    server = await createServer(loadConfig(file), { logger: createLogger('silent') });
    base = (await server.listen({ port: 0 })) as string;
    rt = server.airlock.runtime;
    const now = Date.now();
    await addUser(rt.store.db, 'ada', 'admin', null, now);
    admin = (await createToken(rt.store.db, 'ada', 'test', now)).token;
    for (const [name, role] of [
      ['vic', 'viewer'],
      ['rita', 'reviewer'],
    ] as const) {
      await addUser(rt.store.db, name, role, PASSWORD, now);
      const res = await fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name, password: PASSWORD }),
      });
      expect(res.status).toBe(200);
      sessions[name] = (res.headers.get('set-cookie') as string).split(';')[0];
    }

    const sent = await as('admin', '/v1/pipelines/mail/records', {
      method: 'POST',
      body: JSON.stringify(THROUGH_PIPELINE.map(([r]) => r)),
    });
    expect(sent.status).toBe(202);
    for (const [r, status] of THROUGH_PIPELINE) {
      await waitFor(async () => (await view(String(r.id))).status === status, 15_000, `${r.id} to be ${status}`);
    }
    await discardQuarantined(rt, 'mail', 'discarded-old', { actor: { name: 'ada', role: 'admin' }, reason: 'a test record' });
    await insertRecords(
      rt.store.db,
      STORED.map((status) => ({
        pipeline: 'mail',
        id: `${status}-old`,
        body: JSON.stringify(content(`${status}-old`)),
        body_hash: createHash('sha256')
          .update(canonicalJson(content(`${status}-old`)))
          .digest('hex'),
        status,
        score_attempts: 0,
        // Out of the scoring stage's reach for the test's duration.
        available_at: now + DAY,
        lease_owner: status === 'scoring' ? 'elsewhere' : null,
        lease_until: status === 'scoring' ? now + DAY : null,
        created_at: now,
        updated_at: now,
      })),
      rt.store.kind,
    );
    // Forty days pass for every "-old" record.
    await rt.store.db
      .updateTable('records')
      .set({ updated_at: now - 40 * DAY, created_at: now - 40 * DAY })
      .where('pipeline', '=', 'mail')
      .where('id', 'like', '%-old%')
      .execute();
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await new Promise((r) => destination?.close(r));
    await db?.drop();
  });

  it('a dry run counts the finished records past the cutoff and changes nothing', async () => {
    const before = await pipelineEvents();
    const runsBefore = await rt.store.db.selectFrom('purge_runs').selectAll().execute();
    const dry = await purgePipeline(rt, 'mail', { now: Date.now(), actor: 'ops-ann', dryRun: true });
    expect(dry).toMatchObject({ pipeline: 'mail', status: 'dry_run', purged: PURGED_BY_CLI.length, policy: 'retention.payloads: 30d' });
    for (const id of PURGED_BY_CLI) expect((await view(id)).record).toMatchObject({ customer: { email: EMAIL } });
    expect(await pipelineEvents()).toEqual(before);
    expect(await rt.store.db.selectFrom('purge_runs').selectAll().execute()).toEqual(runsBefore);
  });

  it('purges the content of delivered and discarded records past the cutoff only, keeps ids, states and the trail, and audits the run', async () => {
    const trails = new Map<string, { kind: string }[]>();
    for (const id of PURGED_BY_CLI) trails.set(id, (await view(id)).events);
    const out = await cli('purge', '--json', '--by', 'ops-ann');
    expect(out.stderr).toBe('');
    const run = JSON.parse(out.stdout).runs[0];
    expect(run).toMatchObject({ status: 'ran', purged: PURGED_BY_CLI.length, actor: 'ops-ann' });

    for (const id of PURGED_BY_CLI) {
      const v = await view(id);
      expect(v.status).toBe(id.startsWith('discarded') ? 'discarded' : 'delivered');
      expect(v.record).toBeNull();
      expect(v.payload_purged).toMatchObject({ run: run.run_id, policy: 'retention.payloads: 30d', by: 'ops-ann' });
      // The trail as it was, plus the purge.
      expect(v.events.slice(0, -1)).toEqual(trails.get(id));
      expect(v.events.at(-1)).toMatchObject({ kind: 'payload_purged', detail: { run: run.run_id, by: 'ops-ann' } });
      if (id.startsWith('delivered')) expect(v.decision.label).toBe('spam');
    }
    for (const id of KEPT) {
      const v = await view(id);
      expect(v.payload_purged, id).toBeNull();
      expect(v.record, id).toMatchObject({ customer: { email: EMAIL }, body: TEXT });
    }
    expect((await pipelineEvents()).filter((e) => e.by === 'ops-ann')).toEqual([
      {
        run: run.run_id,
        purged: PURGED_BY_CLI.length,
        cutoff: run.cutoff,
        policy: 'retention.payloads: 30d',
        by: 'ops-ann',
        scheduled: false,
      },
    ]);
    // The record is still known by its id and hash: the same record again is the existing one, another body a conflict.
    const again = await as('admin', '/v1/pipelines/mail/records', { method: 'POST', body: JSON.stringify(content('delivered-old-1')) });
    expect((await json(again)).records[0]).toMatchObject({ id: 'delivered-old-1', existing: true });
    const other = await as('admin', '/v1/pipelines/mail/records', {
      method: 'POST',
      body: JSON.stringify(content('delivered-old-1', { subject: 'changed' })),
    });
    expect(other.status).toBe(409);
    // A second run finds nothing left to purge.
    expect((await purgePipeline(rt, 'mail', { now: Date.now(), actor: 'ops-ann' })).purged).toBe(0);
  });

  it('shows the viewer role "[redacted]" at the configured paths in every response with record content; a reviewer sees the content', async () => {
    const dead = (await json(as('vic', '/v1/dead-letters?pipeline=mail'))).dead_letters;
    expect(dead).toHaveLength(1);
    const routes = [
      '/v1/pipelines/mail/records/review-old',
      '/v1/records/review-old',
      '/v1/pipelines/mail/quarantine/quarantined-old',
      `/v1/dead-letters/${dead[0].id}`,
    ];
    for (const route of routes) {
      const forViewer = await as('vic', route);
      expect(forViewer.status, route).toBe(200);
      const text = await forViewer.text();
      expect(text, route).not.toContain(EMAIL);
      expect(text, route).not.toContain(TEXT);
      expect(text, route).toContain('[redacted]');
      const forReviewer = await (await as('rita', route)).text();
      expect(forReviewer, route).toContain(EMAIL);
      expect(forReviewer, route).not.toContain('[redacted]');
    }
    const v = await view('review-old', 'vic');
    expect(v.record).toEqual({ ...content('review-old', { c: 0.5 }), customer: { email: '[redacted]', name: 'Ann' }, body: '[redacted]' });
    const letter = await json(as('vic', `/v1/dead-letters/${dead[0].id}`));
    expect(letter.request.body.record.customer).toEqual({ email: '[redacted]', name: 'Ann' });
    // The case search does not answer questions about redacted values; the id still finds the case.
    const search = async (who: string, q: string) =>
      (await json(as(who, `/v1/review/cases?status=all&q=${encodeURIComponent(q)}`))).cases.map((c: { record_id: string }) => c.record_id);
    expect(await search('vic', 'ann.secret')).toEqual([]);
    expect(await search('rita', 'ann.secret')).toContain('review-old');
    expect(await search('vic', 'review-old')).toEqual(['review-old']);
  });

  it('runs the scheduled purge once per due time when two processes reach it together', async () => {
    // A month on: the records delivered during the test are past the cutoff too.
    const later: Runtime = { ...rt, clock: { now: () => Date.now() + 31 * DAY } };
    const due = Math.floor(later.clock.now() / (30 * DAY)) * 30 * DAY;
    const [a, b] = await Promise.all([new RetentionStage(later).runOnce(), new RetentionStage(later).runOnce()]);
    expect(a.done + b.done).toBe(1);
    expect((await view('delivered-new')).payload_purged).toMatchObject({ by: 'scheduler', policy: 'retention.payloads: 30d' });
    const runs = await rt.store.db.selectFrom('purge_runs').selectAll().where('pipeline', '=', 'mail').where('due_at', '>=', due).execute();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ actor: 'scheduler', purged: 1 });
    expect((await pipelineEvents()).filter((e) => e.run === Number(runs[0].id))).toEqual([
      expect.objectContaining({ purged: 1, by: 'scheduler', scheduled: true }),
    ]);
    // The same due time again: nothing runs.
    expect((await new RetentionStage(later).runOnce()).done).toBe(0);
    for (const id of KEPT.filter((k) => k !== 'delivered-new')) expect((await view(id)).payload_purged, id).toBeNull();
  });
});
