import { CompiledQuery, type Kysely } from 'kysely';
import type { DatabaseKind } from './tables.js';

/** Most bound parameters per statement: below SQLite's limit (32766) and PostgreSQL's (65535). */
const MAX_PARAMETERS = 30_000;

const textCache = new Map<string, string>();

function insertText(kind: DatabaseKind, table: string, columns: readonly string[], rows: number, suffix: string): string {
  const key = `${kind}|${table}|${columns.join(',')}|${rows}|${suffix}`;
  let text = textCache.get(key);
  if (text) return text;
  const tuples: string[] = [];
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const ps: string[] = [];
    for (let c = 0; c < columns.length; c++) ps.push(kind === 'postgres' ? `$${++n}` : '?');
    tuples.push(`(${ps.join(',')})`);
  }
  text = `insert into ${table} (${columns.join(', ')}) values ${tuples.join(',')}${suffix ? ` ${suffix}` : ''}`;
  if (textCache.size > 256) textCache.clear();
  textCache.set(key, text);
  return text;
}

/**
 * Inserts many rows with one multi-row statement per chunk. The statement text depends only on the chunk
 * size, so it is built once and (on SQLite) prepared once; values are bound, never spliced into the text.
 */
export async function bulkInsert<DB>(
  db: Kysely<DB>,
  kind: DatabaseKind,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  suffix = '',
): Promise<void> {
  const perChunk = Math.max(1, Math.min(500, Math.floor(MAX_PARAMETERS / columns.length)));
  for (let i = 0; i < rows.length; i += perChunk) {
    const chunk = rows.slice(i, i + perChunk);
    const params: unknown[] = [];
    for (const row of chunk) for (const v of row) params.push(v);
    await db.executeQuery(CompiledQuery.raw(insertText(kind, table, columns, chunk.length, suffix), params));
  }
}
