import { type Kysely, sql } from 'kysely';
import type { DatabaseKind, RecordStatus, Tables } from './tables.js';

/** The tables of migration 0007_drift. */
export interface DriftReferencesTable {
  pipeline: string;
  version: number;
  status: 'active' | 'superseded';
  /** `sample` (airlock reference) or `go_live` (the first days after launch.go_live). */
  source: string;
  /** JSON DriftSpec. */
  spec: string;
  /** JSON DriftSummaryJson of the reference. */
  summary: string;
  /** JSON OutputCounts of the reference. */
  outputs: string;
  rows: number;
  created_at: number;
  created_by: string | null;
  note: string | null;
}

export interface DriftWindowsTable {
  pipeline: string;
  reference_version: number;
  window_start: number;
  window_ms: number;
  /** The worker pool that wrote this part (each process writes only its own rows). */
  process: string;
  rows: number;
  summary: string;
  outputs: string;
  updated_at: number;
}

export interface DriftEvaluationsTable {
  pipeline: string;
  window_start: number;
  reference_version: number;
  evaluated_at: number;
  rows: number;
  tested: number;
  /** JSON: { dataset_drift, drift_share, drifted: [{ field, test, statistic, threshold }], skipped? }. */
  result: string;
}

export interface DriftEpisodesTable {
  pipeline: string;
  field: string;
  state: 'clear' | 'open';
  drifted_run: number;
  clean_run: number;
  opened_at: number | null;
  opened_window: number | null;
  resolved_at: number | null;
  alerted: number;
  episodes: number;
  statistic: number | null;
  updated_at: number;
}

export type DriftTables = {
  drift_references: DriftReferencesTable;
  drift_windows: DriftWindowsTable;
  drift_evaluations: DriftEvaluationsTable;
  drift_episodes: DriftEpisodesTable;
};

export type DriftDb = Kysely<Tables & DriftTables>;

export const driftDb = (db: Kysely<Tables>): DriftDb => db.withTables<DriftTables>() as unknown as DriftDb;

export type ReferenceRow = DriftReferencesTable;

export async function activeReference(db: Kysely<Tables>, pipeline: string): Promise<ReferenceRow | undefined> {
  const row = await driftDb(db)
    .selectFrom('drift_references')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('status', '=', 'active')
    .orderBy('version', 'desc')
    .executeTakeFirst();
  return row ? { ...row, version: Number(row.version), rows: Number(row.rows), created_at: Number(row.created_at) } : undefined;
}

export async function referenceByVersion(db: Kysely<Tables>, pipeline: string, version: number): Promise<ReferenceRow | undefined> {
  const row = await driftDb(db)
    .selectFrom('drift_references')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('version', '=', version)
    .executeTakeFirst();
  return row ? { ...row, version: Number(row.version), rows: Number(row.rows), created_at: Number(row.created_at) } : undefined;
}

/**
 * Stores a new reference version and makes it the active one (the previous is superseded). `ifNone`: only when the
 * pipeline has no reference yet (the go-live reference, built by whichever process gets there first).
 */
export async function insertReference(
  db: Kysely<Tables>,
  row: Omit<ReferenceRow, 'version' | 'status'>,
  options: { ifNone?: boolean } = {},
): Promise<number | null> {
  return db.transaction().execute(async (trx) => {
    const d = driftDb(trx);
    const last = await d
      .selectFrom('drift_references')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('pipeline', '=', row.pipeline)
      .executeTakeFirst();
    const current = last?.v === null || last?.v === undefined ? 0 : Number(last.v);
    if (options.ifNone && current > 0) return null;
    const version = current + 1;
    const res = await d
      .insertInto('drift_references')
      .values({ ...row, version, status: 'active' })
      .onConflict((oc) => oc.columns(['pipeline', 'version']).doNothing())
      .executeTakeFirst();
    if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) return null;
    await d
      .updateTable('drift_references')
      .set({ status: 'superseded' })
      .where('pipeline', '=', row.pipeline)
      .where('version', '<', version)
      .execute();
    return version;
  });
}

export interface UnsummarisedRecord {
  seq: number;
  id: string;
  body: string;
  prediction: string | null;
  decision: string | null;
  status: RecordStatus;
  created_at: number;
}

/** Records past scoring (routed, decided, or failed by the model): the ones a window summary counts. */
export const SUMMARISED_STATES: readonly RecordStatus[] = ['decided', 'in_review', 'delivered', 'dead_lettered'];

/**
 * Marks up to `limit` records of a pipeline that were scored and not yet counted as counted now, and returns them.
 * Run it in the transaction that writes their summary: on PostgreSQL the rows are chosen FOR UPDATE SKIP LOCKED
 * (two processes never take the same record), and on SQLite the statement is a write, so the transaction holds the
 * write lock from its first statement.
 */
export async function claimUnsummarised(
  trx: Kysely<Tables>,
  kind: DatabaseKind,
  pipeline: string,
  now: number,
  limit: number,
): Promise<UnsummarisedRecord[]> {
  const lock = kind === 'postgres' ? sql`for update skip locked` : sql``;
  const res = await sql<UnsummarisedRecord>`
    update records set drift_at = ${now}
    where seq in (
      select seq from records
      where pipeline = ${pipeline} and drift_at is null and status in (${sql.join([...SUMMARISED_STATES])})
      order by seq
      limit ${limit}
      ${lock}
    )
    returning seq, id, body, prediction, decision, status, created_at`.execute(trx);
  return res.rows.map((r) => ({ ...r, seq: Number(r.seq), created_at: Number(r.created_at) }));
}

