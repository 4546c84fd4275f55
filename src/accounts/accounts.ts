import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import type { Role } from '../config/sections/review.js';
import { parseDuration } from '../config/units.js';
import { AirlockError } from '../errors.js';
import type { Tables } from '../store/tables.js';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, opts: object) => Promise<Buffer>;

/** A person's role, or `ingest` for a machine that only sends records and reads their state. */
export type AccountRole = Role | 'ingest';
export const ROLES: readonly AccountRole[] = ['admin', 'lead', 'reviewer', 'viewer', 'ingest'];

/** scrypt parameters (RFC 7914; N = 2^15, r = 8, p = 1 as OWASP's password storage cheat sheet recommends). */
const SCRYPT = { N: 32768, r: 8, p: 1, keylen: 64, maxmem: 64 * 1024 * 1024 };

export interface User {
  id: number;
  name: string;
  role: AccountRole;
  disabled: boolean;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.@-]{0,63}$/;

function toUser(r: { id: number; name: string; role: AccountRole; disabled_at: number | null }): User {
  return { id: Number(r.id), name: r.name, role: r.role, disabled: r.disabled_at !== null };
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: SCRYPT.maxmem });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function checkPassword(password: unknown): string {
  if (typeof password !== 'string' || password.length < 10)
    throw new AirlockError('BAD_REQUEST', 'a password needs at least 10 characters');
  if (password.length > 1024) throw new AirlockError('BAD_REQUEST', 'a password may have at most 1024 characters');
  return password;
}

export async function addUser(db: Kysely<Tables>, name: string, role: AccountRole, password: string | null, now: number): Promise<User> {
  if (!NAME.test(name)) throw new AirlockError('BAD_REQUEST', `"${name}" is not a valid user name (letters, digits, . _ @ -; at most 64)`);
  if (!ROLES.includes(role)) throw new AirlockError('BAD_REQUEST', `role must be one of ${ROLES.join(', ')} (got "${role}")`);
  const existing = await db.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
  if (existing) throw new AirlockError('CONFLICT', `user ${name} already exists`);
  const password_hash = password === null ? null : await hashPassword(checkPassword(password));
  const row = await db
    .insertInto('users')
    .values({ name, role, password_hash, created_at: now, disabled_at: null })
    .returning(['id', 'name', 'role', 'disabled_at'])
    .executeTakeFirstOrThrow();
  return toUser(row);
}

export async function listUsers(db: Kysely<Tables>): Promise<User[]> {
  return (await db.selectFrom('users').select(['id', 'name', 'role', 'disabled_at']).orderBy('name').execute()).map(toUser);
}

export async function findUser(db: Kysely<Tables>, name: string): Promise<User | undefined> {
  const r = await db.selectFrom('users').select(['id', 'name', 'role', 'disabled_at']).where('name', '=', name).executeTakeFirst();
  return r ? toUser(r) : undefined;
}

async function requireUser(db: Kysely<Tables>, name: string): Promise<User> {
  const u = await findUser(db, name);
  if (!u) throw new AirlockError('NOT_FOUND', `user ${name} does not exist`);
  return u;
}

export async function setRole(db: Kysely<Tables>, name: string, role: AccountRole): Promise<User> {
  if (!ROLES.includes(role)) throw new AirlockError('BAD_REQUEST', `role must be one of ${ROLES.join(', ')} (got "${role}")`);
  await requireUser(db, name);
  await db.updateTable('users').set({ role }).where('name', '=', name).execute();
  return requireUser(db, name);
}

export async function setPassword(db: Kysely<Tables>, name: string, password: string): Promise<void> {
  const u = await requireUser(db, name);
  await db
    .updateTable('users')
    .set({ password_hash: await hashPassword(checkPassword(password)) })
    .where('id', '=', u.id)
    .execute();
  await db.deleteFrom('sessions').where('user_id', '=', u.id).execute();
}

/** Disables an account: its sessions end and its tokens stop working (the row stays for the audit trail). */
export async function disableUser(db: Kysely<Tables>, name: string, now: number): Promise<User> {
  const u = await requireUser(db, name);
  await db.updateTable('users').set({ disabled_at: now }).where('id', '=', u.id).execute();
  await db.deleteFrom('sessions').where('user_id', '=', u.id).execute();
  await db.updateTable('api_tokens').set({ revoked_at: now }).where('user_id', '=', u.id).where('revoked_at', 'is', null).execute();
  return requireUser(db, name);
}

/** Checks a name and password; null when either is wrong or the account is disabled (the caller says nothing more). */
export async function authenticate(db: Kysely<Tables>, name: string, password: string): Promise<User | null> {
  const r = await db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  if (!r || r.disabled_at !== null || !r.password_hash) {
    // Spend the same time as a real check, so timing does not tell which names exist.
    await verifyPassword(password, DUMMY_HASH);
    return null;
  }
  return (await verifyPassword(password, r.password_hash)) ? toUser(r) : null;
}

const DUMMY_HASH = `scrypt$${SCRYPT.N}$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(64).toString('base64')}`;

