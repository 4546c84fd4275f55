/** Console sign-in sessions: created at sign-in, ended at sign-out, expiry or idleness; the cookie holds the id. */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Tables } from '../store/tables.js';
import { sha256 } from './hashing.js';
import { toUser, type User } from './users.js';

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
