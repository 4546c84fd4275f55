import type { PipelineConfig } from '../config/sections/pipeline.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import { purge as purgeColumn, recordBody } from '../store/codecs.js';
import { appendEvents } from '../store/events.js';
import type { RecordStatus } from '../store/tables.js';

/**
 * Retention of record content (`retention:` per pipeline). A purge blanks the content of records that are finished
 * and past the cutoff: `body` becomes `{}`, `original_body` (the body as received before an edit) and the last
 * response of a destination (it may echo the body) become null. It keeps the id, status, body hash (a re-sent
 * record is still recognised), prediction, decision, violations (field names and kinds), deliveries, review cases,
 * the audit trail, labels (prediction and verdict) and drift summaries.
 *
 * Only `delivered` and `discarded` records are purged: a record waiting on the system (received, scoring, decided)
 * or on a person (halted, quarantined, in review, dead-lettered) keeps its content, and so does any record with an
 * open review case or a delivery still pending or dead-lettered.
 */
export const PURGEABLE_STATES: readonly RecordStatus[] = ['delivered', 'discarded'];

/** Records purged per transaction: short transactions keep ingest flowing on SQLite while a purge runs. */
const BATCH = 500;

export interface PurgeRun {
  pipeline: string;
  /** ran: content was purged (maybe of 0 records); dry_run: counted only; taken: another process ran this scheduled purge. */
  status: 'ran' | 'dry_run' | 'taken';
  run_id: number | null;
  /** Records whose last change is before this were due. */
  cutoff: string;
  policy: string;
  actor: string;
  due_at: string | null;
  /** Records purged (dry run: records that would be). */
  purged: number;
}

export interface PurgeOptions {
  now: number;
  /** `scheduler`, or the person running `airlock purge`. */
  actor: string;
  /** The scheduled time this run is for: exactly one process runs each (pipeline, due_at). */
  dueAt?: number | null;
  dryRun?: boolean;
}

const policyOf = (p: PipelineConfig) => `retention.payloads: ${p.retention?.payloads}`;

function candidates(rt: Pick<Runtime, 'store'>, pipeline: string, cutoff: number) {
  return rt.store.db
    .selectFrom('records')
    .where('records.pipeline', '=', pipeline)
    .where('records.status', 'in', PURGEABLE_STATES)
    .where('records.updated_at', '<', cutoff)
    .where('records.purged_at', 'is', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('review_cases')
            .select('review_cases.id')
            .whereRef('review_cases.pipeline', '=', 'records.pipeline')
            .whereRef('review_cases.record_id', '=', 'records.id')
            .where('review_cases.status', '=', 'open'),
        ),
      ),
    )
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('deliveries')
            .select('deliveries.seq')
            .whereRef('deliveries.pipeline', '=', 'records.pipeline')
            .whereRef('deliveries.record_id', '=', 'records.id')
            .where('deliveries.status', 'in', ['pending', 'dead_lettered']),
        ),
      ),
    );
}

/**
 * Purges one pipeline's expired content now. Audited: a `payload_purged` event on each record and a
 * `payloads_purged` event on the pipeline (count, cutoff, policy, actor), and a purge_runs row. A dry run only counts.
 */
