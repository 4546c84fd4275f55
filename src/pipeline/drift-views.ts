/** What the drift API and the review report show: the latest window against the reference, a field's series. */

import type { FieldDrift } from '../drift/compare.js';
import {
  confidenceOf,
  emptyOutputs,
  type OutputCounts,
  outputFigures,
  type WindowReport,
  windowReport,
  windowStartOf,
} from '../drift/monitor.js';
import { DriftSummary } from '../drift/summary.js';
import { AirlockError } from '../errors.js';
import { caseTypeDefinition, MODEL_JUDGING_CASE_TYPES } from '../review/case-types.js';
import type { Runtime } from '../runtime/context.js';
import { caseResolution, prediction as predictionColumn } from '../store/codecs.js';
import { activeReference, episodeRows, latestWindowStart, type WindowPart, windowParts } from '../store/drift.js';
import { driftFieldLink, driftOptions, type LoadedReference, loadReference, mergeParts } from './drift-stage.js';

const iso = (t: number) => new Date(t).toISOString();

export async function requireReference(rt: Runtime, pipeline: string): Promise<LoadedReference> {
  if (!rt.config.pipelines[pipeline]) throw new AirlockError('NOT_FOUND', `pipeline "${pipeline}" is not in the config`);
  const row = await activeReference(rt.store.db, pipeline);
  if (!row) {
    throw new AirlockError(
      'NOT_FOUND',
      `pipeline "${pipeline}" has no drift reference yet: load one with "airlock reference --pipeline ${pipeline} SAMPLE", or set drift.reference_days with launch.go_live`,
    );
  }
  return loadReference(rt, row);
}

/** Reviewer verdicts on the records of a window, against the model's label. */
export interface VerdictCounts {
  /** Resolved cases whose verdict judges the model's label (low_confidence, policy_review, audit_sample). */
  verdicts: number;
  agree: number;
  /** Sum of the calibrated confidence of the same records (the estimate on the reviewed records). */
  confidence_sum: number;
  /** audit_sample cases only: a uniform sample of auto-decided records, so an unbiased accuracy of those. */
  audit_verdicts: number;
  audit_agree: number;
}

const emptyVerdicts = (): VerdictCounts => ({ verdicts: 0, agree: 0, confidence_sum: 0, audit_verdicts: 0, audit_agree: 0 });

/** Verdicts per window (by the record's arrival) for records that arrived in [from, to). */
export async function verdictsByWindow(
  rt: Runtime,
  pipeline: string,
  from: number,
  to: number,
  windowMs: number,
): Promise<Map<number, VerdictCounts>> {
  const rows = await rt.store.db
    .selectFrom('review_cases as c')
    .innerJoin('records as r', (j) => j.onRef('r.pipeline', '=', 'c.pipeline').onRef('r.id', '=', 'c.record_id'))
    .select(['c.type', 'c.resolution', 'r.prediction', 'r.created_at'])
    .where('c.pipeline', '=', pipeline)
    .where('c.status', '=', 'resolved')
    .where('c.type', 'in', MODEL_JUDGING_CASE_TYPES)
    .where('r.created_at', '>=', from)
    .where('r.created_at', '<', to)
    .execute();
  const out = new Map<number, VerdictCounts>();
  for (const r of rows) {
    if (!r.prediction || !r.resolution) continue;
    const verdict = caseResolution.decode(r.resolution).label;
    if (typeof verdict !== 'string' || verdict === 'rejected') continue;
    const p = predictionColumn.decode(r.prediction);
    const w = windowStartOf(Number(r.created_at), windowMs);
    let v = out.get(w);
    if (!v) out.set(w, (v = emptyVerdicts()));
    const agree = String(p.label) === verdict;
    v.verdicts++;
    if (agree) v.agree++;
    v.confidence_sum += confidenceOf(p) ?? 0;
    if (caseTypeDefinition(r.type).approve === 'confirm') {
      v.audit_verdicts++;
      if (agree) v.audit_agree++;
    }
  }
  return out;
}

