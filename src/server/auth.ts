import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../config/load.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../pipeline/context.js';
import {
  type AccountRole,
  addUser,
  authenticate,
  createSession,
  createToken,
  disableUser,
  endSession,
  listTokens,
  listUsers,
  revokeToken,
  sessionUser,
  setPassword,
  setRole,
  tokenUser,
  type User,
} from '../review/accounts.js';

/** Who is making a request: a signed-in person, a machine's token, or everyone (auth off, loopback only). */
export interface Principal {
  name: string;
  role: AccountRole;
  via: 'session' | 'token' | 'auth_off';
  csrf?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Roles that may call the route (default: every signed-in role). */
    roles?: AccountRole[];
    /** True for routes anyone may call (health, metrics, sign-in). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
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

/** Throws 403 unless the request's role is one of `roles`. */
export function requireRole(req: FastifyRequest, ...roles: AccountRole[]): Principal {
  const p = req.principal;
  if (!p) throw new AirlockError('UNAUTHORIZED', 'sign in first (POST /v1/auth/login) or send Authorization: Bearer TOKEN');
  if (!roles.includes(p.role)) {
    throw new AirlockError('FORBIDDEN', `this needs the role ${roles.join(' or ')}; ${p.name} is ${p.role}`);
  }
  return p;
}

/**
 * Authentication and role checks for every route: a session cookie (with a CSRF token on writes) or a bearer token
 * resolves to a user; routes declare the roles that may call them. With `server.auth: off` every request acts as
 * an admin (allowed only on a loopback host, see the config).
 */
export async function registerAuth(app: FastifyInstance, rt: Runtime): Promise<void> {
  const { db } = rt.store;
  const off = rt.config.server.auth === 'off';
  const throttle = new LoginThrottle();
  await app.register(cookie);

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const cfg = req.routeOptions.config;
    if (cfg?.public || !req.routeOptions.url?.startsWith('/v1/')) return;
    if (off) {
      req.principal = { name: 'anonymous', role: 'admin', via: 'auth_off' };
    } else {
      const now = rt.clock.now();
      const header = req.headers.authorization;
      if (typeof header === 'string' && /^Bearer\s+/i.test(header)) {
        const user = await tokenUser(db, header.replace(/^Bearer\s+/i, '').trim(), now);
        if (!user) throw new AirlockError('UNAUTHORIZED', 'the token is not valid (unknown, revoked, or its user is disabled)');
        req.principal = { name: user.name, role: user.role, via: 'token' };
      } else {
        const sid = req.cookies?.[SESSION_COOKIE];
        const s = sid ? await sessionUser(db, sid, now) : null;
        if (!s) throw new AirlockError('UNAUTHORIZED', 'sign in first (POST /v1/auth/login) or send Authorization: Bearer TOKEN');
        req.principal = { name: s.user.name, role: s.user.role, via: 'session', csrf: s.csrf };
        // A cookie is sent by the browser on its own: a write must also prove it came from our page.
        if (req.method !== 'GET' && req.method !== 'HEAD' && req.headers[CSRF_HEADER] !== s.csrf) {
          throw new AirlockError(
            'FORBIDDEN',
            `a write with a session cookie needs the ${CSRF_HEADER} header (from /v1/auth/login or /v1/auth/me)`,
          );
        }
      }
    }
    const roles = cfg?.roles;
    if (roles && !roles.includes((req.principal as Principal).role)) {
      const p = req.principal as Principal;
      throw new AirlockError('FORBIDDEN', `this needs the role ${roles.join(' or ')}; ${p.name} is ${p.role}`);
    }
  });

  app.post('/v1/auth/login', { config: { public: true } }, async (req, reply: FastifyReply) => {
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

  const admin = { config: { roles: ['admin'] as AccountRole[] } };
  app.get('/v1/users', admin, async () => ({ users: (await listUsers(db)).map(userView) }));
  app.post('/v1/users', admin, async (req, reply) => {
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
  app.patch('/v1/users/:name', admin, async (req: FastifyRequest<{ Params: { name: string } }>) => {
    const body = bodyObject(req);
    const name = req.params.name;
    if (body.role !== undefined) await setRole(db, name, str(body, 'role') as AccountRole);
    if (body.password !== undefined) await setPassword(db, name, str(body, 'password') as string);
    if (body.disabled === true) await disableUser(db, name, rt.clock.now());
    const u = (await listUsers(db)).find((x) => x.name === name);
    if (!u) throw new AirlockError('NOT_FOUND', `user ${name} does not exist`);
    return userView(u);
  });
  app.get('/v1/tokens', admin, async () => ({ tokens: await listTokens(db) }));
  app.post('/v1/users/:name/tokens', admin, async (req: FastifyRequest<{ Params: { name: string } }>, reply) => {
    const body = bodyObject(req);
    const out = await createToken(db, req.params.name, str(body, 'name', false) ?? 'api', rt.clock.now());
    reply.code(201);
    return { id: out.id, token: out.token, note: 'shown once: store it now' };
  });
  app.delete('/v1/tokens/:id', admin, async (req: FastifyRequest<{ Params: { id: string } }>) => {
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

/** Roles that decide review work, for route declarations. */
export const DECIDERS: AccountRole[] = ['admin', 'lead', 'reviewer'];
export const LEADS: AccountRole[] = ['admin', 'lead'];
export type { Role };
