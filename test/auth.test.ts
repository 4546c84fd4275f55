// Time budget: 200 s for the file (both backends): it spawns the CLI about 25 times (2-5 s each on 2 loaded cores; 185 s measured while other suites ran).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { tokenGrant } from '../src/accounts/tokens.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { runAirlock } from './support/cli.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { ensureBuilt } from './support/serve.js';
import { type ModelServer, startModelServer } from './support/servers.js';

const PASSWORDS: Record<string, string> = {
  root: 'root-password-1',
  dana: 'lead-password-2',
  ana: 'reviewer-password-3',
  vic: 'viewer-password-4',
};

describe.each(backends)('sign-in, tokens and roles on %s', (backend) => {
  let db: TestDatabase;
  let model: ModelServer;
  let server: AirlockServer;
  let base: string;
  let dir: string;
  const cookies: Record<string, { cookie: string; csrf: string }> = {};
  const tokens: Record<string, string> = {};

  const cli = (args: string[], env: Record<string, string> = {}) =>
    runAirlock(['--config', path.join(dir, 'airlock.yaml'), ...args], { cwd: dir, env, timeoutMs: 30_000 });

  async function login(name: string, password = PASSWORDS[name]) {
    return fetch(`${base}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, password }),
    });
  }

  /** A request as `who`: a user name (session cookie + CSRF token), `token:NAME` (bearer token) or `nobody`. */
  function as(who: string, method: string, p: string, body?: unknown, opts: { csrf?: boolean } = {}) {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (who.startsWith('token:')) headers.authorization = `Bearer ${tokens[who.slice(6)]}`;
    else if (who !== 'nobody') {
      headers.cookie = cookies[who].cookie;
      if (opts.csrf !== false) headers['x-csrf-token'] = cookies[who].csrf;
    }
    return fetch(`${base}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase(backend);
    model = await startModelServer(() => ({ body: { label: 'billing', confidence: 0.5 } }));
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-auth-'));
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        logging: { level: 'silent' },
        worker: { poll_interval: '20ms' },
        pipelines: { tickets: { model: { type: 'http', url: model.url }, routing: { auto_accept_at: 0.9 } } },
      }),
    );
    // The first admin comes from the CLI, on the database; the rest through the API, as that admin.
    const added = await cli(['users', 'add', 'root', '--role', 'admin'], { AIRLOCK_PASSWORD: PASSWORDS.root });
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe('added root (admin)\n');
    const config = parseConfig(readFileSync(file, 'utf8'), { file });
    server = await createServer(config, { logger: createLogger('silent') });
    base = (await server.listen({ port: 0 })) as string;
  });

  afterAll(async () => {
    await server?.close();
    await model?.close();
    await db?.drop();
  });

  it('refuses every /v1 request without a sign-in, and says how to sign in', async () => {
    const res = await as('nobody', 'POST', '/v1/pipelines/tickets/records', { id: 'x-1', text: 'hi' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="airlock"');
    expect((await json(res)).detail).toMatch(/sign in first/);
    expect((await as('nobody', 'GET', '/v1/review/cases')).status).toBe(401);
    // Health, readiness and metrics stay open for probes and scrapers.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it('signs in with a session cookie (HttpOnly, SameSite=Strict) and needs the CSRF token on writes', async () => {
    expect((await login('root', 'wrong password!')).status).toBe(401);
    const res = await login('root');
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie') as string;
    expect(setCookie).toMatch(/^airlock_session=[A-Za-z0-9_-]{43};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    const body = await json(res);
    expect(body.user).toEqual({ name: 'root', role: 'admin', disabled: false });
    cookies.root = { cookie: setCookie.split(';')[0], csrf: body.csrf_token };
    expect(await json(as('root', 'GET', '/v1/auth/me'))).toMatchObject({ user: { name: 'root', role: 'admin' }, via: 'session' });

    const noCsrf = await as('root', 'POST', '/v1/users', { name: 'dana', role: 'lead', password: PASSWORDS.dana }, { csrf: false });
    expect(noCsrf.status).toBe(403);
    expect((await json(noCsrf)).detail).toContain('x-csrf-token');
    for (const [name, role] of [
      ['dana', 'lead'],
      ['ana', 'reviewer'],
      ['vic', 'viewer'],
    ]) {
      const r = await as('root', 'POST', '/v1/users', { name, role, password: PASSWORDS[name] });
      expect(r.status).toBe(201);
    }
    expect((await as('root', 'POST', '/v1/users', { name: 'bob', role: 'reviewer', password: 'short' })).status).toBe(400);
    for (const name of ['dana', 'ana', 'vic']) {
      const r = await login(name);
      const b = await json(r);
      cookies[name] = { cookie: (r.headers.get('set-cookie') as string).split(';')[0], csrf: b.csrf_token };
    }
  });

  it('gives machines tokens that are shown once and stored hashed; the ingest role sends records and nothing else', async () => {
    const made = await cli(['users', 'add', 'crm-sync', '--role', 'ingest', '--no-password']);
    expect(made.code).toBe(0);
    const tok = await cli(['users', 'token', 'create', 'crm-sync', '--name', 'crm', '--json']);
    tokens.ingest = JSON.parse(tok.stdout).token;
    expect(tokens.ingest).toMatch(/^alk_[A-Za-z0-9_-]{32}$/);
    const listed = await cli(['users', 'token', 'list', '--json']);
    expect(listed.stdout).not.toContain(tokens.ingest);
    const api = await json(as('root', 'POST', '/v1/users/ana/tokens', { name: 'laptop' }));
    tokens.ana = api.token;

    const sent = await as('token:ingest', 'POST', '/v1/pipelines/tickets/records', { id: 't-1', text: 'refund please' });
    expect(sent.status).toBe(202);
    // `airlock ingest` sends the token it is given.
    writeFileSync(path.join(dir, 'batch.jsonl'), '{"id":"t-2","text":"a"}\n{"id":"t-3","text":"b"}\n');
    const ingested = await cli(['ingest', 'batch.jsonl', '--pipeline', 'tickets', '--url', base, '--token', tokens.ingest, '--json']);
    expect(ingested.code).toBe(0);
    expect(JSON.parse(ingested.stdout)).toMatchObject({ accepted: 2 });
    const refused = await cli([
      'ingest',
      'batch.jsonl',
      '--pipeline',
      'tickets',
      '--url',
      base,
      '--token',
      'alk_not-a-real-token',
      '--json',
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('token is not valid');

    expect((await as('token:ingest', 'GET', '/v1/users')).status).toBe(403);
    // A revoked token and a disabled user's token stop working at once.
    const revoke = await cli(['users', 'token', 'revoke', String(api.id)]);
    expect(revoke.code).toBe(0);
    expect((await as('token:ana', 'GET', '/v1/pipelines')).status).toBe(401);
    expect((await as('token:ingest', 'GET', '/v1/pipelines')).status).toBe(200);
    await cli(['users', 'disable', 'crm-sync']);
    expect((await as('token:ingest', 'GET', '/v1/pipelines')).status).toBe(401);
  }, 150_000); // nine CLI runs: 2-4 s each on 2 loaded cores, more while other suites spawn processes

  // The authority matrix of the server's routes, written out: who may call what (✓ allowed, ✗ 403).
  const matrix: [string, string, string, Record<string, boolean>][] = [
    ['GET', '/v1/pipelines', 'read pipelines', { root: true, dana: true, ana: true, vic: true }],
    ['GET', '/v1/review/cases', 'read the queue', { root: true, dana: true, ana: true, vic: true }],
    ['POST', '/v1/pipelines/tickets/records', 'send records', { root: true, dana: true, ana: true, vic: false }],
    ['POST', '/v1/pipelines/tickets/halt/accept', 'decide a schema halt', { root: true, dana: true, ana: false, vic: false }],
    ['POST', '/v1/pipelines/tickets/thresholds/1/approve', 'approve a threshold', { root: true, dana: true, ana: false, vic: false }],
    ['POST', '/v1/review/cases/999999/decision', 'decide a case', { root: true, dana: true, ana: true, vic: false }],
    ['POST', '/v1/pipelines/tickets/quarantine/nope/discard', 'discard from quarantine', { root: true, dana: true, ana: true, vic: false }],
    ['GET', '/v1/users', 'list users', { root: true, dana: false, ana: false, vic: false }],
    ['POST', '/v1/users', 'add a user', { root: true, dana: false, ana: false, vic: false }],
  ];
  it.each(matrix)('%s %s (%s): only the roles allowed get past the role check', async (method, p, _what, allowed) => {
    for (const [who, ok] of Object.entries(allowed)) {
      const body =
        method === 'POST'
          ? { label: 'x', reason: 'r', name: `u-${who}-${p.length}`, role: 'viewer', password: 'long-enough-pw' }
          : undefined;
      const res = await as(who, method, p, body);
      if (ok) expect([res.status, who]).not.toEqual([403, who]);
      else {
        expect([res.status, who]).toEqual([403, who]);
        expect((await json(res)).detail).toMatch(/this needs the role/);
      }
    }
  });

  it('throttles sign-in attempts per address and name, with Retry-After', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 11; i++) last = await login('vic', `guess-${i}-wrong`);
    expect(last?.status).toBe(429);
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Even the right password waits now; another user is not affected.
    expect((await login('vic')).status).toBe(429);
    expect((await login('dana')).status).toBe(200);
  });

  it('signs out: the session ends on the server', async () => {
    const out = await as('ana', 'POST', '/v1/auth/logout', {});
    expect(out.status).toBe(200);
    expect((await as('ana', 'GET', '/v1/auth/me')).status).toBe(401);
  });
});

describe('auth: off', () => {
  it('is refused in the config unless the server listens on a loopback address', () => {
    expect(() => parseConfig('server: { host: 0.0.0.0, auth: off }\n')).toThrow(/auth: off is allowed only on a loopback host/);
    expect(parseConfig('server: { host: 127.0.0.1, auth: off }\n').server.auth).toBe('off');
    expect(parseConfig('server: { host: 0.0.0.0 }\n').server.auth).toBe('required');
  });
});

describe('token scopes and expiry, session expiry (SQLite, the clock moved forward)', () => {
  let db: TestDatabase;
  let server: AirlockServer;
  let base: string;
  let dir: string;
  let offset = 0;
  const DAY = 86_400_000;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runAirlock(['--config', path.join(dir, 'airlock.yaml'), ...args], { cwd: dir, env, timeoutMs: 30_000 });
  const get = (p: string, headers: Record<string, string>) => fetch(`${base}${p}`, { headers });

  beforeAll(async () => {
    ensureBuilt();
    db = await createTestDatabase('sqlite');
    dir = mkdtempSync(path.join(tmpdir(), 'airlock-tokens-'));
    const file = path.join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      stringify({
        database: db.url,
        logging: { level: 'silent' },
        server: { session_ttl: '1h', session_idle: '10m' },
        pipelines: {
          orders: { model: { type: 'http', url: 'http://127.0.0.1:9/predict' } },
          refunds: { model: { type: 'http', url: 'http://127.0.0.1:9/predict' } },
        },
      }),
    );
    expect((await cli(['users', 'add', 'root', '--role', 'admin'], { AIRLOCK_PASSWORD: PASSWORDS.root })).code).toBe(0);
    expect((await cli(['users', 'add', 'gateway', '--role', 'ingest', '--no-password'])).code).toBe(0);
    const config = parseConfig(readFileSync(file, 'utf8'), { file });
    server = await createServer(config, { logger: createLogger('silent'), role: 'api', clock: { now: () => Date.now() + offset } });
    base = (await server.listen({ port: 0 })) as string;
  });

  afterAll(async () => {
    await server?.close();
    await db?.drop();
  });

  it('airlock tokens: create with pipelines, scopes and expiry, list without the secret, refuse bad flags, revoke', async () => {
    const help = await cli(['tokens', 'create', '--help']);
    expect(help.stdout).toMatch(/--expires <duration>[\s\S]*default: "90d"/);
    expect(help.stdout).toMatch(/--scopes <list>[\s\S]*default: "ingest,read"/);

    const made = await cli([
      'tokens',
      'create',
      'gateway',
      '--pipelines',
      'orders',
      '--scopes',
      'ingest',
      '--expires',
      '30d',
      '--name',
      'erp',
      '--json',
    ]);
    expect(made.code).toBe(0);
    const t = JSON.parse(made.stdout);
    expect(t).toMatchObject({ user: 'gateway', pipelines: ['orders'], scopes: ['ingest'] });
    expect(Date.parse(t.expires_at) - Date.now()).toBeGreaterThan(29.9 * DAY);
    expect(Date.parse(t.expires_at) - Date.now()).toBeLessThan(30.1 * DAY);

    const send = (pipeline: string) =>
      fetch(`${base}/v1/pipelines/${pipeline}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
        body: JSON.stringify({ id: `x-${pipeline}`, text: 'hi' }),
      });
    expect((await send('orders')).status).toBe(202);
    const other = await send('refunds');
    expect(other.status).toBe(403);
    expect((await json(other)).detail).toContain('scoped to pipelines orders');
    // Scope ingest only: reading the record back needs "read".
    const readBack = await get('/v1/pipelines/orders/records/x-orders', { authorization: `Bearer ${t.token}` });
    expect(readBack.status).toBe(403);
    expect((await json(readBack)).detail).toContain('needs the "read" scope');

    const listed = await cli(['tokens', 'list', '--json']);
    expect(listed.stdout).not.toContain(t.token);
    const row = JSON.parse(listed.stdout).tokens.find((x: { id: number }) => x.id === t.id);
    expect(row).toMatchObject({
      name: 'erp',
      user: 'gateway',
      role: 'ingest',
      pipelines: ['orders'],
      scopes: ['ingest'],
      revoked: false,
      expired: false,
    });
    expect(row.last_used_at).not.toBeNull();

    // A bad flag is a usage error (exit 2) naming the flag; the other checks of the same parser, in-process.
    const bad = await cli(['tokens', 'create', 'gateway', '--scopes', 'ingest,delete']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--scopes: "delete" is not one of ingest, read, write (or *)');
    expect(() => tokenGrant({ pipelines: 'orders,nope' }, Date.now(), ['orders', 'refunds'])).toThrow(
      'pipelines: "nope" is not in the config (known: orders, refunds)',
    );
    expect(() => tokenGrant({ expires: 'soon' }, Date.now())).toThrow('expires must be a duration such as 30d, 12h or 90d, or never');
    expect(() => tokenGrant({ expires: '0d' }, Date.now())).toThrow('expires must be longer than 0');

    const revoked = await cli(['tokens', 'revoke', String(t.id)]);
    expect(revoked.stdout).toBe(`token #${t.id} revoked\n`);
    expect((await send('orders')).status).toBe(401);
    expect((await cli(['tokens', 'revoke', String(t.id)])).stderr).toContain(`no active token #${t.id}`);
  }, 120_000);

  it('refuses an expired token with a 401 that says when it expired', async () => {
    const made = JSON.parse((await cli(['tokens', 'create', 'gateway', '--json'])).stdout);
    const never = JSON.parse((await cli(['tokens', 'create', 'gateway', '--expires', 'never', '--json'])).stdout);
    expect(never.expires_at).toBeNull();
    const auth = (token: string) => ({ authorization: `Bearer ${token}` });
    expect((await get('/v1/pipelines', auth(made.token))).status).toBe(200);
    offset = 91 * DAY;
    try {
      const res = await get('/v1/pipelines', auth(made.token));
      expect(res.status).toBe(401);
      expect((await json(res)).detail).toBe(`the token expired at ${made.expires_at}; create a new one (airlock tokens create)`);
      expect((await get('/v1/pipelines', auth(never.token))).status).toBe(200);
    } finally {
      offset = 0;
    }
  });

  it('ends a session after 10 minutes without a request, and after 1 hour however active', async () => {
    const login = async () => {
      const res = await fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'root', password: PASSWORDS.root }),
      });
      expect(res.status).toBe(200);
      return { cookie: (res.headers.get('set-cookie') as string).split(';')[0] };
    };
    const me = (h: Record<string, string>) => get('/v1/auth/me', h);
    const at = (minutes: number) => (offset = minutes * 60_000);
    try {
      at(0);
      const idle = await login();
      at(9);
      expect((await me(idle)).status).toBe(200); // 9 minutes idle: still signed in, and the idle clock restarts
      at(18);
      expect((await me(idle)).status).toBe(200);
      at(29);
      const gone = await me(idle);
      expect(gone.status).toBe(401);
      expect((await json(gone)).detail).toContain('ended after a time without activity (server.session_idle)');

      at(30);
      const busy = await login();
      for (let m = 38; m < 90; m += 8) {
        at(m);
        expect([m, (await me(busy)).status]).toEqual([m, 200]);
      }
      at(91);
      const expired = await me(busy);
      expect(expired.status).toBe(401);
      expect((await json(expired)).detail).toContain('your session expired (server.session_ttl)');
    } finally {
      offset = 0;
    }
  });
});
