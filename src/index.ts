/** Airlock as a library: load a config, build the server, or embed the ingest path and workers. */

export type { AirlockConfig } from './config/airlock-config.js';
export { loadConfig, parseConfig, resolveConfigPath } from './config/load.js';
export { configJsonSchema } from './config/schema.js';
export type { DestinationConfig } from './config/sections/destinations.js';
export type { ModelConfig } from './config/sections/model.js';
export type { PipelineConfig } from './config/sections/pipeline.js';
export { parseDuration, parseRate } from './config/units.js';
export type { Contract, Violation } from './contract/gate.js';
export { compileContract } from './contract/gate.js';
export { idempotencyKey } from './delivery/outbox.js';
export type { AirlockErrorCode, ConfigProblem } from './errors.js';
export { AirlockError, ConfigError } from './errors.js';
export type { ModelAdapter, Prediction } from './models/adapter.js';
export type { Airlock } from './pipeline/airlock.js';
export { createAirlock } from './pipeline/airlock.js';
export type { Clock, Runtime } from './runtime/context.js';
export type { AirlockServer, CreateServerOptions, ServerRole } from './server/app.js';
export { createServer } from './server/app.js';
export type { Store } from './store/db.js';
export { openStore } from './store/db.js';
export type { RecordStatus } from './store/tables.js';
export { RECORD_STATES } from './store/tables.js';
