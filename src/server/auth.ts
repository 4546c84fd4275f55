import { createHash, timingSafeEqual } from 'node:crypto';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sessionUser } from '../accounts/sessions.js';
import { type TokenGrant, tokenUser } from '../accounts/tokens.js';
import type { AccountRole } from '../accounts/users.js';
import { AirlockError } from '../errors.js';
import type { Actor } from '../review/case-authority.js';
import type { Runtime } from '../runtime/context.js';
import { CONSOLE_PAGE, type GuardedAccess, type RouteAccess } from './access.js';
import { CONSOLE_ASSETS } from './console.js';

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

export const SESSION_COOKIE = 'airlock_session';
const CSRF_HEADER = 'x-csrf-token';

/** Compares a secret the client sent with ours in constant time (no timing tells how much of it matched). */
function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * A route's own access rule. @fastify/static declares the console's `/assets/*` route itself, without route config:
 * it is the console's bundle, public as the page shell is.
 */
export function routeAccess(r: { url: string; config?: { access?: RouteAccess } }): RouteAccess | undefined {
  return r.config?.access ?? (r.url === CONSOLE_ASSETS ? CONSOLE_PAGE : undefined);
}

/** Throws 403 unless a token's scopes cover the route's action and its pipeline (sessions are not scoped). */
function checkGrant(p: Principal, rule: GuardedAccess, req: FastifyRequest): void {
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

/** The name to record as the actor of an action: the signed-in user; with auth off, the `by` the client gives. */
export function actorOf(req: FastifyRequest, claimed?: unknown): string | null {
  const p = req.principal;
  if (!p || p.via === 'auth_off') return typeof claimed === 'string' && claimed.length > 0 ? claimed : null;
  return p.name;
}

/** The person acting: the signed-in user with their role (with auth off: the `by` the client names, as an admin). */
export function callerOf(req: FastifyRequest, claimed?: unknown): Actor {
  const p = req.principal as Principal;
  return { name: actorOf(req, claimed) ?? p.name, role: p.role };
}

/** Resolves the caller from a bearer token or a session cookie (with a CSRF token on writes), or answers 401/403. */
async function authenticate(rt: Runtime, req: FastifyRequest): Promise<Principal> {
  const { db } = rt.store;
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
    return { name: t.user.name, role: t.user.role, via: 'token', grant: t.grant };
  }
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
  // A cookie is sent by the browser on its own: a write must also prove it came from our page.
  if (req.method !== 'GET' && req.method !== 'HEAD' && !sameSecret(req.headers[CSRF_HEADER], s.csrf)) {
    throw new AirlockError(
      'FORBIDDEN',
      `a write with a session cookie needs the ${CSRF_HEADER} header (from /v1/auth/login or /v1/auth/me)`,
    );
  }
  return { name: s.user.name, role: s.user.role, via: 'session', csrf: s.csrf };
}

/**
 * Authentication and the access check of every route: a session cookie (with a CSRF token on writes) or a bearer
 * token resolves to a user; the route's own `config.access` says which roles (and token scopes) may call it. A route
 * without a rule does not register. With `server.auth: off` every request acts as an admin (allowed only on a
 * loopback host, see the config).
 */
export async function registerAuth(app: FastifyInstance, rt: Runtime): Promise<void> {
  const off = rt.config.server.auth === 'off';
  await app.register(cookie);

  // A route without an access rule does not register: the server refuses to start, naming the route.
  app.addHook('onRoute', (r) => {
    const access = routeAccess(r);
    if (!access) {
      const methods = ([] as string[]).concat(r.method).join(', ');
      throw new AirlockError('INTERNAL', `route ${methods} ${r.url} has no access rule: give it config: { access } (src/server/access.ts)`);
    }
    const methods = ([] as string[]).concat(r.method);
    if (methods.some((m) => m !== 'GET' && m !== 'HEAD') && (r.config as { review?: unknown } | undefined)?.review === undefined) {
      throw new AirlockError(
        'INTERNAL',
        `route ${methods.join(', ')} ${r.url} changes state: say how it acts on review work, config: { review: { case, act } } or { review: null } (src/server/access.ts ReviewDoor)`,
      );
    }
    r.config = { ...r.config, access };
  });

  // Every answer: no content sniffing (API and console alike).
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    if (req.routeOptions.url === undefined) return; // no such route: the 404 (or 405) problem answers
    const rule = req.routeOptions.config.access;
    if (!rule) throw new AirlockError('FORBIDDEN', `${req.method} ${req.routeOptions.url} has no access rule`);
    if (rule.public) return;
    if (off) {
      req.principal = { name: 'anonymous', role: 'admin', via: 'auth_off' };
      return;
    }
    const p = await authenticate(rt, req);
    req.principal = p;
    if (!rule.roles.includes(p.role)) {
      throw new AirlockError('FORBIDDEN', `this needs the role ${rule.roles.join(' or ')}; ${p.name} is ${p.role}`);
    }
    checkGrant(p, rule, req);
  });
}
