/** Schemas of sign-in, users and API tokens. */
import { type Static, Type } from '@sinclair/typebox';
import { Nullable, Timestamp } from './common.js';

/** A role an account has (README "Access control"). */
export const Role = Type.Union([
  Type.Literal('admin'),
  Type.Literal('lead'),
  Type.Literal('reviewer'),
  Type.Literal('viewer'),
  Type.Literal('ingest'),
]);
export type Role = Static<typeof Role>;

/** What a token may do: send records, read, act as its role may (`write`), or everything (`*`). */
export const TokenScope = Type.Union([Type.Literal('ingest'), Type.Literal('read'), Type.Literal('write'), Type.Literal('*')]);
export type TokenScope = Static<typeof TokenScope>;

export const User = Type.Object({ name: Type.String(), role: Role, disabled: Type.Boolean() });
export type User = Static<typeof User>;

/**
 * What the console offers the caller, each answered from the access rule of the route that does it (so the console
 * keeps no copy of a rule). The server checks again on every request.
 */
export const Capabilities = Type.Object({
  claim_cases: Type.Boolean({ description: 'POST /v1/review/next' }),
  decide_cases: Type.Boolean({ description: 'POST /v1/review/cases/:id/decision' }),
  decide_quarantine: Type.Boolean({ description: 'POST /v1/pipelines/:pipeline/quarantine/:id/release and …/discard' }),
  decide_halts: Type.Boolean({ description: 'POST /v1/pipelines/:pipeline/halt/accept and …/reject' }),
  approve_thresholds: Type.Boolean({ description: 'POST /v1/pipelines/:pipeline/thresholds/:version/approve' }),
  replay_dead_letters: Type.Boolean({ description: 'POST /v1/dead-letters/:id/replay and …/discard' }),
});
export type Capabilities = Static<typeof Capabilities>;

/** Who is calling, how, the CSRF token a session's writes send, and what the caller may do. */
export const Me = Type.Object({
  user: Type.Object({ name: Type.String(), role: Role }),
  via: Type.Union([Type.Literal('session'), Type.Literal('token'), Type.Literal('auth_off')]),
  csrf_token: Nullable(Type.String()),
  may: Capabilities,
});
export type Me = Static<typeof Me>;

export const SignedIn = Type.Object({
  user: User,
  csrf_token: Type.String({ description: 'Send it as X-CSRF-Token on every write made with the session cookie.' }),
  expires_at: Timestamp,
});
export type SignedIn = Static<typeof SignedIn>;

/** An API token as listed: its reach and use, never its value. */
export const TokenView = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  user: Type.String(),
  role: Role,
  pipelines: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  created_at: Timestamp,
  expires_at: Nullable(Timestamp),
  expired: Type.Boolean(),
  last_used_at: Nullable(Timestamp),
  revoked: Type.Boolean(),
  revoked_at: Nullable(Timestamp),
});
export type TokenView = Static<typeof TokenView>;

/** A token just made: the only time its value is shown. */
export const NewToken = Type.Object({
  id: Type.Integer(),
  token: Type.String(),
  pipelines: Type.Array(Type.String()),
  scopes: Type.Array(TokenScope),
  expires_at: Nullable(Timestamp),
  note: Type.String(),
});
export type NewToken = Static<typeof NewToken>;
