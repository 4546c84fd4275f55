import type { PipelineConfig } from '../config/load.js';
import { type ModelAdapter, ModelCallError, type Prediction } from '../models/adapter.js';
import { newCase } from '../review/cases.js';
import { insertCases } from '../store/cases.js';
import { appendEvents } from '../store/events.js';
import { claimRecordsForScoring, updateRecord } from '../store/records.js';
import type { RecordRow } from '../store/tables.js';
import type { Runtime } from './context.js';
import { applyDecision } from './lifecycle.js';
import { route } from './router.js';

/** Attempts after which a record whose calls keep failing while the model serves others becomes a model_failure case. */
const RECORD_FAILURE_ATTEMPTS = 3;
const MAX_PAUSE_MS = 30_000;

/**
 * The scoring stage of one pipeline: claims waiting records, calls the model, routes on confidence and
 * commits the decision (with its outbox rows) or the review case in the same transaction. When the model is
 * unavailable the stage pauses with backoff and the records wait; they never become human work for an outage.
 */
export class ScoringStage {
  /** No claims before this time: the model is down and we are backing off. */
  private pausedUntil = 0;
  private consecutiveOutages = 0;
  private lastSuccessAt = 0;
  private alertedOutage = false;

  constructor(
    private readonly rt: Runtime,
    private readonly pipeline: PipelineConfig,
    private readonly model: ModelAdapter,
    private readonly owner: string,
  ) {}

  /** Runs one round; returns how many records it finished (decided, in review, or released to wait). */
  async runOnce(): Promise<number> {
    const now = this.rt.clock.now();
    if (now < this.pausedUntil) return 0;
    const { db, kind } = this.rt.store;
    const limit = Math.min(this.rt.config.worker.batch, this.pipeline.model.concurrency * 4);
    const leaseMs = Math.max(
      this.rt.config.worker.leaseMs,
      this.pipeline.model.timeoutMs * (1 + (this.pipeline.model as { retries: number }).retries) * 2,
    );
    const claimed = await claimRecordsForScoring(db, kind, this.pipeline.name, this.owner, now, leaseMs, limit);
    if (claimed.length === 0) return 0;
    let next = 0;
    const workers = Array.from({ length: Math.min(this.pipeline.model.concurrency, claimed.length) }, async () => {
      while (next < claimed.length) {
        const record = claimed[next++];
        // Once the model is found down, the rest of the batch goes back to waiting without a call.
        if (this.rt.clock.now() < this.pausedUntil) {
          await this.release(record, false);
          continue;
        }
        await this.score(record);
      }
    });
    await Promise.all(workers);
    return claimed.length;
  }

  private async score(record: RecordRow): Promise<void> {
    const started = performance.now();
    let prediction: Prediction;
    try {
      prediction = await this.model.predict(JSON.parse(record.body));
    } catch (err) {
      const e = err instanceof ModelCallError ? err : new ModelCallError('rejected', (err as Error).message);
      this.rt.metrics.modelCalls.inc({ pipeline: this.pipeline.name, outcome: e.kind });
      if (e.kind === 'unavailable') {
        const servesOthers = this.lastSuccessAt > record.updated_at;
        if (servesOthers && record.score_attempts + 1 >= RECORD_FAILURE_ATTEMPTS) {
          await this.fail(record, e);
        } else {
          if (!servesOthers) this.pause(e);
          await this.release(record, true);
        }
      } else {
        await this.fail(record, e);
      }
      return;
    }
    this.rt.metrics.modelCalls.inc({ pipeline: this.pipeline.name, outcome: 'ok' });
    this.lastSuccessAt = this.rt.clock.now();
    if (this.consecutiveOutages > 0) {
      this.rt.logger.info({ pipeline: this.pipeline.name }, 'model is answering again; scoring resumes');
      this.consecutiveOutages = 0;
      this.alertedOutage = false;
    }
    await this.commitPrediction(record, prediction);
    this.rt.metrics.stageSeconds.observe({ stage: 'score', pipeline: this.pipeline.name }, (performance.now() - started) / 1000);
  }

