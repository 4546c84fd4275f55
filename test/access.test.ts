// Time budget: 60 s for the file (both backends); about 10 s on 2 loaded cores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../src/accounts/tokens.js';
import { type AccountRole, addUser, ROLES } from '../src/accounts/users.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/runtime/logger.js';
import { type AirlockServer, createServer } from '../src/server/app.js';
import { accessOf } from '../src/server/auth.js';
import { CONSOLE_ROUTES } from '../src/server/console.js';
import { backends, createTestDatabase, type TestDatabase } from './support/databases.js';
import { json } from './support/json.js';
import { type ModelServer, type Receiver, startModelServer, startReceiver, waitFor } from './support/servers.js';

/**
 * Routes that are not part of the HTTP API and so not in the OpenAPI document: the console's page shell (the same
 * index.html for each client-side route) and its static bundle. They hold no data; the pages read through /v1.
 */
const NON_API_ROUTES = new Set(['GET /assets/*', ...CONSOLE_ROUTES.map((u) => `GET ${u}`)]);

/** Routes anyone may call: probes, the sign-in itself, and this document. Everything else must answer 401 anonymously. */
const EXPECTED_PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'POST /v1/auth/login']);

const PEOPLE: Record<string, { name: string; password: string }> = {
  admin: { name: 'root', password: 'root-password-1' },
  lead: { name: 'dana', password: 'lead-password-2' },
  reviewer: { name: 'ana', password: 'reviewer-password-3' },
  viewer: { name: 'vic', password: 'viewer-password-4' },
};

interface Caller {
  who: string;
  headers: Record<string, string>;
}

