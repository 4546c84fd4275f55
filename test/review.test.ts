import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createToken } from '../src/accounts/tokens.js';
import { addUser } from '../src/accounts/users.js';
import { parseConfig } from '../src/config/load.js';
import type { Clock } from '../src/runtime/context.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { waitFor } from './support/servers.js';

const HOUR = 3_600_000;

describe.each(backends)(
  'review as a product on %s: authority, required reviews, adjudication, SLA pause, escalation, figures',
  (backend) => {
    let db: TestDatabase;
    let server: AirlockServer;
    let base: string;
    const tokens: Record<string, string> = {};
    const clock: Clock & { t: number } = { t: Date.UTC(2026, 10, 30, 9), now: () => clock.t };

    const call = async (who: string, method: string, p: string, body?: unknown) =>
      fetch(`${base}${p}`, {
        method,
        headers: { authorization: `Bearer ${tokens[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const next = async (who: string) => json(call(who, 'POST', '/v1/review/next', {}));
    const decide = (who: string, id: number, body: unknown) => call(who, 'POST', `/v1/review/cases/${id}/decision`, body);
    const send = async (id: string, amount: number, expected = 'refund') => {
      const res = await call('machine', 'POST', '/v1/pipelines/orders/records', { id, amount, expected });
      expect(res.status).toBe(202);
      return waitFor(
        async () => (await json(call('dana', 'GET', `/v1/pipelines/orders/records/${id}`))).cases[0],
        15_000,
        `a case for ${id}`,
      );
    };

    beforeAll(async () => {
      db = await createTestDatabase(backend);
      const dir = mkdtempSync(path.join(tmpdir(), 'airlock-review-'));
      writeFileSync(path.join(dir, 'model.mjs'), 'export function predict(r) { return { label: r.expected, confidence: 0.5 }; }\n');
      const file = path.join(dir, 'airlock.yaml');
      writeFileSync(
        file,
        stringify({
          database: db.url,
          logging: { level: 'silent' },
          worker: { poll_interval: '20ms' },
          teams: { support: { members: ['ana', 'li'] }, leads: { members: ['dana'] } },
          pipelines: {
            orders: {
              model: { type: 'module', path: './model.mjs' },
              routing: { auto_accept_at: 0.9 },
              review: {
                case_types: {
                  low_confidence: {
                    owner: 'support',
                    backup: 'leads',
                    sla: { first_action: '1h', resolution: '4h' },
                    reviews: { required: 2, agreement: 'unanimous' },
                    limits: [{ field: 'amount', reviewer: 500, lead: 5000 }],
                  },
                },
              },
            },
          },
        }),
      );
      const config = parseConfig(readFileSync(file, 'utf8'), { file });
      server = await createServer(config, { logger: createLogger('silent'), clock });
      base = (await server.listen({ port: 0 })) as string;
      const store = server.airlock.runtime.store.db;
      for (const [name, role] of [
        ['ana', 'reviewer'],
        ['li', 'reviewer'],
        ['dana', 'lead'],
        ['vic', 'viewer'],
        ['machine', 'ingest'],
      ] as const) {
        await addUser(store, name, role, null, clock.t);
        tokens[name] = (await createToken(store, name, 'test', clock.t)).token;
      }
    });

    afterAll(async () => {
      await server?.close();
      await db?.drop();
    });

    it('two reviewers must agree; the second is offered the case the first reviewed, the decision flows to the record', async () => {
      const c = await send('o-1', 300);
      const first = await next('ana');
      expect(first.case).toMatchObject({ id: c.id, type: 'low_confidence', owner: 'support', held_by: 'ana', reviews_required: 2 });
      expect(first.case.allowed_actions).toEqual(['approve', 'relabel', 'reject', 'request_info', 'escalate']);
      expect(first.record.prediction.label).toBe('refund');
      const one = await json(decide('ana', c.id, { action: 'approve' }));
      expect(one.case_outcome.case_state).toBe('pending');
      expect(one.status).toBe('in_review');
      // ana already reviewed it: the queue does not offer it to her again; li gets it.
      expect((await next('ana')).case).toBeNull();
      expect((await next('li')).case.id).toBe(c.id);
      const two = await json(decide('li', c.id, { label: 'refund' }));
      expect(two.case_outcome).toMatchObject({ action: 'approve', case_state: 'resolved' });
      expect(two.decision).toMatchObject({ label: 'refund', source: 'review', by: 'li' });
      const shown = await json(call('vic', 'GET', `/v1/review/cases/${c.id}`));
      expect(shown.actions.map((a: { by: string; action: string }) => [a.by, a.action])).toEqual([
        ['ana', 'approve'],
        ['li', 'approve'],
      ]);
      expect(shown.allowed_actions).toEqual([]);
    });

    it('limits on the record’s values are enforced on the server: a reviewer may approve up to 500, a lead up to 5,000', async () => {
      const c = await send('o-2', 800);
      const res = await decide('ana', c.id, { action: 'approve' });
      expect(res.status).toBe(403);
      expect((await json(res)).detail).toBe(
        `ana may not approve case ${c.id}: a reviewer may approve only up to amount 500; this record has 800`,
      );
      const view = await json(call('ana', 'GET', `/v1/review/cases/${c.id}`));
      expect(view.allowed_actions).toEqual(['reject', 'request_info', 'escalate']);
      expect((await decide('vic', c.id, { action: 'approve' })).status).toBe(403);
      expect((await json(decide('dana', c.id, { action: 'approve' }))).case_outcome.case_state).toBe('pending');
    });

    it('reviewers who disagree send the case to a lead, who adjudicates; reject needs a reason', async () => {
      const c = await send('o-3', 100);
      expect((await decide('ana', c.id, { action: 'reject' })).status).toBe(400);
      await decide('ana', c.id, { action: 'approve' });
      const split = await json(decide('li', c.id, { action: 'relabel', label: 'exchange' }));
      expect(split.case_outcome.case_state).toBe('needs_adjudication');
      const blocked = await decide('ana', c.id, { action: 'relabel', label: 'refund' });
      expect(blocked.status).toBe(403);
      expect((await json(blocked)).detail).toMatch(/waits for a lead to adjudicate/);
      const final = await json(
        decide('dana', c.id, { action: 'relabel', label: 'exchange', reason: 'the customer asked for a replacement' }),
      );
      expect(final.case_outcome.case_state).toBe('resolved');
      expect(final.decision).toMatchObject({ label: 'exchange', by: 'dana' });
    });

    it('waiting for information pauses the SLA clock; escalation moves the case to the backup team, more urgent', async () => {
      const c = await send('o-4', 50);
      const before = await json(call('ana', 'GET', `/v1/review/cases/${c.id}`));
      const due = Date.parse(before.sla.due_at);
      expect(due - clock.t).toBe(4 * HOUR);
      expect((await json(decide('ana', c.id, { action: 'request_info', reason: 'which order?' }))).case_outcome.case_state).toBe(
        'waiting_info',
      );
      clock.t += 2 * HOUR;
      const paused = await json(call('ana', 'GET', `/v1/review/cases/${c.id}`));
      expect(paused.sla.paused).toBe(true);
      expect(Date.parse(paused.sla.due_at)).toBe(due + 2 * HOUR);
      // The information arrived: any action resumes the clock, with the two hours added to the deadline.
      const esc = await json(decide('li', c.id, { action: 'escalate', reason: 'needs a lead' }));
      expect(esc.case_outcome.case_state).toBe('escalated');
      const after = await json(call('dana', 'GET', `/v1/review/cases/${c.id}`));
      expect(after).toMatchObject({ owner: 'leads', state: 'open', priority: 'high' });
      expect(Date.parse(after.sla.due_at)).toBe(due + 2 * HOUR);
      // A support reviewer no longer gets it from the queue; the lead does.
      expect((await next('li')).case?.id).not.toBe(c.id);
    });

    it('searches cases by record content, and applies one decision to many cases, each within its authority', async () => {
      const cases = [await send('o-10', 100, 'shipping'), await send('o-11', 200, 'shipping'), await send('o-12', 900, 'shipping')];
      const found = await json(call('vic', 'GET', '/v1/review/cases?q=SHIPPING'));
      expect(found.cases.map((c: { record_id: string }) => c.record_id).sort()).toEqual(['o-10', 'o-11', 'o-12']);
      expect((await json(call('vic', 'GET', '/v1/review/cases?q=o-11'))).cases.map((c: { record_id: string }) => c.record_id)).toEqual([
        'o-11',
      ]);
      expect((await json(call('vic', 'GET', '/v1/review/cases?q=100%25'))).cases).toEqual([]);
      const bulk = await json(call('ana', 'POST', '/v1/review/cases/bulk', { ids: cases.map((c) => c.id), action: 'approve' }));
      expect(bulk).toMatchObject({ done: 2, failed: 1 });
      expect(bulk.results.map((r: { ok: boolean; case_state?: string; code?: string }) => r.case_state ?? r.code)).toEqual([
        'pending',
        'pending',
        'FORBIDDEN',
      ]);
    });

    it('reports the queue’s figures: time to first action, SLA attainment, overturn rate, throughput', async () => {
      const m = await json(call('vic', 'GET', '/v1/review/metrics?pipeline=orders&days=30'));
      const lc = m.by_type.find((t: { type: string }) => t.type === 'low_confidence');
      expect(lc.open).toBe(5);
      expect(lc.sla_attainment).toEqual({ share: 1, met: 2, n: 2 });
      expect(lc.time_to_first_action_ms.n).toBe(6);
      // o-1 kept the model's label; o-3 was overturned (refund → exchange).
      expect(m.overturn_rate).toEqual([{ label: 'refund', overturned: 1, n: 2, rate: 0.5 }]);
      const by = Object.fromEntries(m.throughput.map((t: { reviewer: string; decisions: number }) => [t.reviewer, t.decisions]));
      expect(by).toEqual({ ana: 4, li: 2, dana: 2 });
      // Two cases had two or more verdicts (o-1 and o-3).
      expect(m.agreement.items).toBe(2);
      expect(m.agreement.krippendorff_alpha).not.toBeNull();
    });
  },
);