  private async commitPrediction(record: RecordRow, prediction: Prediction): Promise<void> {
    const now = this.rt.clock.now();
    const p = this.pipeline;
    const routed = route(prediction, p.routing.autoAcceptAt);
    const predictionJson = JSON.stringify({
      label: prediction.label,
      confidence: prediction.confidence,
      ...(prediction.probs ? { probs: prediction.probs } : {}),
      ...(prediction.modelVersion ? { model_version: prediction.modelVersion } : {}),
      latency_ms: Math.round(prediction.latencyMs * 1000) / 1000,
    });
    await this.rt.store.db
      .transaction()
      .execute(async (trx) => {
        await appendEvents(
          trx,
          [
            {
              pipeline: p.name,
              recordId: record.id,
              at: now,
              kind: 'scored',
              detail: { label: prediction.label, confidence: prediction.confidence, model_version: prediction.modelVersion ?? null },
            },
            { pipeline: p.name, recordId: record.id, at: now, kind: 'routed', detail: { to: routed.to, threshold: routed.threshold } },
          ],
          this.rt.store.kind,
        );
        if (routed.to === 'auto') {
          const ok = await applyDecision(
            trx,
            this.rt.store.kind,
            p,
            record.id,
            { label: prediction.label, source: 'auto', confidence: prediction.confidence, at: new Date(now).toISOString() },
            now,
            { prediction: predictionJson, leaseOwner: this.owner },
          );
          if (!ok) throw new LeaseLost();
        } else {
          const ok = await updateRecord(
            trx,
            p.name,
            record.id,
            { status: 'in_review', prediction: predictionJson, lease_owner: null, lease_until: null, updated_at: now },
            this.owner,
          );
          if (!ok) throw new LeaseLost();
          const c = newCase(
            p,
            record.id,
            'low_confidence',
            { confidence: prediction.confidence, threshold: routed.threshold, label: prediction.label },
            now,
          );
          await insertCases(trx, [c]);
          await appendEvents(
            trx,
            [{ pipeline: p.name, recordId: record.id, at: now, kind: 'case_opened', detail: { type: 'low_confidence', owner: c.owner } }],
            this.rt.store.kind,
          );
        }
      })
      .catch((err) => {
        if (!(err instanceof LeaseLost)) throw err;
        this.rt.logger.warn(
          { pipeline: p.name, record: record.id },
          'lease expired before the prediction was committed; another worker has the record',
        );
      });
  }

  /** A failure specific to this record: it becomes a model_failure review case. */
  private async fail(record: RecordRow, err: ModelCallError): Promise<void> {
    const now = this.rt.clock.now();
    const p = this.pipeline;
    await this.rt.store.db.transaction().execute(async (trx) => {
      const ok = await updateRecord(
        trx,
        p.name,
        record.id,
        { status: 'in_review', score_attempts: record.score_attempts + 1, lease_owner: null, lease_until: null, updated_at: now },
        this.owner,
      );
      if (!ok) return;
      const c = newCase(p, record.id, 'model_failure', { error: err.message, status: err.status ?? null }, now);
      await insertCases(trx, [c]);
      await appendEvents(
        trx,
        [
          {
            pipeline: p.name,
            recordId: record.id,
            at: now,
            kind: 'model_failed',
            detail: { error: err.message, status: err.status ?? null },
          },
          { pipeline: p.name, recordId: record.id, at: now, kind: 'case_opened', detail: { type: 'model_failure', owner: c.owner } },
        ],
        this.rt.store.kind,
      );
    });
  }

  /** Gives the record back to the queue to wait for the model. */
  private async release(record: RecordRow, called: boolean): Promise<void> {
    const now = this.rt.clock.now();
    await updateRecord(
      this.rt.store.db,
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

  private pause(err: ModelCallError): void {
    this.consecutiveOutages++;
    const delay = Math.min(MAX_PAUSE_MS, 500 * 2 ** Math.min(this.consecutiveOutages - 1, 10));
    // Whole milliseconds: pausedUntil becomes available_at, an integer (bigint) column on PostgreSQL.
    const jittered = Math.round(delay / 2 + Math.random() * (delay / 2));
    this.pausedUntil = Math.max(this.pausedUntil, this.rt.clock.now() + jittered);
    this.rt.logger.warn(
      { pipeline: this.pipeline.name, error: err.message, retryInMs: Math.round(jittered) },
      'model unavailable; scoring paused, records wait',
    );
    if (!this.alertedOutage && this.consecutiveOutages >= 3) {
      this.alertedOutage = true;
      void this.rt.alerts.raise({
        key: `model_unavailable:${this.pipeline.name}`,
        severity: 'critical',
        title: `Model of pipeline ${this.pipeline.name} is unavailable`,
        text: `Scoring is paused and records are waiting; last error: ${err.message}.`,
        fields: { pipeline: this.pipeline.name, consecutive_failures: this.consecutiveOutages },
      });
    }
  }
}

class LeaseLost extends Error {}
