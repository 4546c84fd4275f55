import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConfigCheck } from '../config/load.js';
import type { ModelConfig } from '../config/sections/model.js';
import type { ModelAdapter } from './adapter.js';
import { BaselineModelAdapter } from './baseline-adapter.js';
import { parseBaselineModel } from './baseline-model.js';
import { HttpModelAdapter } from './http.js';
import { ModuleModelAdapter } from './module.js';
import { OpenAiModelAdapter, openAiModelIdentity } from './openai.js';

export * from './adapter.js';

/** Builds the adapter a pipeline's `model:` block names. */
export function createModelAdapter(config: ModelConfig): ModelAdapter {
  if (config.type === 'openai') return new OpenAiModelAdapter(config);
  if (config.type === 'baseline') {
    const model = JSON.parse(readFileSync(config.path, 'utf8'));
    return new BaselineModelAdapter(model, { textFields: config.textFields, version: config.version });
  }
  return config.type === 'http' ? new HttpModelAdapter(config) : new ModuleModelAdapter(config);
}

/** A fingerprint of the model a pipeline uses: its adapter settings and, for a module, the module file's bytes. */
export function modelFingerprint(config: ModelConfig): string {
  const h = createHash('sha256');
  if (config.type === 'openai') return h.update(JSON.stringify(openAiModelIdentity(config))).digest('hex');
  if (config.type === 'http') h.update(JSON.stringify({ type: config.type, url: config.url, version: config.version ?? null }));
  else {
    h.update(JSON.stringify({ type: config.type, version: config.version ?? null }));
    try {
      h.update(readFileSync(config.path));
    } catch {
      h.update(config.path);
    }
  }
  return h.digest('hex');
}

/** config check and serve: every baseline model file is a model `airlock train` wrote (the loader checks it exists). */
export const checkModelFiles: ConfigCheck = (config) => {
  const problems: { at: (string | number)[]; message: string }[] = [];
  for (const p of Object.values(config.pipelines)) {
    if (p.model.type !== 'baseline') continue;
    try {
      parseBaselineModel(JSON.parse(readFileSync(p.model.path, 'utf8')));
    } catch (err) {
      problems.push({ at: ['pipelines', p.name, 'model', 'path'], message: `not a baseline model: ${(err as Error).message}` });
    }
  }
  return problems;
};
