import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createSession, endSession, sessionUser } from '../accounts/sessions.js';
import {
  createToken,
  grantView,
  listTokens,
  revokeToken,
  type TokenGrant,
  type TokenScope,
  tokenGrant,
  tokenUser,
} from '../accounts/tokens.js';
import { type AccountRole, addUser, authenticate, disableUser, listUsers, setPassword, setRole, type User } from '../accounts/users.js';
import type { Role } from '../config/load.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import { CONSOLE_ROUTES } from './console.js';

/** Who is making a request: a signed-in person, a machine's token, or everyone (auth off, loopback only). */
export interface Principal {
  name: string;
  role: AccountRole;
  via: 'session' | 'token' | 'auth_off';
  csrf?: string;
  /** A token's reach (pipelines, actions, expiry); absent for sessions and with auth off. */
  grant?: TokenGrant;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Every role that can sign in. */
const EVERYONE: AccountRole[] = ['admin', 'lead', 'reviewer', 'viewer', 'ingest'];
/** People: they read everything the console shows (machines with the ingest role do not). */
export const PEOPLE: AccountRole[] = ['admin', 'lead', 'reviewer', 'viewer'];
/** Roles that send records. */
export const INGESTERS: AccountRole[] = ['admin', 'lead', 'reviewer', 'ingest'];
/** Roles that decide review work. */
export const DECIDERS: AccountRole[] = ['admin', 'lead', 'reviewer'];
/** Roles that decide for a pipeline: schema halts, thresholds, refits, dead letters. */
export const LEADS: AccountRole[] = ['admin', 'lead'];
const ADMINS: AccountRole[] = ['admin'];

/**
 * Who may call a route: anyone (`public`), or the roles listed; `action` is the token scope the route needs
 * (`ingest`, `read` or `write`), and a route with a `:pipeline` parameter also needs the pipeline in the token's scope.
 */
export type RouteAccess =
  | { public: true; why: string }
  | {
      public?: false;
      roles: AccountRole[];
      action: TokenScope;
      /** Holds no pipeline's records (who am I, pipeline names and counts): a token scoped to some pipelines may call it. */
      anyPipeline?: boolean;
    };

type GuardedAccess = Exclude<RouteAccess, { public: true }>;
const read = (roles: AccountRole[]): GuardedAccess => ({ roles, action: 'read' });
const write = (roles: AccountRole[]): GuardedAccess => ({ roles, action: 'write' });

/**
 * The access rule of every route, `METHOD /path` as the route is registered: the one table the server enforces
 * (registerAuth), the OpenAPI test checks route by route, and the README's table of roles describes. A route
 * missing here fails at registration, so a new route cannot ship without saying who may call it.
 */
export const ROUTE_ACCESS: Record<string, RouteAccess> = {
  'GET /healthz': { public: true, why: 'liveness probe' },
  'GET /readyz': { public: true, why: 'readiness probe' },
  // GET /metrics: public unless server.metrics_public is false (see accessOf).
  'GET /metrics': { ...read(EVERYONE), anyPipeline: true },
  'GET /openapi.json': { public: true, why: 'the description of the API, no data: clients and editors fetch it before signing in' },
  'POST /v1/auth/login': { public: true, why: 'signing in (throttled)' },
  'POST /v1/auth/logout': { ...read(EVERYONE), anyPipeline: true },
  'GET /v1/auth/me': { ...read(EVERYONE), anyPipeline: true },
  'GET /v1/users': read(ADMINS),
  'POST /v1/users': write(ADMINS),
  'PATCH /v1/users/:name': write(ADMINS),
  'GET /v1/tokens': read(ADMINS),
  'POST /v1/users/:name/tokens': write(ADMINS),
  'DELETE /v1/tokens/:id': write(ADMINS),

  'GET /v1/pipelines': { ...read(EVERYONE), anyPipeline: true },
  'POST /v1/pipelines/:pipeline/records': { roles: INGESTERS, action: 'ingest' },
  'GET /v1/pipelines/:pipeline/records/:id': read(EVERYONE),
  'GET /v1/records/:id': read(EVERYONE),
  'GET /v1/pipelines/:pipeline/thresholds': read(PEOPLE),
  'POST /v1/pipelines/:pipeline/thresholds/:version/approve': write(LEADS),
  'GET /v1/pipelines/:pipeline/thresholds/:version/evidence': read(PEOPLE),
  'GET /v1/pipelines/:pipeline/contract': read(PEOPLE),
  'GET /v1/pipelines/:pipeline/halt': read(PEOPLE),
  'POST /v1/pipelines/:pipeline/halt/accept': write(LEADS),
  'POST /v1/pipelines/:pipeline/halt/reject': write(LEADS),
  'GET /v1/quarantine': read(PEOPLE),
  'GET /v1/pipelines/:pipeline/quarantine/:id': read(PEOPLE),
  'POST /v1/pipelines/:pipeline/quarantine/:id/release': write(DECIDERS),
  'POST /v1/pipelines/:pipeline/quarantine/:id/discard': write(DECIDERS),

  'GET /v1/destinations': read(PEOPLE),
  'GET /v1/destinations/activity': read(PEOPLE),
  'GET /v1/dead-letters': read(PEOPLE),
  'GET /v1/dead-letters/:id': read(PEOPLE),
  'POST /v1/dead-letters/:id/replay': write(LEADS),
  'POST /v1/dead-letters/replay': write(LEADS),
  'POST /v1/dead-letters/:id/discard': write(LEADS),

  'GET /v1/review/cases': read(PEOPLE),
  'GET /v1/review/cases/:id': read(PEOPLE),
  'GET /v1/review/cases/:id/authority': read(PEOPLE),
  'POST /v1/review/next': write(DECIDERS),
  'POST /v1/review/cases/bulk': write(DECIDERS),
  'POST /v1/review/cases/:id/heartbeat': write(DECIDERS),
  'POST /v1/review/cases/:id/release': write(DECIDERS),
  'POST /v1/review/cases/:id/decision': write(DECIDERS),
  'GET /v1/review/metrics': read(PEOPLE),

  // Drift is read by every signed-in role: a machine that sends records may watch their drift.
  'GET /v1/pipelines/:pipeline/drift': read(EVERYONE),
  'GET /v1/pipelines/:pipeline/drift/:field/series': read(EVERYONE),
  'GET /v1/pipelines/:pipeline/readiness': read(PEOPLE),
  'POST /v1/pipelines/:pipeline/refit': write(LEADS),
  'GET /v1/pipelines/:pipeline/refits': read(PEOPLE),
  'GET /v1/pipelines/:pipeline/accuracy': read(PEOPLE),
  'GET /v1/pipelines/:pipeline/misclassifications': read(PEOPLE),
};

/** The console's pages and bundle: the shell holds no data (it signs in and reads through /v1), so anyone may load it. */
const CONSOLE_PAGE: RouteAccess = { public: true, why: "the console's page shell and its static assets" };

/** The access rule of a registered route (HEAD as its GET), or undefined when the route has none. */
export function accessOf(method: string, url: string, options: { metricsPublic: boolean }): RouteAccess | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  if (m === 'GET' && (url === '/assets/*' || CONSOLE_ROUTES.includes(url))) return CONSOLE_PAGE;
  if (m === 'GET' && url === '/metrics' && options.metricsPublic) return { public: true, why: 'server.metrics_public: true' };
  return ROUTE_ACCESS[`${m} ${url}`];
}

