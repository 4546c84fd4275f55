import type { HttpModelConfig } from '../config/sections/model-http.js';
import { advanceBreaker, type BreakerState, breakerPermits, newBreakerState, recordOutcomes } from '../delivery/breaker.js';
import { type OutboundAnswer, send } from '../outbound/http.js';
import { type ModelAdapter, ModelCallError, normalizeAnswer, type Prediction } from './adapter.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * POSTs the record as JSON to the model's URL; retries timeouts, connection errors, 408, 429 and 5xx with jittered
 * backoff; at most `concurrency` calls in flight; a circuit breaker (per process) fails fast while the model keeps
 * failing, so an outage costs one quick error per record instead of every retry's timeout.
 */
/** The longest model answer read (a longer one is refused as invalid). */
export const MAX_MODEL_ANSWER_BYTES = 4 * 1024 * 1024;

export class HttpModelAdapter implements ModelAdapter {
  readonly type = 'http';
  private readonly breaker: BreakerState;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly config: HttpModelConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.breaker = newBreakerState(now());
  }

  /** The breaker's phase and how often it opened (for metrics and tests). */
  get circuit(): { state: BreakerState['state']; openings: number } {
    advanceBreaker(this.breaker, this.config.breaker, this.now());
    return { state: this.breaker.state, openings: this.breaker.openings };
  }

  async predict(record: unknown): Promise<Prediction> {
    await this.acquire();
    try {
      let lastError: ModelCallError | undefined;
      for (let attempt = 0; attempt <= this.config.retries; attempt++) {
        if (attempt > 0) await sleep(Math.min(2000, 100 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
        try {
          return await this.guarded(record);
        } catch (err) {
          if (!(err instanceof ModelCallError)) throw err;
          lastError = err;
          if (err.kind === 'rejected' || err.circuitOpen) throw err;
        }
      }
      throw lastError ?? new ModelCallError('unavailable', 'model call failed');
    } finally {
      this.release();
    }
  }

  /** One call through the breaker: refused at once while it is open; its outcome counted. */
  private async guarded(record: unknown): Promise<Prediction> {
    const o = this.config.breaker;
    const now = this.now();
    advanceBreaker(this.breaker, o, now);
    if (breakerPermits(this.breaker, o) <= 0) {
      const err = new ModelCallError(
        'unavailable',
        `model circuit open after repeated failures; next probe in ${Math.max(0, (this.breaker.openUntil ?? now) - now)}ms`,
      );
      err.circuitOpen = true;
      err.retryAfterMs = Math.max(0, (this.breaker.openUntil ?? now) - now);
      throw err;
    }
    if (this.breaker.state === 'half_open') this.breaker.probes++;
    try {
      const p = await this.once(record);
      recordOutcomes(this.breaker, o, this.now(), 1, 0);
      return p;
    } catch (err) {
      // Faults of the model count (timeouts, resets, 408, 5xx); throttling (429) and refusals of one record do not.
      const fault = err instanceof ModelCallError && err.kind === 'unavailable' && err.status !== 429;
      recordOutcomes(this.breaker, o, this.now(), fault ? 0 : 1, fault ? 1 : 0);
      throw err;
    }
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.config.concurrency) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.inFlight--;
  }

  private async once(record: unknown): Promise<Prediction> {
    const started = performance.now();
    let res: OutboundAnswer;
    try {
      res = await send(this.config.url, {
        headers: { 'content-type': 'application/json', accept: 'application/json', ...this.config.headers },
        body: JSON.stringify(record),
        timeoutMs: this.config.timeoutMs,
        maxBytes: MAX_MODEL_ANSWER_BYTES,
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const reason =
        e.name === 'TimeoutError'
          ? `timed out after ${this.config.timeoutMs}ms`
          : (e.cause?.code ?? (e.cause as Error | undefined)?.message ?? e.message);
      throw new ModelCallError('unavailable', `model unreachable: ${reason}`);
    }
    if (res.truncated) throw new ModelCallError('rejected', `invalid answer: longer than ${MAX_MODEL_ANSWER_BYTES} bytes`, res.status);
    const text = res.text;
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
