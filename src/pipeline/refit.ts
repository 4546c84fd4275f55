import { alertOf } from '../alerts/catalog.js';
import { type CalibrationMethod, type Calibrator, parseCalibrator } from '../calibration/calibrators.js';
import {
  estimatedAccuracy,
  type LabelledRow,
  nextRefitAt,
  type RefitResult,
  refitDueAt,
  refitRoutingPolicy,
  stratifiedAccuracy,
  withinAutoApplyBounds,
} from '../calibration/refit.js';
import type { AirlockConfig } from '../config/airlock-config.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { AirlockError } from '../errors.js';
import type { Runtime } from '../runtime/context.js';
import {
  calibrator as calibratorColumn,
  decision as decisionColumn,
  labelProbs,
  prediction as predictionColumn,
  routingThreshold,
} from '../store/codecs.js';
import type { Store } from '../store/db.js';
import { labelsOf, misclassifications, refitsOf } from '../store/labels.js';
import { activeRoutingVersion, insertEvidence, insertRoutingVersion } from '../store/routing.js';
import type { LabelRow } from '../store/tables.js';
import { evidenceHashes, storedThreshold } from './routing-versions.js';

const DAY = 86_400_000;

export interface RefitRun {
  pipeline: string;
  /** ran: a refit was computed and stored; skipped: nothing to refit (no version in force); taken: another process ran this due refit. */
  status: 'ran' | 'skipped' | 'taken';
  outcome?: RefitResult['outcome'];
  reason: string;
  due_at: string | null;
  evidence_id: number | null;
  /** The routing version made from it, and whether it applied itself or waits for approval. */
  version: number | null;
  version_status: 'active' | 'proposed' | null;
  auto_apply: string | null;
  before: RefitResult['before'];
  after: RefitResult['after'];
  rows: RefitResult['rows'] | null;
  misclassified: number;
}

const labelRow = (l: LabelRow): LabelledRow => ({
  source: l.source,
  label: l.label,
  predicted: l.predicted,
  rawConfidence: l.raw_confidence,
  probs: labelProbs.decodeOrNull(l.probs),
  segment: l.segment,
});

function goLiveOf(p: PipelineConfig): number | null {
  if (!p.launch.goLive) return null;
  const t = Date.parse(p.launch.goLive);
  return Number.isFinite(t) ? t : null;
}

/**
 * Refits a pipeline's calibrator and threshold from its labels and stores the result as `refit` evidence; when a
 * threshold carries the guarantee it becomes the next routing version — active at once within `routing.refit.auto_apply`
 * bounds, otherwise proposed for `airlock thresholds approve`. With `dueAt` (the schedule), exactly one process runs
 * each due refit: the refits row, the evidence and the version commit together.
 */
