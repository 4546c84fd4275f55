import type { HttpModelConfig } from '../config/load.js';
import { type ModelAdapter, ModelCallError, normalizeAnswer, type Prediction } from './adapter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** POSTs the record as JSON to the model's URL; retries timeouts, connection errors, 408, 429 and 5xx. */
export class HttpModelAdapter implements ModelAdapter {
  readonly type = 'http';
  constructor(private readonly config: HttpModelConfig) {}

  async predict(record: unknown): Promise<Prediction> {
    let lastError: ModelCallError | undefined;
    for (let attempt = 0; attempt <= this.config.retries; attempt++) {
      if (attempt > 0) await sleep(Math.min(2000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
      try {
        return await this.once(record);
      } catch (err) {
        if (!(err instanceof ModelCallError)) throw err;
        lastError = err;
        if (err.kind === 'rejected') throw err;
      }
    }
    throw lastError ?? new ModelCallError('unavailable', 'model call failed');
  }

  private async once(record: unknown): Promise<Prediction> {
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(this.config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...this.config.headers },
        body: JSON.stringify(record),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const reason =
        e.name === 'TimeoutError'
          ? `timed out after ${this.config.timeoutMs}ms`
          : (e.cause?.code ?? (e.cause as Error | undefined)?.message ?? e.message);
      throw new ModelCallError('unavailable', `model unreachable: ${reason}`);
    }
    const text = await res.text().catch(() => '');
    const latencyMs = performance.now() - started;
    if (res.status === 408 || res.status === 429 || res.status >= 500) {
      throw new ModelCallError('unavailable', `model answered ${res.status}`, res.status);
    }
    if (res.status >= 300) {
      throw new ModelCallError('rejected', `model refused the record with ${res.status}: ${text.slice(0, 200)}`, res.status);
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new ModelCallError('rejected', 'invalid answer: not JSON', res.status);
    }
    return normalizeAnswer(answer, latencyMs, this.config.version);
  }
}
