import type { Kysely } from 'kysely';
import { alertOf } from '../alerts/catalog.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { type ModelAdapter, ModelCallError, type Prediction } from '../models/adapter.js';
import { newCase } from '../review/cases.js';
import type { Runtime } from '../runtime/context.js';
import { insertCases } from '../store/cases.js';
import { prediction as predictionColumn, recordBody } from '../store/codecs.js';
import { appendEvents, type NewEvent } from '../store/events.js';
import { claimRecordsForScoring, updateRecord } from '../store/records.js';
import type { RecordRow, Tables } from '../store/tables.js';
import { resumeBacklog } from './halts.js';
import { applyDecision } from './lifecycle.js';
import { type RoutingPolicy, route } from './router.js';
import type { RoutingPolicies } from './routing-policies.js';

/** Failed calls, made while the model answered other records, after which a record becomes a model_failure case. */
const RECORD_FAILURE_ATTEMPTS = 3;
const MAX_PAUSE_MS = 30_000;

/** What became of one claimed record in a round. */
type Outcome =
  | { record: RecordRow; kind: 'scored'; prediction: Prediction }
  | { record: RecordRow; kind: 'failed'; error: ModelCallError }
  | { record: RecordRow; kind: 'wait'; called: boolean };

/**
 * The scoring stage of one pipeline: claims waiting records, calls the model, routes on confidence and
 * commits each decision (with its outbox rows) or review case in one transaction per round. When the model is
 * unavailable the stage pauses with backoff and the records wait; they never become human work for an outage.
 */
export class ScoringStage {
  /** No claims before this time: the model is down and we are backing off. */
  private pausedUntil = 0;
  private consecutiveOutages = 0;
  private lastSuccessAt = 0;
  private alertedOutage = false;
  private nextBacklogCheck = 0;

  constructor(
    private readonly rt: Runtime,
    private readonly pipeline: PipelineConfig,
    private readonly model: ModelAdapter,
    private readonly owner: string,
    private readonly policies: RoutingPolicies,
  ) {}

  /** Runs one round; returns how many records it handled (decided, in review, or released to wait). */
  async runOnce(): Promise<number> {
    const now = this.rt.clock.now();
    if (this.pipeline.contract && now >= this.nextBacklogCheck) {
      // Records left waiting as `halted` after a decision (e.g. by a process that crashed) are re-checked here.
      this.nextBacklogCheck = now + 1000;
      await resumeBacklog(this.rt, this.pipeline.name);
    }
    if (now < this.pausedUntil) return 0;
    const { db, kind } = this.rt.store;
    const model = this.pipeline.model;
    // Two calls per slot of concurrency: a round lasts at most about two calls' worth of time, so the lease
    // (longer than the slowest call with its retries, twice) does not run out while the round is in flight.
    const limit = Math.min(this.rt.config.worker.batch, model.concurrency * 2);
    const slowestCall = model.timeoutMs * (1 + model.retries) + 2000;
    const leaseMs = Math.max(this.rt.config.worker.leaseMs, slowestCall * 3);
    const claimed = await claimRecordsForScoring(db, kind, this.pipeline.name, this.owner, now, leaseMs, limit);
    if (claimed.length === 0) return 0;
    const started = performance.now();
    const outcomes: Outcome[] = [];
    let next = 0;
    const slots = Array.from({ length: Math.min(model.concurrency, claimed.length) }, async () => {
      while (next < claimed.length) {
        const record = claimed[next++];
        // Once the model is found down, the rest of the round goes back to waiting without a call.
        if (this.rt.clock.now() < this.pausedUntil) outcomes.push({ record, kind: 'wait', called: false });
        else outcomes.push(await this.call(record));
      }
    });
    await Promise.all(slots);
    await this.commit(outcomes, await this.policies.get(this.pipeline));
    const seconds = (performance.now() - started) / 1000;
    for (const o of outcomes)
      if (o.kind === 'scored') this.rt.metrics.stageSeconds.observe({ stage: 'score', pipeline: this.pipeline.name }, seconds);
    return claimed.length;
  }

