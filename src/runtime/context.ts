import type { Logger } from 'pino';
import type { AlertCenter } from '../alerts/alerts.js';
import type { AirlockConfig } from '../config/airlock-config.js';
import type { Store } from '../store/db.js';
import type { Metrics } from './prometheus.js';

/** A clock that tests can control. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** What every stage needs: the config, the database, the clock, logs, alerts and metrics. */
export interface Runtime {
  config: AirlockConfig;
  store: Store;
  clock: Clock;
  logger: Logger;
  alerts: AlertCenter;
  metrics: Metrics;
  /** Wakes idle workers in this process (e.g. after an ingest). */
  wake(): void;
}
