/** What a model said about one record. */
export interface Prediction {
  label: string;
  /** The model's confidence in `label`, in [0, 1]. */
  confidence: number;
  /** Class probabilities when the model gave them. */
  probs?: Record<string, number>;
  /** Model version, when the config or the model names it. */
  modelVersion?: string;
  latencyMs: number;
}

/**
 * Why a model call failed. `unavailable`: the model itself is down or overloaded (connection refused,
 * timeouts, 5xx) — scoring pauses and records wait. `rejected`: this record's request was refused or the
 * answer was invalid — the record becomes a `model_failure` review case.
 */
export class ModelCallError extends Error {
  /** Refused without calling: the model's circuit breaker is open. */
  circuitOpen = false;
  /** With circuitOpen: milliseconds until the breaker lets a probe call through. */
  retryAfterMs?: number;
  constructor(
    readonly kind: 'unavailable' | 'rejected',
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ModelCallError';
  }
}

export interface ModelAdapter {
  readonly type: string;
  /** Scores one record; throws ModelCallError. */
  predict(record: unknown): Promise<Prediction>;
  close?(): Promise<void>;
}

/** Turns a model's answer (`{label, confidence}` or `{probs}`) into a Prediction, or explains why it is invalid. */
export function normalizeAnswer(answer: unknown, latencyMs: number, modelVersion?: string): Prediction {
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) {
    throw new ModelCallError('rejected', 'invalid answer: expected an object with label and confidence, or probs');
  }
  const a = answer as Record<string, unknown>;
  const version = typeof a.model_version === 'string' ? a.model_version : modelVersion;
  if (a.probs !== undefined) {
    if (!a.probs || typeof a.probs !== 'object' || Array.isArray(a.probs)) {
      throw new ModelCallError('rejected', 'invalid answer: probs must be an object of label → probability');
    }
    const entries = Object.entries(a.probs as Record<string, unknown>);
    if (entries.length === 0) throw new ModelCallError('rejected', 'invalid answer: probs is empty');
    let best: [string, number] | undefined;
    const probs: Record<string, number> = {};
    for (const [k, v] of entries) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
        throw new ModelCallError('rejected', `invalid answer: probs.${k} must be a number in [0, 1]`);
      }
      probs[k] = v;
      if (!best || v > best[1]) best = [k, v];
    }
    const total = Object.values(probs).reduce((s, v) => s + v, 0);
    if (Math.abs(total - 1) > 1e-3) throw new ModelCallError('rejected', `invalid answer: probs sum to ${total}, not 1`);
    const label = typeof a.label === 'string' ? a.label : (best as [string, number])[0];
    const confidence = probs[label] ?? (best as [string, number])[1];
    return { label, confidence, probs, modelVersion: version, latencyMs };
  }
  if (typeof a.label !== 'string' && typeof a.label !== 'number' && typeof a.label !== 'boolean') {
    throw new ModelCallError('rejected', 'invalid answer: label is missing');
  }
  if (typeof a.confidence !== 'number' || !Number.isFinite(a.confidence) || a.confidence < 0 || a.confidence > 1) {
    throw new ModelCallError('rejected', 'invalid answer: confidence must be a number in [0, 1]');
  }
  return { label: String(a.label), confidence: a.confidence, modelVersion: version, latencyMs };
}