  private async call(record: RecordRow): Promise<Outcome> {
    try {
      const prediction = await this.model.predict(recordBody.decode(record.body));
      this.rt.metrics.modelCalls.inc({ pipeline: this.pipeline.name, outcome: 'ok' });
      this.lastSuccessAt = this.rt.clock.now();
      if (this.consecutiveOutages > 0) {
        this.rt.logger.info({ pipeline: this.pipeline.name }, 'model is answering again; scoring resumes');
        this.consecutiveOutages = 0;
        this.alertedOutage = false;
      }
      return { record, kind: 'scored', prediction };
    } catch (err) {
      const e = err instanceof ModelCallError ? err : new ModelCallError('rejected', (err as Error).message);
      this.rt.metrics.modelCalls.inc({ pipeline: this.pipeline.name, outcome: e.kind });
      if (e.kind === 'rejected') return { record, kind: 'failed', error: e };
      // Unavailable: an outage if the model is not answering anyone; specific to this record if it answers others.
      const servesOthers = this.lastSuccessAt > record.updated_at;
      if (!servesOthers) {
        this.pause(e);
        return { record, kind: 'wait', called: false };
      }
      if (record.score_attempts + 1 >= RECORD_FAILURE_ATTEMPTS) return { record, kind: 'failed', error: e };
      return { record, kind: 'wait', called: true };
    }
  }

  /** Commits every outcome of the round in one transaction (one sync to disk); a record whose lease was lost is skipped. */
  private async commit(outcomes: Outcome[], policy: RoutingPolicy): Promise<void> {
    const now = this.rt.clock.now();
    const p = this.pipeline;
    const kind = this.rt.store.kind;
    let lost = 0;
    await this.rt.store.db.transaction().execute(async (trx) => {
      const events: NewEvent[] = [];
      for (const o of outcomes) {
        const ok =
          o.kind === 'scored'
            ? await this.commitPrediction(trx, o.record, o.prediction, policy, now, events)
            : o.kind === 'failed'
              ? await this.commitFailure(trx, o.record, o.error, now, events)
              : await this.commitWait(trx, o.record, o.called, now);
        if (!ok) lost++;
      }
      await appendEvents(trx, events, kind);
    });
    if (lost > 0) {
      this.rt.logger.warn(
        { pipeline: p.name, records: lost },
        'leases expired before the results were committed; other workers have those records',
      );
    }
  }

  private async commitPrediction(
    trx: Kysely<Tables>,
    record: RecordRow,
    prediction: Prediction,
    policy: RoutingPolicy,
    now: number,
    events: NewEvent[],
  ): Promise<boolean> {
    const p = this.pipeline;
    const routed = route(p, policy, recordBody.decode(record.body), record.id, prediction);
    const predictionJson = predictionColumn.encode({
      label: prediction.label,
      confidence: prediction.confidence,
      ...(prediction.probs ? { probs: prediction.probs } : {}),
      ...(prediction.modelVersion ? { model_version: prediction.modelVersion } : {}),
      calibrated_confidence: routed.calibratedConfidence,
      routing_version: routed.version,
      ...(routed.segment !== undefined ? { segment: routed.segment } : {}),
      ...(routed.calibration ? { calibration: routed.calibration } : {}),
      latency_ms: Math.round(prediction.latencyMs * 1000) / 1000,
    });
    const scored: NewEvent[] = [
      {
        pipeline: p.name,
        recordId: record.id,
        at: now,
        kind: 'scored',
        detail: { label: prediction.label, confidence: prediction.confidence, model_version: prediction.modelVersion ?? null },
      },
      {
        pipeline: p.name,
        recordId: record.id,
        at: now,
        kind: 'routed',
        detail: {
          to: routed.to,
          reason: routed.reason,
          threshold: routed.threshold,
          calibrated_confidence: routed.calibratedConfidence,
          routing_version: routed.version,
          ...(routed.segment !== undefined ? { segment: routed.segment, segment_threshold: routed.segmentThreshold ?? null } : {}),
          ...(routed.rule ? { rule: routed.rule.field } : {}),
          ...(routed.audit ? { audit: true } : {}),
        },
      },
    ];
    if (routed.to === 'auto') {
      // The scored and routed events go in just before applyDecision's own, so the trail reads in order.
      const decided = await applyDecision(
        trx,
        this.rt.store.kind,
        p,
        record.id,
        {
          label: prediction.label,
          source: 'auto',
          confidence: routed.calibratedConfidence,
          raw_confidence: routed.rawConfidence,
          routing_version: routed.version,
          at: new Date(now).toISOString(),
        },
        now,
        { prediction: predictionJson, leaseOwner: this.owner, eventsBefore: scored },
      );
      if (decided && routed.audit) {
        // Audit sample: decided and delivered as usual, and also checked by a person, so the accuracy of
        // automatic decisions is measured on an unbiased sample.
        const c = newCase(p, record.id, 'audit_sample', { label: prediction.label, confidence: routed.calibratedConfidence }, now);
        await insertCases(trx, [c]);
        events.push({
          pipeline: p.name,
          recordId: record.id,
          at: now,
          kind: 'case_opened',
          detail: { type: 'audit_sample', owner: c.owner },
        });
      }
      return decided;
    }
    const ok = await updateRecord(
      trx,
      p.name,
      record.id,
      { status: 'in_review', prediction: predictionJson, lease_owner: null, lease_until: null, updated_at: now },
      this.owner,
    );
    if (!ok) return false;
    // Below the threshold: low_confidence; sent by a rule (never_auto, review_when): policy_review.
    const caseType = routed.reason === 'confidence' ? 'low_confidence' : 'policy_review';
    const c = newCase(
      p,
      record.id,
      caseType,
      {
        confidence: routed.calibratedConfidence,
        raw_confidence: routed.rawConfidence,
        threshold: routed.threshold,
        label: prediction.label,
        reason: routed.reason,
        ...(routed.rule ? { rule: routed.rule } : {}),
      },
      now,
    );
    await insertCases(trx, [c]);
    events.push(...scored, {
      pipeline: p.name,
      recordId: record.id,
      at: now,
      kind: 'case_opened',
      detail: { type: caseType, owner: c.owner },
    });
    return true;
  }