export interface Session {
  id: string;
  csrf: string;
  expiresAt: number;
}

export async function createSession(db: Kysely<Tables>, user: User, now: number, ttlMs: number): Promise<Session> {
  const id = randomBytes(32).toString('base64url');
  const csrf = randomBytes(24).toString('base64url');
  await db
    .insertInto('sessions')
    .values({ id_hash: sha256(id), user_id: user.id, csrf, created_at: now, expires_at: now + ttlMs, last_seen_at: now })
    .execute();
  // Housekeeping: expired sessions of anyone.
  await db.deleteFrom('sessions').where('expires_at', '<', now).execute();
  return { id, csrf, expiresAt: now + ttlMs };
}

/** Why a session id does not sign anyone in, for the 401's message. */
export type SessionRefusal = 'unknown' | 'expired' | 'idle' | 'disabled';

/**
 * The user of a session, or why there is none. A session ends at its absolute expiry (`server.session_ttl` after
 * sign-in) or after `idleMs` without a request (`server.session_idle`); use moves the idle clock, written at most
 * once a minute so a busy console does not write on every request.
 */
export async function sessionUser(
  db: Kysely<Tables>,
  id: string,
  now: number,
  idleMs = Number.POSITIVE_INFINITY,
): Promise<{ user: User; csrf: string } | { refused: SessionRefusal }> {
  const r = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select([
      'users.id',
      'users.name',
      'users.role',
      'users.disabled_at',
      'sessions.csrf',
      'sessions.expires_at',
      'sessions.created_at',
      'sessions.last_seen_at',
    ])
    .where('sessions.id_hash', '=', sha256(id))
    .executeTakeFirst();
  if (!r) return { refused: 'unknown' };
  if (r.disabled_at !== null) return { refused: 'disabled' };
  if (Number(r.expires_at) < now) return { refused: 'expired' };
  const seen = Number(r.last_seen_at ?? r.created_at);
  if (now - seen > idleMs) {
    await db.deleteFrom('sessions').where('id_hash', '=', sha256(id)).execute();
    return { refused: 'idle' };
  }
  if (now - seen > Math.min(60_000, idleMs / 10)) {
    await db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', sha256(id)).execute();
  }
  return { user: toUser(r), csrf: r.csrf };
}

export async function endSession(db: Kysely<Tables>, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', sha256(id)).execute();
}

