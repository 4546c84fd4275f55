// Time budget: 120 s. The sign-in and server edges of the authority issue, each replayed against a real `airlock serve`
// (a child process, so its memory is its own) or a server on loopback:
//   5. serve --host 0.0.0.0 with auth: off;  6. memory before sign-in;  7. throttling across addresses, IPv6 by /64;
//   8. drift: redaction and people only;  9. bounded destination answers (a huge body, a gzip bomb);
//  10. redirects not followed;  12. Slack and Markdown escaping;  14. trust_proxy: Secure cookies and client
//  addresses, destination URLs for viewers;  15. a readiness gate that refuses by default.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createToken } from '../../src/accounts/tokens.js';
import { addUser } from '../../src/accounts/users.js';
import { slackEscape } from '../../src/alerts/alerts.js';
import { parseConfig } from '../../src/config/load.js';
import { mdText } from '../../src/drift/launch-review.js';
import { listQuarantine } from '../../src/pipeline/quarantine.js';
import { fieldIsRedacted } from '../../src/pipeline/redaction.js';
import { createLogger } from '../../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../../src/server/app.js';
import { sourceOf } from '../../src/server/login-throttle.js';
import { violations } from '../../src/store/codecs.js';
import { insertRecords } from '../../src/store/records.js';
import { runAirlock } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { json } from '../support/json.js';
import { freePort, startServe } from '../support/serve.js';
import { waitFor } from '../support/servers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'airlock-edges-'));
const write = (name: string, value: unknown) => {
  const file = path.join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : stringify(value));
  return file;
};
/** Resident memory of a process, in MB (Linux). */
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

describe('5. serve --host with auth: off', () => {
  it('refuses a host other machines can reach, whichever way it is given, and says why', async () => {
    const db = await createTestDatabase('sqlite');
    const config = write('auth-off.yaml', { database: db.url, server: { auth: 'off', host: '127.0.0.1' }, pipelines: {} });
    const r = await runAirlock(['serve', '--config', config, '--host', '0.0.0.0', '--port', String(await freePort())], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/server\.auth: off is allowed only on a loopback host .* serve would listen on 0\.0\.0\.0 \(--host\)/);
    const viaEnv = write('auth-off-env.yaml', { database: db.url, server: { auth: 'off', host: '${HOST}' }, pipelines: {} });
    const e = await runAirlock(['config', 'check', viaEnv], { cwd: dir, env: { HOST: '0.0.0.0' } });
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/auth: off is allowed only on a loopback host/);
    await db.drop();
  });
});