  /** A failure specific to this record: it becomes a model_failure review case. */
  private async commitFailure(
    trx: Kysely<Tables>,
    record: RecordRow,
    err: ModelCallError,
    now: number,
    events: NewEvent[],
  ): Promise<boolean> {
    const p = this.pipeline;
    const ok = await updateRecord(
      trx,
      p.name,
      record.id,
      { status: 'in_review', score_attempts: record.score_attempts + 1, lease_owner: null, lease_until: null, updated_at: now },
      this.owner,
    );
    if (!ok) return false;
    const c = newCase(p, record.id, 'model_failure', { error: err.message, status: err.status ?? null }, now);
    await insertCases(trx, [c]);
    events.push(
      { pipeline: p.name, recordId: record.id, at: now, kind: 'model_failed', detail: { error: err.message, status: err.status ?? null } },
      { pipeline: p.name, recordId: record.id, at: now, kind: 'case_opened', detail: { type: 'model_failure', owner: c.owner } },
    );
    return true;
  }

  /**
   * Gives the record back to the queue. Only a failed call made while the model answered others counts
   * towards the record's own failures: an outage never uses up a record's attempts.
   */
  private async commitWait(trx: Kysely<Tables>, record: RecordRow, called: boolean, now: number): Promise<boolean> {
    return updateRecord(
      trx,
      this.pipeline.name,
      record.id,
      {
        status: 'received',
        score_attempts: record.score_attempts + (called ? 1 : 0),
        available_at: Math.max(now, this.pausedUntil),
        lease_owner: null,
        lease_until: null,
        updated_at: now,
      },
      this.owner,
    );
  }

  /** Pauses scoring with jittered exponential backoff; calls failing together count as one failure of the model. */
  private pause(err: ModelCallError): void {
    const now = this.rt.clock.now();
    if (now < this.pausedUntil) return;
    if (err.circuitOpen && err.retryAfterMs !== undefined) {
      // The model's circuit breaker refused the call without trying: wait exactly until it lets a probe through
      // (growing the backoff here would only delay recovery after the breaker has closed).
      this.pausedUntil = now + Math.max(50, Math.round(err.retryAfterMs));
      return;
    }
    this.consecutiveOutages++;
    const delay = Math.min(MAX_PAUSE_MS, 500 * 2 ** Math.min(this.consecutiveOutages - 1, 10));
    // Whole milliseconds: pausedUntil becomes available_at, an integer (bigint) column on PostgreSQL.
    const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
    this.pausedUntil = now + jittered;
    this.rt.logger.warn(
      { pipeline: this.pipeline.name, error: err.message, retryInMs: jittered },
      'model unavailable; scoring paused, records wait',
    );
    if (!this.alertedOutage && this.consecutiveOutages >= 3) {
      this.alertedOutage = true;
      void this.rt.alerts.raise(
        alertOf('model_unavailable', { pipeline: this.pipeline.name, error: err.message, consecutiveFailures: this.consecutiveOutages }),
      );
    }
  }
}