describe.each(backends)('access control on every route, read from the OpenAPI document, on %s', (backend) => {
  let db: TestDatabase;
  let model: ModelServer;
  let receiver: Receiver;
  let server: AirlockServer;
  let base: string;
  const byRole: Partial<Record<AccountRole, Caller>> = {};
  const tok: Record<string, string> = {};
  const ids = { caseId: '', deadLetterId: '', tokenId: '' };

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    // The record's text says how confident the model is: "auto" records are delivered, the rest go to review.
    model = await startModelServer((rec) => ({ body: { label: 'billing', confidence: String(rec.text).includes('auto') ? 0.99 : 0.5 } }));
    receiver = await startReceiver();
    receiver.statusFor.set('dl-1', 400);
    const config = parseConfig(
      JSON.stringify({
        database: db.url,
        logging: { level: 'silent' },
        worker: { poll_interval: '20ms' },
        pipelines: {
          tickets: {
            model: { type: 'http', url: model.url },
            routing: { auto_accept_at: 0.9 },
            destinations: { helpdesk: { type: 'webhook', url: receiver.url, retry: { base: '10ms', cap: '20ms' } } },
          },
          other: { model: { type: 'http', url: model.url } },
        },
      }),
    );
    server = await createServer(config, { logger: createLogger('silent') });
    const sdb = server.airlock.runtime.store.db;
    const now = Date.now();
    await Promise.all(Object.entries(PEOPLE).map(([role, p]) => addUser(sdb, p.name, role as AccountRole, p.password, now)));
    await addUser(sdb, 'machine', 'ingest', null, now);
    // Full-reach tokens for the ingest role; scoped tokens of the admin (the widest role) for the scope checks.
    const machine = await createToken(sdb, 'machine', 'full', now);
    tok.machine = machine.token;
    ids.tokenId = String(machine.id);
    tok.adminReadOnly = (await createToken(sdb, 'root', 'read', now, { pipelines: ['*'], scopes: ['read'], expiresAt: null })).token;
    tok.adminIngestOnly = (await createToken(sdb, 'root', 'ingest', now, { pipelines: ['*'], scopes: ['ingest'], expiresAt: null })).token;
    tok.adminOtherPipeline = (await createToken(sdb, 'root', 'other', now, { pipelines: ['other'], scopes: ['*'], expiresAt: null })).token;
    tok.adminTickets = (await createToken(sdb, 'root', 'tickets', now, { pipelines: ['tickets'], scopes: ['*'], expiresAt: null })).token;
    base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;

    for (const [role, p] of Object.entries(PEOPLE)) {
      const res = await fetch(`${base}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: p.name, password: p.password }),
      });
      expect(res.status).toBe(200);
      const cookie = (res.headers.get('set-cookie') as string).split(';')[0];
      const csrf = (await json(res)).csrf_token as string;
      // With the CSRF token: a refusal below is the role check's, not the CSRF check's.
      byRole[role as AccountRole] = { who: `${role} (session)`, headers: { cookie, 'x-csrf-token': csrf } };
    }
    byRole.ingest = { who: 'ingest (token)', headers: { authorization: `Bearer ${tok.machine}` } };

    // Real ids, so that a route whose guard were missing would answer 200 (and fail the test), not hide behind a 404.
    const sent = await fetch(`${base}/v1/pipelines/tickets/records`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tok.machine}` },
      body: JSON.stringify([
        { id: 'r-1', text: 'refund please' },
        { id: 'dl-1', text: 'auto: the helpdesk refuses this one' },
      ]),
    });
    expect(sent.status).toBe(202);
    const admin = byRole.admin as Caller;
    ids.caseId = String(
      await waitFor(
        async () => ((await json(fetch(`${base}/v1/review/cases`, { headers: admin.headers }))).cases as { id: number }[])[0]?.id,
        20_000,
        'the review case of r-1',
      ),
    );
    ids.deadLetterId = String(
      await waitFor(
        async () => ((await json(fetch(`${base}/v1/dead-letters`, { headers: admin.headers }))).dead_letters as { id: number }[])?.[0]?.id,
        20_000,
        'the dead letter of dl-1',
      ),
    );
  });

  afterAll(async () => {
    await server?.close();
    await model?.close();
    await receiver?.close();
    await db?.drop();
  });

  /** A real value for each path parameter of `route`. */
  function fill(route: string): string {
    const idFor = route.startsWith('/v1/review/cases/')
      ? ids.caseId
      : route.startsWith('/v1/dead-letters/')
        ? ids.deadLetterId
        : route.startsWith('/v1/tokens/')
          ? ids.tokenId
          : 'r-1';
    const values: Record<string, string> = { pipeline: 'tickets', id: idFor, version: '1', field: 'text', name: 'vic' };
    return route.replace(/:(\w+)/g, (_, p: string) => {
      if (!(p in values)) throw new Error(`no value for :${p} in ${route}: add one to fill()`);
      return values[p];
    });
  }

  async function call(method: string, route: string, headers: Record<string, string>) {
    const write = method !== 'GET' && method !== 'HEAD';
    const res = await fetch(`${base}${fill(route)}`, {
      method,
      headers: write ? { ...headers, 'content-type': 'application/json' } : headers,
      body: write ? JSON.stringify({ id: 'probe', text: 'x', name: 'probe-user', role: 'viewer', label: 'x', reason: 'r' }) : undefined,
    });
    const body = await res.text();
    return { status: res.status, detail: (body.startsWith('{') ? JSON.parse(body).detail : body) as string };
  }

  async function operations(): Promise<string[]> {
    const doc = await json(fetch(`${base}/openapi.json`));
    const ops: string[] = [];
    for (const [p, methods] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const m of Object.keys(methods)) ops.push(`${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    return ops.sort();
  }

  it('lists in the OpenAPI document exactly the routes the server registered (apart from the console pages)', async () => {
    const registered = [...new Set(server.routes)].filter((r) => !NON_API_ROUTES.has(r)).sort();
    const documented = await operations();
    expect(documented).toEqual(registered);
    // Every non-API route is one the server registered: the list above cannot hide a route that does not exist.
    for (const r of NON_API_ROUTES) expect(server.routes).toContain(r);
  });

  it('refuses every operation to an anonymous caller, a role that may not call it, and a token without its scope', async () => {
    const config = server.airlock.runtime.config;
    let routes = 0;
    let refusals = 0;
    const publicOps: string[] = [];
    for (const op of await operations()) {
      const [method, route] = op.split(' ');
      const rule = accessOf(method, route, { metricsPublic: config.server.metricsPublic });
      expect(rule, `${op} has an access rule`).toBeDefined();
      routes++;
      if (!rule || rule.public) {
        publicOps.push(op);
        continue;
      }
      const anon = await call(method, route, {});
      expect([op, anon.status]).toEqual([op, 401]);
      refusals++;

      // Every role the table does not list for this route: 403 from the role check.
      for (const role of ROLES.filter((r) => !rule.roles.includes(r))) {
        const caller = byRole[role] as Caller;
        const res = await call(method, route, caller.headers);
        expect([op, caller.who, res.status]).toEqual([op, caller.who, 403]);
        expect(res.detail).toContain('this needs the role');
        refusals++;
      }

      // The widest role, through a token that lacks the scope this route needs: 403 naming the scope.
      const lacking = rule.action === 'read' ? tok.adminIngestOnly : tok.adminReadOnly;
      const scoped = await call(method, route, { authorization: `Bearer ${lacking}` });
      expect([op, 'token without the scope', scoped.status]).toEqual([op, 'token without the scope', 403]);
      expect(scoped.detail).toContain(`needs the "${rule.action}" scope`);
      refusals++;

      // A token scoped to another pipeline: refused on this pipeline's routes and on routes spanning every pipeline.
      if (!rule.anyPipeline) {
        const other = await call(method, route, { authorization: `Bearer ${tok.adminOtherPipeline}` });
        expect([op, 'token of pipeline other', other.status]).toEqual([op, 'token of pipeline other', 403]);
        expect(other.detail).toContain('this token is scoped to pipelines other');
        refusals++;
      }

      // And the check is not a blanket refusal: an allowed caller reads (writes are not replayed here: they change state).
      if (method === 'GET') {
        const allowed = byRole[rule.roles[0]] as Caller;
        const ok = await call(method, route, allowed.headers);
        expect([op, allowed.who, [401, 403].includes(ok.status)]).toEqual([op, allowed.who, false]);
      }
    }
    expect(new Set(publicOps)).toEqual(EXPECTED_PUBLIC);
    for (const op of publicOps) {
      const [method, route] = op.split(' ');
      if (method === 'GET') expect([op, (await call(method, route, {})).status]).toEqual([op, 200]);
    }
    expect(routes).toBeGreaterThanOrEqual(50);
    console.log(`access (${backend}): ${routes} operations checked, ${publicOps.length} public, ${refusals} refusals asserted`);
  });

  it('lets a token scoped to pipeline tickets ingest there, and refuses pipeline other naming the scope', async () => {
    const send = (pipeline: string, token: string) =>
      fetch(`${base}/v1/pipelines/${pipeline}/records`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ id: `scoped-${pipeline}`, text: 'hello' }),
      });
    expect((await send('tickets', tok.adminTickets)).status).toBe(202);
    const refused = await send('other', tok.adminTickets);
    expect(refused.status).toBe(403);
    expect((await json(refused)).detail).toBe('this token is scoped to pipelines tickets; it may not act on pipeline "other"');
    // Nothing of the refused request was stored.
    const root = byRole.admin as Caller;
    expect((await fetch(`${base}/v1/pipelines/other/records/scoped-other`, { headers: root.headers })).status).toBe(404);
  });

  it('sends security headers: the console with a strict CSP, every API answer with nosniff', async () => {
    const page = await fetch(`${base}/queue`);
    await page.text();
    const csp = page.headers.get('content-security-policy') as string;
    const directives = Object.fromEntries(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k, v]),
    );
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(csp).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    for (const p of ['/v1/pipelines', '/healthz', '/v1/no-such-route']) {
      const res = await fetch(`${base}${p}`, { headers: (byRole.viewer as Caller).headers });
      await res.text();
      expect([p, res.headers.get('x-content-type-options')]).toEqual([p, 'nosniff']);
    }
  });
});

describe('server.metrics_public: false', () => {
  it('puts /metrics behind sign-in, and the OpenAPI document says so', async () => {
    const db = await createTestDatabase('sqlite');
    const config = parseConfig(JSON.stringify({ database: db.url, logging: { level: 'silent' }, server: { metrics_public: false } }));
    expect(config.server.metricsPublic).toBe(false);
    expect(parseConfig('{}').server.metricsPublic).toBe(true);
    const server = await createServer(config, { logger: createLogger('silent'), role: 'api' });
    try {
      await addUser(server.airlock.runtime.store.db, 'scraper', 'viewer', null, Date.now());
      const { token } = await createToken(server.airlock.runtime.store.db, 'scraper', 'prometheus', Date.now(), {
        pipelines: ['*'],
        scopes: ['read'],
        expiresAt: null,
      });
      const base = (await server.listen({ port: 0, host: '127.0.0.1' })) as string;
      expect((await fetch(`${base}/metrics`)).status).toBe(401);
      const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('airlock_');
      const doc = await json(fetch(`${base}/openapi.json`));
      expect(doc.paths['/metrics'].get['x-airlock-roles']).toContain('viewer');
      expect(doc.paths['/healthz'].get.security).toEqual([]);
    } finally {
      await server.close();
      await db.drop();
    }
  });
});