/** Throws 403 unless a token's scopes cover the route's action and its pipeline (sessions are not scoped). */
function checkGrant(p: Principal, rule: { action: TokenScope; anyPipeline?: boolean }, req: FastifyRequest): void {
  const g = p.grant;
  if (!g) return;
  if (!g.scopes.includes('*') && !g.scopes.includes(rule.action)) {
    throw new AirlockError(
      'FORBIDDEN',
      `this token's scopes are ${g.scopes.join(', ')}; ${req.method} ${req.routeOptions.url} needs the "${rule.action}" scope`,
    );
  }
  if (g.pipelines.includes('*') || rule.anyPipeline) return;
  const pipeline = (req.params as { pipeline?: string } | undefined)?.pipeline;
  if (pipeline === undefined) {
    throw new AirlockError(
      'FORBIDDEN',
      `this token is scoped to pipelines ${g.pipelines.join(', ')}; ${req.method} ${req.routeOptions.url} spans every pipeline (it needs a token with --pipelines '*')`,
    );
  }
  if (!g.pipelines.includes(pipeline)) {
    throw new AirlockError(
      'FORBIDDEN',
      `this token is scoped to pipelines ${g.pipelines.join(', ')}; it may not act on pipeline "${pipeline}"`,
    );
  }
}

export const SESSION_COOKIE = 'airlock_session';
const CSRF_HEADER = 'x-csrf-token';