/** The model-output figures of a window: shares, estimated accuracy, and realised accuracy where verdicts exist. */
export function outputView(o: OutputCounts, v: VerdictCounts | undefined) {
  const vv = v ?? emptyVerdicts();
  return {
    ...outputFigures(o),
    verdicts: vv.verdicts,
    /** Share of reviewed records whose verdict equals the model's label (reviewed records lean to low confidence). */
    realised_accuracy: vv.verdicts > 0 ? vv.agree / vv.verdicts : null,
    /** Mean calibrated confidence of those same reviewed records: the estimate to hold the realised accuracy against. */
    estimated_accuracy_reviewed: vv.verdicts > 0 ? vv.confidence_sum / vv.verdicts : null,
    audit_verdicts: vv.audit_verdicts,
    /** Accuracy on the audit sample (uniform over auto-decided records). */
    audit_accuracy: vv.audit_verdicts > 0 ? vv.audit_agree / vv.audit_verdicts : null,
  };
}

/** A field's row without the bins (the series endpoint has them) and with its console link. */
function fieldView(rt: Runtime, pipeline: string, f: FieldDrift & { severity?: number }) {
  const { bins: _bins, ...rest } = f;
  return { ...rest, link: driftFieldLink(rt, pipeline, f.name) };
}

/** The window holding `at` when it has records, else the latest window with records. */
async function latestWindow(rt: Runtime, pipeline: string, ref: LoadedReference, at: number): Promise<number> {
  const windowMs = rt.config.pipelines[pipeline].drift.windowMs;
  const current = windowStartOf(at, windowMs);
  const latest = await latestWindowStart(rt.store.db, pipeline, ref.row.version);
  return latest === null || latest >= current ? current : latest;
}

export async function driftOverview(rt: Runtime, pipeline: string) {
  const ref = await requireReference(rt, pipeline);
  const cfg = rt.config.pipelines[pipeline].drift;
  const now = rt.clock.now();
  const w = await latestWindow(rt, pipeline, ref, now);
  const parts = await windowParts(rt.store.db, pipeline, ref.row.version, w, w + 1);
  const { summary, outputs } = mergeParts(ref, parts);
  const report = windowReport(ref.summary, summary, driftOptions(cfg));
  const verdicts = await verdictsByWindow(rt, pipeline, w, w + cfg.windowMs, cfg.windowMs);
  const episodes = await episodeRows(rt.store.db, pipeline);
  const byField = new Map(episodes.map((e) => [e.field, e]));
  return {
    pipeline,
    reference: referenceView(ref),
    window: { start: iso(w), end: iso(w + cfg.windowMs), size: cfg.window, complete: w + cfg.windowMs <= now },
    rows: summary.rows,
    dataset_drift: report.dataset_drift,
    drift_share: report.drift_share,
    share_threshold: report.share_threshold,
    drifted_fields: report.drifted_fields,
    tested_fields: report.tested_fields,
    outputs: { ...outputView(outputs, verdicts.get(w)), reference: outputFigures(ref.outputs) },
    fields: report.fields.map((f) => {
      const e = byField.get(f.name);
      return {
        ...fieldView(rt, pipeline, f),
        episode: e ? { state: e.state, opened_at: e.opened_at === null ? null : iso(e.opened_at), episodes: e.episodes } : null,
      };
    }),
  };
}

export function referenceView(ref: LoadedReference) {
  return {
    version: ref.row.version,
    source: ref.row.source,
    rows: ref.row.rows,
    created_at: iso(ref.row.created_at),
    created_by: ref.row.created_by,
    note: ref.row.note,
  };
}

/** Groups parts by window start. */
export function groupParts(parts: WindowPart[], windowMs: number): Map<number, WindowPart[]> {
  const out = new Map<number, WindowPart[]>();
  for (const p of parts) {
    const w = windowStartOf(p.window_start, windowMs);
    let a = out.get(w);
    if (!a) out.set(w, (a = []));
    a.push(p);
  }
  return out;
}

