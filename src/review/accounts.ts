import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import type { Role } from '../config/load.js';
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
    .values({ id_hash: sha256(id), user_id: user.id, csrf, created_at: now, expires_at: now + ttlMs })
    .execute();
  // Housekeeping: expired sessions of anyone.
  await db.deleteFrom('sessions').where('expires_at', '<', now).execute();
  return { id, csrf, expiresAt: now + ttlMs };
}

export async function sessionUser(db: Kysely<Tables>, id: string, now: number): Promise<{ user: User; csrf: string } | null> {
  const r = await db
    .selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['users.id', 'users.name', 'users.role', 'users.disabled_at', 'sessions.csrf', 'sessions.expires_at'])
    .where('sessions.id_hash', '=', sha256(id))
    .executeTakeFirst();
  if (!r || Number(r.expires_at) < now || r.disabled_at !== null) return null;
  return { user: toUser(r), csrf: r.csrf };
}

export async function endSession(db: Kysely<Tables>, id: string): Promise<void> {
  await db.deleteFrom('sessions').where('id_hash', '=', sha256(id)).execute();
}

/** Creates an API token for a user; the token itself is returned once and only its hash is stored. */
export async function createToken(
  db: Kysely<Tables>,
  name: string,
  tokenName: string,
  now: number,
): Promise<{ token: string; id: number }> {
  const u = await requireUser(db, name);
  if (u.disabled) throw new AirlockError('CONFLICT', `user ${name} is disabled`);
  const token = `alk_${randomBytes(24).toString('base64url')}`;
  const row = await db
    .insertInto('api_tokens')
    .values({ user_id: u.id, name: tokenName, token_hash: sha256(token), created_at: now, last_used_at: null, revoked_at: null })
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

export async function listTokens(db: Kysely<Tables>) {
  const rows = await db
    .selectFrom('api_tokens')
    .innerJoin('users', 'users.id', 'api_tokens.user_id')
    .select([
      'api_tokens.id',
      'api_tokens.name',
      'users.name as user',
      'api_tokens.created_at',
      'api_tokens.last_used_at',
      'api_tokens.revoked_at',
    ])
    .orderBy('api_tokens.id')
    .execute();
  return rows.map((r) => ({
    id: Number(r.id),
    name: r.name,
    user: r.user,
    created_at: new Date(Number(r.created_at)).toISOString(),
    last_used_at: r.last_used_at === null ? null : new Date(Number(r.last_used_at)).toISOString(),
    revoked: r.revoked_at !== null,
  }));
}

export async function tokenUser(db: Kysely<Tables>, token: string, now: number): Promise<User | null> {
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
    ])
    .where('api_tokens.token_hash', '=', sha256(token))
    .executeTakeFirst();
  if (!r || r.revoked_at !== null || r.disabled_at !== null) return null;
  // Recorded at most once a minute, so a busy token does not write on every request.
  if (r.last_used_at === null || now - Number(r.last_used_at) > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', r.token_id).execute();
  }
  return toUser(r);
}
