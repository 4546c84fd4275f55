/** The accounts of people (and of machines that only ingest): names, roles, passwords, sign-in, disabling. */
import type { Kysely } from 'kysely';
import type { Role } from '../config/sections/review.js';
import { AirlockError } from '../errors.js';
import type { Tables } from '../store/tables.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './hashing.js';

/** A person's role, or `ingest` for a machine that only sends records and reads their state. */
export type AccountRole = Role | 'ingest';
export const ROLES: readonly AccountRole[] = ['admin', 'lead', 'reviewer', 'viewer', 'ingest'];

export interface User {
  id: number;
  name: string;
  role: AccountRole;
  disabled: boolean;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.@-]{0,63}$/;

/** The account of a users row. */
export function toUser(r: { id: number; name: string; role: AccountRole; disabled_at: number | null }): User {
  return { id: Number(r.id), name: r.name, role: r.role, disabled: r.disabled_at !== null };
}

/** A password a person chose, or why it is refused (at least 10 characters, at most 1024). */
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

/** The account named `name`; 404 when there is none. */
export async function requireUser(db: Kysely<Tables>, name: string): Promise<User> {
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