/** Sign-in attempts per key (address and name; address) within a window (OWASP authentication cheat sheet: throttle). */
class LoginThrottle {
  private readonly attempts = new Map<string, number[]>();
  constructor(private readonly windowMs = 15 * 60_000) {}
  /** Records an attempt; returns the seconds to wait when over the limit, else 0. */
  take(keys: [string, number][], now: number): number {
    let wait = 0;
    for (const [key, limit] of keys) {
      const recent = (this.attempts.get(key) ?? []).filter((t) => t > now - this.windowMs);
      if (recent.length >= limit) wait = Math.max(wait, Math.ceil((recent[0] + this.windowMs - now) / 1000));
      this.attempts.set(key, recent);
    }
    if (wait > 0) return wait;
    for (const [key] of keys) (this.attempts.get(key) as number[]).push(now);
    if (this.attempts.size > 100_000) this.attempts.clear();
    return 0;
  }
}

function bodyObject(req: FastifyRequest): Record<string, unknown> {
  const b = req.body as { items?: unknown[]; single?: boolean } | undefined;
  const v = b?.items?.[0];
  if (!b?.single || v === null || typeof v !== 'object' || Array.isArray(v)) throw new AirlockError('BAD_REQUEST', 'send one JSON object');
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, required = true): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new AirlockError('BAD_REQUEST', `"${key}" is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new AirlockError('BAD_REQUEST', `"${key}" must be a string`);
  return v;
}

/** The name to record as the actor of an action: the signed-in user; with auth off, the `by` the client gives. */
export function actorOf(req: FastifyRequest, claimed?: unknown): string | null {
  const p = req.principal;
  if (!p || p.via === 'auth_off') return typeof claimed === 'string' && claimed.length > 0 ? claimed : null;
  return p.name;
}

/**
 * Authentication and role checks for every route: a session cookie (with a CSRF token on writes) or a bearer token
 * resolves to a user; ROUTE_ACCESS says which roles (and token scopes) may call each route. With `server.auth: off` every request acts as
 * an admin (allowed only on a loopback host, see the config).
 */
export async function registerAuth(app: FastifyInstance, rt: Runtime): Promise<void> {
  const { db } = rt.store;
  const off = rt.config.server.auth === 'off';
  const throttle = new LoginThrottle();
  await app.register(cookie);

  const metricsPublic = rt.config.server.metricsPublic;
  // A route without an access rule does not register: the server refuses to start, naming the route.
  app.addHook('onRoute', (r) => {
    for (const m of ([] as string[]).concat(r.method)) {
      if (!accessOf(m, r.url, { metricsPublic })) {
        throw new AirlockError('INTERNAL', `route ${m} ${r.url} has no access rule: add it to ROUTE_ACCESS in src/server/auth.ts`);
      }
    }
  });

  // Every answer: no content sniffing (API and console alike).
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const url = req.routeOptions.url;
    if (url === undefined) return; // no such route: the 404 problem answers
    const rule = accessOf(req.method, url, { metricsPublic });
    if (!rule) throw new AirlockError('FORBIDDEN', `${req.method} ${url} has no access rule`);
    if (rule.public) return;
    if (off) {
      req.principal = { name: 'anonymous', role: 'admin', via: 'auth_off' };
      return;
    }
    const now = rt.clock.now();
    const header = req.headers.authorization;
    if (typeof header === 'string' && /^Bearer\s+/i.test(header)) {
      const t = await tokenUser(db, header.replace(/^Bearer\s+/i, '').trim(), now);
      if ('refused' in t) {
        throw new AirlockError(
          'UNAUTHORIZED',
          t.refused === 'expired'
            ? `the token expired at ${new Date(t.expiredAt as number).toISOString()}; create a new one (airlock tokens create)`
            : 'the token is not valid (unknown, revoked, or its user is disabled)',
        );
      }
      req.principal = { name: t.user.name, role: t.user.role, via: 'token', grant: t.grant };
    } else {
      const sid = req.cookies?.[SESSION_COOKIE];
      const s = sid ? await sessionUser(db, sid, now, rt.config.server.sessionIdleMs) : null;
      if (!s || 'refused' in s) {
        const why = s?.refused;
        throw new AirlockError(
          'UNAUTHORIZED',
          why === 'expired'
            ? 'your session expired (server.session_ttl); sign in again (POST /v1/auth/login)'
            : why === 'idle'
              ? 'your session ended after a time without activity (server.session_idle); sign in again (POST /v1/auth/login)'
              : 'sign in first (POST /v1/auth/login) or send Authorization: Bearer TOKEN',
        );
      }
      req.principal = { name: s.user.name, role: s.user.role, via: 'session', csrf: s.csrf };
      // A cookie is sent by the browser on its own: a write must also prove it came from our page.
      if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers[CSRF_HEADER] !== s.csrf) {
        throw new AirlockError(
          'FORBIDDEN',
          `a write with a session cookie needs the ${CSRF_HEADER} header (from /v1/auth/login or /v1/auth/me)`,
        );
      }
    }
    const p = req.principal;
    if (!rule.roles.includes(p.role)) {
      throw new AirlockError('FORBIDDEN', `this needs the role ${rule.roles.join(' or ')}; ${p.name} is ${p.role}`);
    }
    checkGrant(p, rule, req);
  });

  app.post('/v1/auth/login', async (req, reply: FastifyReply) => {
    const body = bodyObject(req);
    const name = str(body, 'name') as string;
    const password = str(body, 'password') as string;
    const now = rt.clock.now();
    const wait = throttle.take(
      [
        [`${req.ip}\u0000${name}`, 10],
        [req.ip, 50],
      ],
      now,
    );
    if (wait > 0)
      throw new AirlockError('RATE_LIMITED', `too many sign-in attempts; try again in ${wait} s`, undefined, {
        'retry-after': String(wait),
      });
    const user = await authenticate(db, name, password);
    if (!user) throw new AirlockError('UNAUTHORIZED', 'wrong name or password');
    const session = await createSession(db, user, now, rt.config.server.sessionTtlMs);
    reply.setCookie(SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'strict',
      secure: req.protocol === 'https',
      path: '/',
      expires: new Date(session.expiresAt),
    });
    return { user: userView(user), csrf_token: session.csrf, expires_at: new Date(session.expiresAt).toISOString() };
  });

  app.post('/v1/auth/logout', async (req, reply) => {
    const sid = req.cookies?.[SESSION_COOKIE];
    if (sid) await endSession(db, sid);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { signed_out: true };
  });

  app.get('/v1/auth/me', async (req) => {
    const p = req.principal as Principal;
    return { user: { name: p.name, role: p.role }, via: p.via, csrf_token: p.csrf ?? null };
  });

  app.get('/v1/users', async () => ({ users: (await listUsers(db)).map(userView) }));
  app.post('/v1/users', async (req, reply) => {
    const body = bodyObject(req);
    const user = await addUser(
      db,
      str(body, 'name') as string,
      str(body, 'role') as AccountRole,
      str(body, 'password', false) ?? null,
      rt.clock.now(),
    );
    reply.code(201);
    return userView(user);
  });
  app.patch('/v1/users/:name', async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const body = bodyObject(req);
    const name = req.params.name;
    if (body.role !== undefined) await setRole(db, name, str(body, 'role') as AccountRole);
    if (body.password !== undefined) await setPassword(db, name, str(body, 'password') as string);
    if (body.disabled === true) await disableUser(db, name, rt.clock.now());
    const u = (await listUsers(db)).find((x) => x.name === name);
    if (!u) throw new AirlockError('NOT_FOUND', `user ${name} does not exist`);
    return userView(u);
  });
  app.get('/v1/tokens', async () => ({ tokens: await listTokens(db, rt.clock.now()) }));
  app.post('/v1/users/:name/tokens', async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const body = bodyObject(req);
    const now = rt.clock.now();
    const grant = tokenGrant(
      {
        pipelines: listOrString(body, 'pipelines'),
        scopes: listOrString(body, 'scopes'),
        expires: str(body, 'expires', false),
      },
      now,
      Object.keys(rt.config.pipelines),
    );
    const out = await createToken(db, req.params.name, str(body, 'name', false) ?? 'api', now, grant);
    reply.code(201);
    return { id: out.id, token: out.token, ...grantView(grant), note: 'shown once: store it now' };
  });
  app.delete('/v1/tokens/:id', async (req: FastifyRequest<{ Params: { id: string } }>) => {
    const id = Number(req.params.id);
    if (!(Number.isSafeInteger(id) && (await revokeToken(db, id, rt.clock.now())))) {
      throw new AirlockError('NOT_FOUND', `no active token ${req.params.id}`);
    }
    return { id, revoked: true };
  });
}

export function userView(u: User) {
  return { name: u.name, role: u.role, disabled: u.disabled };
}

function listOrString(o: Record<string, unknown>, key: string): string | string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))) return v as string | string[];
  throw new AirlockError('BAD_REQUEST', `"${key}" must be a list of names or a comma-separated string`);
}

export type { Role };