export async function runRefit(
  rt: Pick<Runtime, 'store' | 'config' | 'logger'> & { alerts?: Runtime['alerts'] },
  pipelineName: string,
  options: { now: number; dueAt?: number | null; by?: string | null },
): Promise<RefitRun> {
  const { store, config } = rt;
  const pipeline = config.pipelines[pipelineName];
  if (!pipeline) throw new AirlockError('USAGE', `pipeline "${pipelineName}" is not in the config`);
  const dueAt = options.dueAt ?? null;
  const empty = {
    pipeline: pipelineName,
    due_at: dueAt === null ? null : new Date(dueAt).toISOString(),
    evidence_id: null,
    version: null,
    version_status: null,
    auto_apply: null,
    before: null,
    after: null,
    rows: null,
    misclassified: 0,
  } as const;
  const active = await activeRoutingVersion(store.db, pipelineName);
  if (!active) {
    return {
      ...empty,
      status: 'skipped',
      reason: `${pipelineName} has no routing version in force: run airlock calibrate --pipeline ${pipelineName} --apply first`,
    };
  }
  const t = routingThreshold.decode(active.threshold);
  const calibrator: Calibrator | null = active.calibrator ? parseCalibrator(calibratorColumn.decode(active.calibrator)) : null;
  // Platt by default: isotonic's flat top blocks make the threshold grid coarse where the guarantee is decided.
  const method: CalibrationMethod = pipeline.routing.refit.method ?? calibrator?.method ?? 'platt';
  const labels = await labelsOf(store.db, pipelineName);
  const result = refitRoutingPolicy(
    labels.map(labelRow),
    { calibrator, threshold: t.value },
    {
      method,
      alpha: t.alpha,
      delta: t.delta,
      thresholdMethod: t.method,
      minLabels: pipeline.routing.refit.minLabels,
      segments: Boolean(pipeline.routing.segmentBy),
    },
  );
  const since = Math.max(active.activated_at ?? active.created_at, options.now - 30 * DAY);
  const wrong = await misclassifications(store.db, pipelineName, since, 50);
  const bounds = pipeline.routing.refit.autoApply;
  const apply = result.outcome === 'ok' && bounds ? withinAutoApplyBounds(result, bounds) : null;
  const versionStatus = result.outcome === 'ok' ? (apply?.ok ? 'active' : 'proposed') : null;
  const summary = {
    outcome: result.outcome,
    reason: result.reason,
    due_at: dueAt === null ? null : new Date(dueAt).toISOString(),
    rows: result.rows,
    method: result.method,
    alpha: t.alpha,
    delta: t.delta,
    before: result.before,
    after: result.after,
    auto_apply: apply ? apply.why : bounds ? null : 'routing.refit.auto_apply is not set: a person approves',
    misclassified: wrong.length,
    version_in_force: active.version,
  };
  const report = {
    ...summary,
    threshold: result.threshold,
    calibrator: result.calibrator,
    misclassifications: wrong.map((w) => ({
      record_id: w.record_id,
      source: w.source,
      predicted: w.predicted,
      verdict: w.label,
      raw_confidence: w.raw_confidence,
      at: new Date(w.created_at).toISOString(),
    })),
  };
  const committed = await store.db.transaction().execute(async (trx) => {
    if (dueAt !== null) {
      const r = await trx
        .insertInto('refits')
        .values({ pipeline: pipelineName, due_at: dueAt, ran_at: options.now, outcome: result.outcome, evidence_id: null, version: null })
        .onConflict((oc) => oc.columns(['pipeline', 'due_at']).doNothing())
        .executeTakeFirst();
      if (Number(r.numInsertedOrUpdatedRows ?? 0) === 0) return null;
    }
    const evidenceId = await insertEvidence(trx, {
      kind: 'refit',
      pipeline: pipelineName,
      now: options.now,
      hashes: evidenceHashes(config, pipeline, result.calibrator),
      summary,
      report,
    });
    let version: number | null = null;
    if (result.outcome === 'ok' && result.threshold?.feasible && versionStatus) {
      version = await insertRoutingVersion(trx, store.kind, {
        pipeline: pipelineName,
        status: versionStatus,
        calibrator: result.calibrator,
        threshold: storedThreshold({ ...result.threshold, confidence: 'calibrated' }),
        evidenceId,
        by: options.by ?? (dueAt === null ? null : 'airlock (scheduled refit)'),
        note: dueAt === null ? 'refit on demand' : `scheduled refit due ${new Date(dueAt).toISOString()}`,
        now: options.now,
      });
    }
    if (dueAt !== null) {
      await trx
        .updateTable('refits')
        .set({ evidence_id: evidenceId, version })
        .where('pipeline', '=', pipelineName)
        .where('due_at', '=', dueAt)
        .execute();
    }
    return { evidenceId, version };
  });
  if (!committed) return { ...empty, status: 'taken', reason: 'another process ran this refit' };
  const run: RefitRun = {
    ...empty,
    status: 'ran',
    outcome: result.outcome,
    reason: result.reason,
    evidence_id: committed.evidenceId,
    version: committed.version,
    version_status: committed.version === null ? null : versionStatus,
    auto_apply: summary.auto_apply,
    before: result.before,
    after: result.after,
    rows: result.rows,
    misclassified: wrong.length,
  };
  if (rt.alerts && committed.version !== null) {
    const facts = {
      pipeline: pipelineName,
      version: committed.version,
      evidence: committed.evidenceId,
      before: result.before,
      after: result.after!,
      alpha: t.alpha,
      delta: t.delta,
      misclassified: wrong.length,
    };
    await rt.alerts
      .raise(versionStatus === 'active' ? alertOf('refit_applied', facts) : alertOf('refit_waiting', facts))
      .catch((err) => rt.logger.error({ err }, 'could not raise the refit alert'));
  }
  return run;
}

/**
 * The feedback loop's schedule, in every worker process: for each pipeline with `launch.go_live` and refits enabled,
 * runs the refit due now (once per due time across processes; see runRefit).
 */
export class RefitStage {
  constructor(private readonly rt: Runtime) {}

  /** Runs the refits due now (the worker pool looks every minute). */
  async runOnce(): Promise<{ done: number }> {
    const now = this.rt.clock.now();
    let done = 0;
    for (const p of Object.values(this.rt.config.pipelines)) {
      const goLive = goLiveOf(p);
      if (goLive === null || !p.routing.refit.enabled) continue;
      const dueAt = refitDueAt(goLive, now, p.routing.refit.cadenceMs);
      if (dueAt === null) continue;
      const seen = await this.rt.store.db
        .selectFrom('refits')
        .select('due_at')
        .where('pipeline', '=', p.name)
        .where('due_at', '=', dueAt)
        .executeTakeFirst();
      if (seen) continue;
      const run = await runRefit(this.rt, p.name, { now, dueAt });
      if (run.status === 'ran') {
        done++;
        this.rt.logger.info(
          { pipeline: p.name, outcome: run.outcome, version: run.version, status: run.version_status, reason: run.reason },
          'scheduled refit',
        );
      }
    }
    return { done };
  }
}

export interface RefitSchedule {
  pipeline: string;
  go_live: string | null;
  enabled: boolean;
  next_at: string | null;
  refits: { due_at: string; ran_at: string; outcome: string; evidence_id: number | null; version: number | null }[];
}