/** What a token may do: `ingest` records, `read` what the user's role may read, `write` (act) as the role may. */
export const TOKEN_SCOPES = ['ingest', 'read', 'write'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** The reach of a token: pipelines (or `*`), actions (or `*`) and an expiry (null: never). */
export interface TokenGrant {
  pipelines: string[];
  scopes: (TokenScope | '*')[];
  expiresAt: number | null;
}

/** A token's grant when none is given (library callers): every pipeline and action of the user's role, no expiry. */
export const FULL_GRANT: TokenGrant = { pipelines: ['*'], scopes: ['*'], expiresAt: null };

const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Parses `a,b` / `*` (pipelines) into a list; names are checked against `known` when it is given. */
export function parsePipelineScope(text: string | string[], known?: string[]): string[] {
  const list = (Array.isArray(text) ? text : text.split(',')).map((p) => String(p).trim()).filter((p) => p !== '');
  if (list.length === 0) throw new AirlockError('BAD_REQUEST', 'pipelines: name at least one pipeline, or * for all');
  if (list.includes('*')) return ['*'];
  for (const p of list) {
    if (!PIPELINE_NAME.test(p)) throw new AirlockError('BAD_REQUEST', `pipelines: "${p}" is not a pipeline name`);
    if (known && !known.includes(p))
      throw new AirlockError('BAD_REQUEST', `pipelines: "${p}" is not in the config (known: ${known.join(', ')})`);
  }
  return [...new Set(list)];
}

/** Parses `ingest,read` / `*` (actions) into a list. */
export function parseTokenScopes(text: string | string[]): (TokenScope | '*')[] {
  const list = (Array.isArray(text) ? text : text.split(',')).map((p) => String(p).trim()).filter((p) => p !== '');
  if (list.length === 0) throw new AirlockError('BAD_REQUEST', `scopes: name at least one of ${TOKEN_SCOPES.join(', ')}, or *`);
  if (list.includes('*')) return ['*'];
  for (const x of list) {
    if (!(TOKEN_SCOPES as readonly string[]).includes(x))
      throw new AirlockError('BAD_REQUEST', `scopes: "${x}" is not one of ${TOKEN_SCOPES.join(', ')} (or *)`);
  }
  return [...new Set(list)] as TokenScope[];
}

/** Creates an API token for a user; the token itself is returned once and only its hash is stored. */
export async function createToken(
  db: Kysely<Tables>,
  name: string,
  tokenName: string,
  now: number,
  grant: TokenGrant = FULL_GRANT,
): Promise<{ token: string; id: number }> {
  const u = await requireUser(db, name);
  if (u.disabled) throw new AirlockError('CONFLICT', `user ${name} is disabled`);
  if (grant.expiresAt !== null && grant.expiresAt <= now) throw new AirlockError('BAD_REQUEST', 'the expiry must be in the future');
  const token = `alk_${randomBytes(24).toString('base64url')}`;
  const row = await db
    .insertInto('api_tokens')
    .values({
      user_id: u.id,
      name: tokenName,
      token_hash: sha256(token),
      created_at: now,
      last_used_at: null,
      revoked_at: null,
      pipelines: JSON.stringify(grant.pipelines),
      scopes: JSON.stringify(grant.scopes),
      expires_at: grant.expiresAt,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { token, id: Number(row.id) };
}

export async function revokeToken(db: Kysely<Tables>, id: number, now: number): Promise<boolean> {
  const res = await db
    .updateTable('api_tokens')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

const iso = (t: number | string | null) => (t === null ? null : new Date(Number(t)).toISOString());

/** Every token with its reach and use, never its value (nor its hash). */
export async function listTokens(db: Kysely<Tables>, now = Date.now()) {
  const rows = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select([
      'api_tokens.id',
      'api_tokens.name',
      'users.name as user',
      'users.role',
      'api_tokens.created_at',
      'api_tokens.last_used_at',
      'api_tokens.revoked_at',
      'api_tokens.pipelines',
      'api_tokens.scopes',
      'api_tokens.expires_at',
    ])
    .orderBy('api_tokens.id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    user: r.user,
    role: r.role,
    pipelines: JSON.parse(r.pipelines) as string[],
    scopes: JSON.parse(r.scopes) as string[],
    created_at: iso(r.created_at) as string,
    expires_at: iso(r.expires_at),
    expired: r.expires_at !== null && Number(r.expires_at) <= now,
    last_used_at: iso(r.last_used_at),
    revoked: r.revoked_at !== null,
    revoked_at: iso(r.revoked_at),
  }));
}

/** A token's user and grant, or why it signs no one in (for the 401's message). */
export type TokenCheck =
  | { user: User; grant: TokenGrant; id: number }
  | { refused: 'unknown' | 'revoked' | 'disabled' | 'expired'; expiredAt?: number };

export async function tokenUser(db: Kysely<Tables>, token: string, now: number): Promise<TokenCheck> {
  const r = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select([
      'users.id',
      'users.name',
      'users.role',
      'users.disabled_at',
      'api_tokens.revoked_at',
      'api_tokens.id as token_id',
      'api_tokens.last_used_at',
      'api_tokens.pipelines',
      'api_tokens.scopes',
      'api_tokens.expires_at',
    ])
    .where('api_tokens.token_hash', '=', sha256(token))
    .executeTakeFirst();
  if (!r) return { refused: 'unknown' };
  if (r.revoked_at !== null) return { refused: 'revoked' };
  if (r.disabled_at !== null) return { refused: 'disabled' };
  if (r.expires_at !== null && Number(r.expires_at) <= now) return { refused: 'expired', expiredAt: Number(r.expires_at) };
  // Recorded at most once a minute, so a busy token does not write on every request.
  if (r.last_used_at === null || now - Number(r.last_used_at) > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', r.token_id).execute();
  }
  return {
    user: toUser(r),
    id: Number(r.token_id),
    grant: {
      pipelines: JSON.parse(r.pipelines) as string[],
      scopes: JSON.parse(r.scopes) as (TokenScope | '*')[],
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    },
  };
}

/** Default reach of a new token (CLI and API): every pipeline, ingest and read, 90 days. */
export const TOKEN_DEFAULTS = { pipelines: '*', scopes: 'ingest,read', expires: '90d' } as const;

/** A token's grant from what a person gave (`--pipelines a,b --scopes ingest --expires 90d|never`), with defaults. */
export function tokenGrant(
  given: { pipelines?: string | string[]; scopes?: string | string[]; expires?: string },
  now: number,
  knownPipelines?: string[],
): TokenGrant {
  const expires = (given.expires ?? TOKEN_DEFAULTS.expires).trim();
  let expiresAt: number | null = null;
  if (expires !== 'never') {
    let ms: number;
    try {
      ms = parseDuration(expires);
    } catch {
      throw new AirlockError('BAD_REQUEST', `expires must be a duration such as 30d, 12h or 90d, or never (got "${expires}")`);
    }
    if (!(ms > 0)) throw new AirlockError('BAD_REQUEST', `expires must be longer than 0 (got "${expires}")`);
    expiresAt = now + ms;
  }
  return {
    pipelines: parsePipelineScope(given.pipelines ?? TOKEN_DEFAULTS.pipelines, knownPipelines),
    scopes: parseTokenScopes(given.scopes ?? TOKEN_DEFAULTS.scopes),
    expiresAt,
  };
}

export function grantView(g: TokenGrant) {
  return { pipelines: g.pipelines, scopes: g.scopes, expires_at: g.expiresAt === null ? null : new Date(g.expiresAt).toISOString() };
}
