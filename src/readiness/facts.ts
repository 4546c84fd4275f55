/**
 * Gathers what the readiness checks look at, from the config and the database: stored reports (evidence), routing
 * versions, review cases since go-live, predictions and the drift reference. The checks themselves are pure
 * (src/readiness/checks.ts); their shapes are src/readiness/report.ts.
 */
import { sql } from 'kysely';
import type { AirlockConfig } from '../config/airlock-config.js';
import { AirlockError } from '../errors.js';
import { evidenceHashes } from '../pipeline/routing-versions.js';
import { QUEUE_CASE_COLUMNS, type QueueCase, queueCaseOf } from '../review/queue-stats.js';
import { calibrator as calibratorColumn, driftSpec, evidenceReport, evidenceSummary, routingThreshold } from '../store/codecs.js';
import { activeContractVersion } from '../store/contracts.js';
import type { Store } from '../store/db.js';
import { routingVersions } from '../store/routing.js';
import type { EvidenceItem, ReadinessFacts } from './report.js';

/** Reports read per kind, newest first: enough to tell a repeated run from a single one. */
const PER_KIND = 10;

export async function gatherReadinessFacts(
  store: Store,
  config: AirlockConfig,
  pipelineName: string,
  now: number,
): Promise<ReadinessFacts> {
  const pipeline = config.pipelines[pipelineName];
  if (!pipeline) {
    throw new AirlockError(
      'NOT_FOUND',
      `pipeline "${pipelineName}" is not in the config (${Object.keys(config.pipelines).join(', ') || 'none'})`,
    );
  }
  const db = store.db;

  const versions = await routingVersions(db, pipelineName);
  const active = versions.find((v) => v.status === 'active');
  // A stored report a person edited by hand is read as missing, not as a failure of the whole report.
  const calibrator = calibratorColumn.tryDecode(active?.calibrator ?? null);
  const h = evidenceHashes(config, pipeline, calibrator);

  // The newest few reports of each kind (the report itself can be large: only those are read in full).
  const kinds = await db.selectFrom('evidence').select('kind').distinct().where('pipeline', '=', pipelineName).execute();
  const evidence: EvidenceItem[] = [];
  for (const { kind } of kinds) {
    const rows = await db
      .selectFrom('evidence')
      .selectAll()
      .where('pipeline', '=', pipelineName)
      .where('kind', '=', kind)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(PER_KIND)
      .execute();
    for (const r of rows) {
      evidence.push({
        id: Number(r.id),
        kind: r.kind,
        createdAt: Number(r.created_at),
        hashes: { config: r.config_hash, contract: r.contract_hash, model: r.model_hash, calibrator: r.calibrator_hash },
        summary: evidenceSummary.tryDecode(r.summary) ?? {},
        report: evidenceReport.tryDecode(r.report),
      });
    }
  }
  evidence.sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);

  const goLive = pipeline.launch.goLive ? Date.parse(`${pipeline.launch.goLive}T00:00:00Z`) : Number.NaN;
  let cases: QueueCase[] = [];
  if (Number.isFinite(goLive) && now >= goLive) {
    const rows = await db
      .selectFrom('review_cases')
      .select(QUEUE_CASE_COLUMNS)
      .where('pipeline', '=', pipelineName)
      .where((eb) => eb.or([eb('created_at', '>=', goLive), eb('status', '=', 'open')]))
      .execute();
    cases = rows.map((r) => queueCaseOf(r));
  }

  const since = now - pipeline.readiness.maxAgeMs;
  const counts = await db
    .selectFrom('records')
    .select((eb) => [
      eb.fn.countAll<string | number>().as('total'),
      eb.fn.count<string | number>(sql`case when prediction like '%"model_version":%' then 1 end`).as('versioned'),
    ])
    .where('pipeline', '=', pipelineName)
    .where('created_at', '>=', since)
    .where('prediction', 'is not', null)
    .executeTakeFirst();

  const contract = await activeContractVersion(db, pipelineName);

  return {
    pipeline: pipelineName,
    now,
    pipelineConfig: pipeline,
    teams: config.teams,
    alerts: config.alerts,
    current: { config: h.config, contract: h.contract, model: h.model, calibrator: h.calibrator },
    evidence,
    routing: versions.map((v) => ({
      version: v.version,
      status: v.status,
      evidenceId: v.evidence_id === null ? null : Number(v.evidence_id),
      threshold: routingThreshold.tryDecode(v.threshold) ?? {},
      createdAt: Number(v.created_at),
      activatedAt: v.activated_at === null ? null : Number(v.activated_at),
    })),
    cases,
    predictions: { since, total: Number(counts?.total ?? 0), withModelVersion: Number(counts?.versioned ?? 0) },
    contractInForce: contract
      ? {
          version: contract.version,
          hash: contract.hash,
          source: contract.source,
          createdBy: contract.created_by,
          createdAt: Number(contract.created_at),
        }
      : undefined,
    driftReference: await driftReference(store, pipelineName),
  };
}

/** The pipeline's drift reference in force (table drift_references), read without depending on the drift module's API. */
async function driftReference(store: Store, pipeline: string): Promise<ReadinessFacts['driftReference']> {
  let rows: { spec: string; rows: number | string; created_at: number | string; source: string }[];
  try {
    const result = await sql<{ spec: string; rows: number | string; created_at: number | string; source: string }>`
      select spec, rows, created_at, source from drift_references
      where pipeline = ${pipeline} and status = 'active' order by version desc limit 1`.execute(store.db);
    rows = result.rows;
  } catch (err) {
    // No such table: a database made before drift references existed (migrations bring it in).
    if (/drift_references/.test((err as Error).message)) return { supported: false };
    throw err;
  }
  const row = rows[0];
  if (!row) return { supported: true };
  const spec = driftSpec.tryDecode(row.spec);
  return {
    supported: true,
    createdAt: Number(row.created_at),
    rows: Number(row.rows),
    source: row.source,
    fields: Object.keys(spec?.fields ?? {}),
  };
}