export async function refitSchedule(store: Store, config: AirlockConfig, pipelineName: string, now: number): Promise<RefitSchedule> {
  const p = config.pipelines[pipelineName];
  if (!p) throw new AirlockError('NOT_FOUND', `pipeline "${pipelineName}" is not in the config`);
  const goLive = goLiveOf(p);
  const rows = await refitsOf(store.db, pipelineName);
  return {
    pipeline: pipelineName,
    go_live: goLive === null ? null : new Date(goLive).toISOString(),
    enabled: p.routing.refit.enabled && goLive !== null,
    next_at:
      goLive === null || !p.routing.refit.enabled ? null : new Date(nextRefitAt(goLive, now, p.routing.refit.cadenceMs)).toISOString(),
    refits: rows.map((r) => ({
      due_at: new Date(r.due_at).toISOString(),
      ran_at: new Date(r.ran_at).toISOString(),
      outcome: r.outcome,
      evidence_id: r.evidence_id,
      version: r.version,
    })),
  };
}

export interface AccuracyWindow {
  start: string;
  end: string;
  /** Records scored in the window. */
  scored: number;
  auto: number;
  review: number;
  /** Mean calibrated confidence of every scored record (CBPE). */
  estimated_accuracy: number | null;
  estimated_accuracy_auto: number | null;
  /** Audit-sample labels of automatic decisions, and review verdicts, in the window. */
  audit_labels: number;
  review_labels: number;
  realised_accuracy_auto: number | null;
  realised_accuracy_review: number | null;
  /** Stratified: auto share × audit accuracy + review share × review accuracy (null while a stratum has no label). */
  realised_accuracy: number | null;
}

/**
 * Per window: the accuracy Airlock estimates without labels (mean calibrated confidence, NannyML CBPE) beside the
 * accuracy realised on the labels that have arrived (audit samples for automatic decisions, verdicts for the rest).
 */
export async function accuracyWindows(
  store: Store,
  pipelineName: string,
  options: { now: number; windowMs: number; windows: number },
): Promise<AccuracyWindow[]> {
  const end = Math.floor(options.now / options.windowMs) * options.windowMs + options.windowMs;
  const start = end - options.windowMs * options.windows;
  const windows = Array.from({ length: options.windows }, () => ({
    conf: [] as number[],
    confAuto: [] as number[],
    auto: 0,
    review: 0,
    audit: { n: 0, correct: 0 },
    reviewed: { n: 0, correct: 0 },
  }));
  const at = (t: number) => Math.floor((t - start) / options.windowMs);
  const rows = await store.db
    .selectFrom('records')
    .select(['prediction', 'decision', 'created_at'])
    .where('pipeline', '=', pipelineName)
    .where('created_at', '>=', start)
    .where('created_at', '<', end)
    .where('prediction', 'is not', null)
    .execute();
  for (const r of rows) {
    const w = windows[at(r.created_at)];
    if (!w || !r.prediction) continue;
    const p = predictionColumn.decode(r.prediction);
    const c = p.calibrated_confidence ?? p.confidence;
    w.conf.push(c);
    const d = decisionColumn.decodeOrNull(r.decision);
    if (d?.source === 'auto') {
      w.auto++;
      w.confAuto.push(c);
    } else w.review++;
  }
  const labels = await store.db
    .selectFrom('labels')
    .innerJoin('records', (j) => j.onRef('records.pipeline', '=', 'labels.pipeline').onRef('records.id', '=', 'labels.record_id'))
    .select(['labels.source', 'labels.label', 'labels.predicted', 'records.created_at'])
    .where('labels.pipeline', '=', pipelineName)
    .where('labels.source', 'in', ['audit', 'review'])
    .where('records.created_at', '>=', start)
    .where('records.created_at', '<', end)
    .execute();
  for (const l of labels) {
    const w = windows[at(l.created_at)];
    if (!w) continue;
    const s = l.source === 'audit' ? w.audit : w.reviewed;
    s.n++;
    if (l.label === l.predicted) s.correct++;
  }
  return windows.map((w, i) => {
    const scored = w.conf.length;
    const accAuto = w.audit.n ? w.audit.correct / w.audit.n : null;
    const accReview = w.reviewed.n ? w.reviewed.correct / w.reviewed.n : null;
    return {
      start: new Date(start + i * options.windowMs).toISOString(),
      end: new Date(start + (i + 1) * options.windowMs).toISOString(),
      scored,
      auto: w.auto,
      review: w.review,
      estimated_accuracy: estimatedAccuracy(w.conf),
      estimated_accuracy_auto: estimatedAccuracy(w.confAuto),
      audit_labels: w.audit.n,
      review_labels: w.reviewed.n,
      realised_accuracy_auto: accAuto,
      realised_accuracy_review: accReview,
      realised_accuracy:
        scored === 0
          ? null
          : stratifiedAccuracy([
              { share: w.auto / scored, correct: w.audit.correct, labelled: w.audit.n },
              { share: w.review / scored, correct: w.reviewed.correct, labelled: w.reviewed.n },
            ]),
    };
  });
}
