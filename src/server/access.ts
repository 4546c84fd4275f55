/**
 * Who may call a route. Each route states its rule in its own `config.access` (Fastify route config); the guard in
 * auth.ts enforces it before any handler runs, the OpenAPI document shows it per operation, and a route without one
 * does not register.
 */

import type { TokenGrant, TokenScope } from '../accounts/tokens.js';
import type { AccountRole } from '../accounts/users.js';
import type { ReviewAction } from '../config/sections/review.js';
import type { Same } from './api.js';
import type { Role } from './schemas/accounts.js';

/**
 * Who may call a route: anyone (`public`, with why), or the roles listed; `action` is the token scope the route needs
 * (`ingest`, `read` or `write`), and a route with a `:pipeline` parameter also needs the pipeline in the token's scope.
 */
export type RouteAccess =
  | { public: true; why: string }
  | {
      public?: false;
      roles: readonly AccountRole[];
      action: TokenScope;
      /** Holds no pipeline's records (who am I, pipeline names and counts): a token scoped to some pipelines may call it. */
      anyPipeline?: boolean;
    };

/** A rule that needs a signed-in caller. */
export type GuardedAccess = Exclude<RouteAccess, { public: true }>;

/**
 * How a route that changes state acts on review work, so the review rules (src/review/authorize.ts: owner team,
 * holder, distinct reviewers, the case type's actions, limits before and after an edit) can be checked door by door:
 * which case it acts on, and what it does to it. `null`: the route acts on no review case (it ingests, signs in,
 * manages users, approves a threshold version…). Every route that is not a read says one or the other.
 */
export interface ReviewDoor {
  /** The case: by `:id` (`case`), many by `ids` in the body (`cases`), the next in the queue (`next`), or the case that
   * stands for a quarantined record (`quarantined_record`), a pipeline's halt (`halt`), a dead letter by `:id`
   * (`dead_letter`) or dead letters chosen by a filter (`dead_letters`). */
  case: 'case' | 'cases' | 'next' | 'quarantined_record' | 'halt' | 'dead_letter' | 'dead_letters';
  /** What it does: a review action, taking or giving back the lease, or the action named in the body. */
  act: ReviewAction | 'hold' | 'release' | 'from_body';
  /** The request may carry an edited record (checked against the limits as it will be delivered). */
  edits?: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (src/server/access.ts); every route states one. */
    access?: RouteAccess;
    /** How the route acts on review work (ReviewDoor), or null when it does not; every route that is not a read states one. */
    review?: ReviewDoor | null;
  }
}

/** Every role that can sign in. */
export const EVERYONE: readonly AccountRole[] = ['admin', 'lead', 'reviewer', 'viewer', 'ingest'];
/** People: they read everything the console shows (machines with the ingest role do not). */
export const PEOPLE: readonly AccountRole[] = ['admin', 'lead', 'reviewer', 'viewer'];
/** Roles that send records. */
export const INGESTERS: readonly AccountRole[] = ['admin', 'lead', 'reviewer', 'ingest'];
/** Roles that decide review work. */
export const DECIDERS: readonly AccountRole[] = ['admin', 'lead', 'reviewer'];
/** Roles that decide for a pipeline: schema halts, thresholds, refits, dead letters. */
export const LEADS: readonly AccountRole[] = ['admin', 'lead'];
/** Users and tokens. */
export const ADMINS: readonly AccountRole[] = ['admin'];

/** Anyone may call it, with the reason it holds nothing to protect. */
export const open = (why: string): RouteAccess => ({ public: true, why });
/** The roles listed may read it (token scope `read`). */
export const read = (roles: readonly AccountRole[], options: { anyPipeline?: boolean } = {}): GuardedAccess => ({
  roles,
  action: 'read',
  ...(options.anyPipeline ? { anyPipeline: true } : {}),
});
/** The roles listed may change state through it (token scope `write`). */
export const write = (roles: readonly AccountRole[]): GuardedAccess => ({ roles, action: 'write' });
/** The roles listed may send records through it (token scope `ingest`). */
export const ingest = (roles: readonly AccountRole[]): GuardedAccess => ({ roles, action: 'ingest' });

/** The console's pages and bundle: the shell holds no data (it signs in and reads through /v1), so anyone may load it. */
export const CONSOLE_PAGE: RouteAccess = open("the console's page shell and its static assets");

/** Whether a caller of this role (and token grant) passes a route's rule, leaving aside which pipeline it acts on. */
export function mayCall(caller: { role: AccountRole; grant?: TokenGrant }, rule: RouteAccess | undefined): boolean {
  if (!rule) return false;
  if (rule.public) return true;
  if (!rule.roles.includes(caller.role)) return false;
  const scopes = caller.grant?.scopes;
  return !scopes || scopes.includes('*') || scopes.includes(rule.action);
}

/** The roles of the API's schemas are the roles accounts have: this fails to compile when one list changes alone. */
export const ROLES_MATCH: Same<Role, AccountRole> = true;