/** One process's part of a drift window: a drift_windows row. */
export type WindowPart = DriftWindowsTable;

/** This process's part of a window, if it wrote one. */
export async function ownWindowPart(
  trx: Kysely<Tables>,
  key: { pipeline: string; reference_version: number; window_start: number; process: string },
): Promise<WindowPart | undefined> {
  const row = await driftDb(trx)
    .selectFrom('drift_windows')
    .selectAll()
    .where('pipeline', '=', key.pipeline)
    .where('reference_version', '=', key.reference_version)
    .where('window_start', '=', key.window_start)
    .where('process', '=', key.process)
    .executeTakeFirst();
  return row ? normalisePart(row) : undefined;
}

const normalisePart = (r: DriftWindowsTable): WindowPart => ({
  ...r,
  reference_version: Number(r.reference_version),
  window_start: Number(r.window_start),
  window_ms: Number(r.window_ms),
  rows: Number(r.rows),
  updated_at: Number(r.updated_at),
});

export async function writeWindowPart(trx: Kysely<Tables>, part: WindowPart, exists: boolean): Promise<void> {
  const d = driftDb(trx);
  if (!exists) {
    await d.insertInto('drift_windows').values(part).execute();
    return;
  }
  await d
    .updateTable('drift_windows')
    .set({ rows: part.rows, summary: part.summary, outputs: part.outputs, updated_at: part.updated_at })
    .where('pipeline', '=', part.pipeline)
    .where('reference_version', '=', part.reference_version)
    .where('window_start', '=', part.window_start)
    .where('process', '=', part.process)
    .execute();
}

/** Every part of the windows starting in [from, to) of a reference version, oldest first. */
export async function windowParts(
  db: Kysely<Tables>,
  pipeline: string,
  referenceVersion: number,
  from: number,
  to: number,
): Promise<WindowPart[]> {
  const rows = await driftDb(db)
    .selectFrom('drift_windows')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('reference_version', '=', referenceVersion)
    .where('window_start', '>=', from)
    .where('window_start', '<', to)
    .orderBy('window_start')
    .orderBy('process')
    .execute();
  return rows.map(normalisePart);
}

/** The latest window with any part for the reference version. */
export async function latestWindowStart(db: Kysely<Tables>, pipeline: string, referenceVersion: number): Promise<number | null> {
  const r = await driftDb(db)
    .selectFrom('drift_windows')
    .select((eb) => eb.fn.max('window_start').as('w'))
    .where('pipeline', '=', pipeline)
    .where('reference_version', '=', referenceVersion)
    .executeTakeFirst();
  return r?.w === null || r?.w === undefined ? null : Number(r.w);
}

/** Windows that started at or after `since`, ended by `now` and were not evaluated yet, oldest first. */
export async function windowsToEvaluate(
  db: Kysely<Tables>,
  pipeline: string,
  referenceVersion: number,
  since: number,
  now: number,
  limit: number,
): Promise<number[]> {
  const res = await sql<{ window_start: number }>`
    select distinct w.window_start from drift_windows w
    where w.pipeline = ${pipeline} and w.reference_version = ${referenceVersion} and w.window_start >= ${since}
      and w.window_start + w.window_ms <= ${now}
      and not exists (select 1 from drift_evaluations e where e.pipeline = w.pipeline and e.window_start = w.window_start)
    order by w.window_start
    limit ${limit}`.execute(db);
  return res.rows.map((r) => Number(r.window_start));
}

/** Claims the evaluation of a window: true for the one process whose row went in. */
export async function claimEvaluation(trx: Kysely<Tables>, row: DriftEvaluationsTable): Promise<boolean> {
  const res = await driftDb(trx)
    .insertInto('drift_evaluations')
    .values(row)
    .onConflict((oc) => oc.columns(['pipeline', 'window_start']).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function evaluations(db: Kysely<Tables>, pipeline: string, from: number, to: number): Promise<DriftEvaluationsTable[]> {
  const rows = await driftDb(db)
    .selectFrom('drift_evaluations')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .where('window_start', '>=', from)
    .where('window_start', '<', to)
    .orderBy('window_start')
    .execute();
  return rows.map((r) => ({
    ...r,
    window_start: Number(r.window_start),
    reference_version: Number(r.reference_version),
    evaluated_at: Number(r.evaluated_at),
    rows: Number(r.rows),
    tested: Number(r.tested),
  }));
}

export async function episodeRows(db: Kysely<Tables>, pipeline: string): Promise<DriftEpisodesTable[]> {
  const rows = await driftDb(db).selectFrom('drift_episodes').selectAll().where('pipeline', '=', pipeline).orderBy('field').execute();
  return rows.map((r) => ({
    ...r,
    drifted_run: Number(r.drifted_run),
    clean_run: Number(r.clean_run),
    opened_at: r.opened_at === null ? null : Number(r.opened_at),
    opened_window: r.opened_window === null ? null : Number(r.opened_window),
    resolved_at: r.resolved_at === null ? null : Number(r.resolved_at),
    alerted: Number(r.alerted),
    episodes: Number(r.episodes),
    updated_at: Number(r.updated_at),
  }));
}

export async function saveEpisode(trx: Kysely<Tables>, row: DriftEpisodesTable): Promise<void> {
  await driftDb(trx)
    .insertInto('drift_episodes')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['pipeline', 'field']).doUpdateSet({
        state: row.state,
        drifted_run: row.drifted_run,
        clean_run: row.clean_run,
        opened_at: row.opened_at,
        opened_window: row.opened_window,
        resolved_at: row.resolved_at,
        alerted: row.alerted,
        episodes: row.episodes,
        statistic: row.statistic,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}