describe('6 and 7. sign-in: bounded before anything, throttled per account across addresses', () => {
  let db: TestDatabase;
  let server: AirlockServer;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    const config = parseConfig(
      JSON.stringify({ database: db.url, logging: { level: 'silent' }, server: { trust_proxy: true }, pipelines: {} }),
    );
    server = await createServer(config, { logger: createLogger('silent'), role: 'api' });
    base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
    await addUser(server.airlock.runtime.store.db, 'ana', 'reviewer', 'the-right-password-1', Date.now());
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  const login = (name: string, password: string, from?: string, proto?: string) =>
    fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(from ? { 'x-forwarded-for': from } : {}),
        ...(proto ? { 'x-forwarded-proto': proto } : {}),
      },
      body: JSON.stringify({ name, password }),
    });

  it('refuses a long name before reading it, and a name over 128 characters before the throttle', async () => {
    expect((await login('x'.repeat(4 * 1024 * 1024), 'p')).status).toBe(413);
    const long = await login('y'.repeat(129), 'p');
    expect(long.status).toBe(400);
    expect(String((await json(long)).detail)).toMatch(/a user name of at most 128 characters/);
  });

  it('slows down guessing one account from many addresses, and keys an IPv6 /64 as one source', async () => {
    // Five failures from five addresses: the account's backoff starts, whatever the next address (before, a new
    // address could go on guessing the same account).
    for (let i = 1; i <= 5; i++) expect((await login('ana', 'wrong', `203.0.113.${i}`)).status).toBe(401);
    const sixth = await login('ana', 'wrong', '198.51.100.7');
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even the right password waits its turn: a backoff, not a lockout — after the wait it signs in.
    expect((await login('ana', 'the-right-password-1', '198.51.100.8')).status).toBe(429);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await login('ana', 'the-right-password-1', '198.51.100.8')).status).toBe(200);
    // One /64 is one source: ten guesses at one name from rotating addresses hit the per-source limit.
    expect(sourceOf('2001:db8:1:2::1')).toBe(sourceOf('2001:db8:1:2:ffff:1:2:3'));
    expect(sourceOf('2001:db8:1:3::1')).not.toBe(sourceOf('2001:db8:1:2::1'));
    expect(sourceOf('::ffff:203.0.113.9')).toBe('203.0.113.9');
    let last = 0;
    for (let i = 0; i < 12; i++) last = (await login(`nobody-${i % 1}`, 'wrong', `2001:db8:1:2::${(i + 1).toString(16)}`)).status;
    expect(last).toBe(429);
  });

  it('sets a Secure cookie behind a TLS proxy that says https (server.trust_proxy)', async () => {
    await addUser(server.airlock.runtime.store.db, 'bea', 'reviewer', 'the-right-password-2', Date.now());
    const ok = await login('bea', 'the-right-password-2', '192.0.2.10', 'https');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('set-cookie')).toMatch(/; Secure/);
  });
});

