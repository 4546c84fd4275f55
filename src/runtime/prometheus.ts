import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { countOpenCases } from '../store/cases.js';
import type { Store } from '../store/db.js';
import { countPendingDeliveries } from '../store/deliveries.js';
import { countRecordsByStatus } from '../store/records.js';

/** Prometheus metrics of one process; gauges that describe the database are read when scraped. */
export class Metrics {
  readonly registry = new Registry();
  readonly stageSeconds: Histogram<'stage' | 'pipeline'>;
  readonly ingested: Counter<'pipeline' | 'outcome'>;
  readonly modelCalls: Counter<'pipeline' | 'outcome'>;
  readonly deliveryAttempts: Counter<'pipeline' | 'destination' | 'outcome'>;
  readonly halts: Counter<'pipeline'>;

  constructor(store: Store) {
    this.stageSeconds = new Histogram({
      name: 'airlock_stage_duration_seconds',
      help: 'Time spent in each stage of a record (ingest, score, deliver).',
      labelNames: ['stage', 'pipeline'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.ingested = new Counter({
      name: 'airlock_ingested_records_total',
      help: 'Records accepted at ingest, by outcome (received, quarantined, existing, refused).',
      labelNames: ['pipeline', 'outcome'],
      registers: [this.registry],
    });
    this.modelCalls = new Counter({
      name: 'airlock_model_calls_total',
      help: 'Model calls by outcome (ok, unavailable, rejected).',
      labelNames: ['pipeline', 'outcome'],
      registers: [this.registry],
    });
    this.deliveryAttempts = new Counter({
      name: 'airlock_delivery_attempts_total',
      help: 'Delivery attempts by outcome (delivered, retry, dead_lettered).',
      labelNames: ['pipeline', 'destination', 'outcome'],
      registers: [this.registry],
    });
    this.halts = new Counter({
      name: 'airlock_pipeline_halts_total',
      help: 'Times a pipeline halted on a schema change.',
      labelNames: ['pipeline'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'airlock_records',
      help: 'Records by pipeline and status.',
      labelNames: ['pipeline', 'status'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const r of await countRecordsByStatus(store.db)) this.set({ pipeline: r.pipeline, status: r.status }, r.n);
      },
    });
    new Gauge({
      name: 'airlock_queue_depth',
      help: 'Work waiting: records to score, deliveries pending per destination, open review cases per type.',
      labelNames: ['queue', 'pipeline', 'name'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const r of await countRecordsByStatus(store.db)) {
          if (r.status === 'received' || r.status === 'scoring') this.inc({ queue: 'scoring', pipeline: r.pipeline, name: '' }, r.n);
        }
        for (const d of await countPendingDeliveries(store.db))
          this.set({ queue: 'delivery', pipeline: d.pipeline, name: d.destination }, d.n);
        for (const c of await countOpenCases(store.db)) this.set({ queue: 'review', pipeline: c.pipeline, name: c.type }, c.n);
      },
    });
  }
}
