import { createHash } from 'node:crypto';
import type { Calibrator } from '../calibration/calibrators.js';
import type { LabelledPredictions } from '../calibration/predictions.js';
import type { CalibrationReport } from '../calibration/report.js';
import type { FeasibleThreshold } from '../calibration/threshold.js';
import type { AirlockConfig } from '../config/airlock-config.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { canonicalJson } from '../contract/gate.js';
import { AirlockError } from '../errors.js';
import { modelFingerprint } from '../models/index.js';
import { calibrator as calibratorColumn, routingThreshold, type StoredThreshold } from '../store/codecs.js';
import type { Store } from '../store/db.js';
import { insertLabels, type NewLabel } from '../store/labels.js';
import { activateRoutingVersion, insertEvidence, insertRoutingVersion, routingVersions } from '../store/routing.js';
import type { RoutingVersionRow } from '../store/tables.js';

export const calibratorHash = (c: Calibrator | null): string | null =>
  c ? createHash('sha256').update(canonicalJson(c)).digest('hex') : null;

/** The hashes evidence is stamped with (docs/design.md): config, contract, model and calibrator. */
export function evidenceHashes(config: AirlockConfig, pipeline: PipelineConfig, calibrator: Calibrator | null) {
  return {
    config: config.hash,
    contract: pipeline.contract?.hash ?? null,
    model: modelFingerprint(pipeline.model),
    calibrator: calibratorHash(calibrator),
  };
}

/** The `threshold` JSON of a routing version: the guarantee, and per segment when the threshold has segments. */
export function storedThreshold(t: FeasibleThreshold & { confidence: 'calibrated' | 'raw' }): StoredThreshold {
  return {
    value: t.value,
    alpha: t.alpha,
    delta: t.delta,
    method: t.method,
    coverage: t.coverage,
    error: t.error,
    error_upper_bound: t.error_upper_bound,
    n: t.n,
    confidence: t.confidence,
    ...(t.segments
      ? {
          segments: Object.fromEntries(
            Object.entries(t.segments).map(([name, s]) => [
              name,
              s.feasible
                ? { feasible: true, value: s.value, coverage: s.coverage, error: s.error, error_upper_bound: s.error_upper_bound, n: s.n }
                : { feasible: false, n: s.n, reason: s.reason, labels_needed: s.labelsNeeded },
            ]),
          ),
        }
      : {}),
  };
}

/** The calibration set as labels (source `calibration`) for the feedback loop's refits. */
export function calibrationLabels(pipeline: string, p: LabelledPredictions, now: number): NewLabel[] {
  return p.label.map((label, i) => ({
    pipeline,
    source: 'calibration' as const,
    recordId: null,
    label,
    predicted: p.predicted[i],
    rawConfidence: p.confidence[i],
    probs: p.classes && p.probs ? Object.fromEntries(p.classes.map((c, k) => [c, p.probs![i][k]])) : null,
    segment: p.segment?.[i] ?? null,
    now,
  }));
}

export interface StoredCalibration {
  evidenceId: number;
  /** The routing version made from it, when its threshold carries the guarantee. */
  version: number | null;
  status: 'proposed' | 'active' | null;
}

/**
 * Stores a calibration report as evidence and, when its threshold carries the guarantee, makes it the pipeline's
 * next routing version: proposed (waiting for a person's approval), or active at once with `apply`.
 */
export async function storeCalibration(
  store: Store,
  config: AirlockConfig,
  pipelineName: string,
  report: CalibrationReport,
  options: { apply: boolean; by: string | null; source: string; now: number; predictions?: LabelledPredictions },
): Promise<StoredCalibration> {
  const pipeline = config.pipelines[pipelineName];
  if (!pipeline) throw new AirlockError('USAGE', `pipeline "${pipelineName}" is not in the config`);
  const calibrator = report.calibrated?.calibrator ?? null;
  const t = report.threshold;
  if (options.predictions) {
    // The newest calibration set replaces the previous one as the feedback loop's pre-launch labels.
    const labels = calibrationLabels(pipelineName, options.predictions, options.now);
    await store.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('labels').where('pipeline', '=', pipelineName).where('source', '=', 'calibration').execute();
      await insertLabels(trx, labels);
    });
  }
  const evidenceId = await insertEvidence(store.db, {
    kind: 'calibration',
    pipeline: pipelineName,
    now: options.now,
    hashes: evidenceHashes(config, pipeline, calibrator),
    summary: {
      source: options.source,
      rows: report.rows,
      ece: report.ece,
      calibrated_ece: report.calibrated?.ece ?? null,
      method: report.calibrated?.method ?? null,
      threshold: t.feasible ? t.value : null,
      feasible: t.feasible,
      alpha: t.alpha,
      delta: t.delta,
    },
    report,
  });
  if (!t.feasible) {
    if (options.apply) {
      throw new AirlockError(
        'CONTRACT_VIOLATION',
        `no threshold carries the guarantee (${t.reason}); stored as evidence #${evidenceId}, nothing applied`,
      );
    }
    return { evidenceId, version: null, status: null };
  }
  const status = options.apply ? 'active' : 'proposed';
  const version = await insertRoutingVersion(store.db, store.kind, {
    pipeline: pipelineName,
    status,
    calibrator,
    threshold: storedThreshold(t),
    evidenceId,
    by: options.by,
    note: `from ${options.source}`,
    now: options.now,
  });
  return { evidenceId, version, status };
}

export function routingVersionView(v: RoutingVersionRow) {
  const threshold = routingThreshold.decode(v.threshold);
  const calibrator = calibratorColumn.decodeOrNull(v.calibrator);
  return {
    version: v.version,
    status: v.status,
    threshold,
    calibrator: calibrator ? { method: calibrator.method, hash: calibratorHash(calibrator) } : null,
    evidence_id: v.evidence_id,
    created_at: new Date(v.created_at).toISOString(),
    created_by: v.created_by,
    activated_at: v.activated_at === null ? null : new Date(v.activated_at).toISOString(),
    activated_by: v.activated_by,
    note: v.note,
  };
}

export async function routingHistory(store: Store, pipeline: string) {
  return (await routingVersions(store.db, pipeline)).map(routingVersionView);
}

/** Approves the latest proposal (or `version`); activating an older version is a rollback. */
export async function activateVersion(store: Store, pipeline: string, version: number | 'latest-proposed', by: string | null, now: number) {
  const versions = await routingVersions(store.db, pipeline);
  const target =
    version === 'latest-proposed'
      ? [...versions].reverse().find((v) => v.status === 'proposed')
      : versions.find((v) => v.version === version);
  if (!target) {
    throw new AirlockError(
      'NOT_FOUND',
      version === 'latest-proposed'
        ? `pipeline ${pipeline} has no proposed routing version`
        : `pipeline ${pipeline} has no routing version ${version}`,
    );
  }
  if (target.status === 'active') throw new AirlockError('CONFLICT', `version ${target.version} of ${pipeline} is already active`);
  const row = await activateRoutingVersion(store.db, pipeline, target.version, by, now);
  return routingVersionView(row as RoutingVersionRow);
}
