/**
 * Drift monitoring of a running pipeline (pure): what of a record is summarised, the model-output counts of a window,
 * a window's report against the reference, and the alert episodes of a field (hysteresis and cooldown).
 */
import { compareSummaries, type DriftOptions, type DriftReport, type FieldDrift } from './compare.js';
import type { DriftSummary } from './summary.js';

/** Model outputs are summarised as the fields `@model.label`, `@model.confidence` (calibrated) and `@model.route`. */
export const MODEL_PREFIX = '@model';
export const MODEL_FIELDS = [`${MODEL_PREFIX}.label`, `${MODEL_PREFIX}.confidence`, `${MODEL_PREFIX}.route`] as const;
export const isModelField = (name: string): boolean => name.startsWith(`${MODEL_PREFIX}.`);

export type Route = 'auto' | 'review' | 'model_failure';

export interface ScoredRecord {
  body: unknown;
  /** The prediction as stored (`records.prediction`), or null when the model failed on the record. */
  prediction: { label?: unknown; confidence?: unknown; calibrated_confidence?: unknown } | null;
  decision: { source?: unknown } | null;
  status: string;
}

/** Calibrated confidence when the router had a calibrator, else the model's own. */
export function confidenceOf(p: ScoredRecord['prediction']): number | null {
  const c = typeof p?.calibrated_confidence === 'number' ? p.calibrated_confidence : p?.confidence;
  return typeof c === 'number' && Number.isFinite(c) ? c : null;
}

export function routeOf(r: ScoredRecord): Route {
  if (!r.prediction) return 'model_failure';
  return r.decision?.source === 'auto' ? 'auto' : 'review';
}

/** The row a record contributes to its window's summary: its fields, and its model outputs under `@model`. */
export function monitoredRow(r: ScoredRecord): Record<string, unknown> {
  const body = r.body !== null && typeof r.body === 'object' && !Array.isArray(r.body) ? (r.body as Record<string, unknown>) : {};
  const label = r.prediction?.label;
  return {
    ...body,
    [MODEL_PREFIX]: {
      label: label === undefined || label === null ? null : String(label),
      confidence: confidenceOf(r.prediction),
      route: routeOf(r),
    },
  };
}

/** Exact, additive model-output counts of a window (they merge by addition). */
export interface OutputCounts {
  records: number;
  scored: number;
  auto: number;
  review: number;
  model_failure: number;
  /** Sum of the calibrated confidence of scored records: / scored = the estimated accuracy. */
  confidence_sum: number;
}

export const emptyOutputs = (): OutputCounts => ({ records: 0, scored: 0, auto: 0, review: 0, model_failure: 0, confidence_sum: 0 });

export function addOutput(o: OutputCounts, r: ScoredRecord): void {
  o.records++;
  const route = routeOf(r);
  o[route]++;
  const c = confidenceOf(r.prediction);
  if (r.prediction && c !== null) {
    o.scored++;
    o.confidence_sum += c;
  }
}

export function mergeOutputs(a: OutputCounts, b: Partial<OutputCounts>): OutputCounts {
  for (const k of Object.keys(a) as (keyof OutputCounts)[]) a[k] += Number(b[k] ?? 0);
  return a;
}

export interface OutputFigures {
  records: number;
  /** Share of records decided automatically, sent to review, and failed by the model. */
  auto_share: number | null;
  review_share: number | null;
  model_failure_share: number | null;
  /**
   * Estimated accuracy: the mean calibrated confidence of the predicted label (the confidence-based performance
   * estimation of NannyML's CBPE, Kivimäki et al. 2023: E[accuracy] = E[max calibrated probability] when calibrated).
   */
  estimated_accuracy: number | null;
}

export function outputFigures(o: OutputCounts): OutputFigures {
  const share = (n: number) => (o.records > 0 ? n / o.records : null);
  return {
    records: o.records,
    auto_share: share(o.auto),
    review_share: share(o.review),
    model_failure_share: share(o.model_failure),
    estimated_accuracy: o.scored > 0 ? o.confidence_sum / o.scored : null,
  };
}

/** The start of the UTC-aligned window holding `t`. */
export const windowStartOf = (t: number, windowMs: number): number => Math.floor(t / windowMs) * windowMs;

