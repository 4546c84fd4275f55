import { Type } from '@sinclair/typebox';
import { createSession, endSession } from '../accounts/sessions.js';
import { authenticate } from '../accounts/users.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import { EVERYONE, mayCall, open, type RouteAccess, read } from './access.js';
import { ok, problems } from './answers.js';
import type { Api } from './api.js';
import { type Principal, SESSION_COOKIE } from './auth.js';
import { LoginThrottle } from './login-throttle.js';
import { type Capabilities, Me, SignedIn } from './schemas/accounts.js';

/** Each capability the console offers, as the route that does it (`METHOD /path`, as registered). */
const CAPABILITY_ROUTES: Record<keyof Capabilities, string> = {
  claim_cases: 'POST /v1/review/next',
  decide_cases: 'POST /v1/review/cases/:id/decision',
  decide_quarantine: 'POST /v1/pipelines/:pipeline/quarantine/:id/release',
  decide_halts: 'POST /v1/pipelines/:pipeline/halt/accept',
  approve_thresholds: 'POST /v1/pipelines/:pipeline/thresholds/:version/approve',
  replay_dead_letters: 'POST /v1/dead-letters/:id/replay',
};

/** What the caller may do, each answered by the access rule of the route that does it. */
function capabilitiesOf(p: Principal, ruleOf: (route: string) => RouteAccess | undefined): Capabilities {
  const out = {} as Capabilities;
  for (const [name, route] of Object.entries(CAPABILITY_ROUTES) as [keyof Capabilities, string][]) out[name] = mayCall(p, ruleOf(route));
  return out;
}

/**
 * Signing in (a session cookie, HttpOnly and SameSite=Strict, and the CSRF token writes send), signing out, and who
 * am I with what I may do. `ruleOf` reads the access rule of a registered route (`METHOD /path`).
 */
export function registerAuthRoutes(app: Api, rt: Runtime, ruleOf: (route: string) => RouteAccess | undefined): void {
  const { db } = rt.store;
  const throttle = new LoginThrottle();

  app.post(
    '/v1/auth/login',
    {
      schema: {
        operationId: 'signIn',
        summary: 'Sign in: sets the session cookie (HttpOnly, SameSite=Strict) and answers the CSRF token writes must send',
        tags: ['auth'],
        // Bounded before anything else is done with them: no sign-in attempt makes the server hold a long name.
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 128, 'x-expected': 'a user name of at most 128 characters' }),
          password: Type.String({ maxLength: 1024, 'x-expected': 'a password of at most 1024 characters' }),
        }),
        response: {
          200: ok(SignedIn, 'Signed in: the session cookie is set.'),
          ...problems({ 401: 'Wrong name or password.', 429: 'Too many attempts (Retry-After says when to try again).' }),
        },
      },
      config: { access: open('signing in (throttled)'), review: null },
      // A sign-in body is a name and a password: 16 kB is plenty, and a larger one is refused before it is read.
      bodyLimit: 16 * 1024,
    },
    async (req, reply) => {
      const { name, password } = req.body;
      const now = rt.clock.now();
      const admitted = throttle.admit(req.ip, name, now);
      if (!admitted.allowed)
        throw new AirlockError('RATE_LIMITED', `too many sign-in attempts; try again in ${admitted.waitSeconds} s`, undefined, {
          'retry-after': String(admitted.waitSeconds),
        });
      const user = await authenticate(db, name, password);
      throttle.settle(name, user !== null, now);
      if (!user) throw new AirlockError('UNAUTHORIZED', 'wrong name or password');
      const session = await createSession(db, user, now, rt.config.server.sessionTtlMs);
      reply.setCookie(SESSION_COOKIE, session.id, {
        httpOnly: true,
        sameSite: 'strict',
        secure: req.protocol === 'https',
        path: '/',
        expires: new Date(session.expiresAt),
      });
      return {
        user: { name: user.name, role: user.role, disabled: user.disabled },
        csrf_token: session.csrf,
        expires_at: new Date(session.expiresAt).toISOString(),
      };
    },
  );

  app.post(
    '/v1/auth/logout',
    {
      schema: {
        operationId: 'signOut',
        summary: 'Sign out (the session ends on the server)',
        tags: ['auth'],
        response: { 200: ok(Type.Object({ signed_out: Type.Literal(true) }), 'Signed out: the cookie is cleared.') },
      },
      config: { access: read(EVERYONE, { anyPipeline: true }), review: null },
    },
    async (req, reply) => {
      const sid = req.cookies?.[SESSION_COOKIE];
      if (sid) await endSession(db, sid);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { signed_out: true as const };
    },
  );

  app.get(
    '/v1/auth/me',
    {
      schema: {
        operationId: 'whoAmI',
        summary: 'Who is signed in, the CSRF token of the session, and what the caller may do',
        tags: ['auth'],
        response: { 200: ok(Me, 'The caller.') },
      },
      config: { access: read(EVERYONE, { anyPipeline: true }) },
    },
    async (req) => {
      const p = req.principal as Principal;
      return { user: { name: p.name, role: p.role }, via: p.via, csrf_token: p.csrf ?? null, may: capabilitiesOf(p, ruleOf) };
    },
  );
}
