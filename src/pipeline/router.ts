import { createHash } from 'node:crypto';
import { applyCalibrator, type Calibrator } from '../calibration/calibrators.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import type { ReviewRule } from '../config/sections/routing.js';
import type { Prediction } from '../models/adapter.js';

/** What routing uses for one pipeline: the active calibrator and threshold version, or the config's fallback. */
export interface RoutingPolicy {
  /** The routing version, or null when the config's `routing.auto_accept_at` applies. */
  version: number | null;
  calibrator: Calibrator | null;
  /** Auto-accept when (calibrated) confidence ≥ threshold. */
  threshold: number;
  /**
   * Per-segment thresholds (routing.segment_by): a number, or null where no threshold carried the guarantee (that
   * segment always goes to review). A segment absent here uses `threshold`.
   */
  segments?: Record<string, number | null>;
}

export interface RouteDecision {
  to: 'auto' | 'review';
  /** Why: confidence, never_auto, or rule. */
  reason: 'confidence' | 'never_auto' | 'rule';
  /** The record's segment (routing.segment_by), when configured. */
  segment?: string;
  /** Which threshold applied to the segment: its own, the overall one (a segment the calibration did not see), or none (no threshold carries the guarantee there). */
  segmentThreshold?: 'own' | 'overall' | 'none';
  threshold: number;
  rawConfidence: number;
  /** Confidence after the calibrator (= raw when there is none or it could not be applied). */
  calibratedConfidence: number;
  version: number | null;
  /** Set when the calibrator could not be applied to this prediction (the config's fallback threshold was used). */
  calibration?: 'unavailable';
  /** The rule that matched, when reason = rule. */
  rule?: ReviewRule;
  /** True when this automatic decision is also sampled for audit by a person. */
  audit: boolean;
}

/** Reads a dotted path (`order.amount`) from a record. */
function fieldOf(record: unknown, path: string): unknown {
  let v: unknown = record;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

export function ruleMatches(rule: ReviewRule, record: unknown): boolean {
  const v = fieldOf(record, rule.field);
  if (v === undefined) return false;
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
  if (rule.above !== undefined && Number.isFinite(n) && n > rule.above) return true;
  if (rule.below !== undefined && Number.isFinite(n) && n < rule.below) return true;
  if (rule.equals !== undefined && JSON.stringify(v) === JSON.stringify(rule.equals)) return true;
  if (rule.in?.some((x) => JSON.stringify(x) === JSON.stringify(v))) return true;
  return false;
}

/** The segment of a record for per-segment thresholds: `$label` is the predicted label, else a dotted record path. */
export function segmentOf(segmentBy: string, record: unknown, predictedLabel: string): string {
  if (segmentBy === '$label') return predictedLabel;
  const v = fieldOf(record, segmentBy);
  if (v === undefined || v === null) return '(missing)';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** A record's audit draw: a uniform number in [0, 1) from its id, so the sample is reproducible and unbiased. */
export function auditDraw(pipeline: string, recordId: string): number {
  const h = createHash('sha256').update(`audit\u0000${pipeline}\u0000${recordId}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/**
 * Routes one prediction: rules first (never_auto labels, review_when rules), then calibrated confidence against the
 * threshold; an automatic decision is also sampled for audit at the configured rate.
 */
export function route(
  pipeline: PipelineConfig,
  policy: RoutingPolicy,
  record: unknown,
  recordId: string,
  prediction: Pick<Prediction, 'confidence' | 'label' | 'probs'>,
): RouteDecision {
  let calibrated = prediction.confidence;
  let threshold = policy.threshold;
  let version = policy.version;
  let calibration: 'unavailable' | undefined;
  if (policy.calibrator) {
    try {
      const probs = prediction.probs ? [Object.values(prediction.probs)] : undefined;
      calibrated = applyCalibrator(policy.calibrator, { confidence: [prediction.confidence], probs })[0];
    } catch {
      // E.g. a temperature calibrator fitted on probabilities, and a model that gave only a confidence:
      // fall back to the config's threshold on raw confidence, and say so on the decision.
      calibration = 'unavailable';
      calibrated = prediction.confidence;
      threshold = pipeline.routing.autoAcceptAt;
      version = null;
    }
  }
  let segment: string | undefined;
  let segmentThreshold: RouteDecision['segmentThreshold'];
  if (pipeline.routing.segmentBy) {
    segment = segmentOf(pipeline.routing.segmentBy, record, prediction.label);
    if (version !== null && policy.segments) {
      const own = Object.hasOwn(policy.segments, segment) ? policy.segments[segment] : undefined;
      if (own === undefined) segmentThreshold = 'overall';
      else if (own === null) {
        segmentThreshold = 'none';
        threshold = Number.POSITIVE_INFINITY;
      } else {
        segmentThreshold = 'own';
        threshold = own;
      }
    }
  }
  const base = {
    threshold,
    ...(segment !== undefined ? { segment } : {}),
    ...(segmentThreshold ? { segmentThreshold } : {}),
    rawConfidence: prediction.confidence,
    calibratedConfidence: calibrated,
    version,
    ...(calibration ? { calibration } : {}),
  };
  if (pipeline.routing.neverAuto.includes(prediction.label)) return { ...base, to: 'review', reason: 'never_auto', audit: false };
  const rule = pipeline.routing.reviewWhen.find((r) => ruleMatches(r, record));
  if (rule) return { ...base, to: 'review', reason: 'rule', rule, audit: false };
  if (calibrated >= threshold) {
    const audit = pipeline.routing.auditRate > 0 && auditDraw(pipeline.name, recordId) < pipeline.routing.auditRate;
    return { ...base, to: 'auto', reason: 'confidence', audit };
  }
  return { ...base, to: 'review', reason: 'confidence', audit: false };
}
