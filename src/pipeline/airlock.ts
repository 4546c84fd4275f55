import type { Logger } from 'pino';
import { AlertCenter } from '../alerts/alerts.js';
import type { AirlockConfig } from '../config/airlock-config.js';
import { type Clock, type Runtime, systemClock } from '../runtime/context.js';
import { createLogger } from '../runtime/logger.js';
import { Metrics } from '../runtime/prometheus.js';
import { openStore, type Store } from '../store/db.js';
import { registerConfigContract } from './gate.js';
import { Ingestor } from './ingest.js';
import { WorkerPool } from './pool.js';

export interface CreateRuntimeOptions {
  clock?: Clock;
  logger?: Logger;
  /** Use this store instead of opening `config.database`. */
  store?: Store;
  /** Run migrations on open (default true). */
  migrate?: boolean;
}

/** An opened Airlock: the database, the ingest path and the workers of every pipeline in the config. */
export interface Airlock {
  runtime: Runtime;
  ingestor: Ingestor;
  workers: WorkerPool;
  close(): Promise<void>;
}

export async function createAirlock(config: AirlockConfig, options: CreateRuntimeOptions = {}): Promise<Airlock> {
  const logger = options.logger ?? createLogger(config.logging.level);
  const store = options.store ?? openStore(config.database);
  if (options.migrate !== false) await store.migrate();
  const clock = options.clock ?? systemClock;
  for (const p of Object.values(config.pipelines)) await registerConfigContract(store.db, p, clock.now());
  let workers: WorkerPool | undefined;
  const runtime: Runtime = {
    config,
    store,
    clock,
    logger,
    alerts: new AlertCenter(store, config.alerts, logger, { now: () => clock.now() }),
    metrics: new Metrics(store),
    wake: () => workers?.wake(),
  };
  workers = new WorkerPool(runtime);
  const ingestor = new Ingestor(runtime);
  return {
    runtime,
    ingestor,
    workers,
    async close() {
      // Commit what was acknowledged-in-progress before the database goes away.
      await ingestor.drain();
      await workers.stop();
      if (!options.store) await store.close();
    },
  };
}
