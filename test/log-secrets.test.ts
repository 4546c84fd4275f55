// Time budget: 90 s for the file; about 25 s on 2 loaded cores (one `airlock serve` process, a few CLI calls).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runAirlock } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { ensureBuilt, freePort, type ServeProcess, startServe } from './support/serve.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from './support/servers.js';

const mark = (what: string) => `${what}-${randomBytes(6).toString('hex')}`;

/** Values that must never reach a log line: secrets of the config and of people, and the content of records. */
const SECRETS = {
  modelKey: mark('MODELKEY'),
  destinationKey: mark('DESTKEY'),
  adminPassword: mark('PASSWORD'),
  wrongPassword: mark('WRONGPW'),
};
const MARKERS = { text: mark('TEXTMARK'), nested: mark('NESTEDMARK'), echoed: mark('ECHOMARK') };

describe('secrets and record payloads never reach the logs of `airlock serve`', () => {
  let db: TestDatabase;
  let model: ModelServer;
  let receiver: Receiver;
  let serve: ServeProcess;
  let dir: string;
  let log = '';
  let token = '';

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase('sqlite');
    // The model echoes the record into its error for one record (as real APIs do in 4xx answers).
    // And it is down, echoing the record, for the first two calls of another record (scoring pauses; the record waits).
    let flaky = 0;
    model = await startModelServer((rec) => {
      if (String(rec.text).includes('echo')) return { status: 422, body: { error: `cannot classify ${JSON.stringify(rec)}` } };
      if (String(rec.text).includes('flaky') && flaky++ < 2)
        return { status: 503, body: { error: `overloaded by ${JSON.stringify(rec)}` } };
      return { body: { label: 'billing', confidence: String(rec.text).includes('auto') ? 0.99 : 0.5 } };
    });
    receiver = await startReceiver();
    receiver.statusFor.set('dead-1', 400);
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-logs-'));
    const config = path.join(dir, 'airlock.yaml');
    writeFileSync(
      config,
      stringify({
        database: db.url,
        logging: { level: 'debug' },
        worker: { poll_interval: '20ms' },
        pipelines: {
          tickets: {
            model: { type: 'http', url: model.url, retries: 0, headers: { authorization: `Bearer ${SECRETS.modelKey}` } },
            routing: { auto_accept_at: 0.9 },
            destinations: {
              helpdesk: {
                type: 'webhook',
                url: receiver.url,
                headers: { 'x-api-key': SECRETS.destinationKey },
                retry: { base: '10ms', cap: '20ms' },
              },
            },
          },
        },
      }),
    );
    const cli = (args: string[], env: Record<string, string> = {}) =>
      runAirlock(['--config', config, ...args], { cwd: dir, env, timeoutMs: 30_000 });
    expect((await cli(['users', 'add', 'root', '--role', 'admin'], { AIRLOCK_PASSWORD: SECRETS.adminPassword })).code).toBe(0);
    expect((await cli(['users', 'add', 'gateway', '--role', 'ingest', '--no-password'])).code).toBe(0);
    token = JSON.parse((await cli(['tokens', 'create', 'gateway', '--pipelines', 'tickets', '--json'])).stdout).token;
    serve = await startServe({ config, database: db.url, port: await freePort() });
    // Everything it wrote so far (well under the helper's 64 KB tail), then every later chunk of stdout and stderr.
    log = serve.output();
    serve.child.stdout?.on('data', (c: Buffer) => (log += c.toString('utf8')));
    serve.child.stderr?.on('data', (c: Buffer) => (log += c.toString('utf8')));
  });

  afterAll(async () => {
    await serve?.kill();
    await model?.close();
    await receiver?.close();
    await db?.drop();
  });

  it('runs records through scoring, review, delivery and a dead letter, then finds none of them in any log line', async () => {
    const url = serve.url as string;
    // A failed sign-in (the wrong password is a secret too), then the right one.
    const wrong = await fetch(`${url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'root', password: SECRETS.wrongPassword }),
    });
    expect(wrong.status).toBe(401);
    const login = await fetch(`${url}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'root', password: SECRETS.adminPassword }),
    });
    expect(login.status).toBe(200);
    const session = { cookie: (login.headers.get('set-cookie') as string).split(';')[0], 'x-csrf-token': (await json(login)).csrf_token };
    const sessionCookie = session.cookie.split('=')[1];

    const records = [
      { id: 'auto-1', text: `auto ${MARKERS.text}`, customer: { note: MARKERS.nested } },
      { id: 'review-1', text: `please look ${MARKERS.text}`, customer: { note: MARKERS.nested } },
      { id: 'dead-1', text: `auto ${MARKERS.text}`, customer: { note: MARKERS.nested } },
      { id: 'echo-1', text: `echo ${MARKERS.echoed}`, customer: { note: MARKERS.nested } },
      { id: 'flaky-1', text: `auto flaky ${MARKERS.text}`, customer: { note: MARKERS.nested } },
    ];
    const sent = await fetch(`${url}/v1/pipelines/tickets/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(records),
    });
    expect(sent.status).toBe(202);
    // A refused token and a malformed body (with a marker in it) are logged as nothing more than what they are.
    expect((await fetch(`${url}/v1/pipelines`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    const bad = await fetch(`${url}/v1/pipelines/tickets/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: `{"id": "bad", "text": "${MARKERS.text}"`,
    });
    expect(bad.status).toBe(400);

    const status = async (id: string) => (await json(fetch(`${url}/v1/records/${id}`, { headers: session }))).status as string;
    await waitFor(async () => (await status('review-1')) === 'in_review', 20_000, 'review-1 waits for a person');
    // A person decides the review case; the record is delivered.
    const cases = (await json(fetch(`${url}/v1/review/cases`, { headers: session }))).cases as { id: number; record_id: string }[];
    const c = cases.find((x) => x.record_id === 'review-1') as { id: number };
    const decided = await fetch(`${url}/v1/review/cases/${c.id}/decision`, {
      method: 'POST',
      headers: { ...session, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'relabel', label: 'refund', reason: `because ${MARKERS.text}` }),
    });
    expect(decided.status).toBe(200);
    for (const [id, want] of [
      ['auto-1', 'delivered'],
      ['review-1', 'delivered'],
      ['dead-1', 'dead_lettered'],
      ['echo-1', 'in_review'],
      ['flaky-1', 'delivered'],
    ]) {
      await waitFor(async () => (await status(id)) === want, 20_000, `${id} ${want}`);
    }
    // The destination got the content (so the markers did travel through the server), with its key.
    expect(JSON.stringify(receiver.requests.map((r) => r.body))).toContain(MARKERS.nested);
    await serve.kill('SIGTERM');

    const lines = log.split('\n').filter((l) => l.trim() !== '');
    // The search covers a real log: the start, the dead letter and the shutdown were logged.
    expect(log).toContain('Airlock listening');
    expect(log).toContain('delivery dead-lettered');
    expect(log).toContain('model unavailable');
    expect(log).toContain('shutting down');
    const needles: Record<string, string> = { ...SECRETS, ...MARKERS, apiToken: token, sessionCookie, csrf: session['x-csrf-token'] };
    const found = Object.entries(needles).flatMap(([what, value]) =>
      lines.filter((l) => l.includes(value)).map((l) => `${what}: ${l.slice(0, 300)}`),
    );
    console.log(
      `log-secrets: ${lines.length} log lines searched for ${Object.keys(needles).length} secrets and markers; ${found.length} found`,
    );
    expect(found).toEqual([]);
  });
});
