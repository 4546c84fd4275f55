/** `database:`: the SQLite file or PostgreSQL server every process of a deployment shares. */
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { EXPECTED, withDefault } from './kinds.js';

export const databaseSetting = withDefault(
  Type.String({
    pattern: '^(sqlite:|postgres://|postgresql://)',
    description: 'sqlite:PATH (relative to this file) or postgres://user@host/db.',
    [EXPECTED]: 'sqlite:PATH or a postgres:// URL',
  }),
  'sqlite:./.airlock/airlock.db',
);

/** `sqlite:/absolute/path.db`, `sqlite::memory:` or the postgres URL as written. */
export function resolveDatabase(url: string, dir: string): string {
  // The path is relative to the config's folder, which the schema cannot know: resolved here.
  if (url.startsWith('sqlite:') && url !== 'sqlite::memory:') return `sqlite:${path.resolve(dir, url.slice('sqlite:'.length))}`;
  return url;
}