/** Reports of windows of `bucketMs` (a multiple of the pipeline's window: parts merge) over [from, to). */
export async function windowReports(
  rt: Runtime,
  pipeline: string,
  ref: LoadedReference,
  from: number,
  to: number,
  bucketMs: number,
): Promise<{ start: number; report: WindowReport; outputs: OutputCounts; rows: number; bins: Map<string, FieldDrift['bins']> }[]> {
  const cfg = rt.config.pipelines[pipeline].drift;
  const parts = await windowParts(rt.store.db, pipeline, ref.row.version, from, to);
  const out = [];
  for (const [start, ps] of [...groupParts(parts, bucketMs)].sort((a, b) => a[0] - b[0])) {
    const { summary, outputs } = ps.length ? mergeParts(ref, ps) : { summary: new DriftSummary(ref.spec), outputs: emptyOutputs() };
    const report = windowReport(ref.summary, summary, driftOptions(cfg));
    out.push({ start, report, outputs, rows: summary.rows, bins: new Map(report.fields.map((f) => [f.name, f.bins])) });
  }
  return out;
}

const shares = (counts: number[]) => {
  const t = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (t > 0 ? c / t : 0));
};

export async function fieldSeries(rt: Runtime, pipeline: string, field: string, windows: number) {
  const ref = await requireReference(rt, pipeline);
  const cfg = rt.config.pipelines[pipeline].drift;
  const now = rt.clock.now();
  const last = await latestWindow(rt, pipeline, ref, now);
  const from = last - (windows - 1) * cfg.windowMs;
  const reports = await windowReports(rt, pipeline, ref, from, last + cfg.windowMs, cfg.windowMs);
  const known = ref.summary.fields.has(field) || reports.some((r) => r.report.fields.some((f) => f.name === field));
  if (!known) {
    throw new AirlockError('NOT_FOUND', `pipeline "${pipeline}" has no field "${field}" in its reference or its windows`);
  }
  const series = reports.map((r) => {
    const f = r.report.fields.find((x) => x.name === field);
    return {
      start: iso(r.start),
      end: iso(r.start + cfg.windowMs),
      rows: r.rows,
      test: f?.test ?? 'none',
      statistic: f?.statistic ?? null,
      p_value: f?.p_value ?? null,
      p_value_adjusted: f?.p_value_adjusted ?? null,
      threshold: f?.threshold ?? null,
      drift: f?.drift ?? false,
      psi: f?.psi ?? null,
      jensen_shannon: f?.jensen_shannon ?? null,
      wasserstein_norm: f?.wasserstein_norm ?? null,
      present: f?.current.present ?? 0,
      missing_share: f?.current.missing_share ?? null,
      mean: f?.current.mean ?? null,
      note: f?.note ?? null,
    };
  });
  const latest = reports.length ? reports[reports.length - 1] : undefined;
  const lf = latest?.report.fields.find((x) => x.name === field);
  const bins = lf?.bins;
  const episode = (await episodeRows(rt.store.db, pipeline)).find((e) => e.field === field);
  return {
    pipeline,
    field,
    type: lf?.type ?? null,
    window_size: cfg.window,
    reference: referenceView(ref),
    series,
    distribution: bins
      ? {
          window_start: iso(latest?.start ?? last),
          labels: bins.labels,
          reference: shares(bins.reference),
          current: shares(bins.current),
          reference_counts: bins.reference,
          current_counts: bins.current,
        }
      : null,
    reference_stats: lf?.reference ?? null,
    current_stats: lf?.current ?? null,
    episode: episode
      ? {
          state: episode.state,
          episodes: episode.episodes,
          opened_at: episode.opened_at === null ? null : iso(episode.opened_at),
          resolved_at: episode.resolved_at === null ? null : iso(episode.resolved_at),
        }
      : null,
    link: driftFieldLink(rt, pipeline, field),
  };
}