export interface WindowReport extends DriftReport {
  /** Input fields and model outputs, most drifted first. */
  fields: (FieldDrift & { severity: number })[];
}

/**
 * How far past its threshold a field is, for ranking: statistic / threshold for effect sizes (Wasserstein,
 * Jensen–Shannon, PSI), log(p adjusted) / log(alpha) for p-value tests; ≥ 1 means drift either way.
 */
export function severityOf(f: FieldDrift): number {
  if (f.test === 'none' || f.test === 'text_features' || f.statistic === null || f.threshold === null) return 0;
  if (f.p_value !== null) {
    const p = Math.max(f.p_value_adjusted ?? f.p_value, 1e-300);
    return f.threshold > 0 && f.threshold < 1 ? Math.log(p) / Math.log(f.threshold) : 0;
  }
  return f.threshold > 0 ? f.statistic / f.threshold : f.statistic > 0 ? Number.MAX_VALUE : 0;
}

/**
 * Compares a window with the reference. The dataset-drift share counts input fields only: the model's outputs
 * (`@model.*`) are reported and alerted on, but a model that answers differently is not a share of the inputs.
 */
export function windowReport(reference: DriftSummary, current: DriftSummary, options: DriftOptions = {}): WindowReport {
  const report = compareSummaries(reference, current, options);
  const tested = report.fields.filter((f) => f.test !== 'none' && !f.derived_from && !isModelField(f.name));
  const drifted = tested.filter((f) => f.drift).length;
  const share = tested.length ? drifted / tested.length : 0;
  const fields = report.fields
    .map((f) => ({ ...f, severity: severityOf(f) }))
    .sort((a, b) => Number(b.drift) - Number(a.drift) || b.severity - a.severity || (a.name < b.name ? -1 : 1));
  return {
    ...report,
    dataset_drift: tested.length > 0 && share >= report.share_threshold,
    drift_share: share,
    drifted_fields: drifted,
    tested_fields: tested.length,
    fields,
  };
}

// --------------------------------------------------------------------------- alert episodes

export interface EpisodeState {
  state: 'clear' | 'open';
  /** Consecutive drifted windows while clear. */
  drifted_run: number;
  /** Consecutive clean windows while open. */
  clean_run: number;
  opened_at: number | null;
  resolved_at: number | null;
  /** Whether the episode in progress (or the last one) sent its opening alert. */
  alerted: boolean;
  /** Episodes opened so far. */
  episodes: number;
}

export const clearEpisode = (): EpisodeState => ({
  state: 'clear',
  drifted_run: 0,
  clean_run: 0,
  opened_at: null,
  resolved_at: null,
  alerted: false,
  episodes: 0,
});

export interface EpisodePolicy {
  after: number;
  resolveAfter: number;
  cooldownMs: number;
}

/**
 * One window's verdict for a field moves its episode: `after` drifted windows in a row open it (one alert), then
 * `resolveAfter` clean windows in a row end it (one resolve message, if it alerted). An episode that opens within
 * `cooldownMs` of the end of the last one is tracked but sends nothing (nor its resolve), so a flapping field does
 * not alert again until it has been quiet for the cooldown.
 */
export function stepEpisode(
  s: EpisodeState,
  drifted: boolean,
  at: number,
  policy: EpisodePolicy,
): { state: EpisodeState; event: 'opened' | 'resolved' | null } {
  const n = { ...s };
  if (n.state === 'clear') {
    if (!drifted) {
      n.drifted_run = 0;
      return { state: n, event: null };
    }
    n.drifted_run++;
    if (n.drifted_run < policy.after) return { state: n, event: null };
    n.state = 'open';
    n.clean_run = 0;
    n.opened_at = at;
    n.episodes++;
    n.alerted = n.resolved_at === null || at - n.resolved_at >= policy.cooldownMs;
    return { state: n, event: n.alerted ? 'opened' : null };
  }
  if (drifted) {
    n.clean_run = 0;
    return { state: n, event: null };
  }
  n.clean_run++;
  if (n.clean_run < policy.resolveAfter) return { state: n, event: null };
  n.state = 'clear';
  n.drifted_run = 0;
  n.clean_run = 0;
  n.resolved_at = at;
  return { state: n, event: s.alerted ? 'resolved' : null };
}
