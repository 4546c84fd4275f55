import type { Kysely } from 'kysely';
import type { Calibrator } from '../calibration/calibrators.js';
import { calibrator, evidenceReport, evidenceSummary, routingThreshold, type StoredThreshold } from './codecs.js';
import type { DatabaseKind, EvidenceRow, RoutingVersionRow, RoutingVersionStatus, Tables } from './tables.js';

export interface NewEvidence {
  kind: string;
  pipeline: string | null;
  now: number;
  hashes: { config?: string | null; contract?: string | null; model?: string | null; calibrator?: string | null };
  summary: Record<string, unknown>;
  report: unknown;
}

export async function insertEvidence(db: Kysely<Tables>, e: NewEvidence): Promise<number> {
  const row = await db
    .insertInto('evidence')
    .values({
      kind: e.kind,
      pipeline: e.pipeline,
      created_at: e.now,
      config_hash: e.hashes.config ?? null,
      contract_hash: e.hashes.contract ?? null,
      model_hash: e.hashes.model ?? null,
      calibrator_hash: e.hashes.calibrator ?? null,
      summary: evidenceSummary.encode(e.summary),
      report: evidenceReport.encode(e.report),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function getEvidence(db: Kysely<Tables>, id: number): Promise<EvidenceRow | undefined> {
  return db.selectFrom('evidence').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function latestEvidence(db: Kysely<Tables>, kind: string, pipeline: string): Promise<EvidenceRow | undefined> {
  return db
    .selectFrom('evidence')
    .selectAll()
    .where('kind', '=', kind)
    .where('pipeline', '=', pipeline)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

export async function routingVersions(db: Kysely<Tables>, pipeline: string): Promise<RoutingVersionRow[]> {
  return db.selectFrom('routing_versions').selectAll().where('pipeline', '=', pipeline).orderBy('version').execute();
}

export async function activeRoutingVersion(db: Kysely<Tables>, pipeline: string): Promise<RoutingVersionRow | undefined> {
  return db.selectFrom('routing_versions').selectAll().where('pipeline', '=', pipeline).where('status', '=', 'active').executeTakeFirst();
}

export interface NewRoutingVersion {
  pipeline: string;
  status: Extract<RoutingVersionStatus, 'proposed' | 'active'>;
  calibrator: Calibrator | null;
  threshold: StoredThreshold;
  evidenceId: number | null;
  by: string | null;
  note?: string | null;
  now: number;
}

/**
 * Adds the pipeline's next version; when it is active, the previous active version is retired in the same transaction
 * (the caller's, when `db` is one).
 */
export async function insertRoutingVersion(db: Kysely<Tables>, kind: DatabaseKind, v: NewRoutingVersion): Promise<number> {
  const inTransaction = (fn: (trx: Kysely<Tables>) => Promise<number>) => (db.isTransaction ? fn(db) : db.transaction().execute(fn));
  return inTransaction(async (trx) => {
    if (kind === 'postgres') await trx.selectFrom('routing_versions').select('id').where('pipeline', '=', v.pipeline).forUpdate().execute();
    const last = await trx
      .selectFrom('routing_versions')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('pipeline', '=', v.pipeline)
      .executeTakeFirst();
    const version = Number(last?.v ?? 0) + 1;
    if (v.status === 'active') {
      await trx
        .updateTable('routing_versions')
        .set({ status: 'retired' })
        .where('pipeline', '=', v.pipeline)
        .where('status', '=', 'active')
        .execute();
    }
    await trx
      .insertInto('routing_versions')
      .values({
        pipeline: v.pipeline,
        version,
        status: v.status,
        calibrator: v.calibrator === null ? null : calibrator.encode(v.calibrator),
        threshold: routingThreshold.encode(v.threshold),
        evidence_id: v.evidenceId,
        created_at: v.now,
        created_by: v.by,
        activated_at: v.status === 'active' ? v.now : null,
        activated_by: v.status === 'active' ? v.by : null,
        note: v.note ?? null,
      })
      .execute();
    return version;
  });
}

/** Makes `version` the active one (approving a proposal, or rolling back to an earlier version). */
export async function activateRoutingVersion(
  db: Kysely<Tables>,
  pipeline: string,
  version: number,
  by: string | null,
  now: number,
): Promise<RoutingVersionRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const target = await trx
      .selectFrom('routing_versions')
      .selectAll()
      .where('pipeline', '=', pipeline)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!target) return undefined;
    await trx
      .updateTable('routing_versions')
      .set({ status: 'retired' })
      .where('pipeline', '=', pipeline)
      .where('status', '=', 'active')
      .execute();
    await trx
      .updateTable('routing_versions')
      .set({ status: 'active', activated_at: now, activated_by: by })
      .where('id', '=', target.id)
      .execute();
    return { ...target, status: 'active', activated_at: now, activated_by: by };
  });
}