describe('6. memory before sign-in, on a real serve process', () => {
  it('60 sign-ins with 4 MB names, and 60 more after the throttle, leave the server about where it was', async () => {
    const db = await createTestDatabase('sqlite');
    const config = write('memory.yaml', { database: db.url, logging: { level: 'silent' }, pipelines: {} });
    const serve = await startServe({ config, database: db.url, role: 'api', port: await freePort() });
    try {
      const pid = serve.child.pid as number;
      const before = rssMb(pid);
      const name = (i: number) => `${i}-${'n'.repeat(4 * 1024 * 1024)}`;
      for (let i = 0; i < 120; i++) {
        const r = await fetch(`${serve.url}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: name(i), password: 'p' }),
        }).catch(() => null);
        if (r) expect([400, 413, 429]).toContain(r.status);
      }
      // Before: 100 MB grew to 649 MB. Now the body is refused before it is read and nothing is kept per name.
      expect(rssMb(pid) - before).toBeLessThan(80);
    } finally {
      await serve.kill();
      await db.drop();
    }
  }, 90_000);
});

describe('8–10, 14, 15. data that leaves, on a server with a pipeline', () => {
  let db: TestDatabase;
  let server: AirlockServer;
  let base: string;
  let dest: Server;
  let elsewhere: Server;
  let elsewhereHits = 0;
  let destUrl = '';
  const tokens: Record<string, string> = {};
  const call = (who: string, p: string) => fetch(`${base}${p}`, { headers: { authorization: `Bearer ${tokens[who]}` } });

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    elsewhere = createHttpServer((_req, res) => {
      elsewhereHits++;
      res.end('{}');
    });
    await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', () => r()));
    const elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as { port: number }).port}/steal`;
    // The destination: a 400 MB answer, a gzip that inflates to 1 GB, or a redirect to another origin, by record id.
    dest = createHttpServer((req, res) => {
      const id = decodeURIComponent(String(req.headers['x-airlock-record-id']));
      if (id === 'huge') {
        res.writeHead(400, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(1 << 20, 0x61);
        let sent = 0;
        const push = () => {
          while (sent < 400 && res.write(chunk)) sent++;
          if (sent < 400) res.once('drain', push);
          else res.end();
        };
        res.on('error', () => {});
        push();
      } else if (id === 'bomb') {
        res.writeHead(400, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
        const gz = createGzip({ level: 9 });
        gz.pipe(res);
        const zeros = Buffer.alloc(1 << 20);
        let n = 0;
        const push = () => {
          while (n < 1024 && gz.write(zeros)) n++;
          if (n < 1024) gz.once('drain', push);
          else gz.end();
        };
        res.on('close', () => gz.destroy());
        push();
      } else if (id === 'moved') {
        res.writeHead(307, { location: elsewhereUrl });
        res.end();
      } else res.end('{}');
    });
    await new Promise<void>((r) => dest.listen(0, '127.0.0.1', () => r()));
    destUrl = `http://127.0.0.1:${(dest.address() as { port: number }).port}/api/secret-token-in-path/hook?key=abc`;
    writeFileSync(path.join(dir, 'model.mjs'), "export function predict() { return { label: 'ok', confidence: 0.99 }; }\n");
    const file = write('edges.yaml', {
      database: db.url,
      logging: { level: 'silent' },
      worker: { poll_interval: '20ms' },
      pipelines: {
        mail: {
          model: { type: 'module', path: './model.mjs' },
          redact: ['customer.email'],
          destinations: { helpdesk: { type: 'webhook', url: destUrl, retry: { max_attempts: 1 } } },
        },
      },
    });
    server = await createServer(parseConfig(readFileSync(file, 'utf8'), { file }), { logger: createLogger('silent') });
    base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
    const sdb = server.airlock.runtime.store.db;
    for (const [name, role] of [
      ['vic', 'viewer'],
      ['dana', 'lead'],
      ['machine', 'ingest'],
    ] as const) {
      await addUser(sdb, name, role, null, Date.now());
      tokens[name] = (await createToken(sdb, name, 'test', Date.now())).token;
    }
  });
  afterAll(async () => {
    await server?.close();
    await db?.drop();
    dest?.close();
    elsewhere?.close();
  });

  it('9 and 10: a huge answer, a gzip bomb and a redirect each end as a dead letter with the reason, in bounded memory', async () => {
    const before = process.memoryUsage().rss / 2 ** 20;
    const res = await fetch(`${base}/v1/pipelines/mail/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.machine}` },
      body: JSON.stringify([
        { id: 'huge', customer: { email: 'a@example.com' } },
        { id: 'bomb', customer: { email: 'b@example.com' } },
        { id: 'moved', customer: { email: 'c@example.com' } },
      ]),
    });
    expect(res.status).toBe(202);
    const letters = await waitFor(
      async () => {
        const d = (await json(call('dana', '/v1/dead-letters'))).dead_letters as {
          id: number;
          record_id: string;
          last_error: string | null;
        }[];
        return d.length === 3 ? d : undefined;
      },
      30_000,
      'three dead letters',
    );
    expect(process.memoryUsage().rss / 2 ** 20 - before).toBeLessThan(150);
    if (!letters) throw new Error('no dead letters');
    const moved = letters.find((d) => d.record_id === 'moved');
    expect(moved?.last_error).toMatch(/answered 307 redirecting to http:\/\/127\.0\.0\.1:\d+\/steal; redirects are not followed/);
    expect(elsewhereHits).toBe(0);
    const huge = await json(call('dana', `/v1/dead-letters/${letters.find((d) => d.record_id === 'huge')?.id}`));
    expect(huge.response.status).toBe(400);
    expect(String(huge.response.body).length).toBeLessThanOrEqual(2048);
  });

  it('14: viewers see a destination by its host, not the path or query that may hold its secret', async () => {
    const viewer = await json(call('vic', '/v1/destinations'));
    const lead = await json(call('dana', '/v1/destinations'));
    expect(viewer.destinations[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/…$/);
    expect(JSON.stringify(viewer)).not.toContain('secret-token-in-path');
    expect(lead.destinations[0].url).toContain('/api/secret-token-in-path/hook');
  });

  it('8: drift is for people (a machine token reads none), and a redact: path covers the drift field it names', async () => {
    expect((await call('machine', '/v1/pipelines/mail/drift')).status).toBe(403);
    expect((await call('machine', '/v1/pipelines/mail/drift/customer.email/series')).status).toBe(403);
    expect(fieldIsRedacted('customer.email', ['customer.email'])).toBe(true);
    expect(fieldIsRedacted('customer.email', ['customer'])).toBe(true);
    expect(fieldIsRedacted('items[].iban', ['items.*.iban'])).toBe(true);
    expect(fieldIsRedacted('customer.name', ['customer.email'])).toBe(false);
  });

  it('15: a pipeline with no evidence fails the readiness gate by default, and the report says which gate applied', async () => {
    const r = await json(call('dana', '/v1/pipelines/mail/readiness'));
    expect(r.passed).toBe(false);
    expect(r.gate.default).toBe(true);
    expect(r.blocking_failed).toEqual(
      expect.arrayContaining(['data.contract', 'confidence.calibration', 'confidence.threshold', 'integrations.loadtest']),
    );
  });
});

describe('12. record-derived text is escaped where it is read as markup', () => {
  it('Slack: & < > as Slack documents, so <!channel> and <url|text> are shown, not obeyed', () => {
    expect(slackEscape('field <!channel> & <https://evil.example|click>')).toBe(
      'field &lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;',
    );
  });
  it('Markdown of the 30-day review: HTML characters and the table pipe', () => {
    expect(mdText('<img src=x onerror=alert(1)>|x')).toBe('&lt;img src=x onerror=alert(1)&gt;\\|x');
  });
});

describe('11. the quarantine list filters and pages in SQL', () => {
  it('answers one page and the total, by kind and by field (names with LIKE characters match exactly)', async () => {
    const db = await createTestDatabase('sqlite');
    const config = parseConfig(
      JSON.stringify({
        database: db.url,
        logging: { level: 'silent' },
        pipelines: { p: { model: { type: 'http', url: 'http://127.0.0.1:9' } } },
      }),
    );
    const server = await createServer(config, { logger: createLogger('silent'), role: 'api' });
    try {
      const rt = server.airlock.runtime;
      const big = 'x'.repeat(100_000);
      const v = (kind: string, field: string) =>
        violations.encode([{ kind: kind as never, path: `/${field}`, field, message: 'm', keyword: 'k' }]);
      await insertRecords(
        rt.store.db,
        Array.from({ length: 60 }, (_, i) => ({
          pipeline: 'p',
          id: `q-${i}`,
          body: JSON.stringify({ big }),
          body_hash: `h${i}`,
          status: 'quarantined' as const,
          contract_hash: null,
          contract_version: null,
          violations:
            i % 3 === 0 ? v('type_mismatch', 'amount') : i % 3 === 1 ? v('missing_required', 'a_b%c') : v('type_mismatch', 'aXbYc'),
          original_body: null,
          prediction: null,
          decision: null,
          score_attempts: 0,
          available_at: 0,
          lease_owner: null,
          lease_until: null,
          created_at: i,
          updated_at: i,
        })),
        rt.store.kind,
      );
      const page = await listQuarantine(rt, { limit: 5 });
      expect(page.total).toBe(60);
      expect(page.records.map((r) => r.id)).toEqual(['q-0', 'q-1', 'q-2', 'q-3', 'q-4']);
      expect((await listQuarantine(rt, { kind: 'type_mismatch', limit: 100 })).total).toBe(40);
      // `_` and `%` in a field name are not wildcards: a_b%c matches itself only, not aXbYc.
      const odd = await listQuarantine(rt, { field: 'a_b%c', limit: 100 });
      expect(odd.total).toBe(20);
      expect(odd.records.every((r) => r.violations[0].field === 'a_b%c')).toBe(true);
    } finally {
      await server.close();
      await db.drop();
    }
  });
});