export async function purgePipeline(
  rt: Pick<Runtime, 'store' | 'config' | 'logger'>,
  pipelineName: string,
  o: PurgeOptions,
): Promise<PurgeRun> {
  const pipeline = rt.config.pipelines[pipelineName];
  if (!pipeline) throw new AirlockError('USAGE', `pipeline "${pipelineName}" is not in the config`);
  if (!pipeline.retention) {
    throw new AirlockError('USAGE', `pipeline "${pipelineName}" has no retention.payloads in the config: its content is kept`);
  }
  const { db, kind } = rt.store;
  const cutoff = o.now - pipeline.retention.payloadsMs;
  const policy = policyOf(pipeline);
  const dueAt = o.dueAt ?? null;
  const base = {
    pipeline: pipelineName,
    cutoff: new Date(cutoff).toISOString(),
    policy,
    actor: o.actor,
    due_at: dueAt === null ? null : new Date(dueAt).toISOString(),
  };
  if (o.dryRun) {
    const row = await candidates(rt, pipelineName, cutoff)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    return { ...base, status: 'dry_run', run_id: null, purged: Number(row?.n ?? 0) };
  }
  const claimed = await db
    .insertInto('purge_runs')
    .values({ pipeline: pipelineName, due_at: dueAt, started_at: o.now, finished_at: null, cutoff, policy, actor: o.actor, purged: 0 })
    .onConflict((oc) => oc.columns(['pipeline', 'due_at']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!claimed) return { ...base, status: 'taken', run_id: null, purged: 0 };
  const runId = Number(claimed.id);
  const purge = purgeColumn.encode({ run: runId, policy, cutoff: base.cutoff, by: o.actor });
  let purged = 0;
  for (;;) {
    const batch = await candidates(rt, pipelineName, cutoff)
      .select(['records.seq', 'records.id'])
      .orderBy('records.seq')
      .limit(BATCH)
      .execute();
    if (batch.length === 0) break;
    const done = await db.transaction().execute(async (trx) => {
      // The where clause checks again: a record that changed since it was selected is left alone.
      const rows = await trx
        .updateTable('records')
        .set({ body: recordBody.encode({}), original_body: null, purged_at: o.now, purge })
        .where(
          'seq',
          'in',
          batch.map((r) => Number(r.seq)),
        )
        .where('status', 'in', PURGEABLE_STATES)
        .where('purged_at', 'is', null)
        .where('updated_at', '<', cutoff)
        .returning('id')
        .execute();
      const ids = rows.map((r) => r.id);
      if (ids.length === 0) return 0;
      await trx
        .updateTable('deliveries')
        .set({ response: null })
        .where('pipeline', '=', pipelineName)
        .where('record_id', 'in', ids)
        .execute();
      await appendEvents(
        trx,
        ids.map((id) => ({
          pipeline: pipelineName,
          recordId: id,
          at: o.now,
          kind: 'payload_purged',
          detail: { run: runId, policy, by: o.actor },
        })),
        kind,
      );
      return ids.length;
    });
    purged += done;
    if (done === 0) break;
  }
  await db.transaction().execute(async (trx) => {
    await trx.updateTable('purge_runs').set({ finished_at: o.now, purged }).where('id', '=', runId).execute();
    await appendEvents(
      trx,
      [
        {
          pipeline: pipelineName,
          recordId: '',
          at: o.now,
          kind: 'payloads_purged',
          detail: { run: runId, purged, cutoff: base.cutoff, policy, by: o.actor, scheduled: dueAt !== null },
        },
      ],
      kind,
    );
  });
  rt.logger.info({ pipeline: pipelineName, run: runId, purged, cutoff: base.cutoff, policy, by: o.actor }, 'payloads purged');
  return { ...base, status: 'ran', run_id: runId, purged };
}

/** The purge runs of a pipeline, newest first. */
export async function purgeRunsOf(rt: Pick<Runtime, 'store'>, pipeline: string, limit = 20) {
  const rows = await rt.store.db
    .selectFrom('purge_runs')
    .selectAll()
    .where('pipeline', '=', pipeline)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());
  return rows.map((r) => ({
    run_id: Number(r.id),
    due_at: iso(r.due_at),
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
    cutoff: iso(r.cutoff),
    policy: r.policy,
    actor: r.actor,
    purged: Number(r.purged),
  }));
}

/**
 * The scheduled purge, in every worker process: each pipeline with `retention:` is purged once per `every`
 * (the time slot is the due time; the purge_runs row decides which process runs it).
 */
export class RetentionStage {
  constructor(
    private readonly rt: Runtime,
    private readonly maxWaitMs = 60_000,
  ) {}

  async runOnce(): Promise<{ done: number; waitMs: number }> {
    const now = this.rt.clock.now();
    let done = 0;
    let wait = this.maxWaitMs;
    for (const p of Object.values(this.rt.config.pipelines)) {
      if (!p.retention) continue;
      const every = p.retention.everyMs;
      const dueAt = Math.floor(now / every) * every;
      wait = Math.min(wait, dueAt + every - now);
      const seen = await this.rt.store.db
        .selectFrom('purge_runs')
        .select('id')
        .where('pipeline', '=', p.name)
        .where('due_at', '=', dueAt)
        .executeTakeFirst();
      if (seen) continue;
      const run = await purgePipeline(this.rt, p.name, { now, dueAt, actor: 'scheduler' });
      if (run.status === 'ran') done += run.purged;
    }
    return { done, waitMs: Math.max(1, wait) };
  }
}

/** For record views: what a purge left in place of the content. */
export function purgeNote(row: { purged_at: number | null; purge: string | null }) {
  if (row.purged_at === null) return null;
  const p = purgeColumn.decodeOrNull(row.purge) ?? {};
  return { at: new Date(Number(row.purged_at)).toISOString(), ...p };
}
