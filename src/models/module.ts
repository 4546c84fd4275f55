import { pathToFileURL } from 'node:url';
import type { ModuleModelConfig } from '../config/sections/model-module.js';
import { type ModelAdapter, ModelCallError, normalizeAnswer, type Prediction } from './adapter.js';

interface ModelModule {
  predict(record: unknown): unknown;
  init?(options: Record<string, unknown>): unknown;
  close?(): unknown;
  version?: string;
}

/** Loads a JS module that exports `predict(record)` (sync or async) and, optionally, `init(options)`. */
export class ModuleModelAdapter implements ModelAdapter {
  readonly type = 'module';
  private loaded?: Promise<ModelModule>;
  constructor(private readonly config: ModuleModelConfig) {}

  private load(): Promise<ModelModule> {
    this.loaded ??= (async () => {
      const mod = (await import(pathToFileURL(this.config.path).href)) as Partial<ModelModule> & { default?: Partial<ModelModule> };
      const m = (typeof mod.predict === 'function' ? mod : mod.default) as ModelModule | undefined;
      if (!m || typeof m.predict !== 'function') {
        throw new ModelCallError('unavailable', `${this.config.path} does not export predict(record)`);
      }
      if (typeof m.init === 'function') await m.init(this.config.options);
      return m;
    })();
    return this.loaded;
  }

  async predict(record: unknown): Promise<Prediction> {
    const m = await this.load();
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const answer = await Promise.race([
        Promise.resolve().then(() => m.predict(record)),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new ModelCallError('unavailable', `model timed out after ${this.config.timeoutMs}ms`)),
            this.config.timeoutMs,
          );
        }),
      ]);
      return normalizeAnswer(answer, performance.now() - started, this.config.version ?? m.version);
    } catch (err) {
      if (err instanceof ModelCallError) throw err;
      throw new ModelCallError('rejected', `model threw: ${(err as Error).message ?? String(err)}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (!this.loaded) return;
    const m = await this.loaded.catch(() => undefined);
    if (m && typeof m.close === 'function') await m.close();
  }
}
