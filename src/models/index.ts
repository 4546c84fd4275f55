import type { ModelConfig } from '../config/load.js';
import type { ModelAdapter } from './adapter.js';
import { HttpModelAdapter } from './http.js';
import { ModuleModelAdapter } from './module.js';

export * from './adapter.js';

/** Builds the adapter a pipeline's `model:` block names. */
export function createModelAdapter(config: ModelConfig): ModelAdapter {
  return config.type === 'http' ? new HttpModelAdapter(config) : new ModuleModelAdapter(config);
}
