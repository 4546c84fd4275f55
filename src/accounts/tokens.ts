/** API tokens: a user's credential for machines, with its reach (pipelines, scopes) and expiry. */
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { parseDuration } from '../config/units.js';
import { AirlockError } from '../errors.js';
import { tokenPipelines, tokenScopes } from '../store/codecs.js';
import { type Tables, TOKEN_SCOPES, type TokenScope, type TokenScopeGrant } from '../store/tables.js';
import { sha256 } from './hashing.js';
import { requireUser, toUser, type User } from './users.js';

export { TOKEN_SCOPES, type TokenScope };

/** The reach of a token: pipelines (or `*`), actions (or `*`) and an expiry (null: never). */
export interface TokenGrant {
  pipelines: string[];
  scopes: TokenScopeGrant[];
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
export function parseTokenScopes(text: string | string[]): TokenScopeGrant[] {
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
      pipelines: tokenPipelines.encode(grant.pipelines),
      scopes: tokenScopes.encode(grant.scopes),
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
    pipelines: tokenPipelines.decode(r.pipelines),
    scopes: tokenScopes.decode(r.scopes),
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
      pipelines: tokenPipelines.decode(r.pipelines),
      scopes: tokenScopes.decode(r.scopes),
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

/** A grant as the API and the CLI show it. */
export function grantView(g: TokenGrant) {
  return { pipelines: g.pipelines, scopes: g.scopes, expires_at: g.expiresAt === null ? null : new Date(g.expiresAt).toISOString() };
}
