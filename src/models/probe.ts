/**
 * The probe engine behind `airlock probe`: it sends a pipeline's model the edge cases and garbage made from a
 * sample (src/audit/edge-cases.ts) and the sample's records farthest from the pilot (src/audit/novelty.ts), each
 * call with the probe's timeout and no retry, and counts what went wrong — crashes, error answers, timeouts,
 * latency outliers, confident answers on garbage and confident errors on the hard cases — against the pipeline's
 * probe limits. Reading the sample, the routing policy in force and storing the report are the caller's business.
 */
import {
  type EdgeCase,
  generateEdgeCases,
  type ProbeCase,
  type ProbeOutcome,
  type ProbeSummary,
  summarizeProbe,
} from '../audit/edge-cases.js';
import { describeReason, rankByNovelty } from '../audit/novelty.js';
import type { ModelConfig } from '../config/sections/model.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import { AirlockError } from '../errors.js';
import { type ModelAdapter, ModelCallError, type Prediction } from './adapter.js';
import { createModelAdapter, modelFingerprint } from './index.js';

/**
 * What `airlock probe --json` prints (stable field names):
 * - `pipeline`, `seed`, `model` ({ type, fingerprint }), `threshold` (the effective auto-accept threshold) and
 *   `threshold_source` (`routing version N` or `routing.auto_accept_at`), `calibrated` (whether confidence was passed
 *   through the active version's calibrator before the comparison), `timeout_ms`, `concurrency`;
 * - `sample`, `pilot`: records read and lines that could not be read; `cases`: how many of each kind were sent,
 *   and the families that could not be made from this sample;
 * - `findings`: counts of `crashes`, `errors`, `timeouts`, `latency_outliers`, `confident_garbage`, `confident_errors`;
 *   `examples`: up to 5 per finding ({ case, family, description, detail }, never a record's values);
 * - `families`, `latency`, `garbage`, `hard_cases` (with `ranked`: each hard case's sample line, score and reasons),
 *   `duplicates`: the detail behind the counts;
 * - `limits` (null: no limit), `over_limits`, `passed`; `stored` ({ evidence_id } or null), `warnings`.
 */
export interface ProbeReport extends Omit<ProbeSummary, 'hard_cases'> {
  /** The summary's counts, what the records were compared with, and each hard case: its line, score and reasons. */
  hard_cases: ProbeSummary['hard_cases'] & {
    reference: 'pilot' | 'sample';
    ranked: { case: string; line: number; score: number; reasons: string[] }[];
  };
  pipeline: string;
  seed: number;
  model: { type: string; fingerprint: string };
  threshold: number;
  threshold_source: string;
  calibrated: boolean;
  timeout_ms: number;
  concurrency: number;
  sample: { file: string; records: number; unreadable: number; labelled: number };
  pilot: { file: string; records: number; unreadable: number } | null;
  cases: {
    total: number;
    perturbations: number;
    garbage: number;
    hard_cases: number;
    skipped_families: { family: string; reason: string }[];
  };
  stored: { evidence_id: number } | null;
  warnings: string[];
}

/** A sample as the probe reads it: its records, the file line of each, and how many lines were not records. */
export interface ProbeSample {
  file: string;
  records: Record<string, unknown>[];
  lines: number[];
  unreadable: number;
}

/** How an answer is judged: its (calibrated) confidence, and the auto-accept threshold for this record. */
export type ProbeJudge = (record: unknown, caseId: string, prediction: Prediction) => { calibratedConfidence: number; threshold: number };

/** What to probe, with what, and how hard. */
export interface ProbeRequest {
  pipeline: PipelineConfig;
  sample: ProbeSample;
  /** The hard cases are the sample's records farthest from the pilot; without one, from the rest of the sample. */
  pilot?: ProbeSample;
  seed: number;
  /** Edge cases to generate (a duplicate pair counts once). */
  cases: number;
  /** Sample records farthest from the pilot to send (0: none). */
  hardCases: number;
  /** The sample's label field: removed before a record goes to the model, compared with its answer. */
  labelField: string;
  /** Model calls in flight; default the model config's concurrency. */
  concurrency?: number;
  /** The threshold in force, as the report names it. */
  threshold: { value: number; source: string; calibrated: boolean };
  /** Judges each answer as the pipeline's router would (calibrator, threshold, segments). */
  judge: ProbeJudge;
  /** Told 0 when the first case is sent, then the cases answered so far after each. */
  onProgress?: (done: number, total: number) => void;
}

/** Probes the pipeline's model: the report but where it was stored and the warnings (the caller's). */
export async function probeModel(request: ProbeRequest): Promise<Omit<ProbeReport, 'stored' | 'warnings'>> {
  const { pipeline, sample, pilot } = request;
  // The label never reaches the model.
  const labelField = request.labelField;
  const labels = sample.records.map((r) => (r[labelField] === undefined || r[labelField] === null ? undefined : String(r[labelField])));
  const strip = (r: Record<string, unknown>) => {
    const { [labelField]: _label, ...rest } = r;
    return rest;
  };
  const records = sample.records.map(strip);
  const pilotRecords = pilot?.records.map(strip);

  const generated = generateEdgeCases(records, { seed: request.seed, count: request.cases, keep: ['id'] });
  const ranked = request.hardCases > 0 ? rankByNovelty(records, pilotRecords, { exclude: ['id'] }).slice(0, request.hardCases) : [];
  const reference = pilotRecords ? 'the pilot' : 'the rest of the sample';
  const hardCases = ranked.map((n, k) => ({
    case: `hard-${k + 1}`,
    line: sample.lines[n.index],
    score: Math.round(n.score * 1e6) / 1e6,
    reasons: n.reasons.map(describeReason),
  }));
  const hard = ranked.map((n, k) => ({
    id: `hard-${k + 1}`,
    family: 'hard_case' as const,
    kind: 'hard_case' as const,
    description: `sample line ${sample.lines[n.index]}, far from ${reference} (score ${n.score.toFixed(3)}${
      n.reasons.length ? `: ${n.reasons.map(describeReason).join('; ')}` : ''
    })`,
    expected: labels[n.index],
    record: records[n.index],
  }));
  const all: (ProbeCase & { record: unknown })[] = [
    ...generated.cases.map((c: EdgeCase) => ({
      id: c.id,
      family: c.family,
      kind: c.kind,
      variant: c.variant,
      description: c.description,
      record: c.record,
    })),
    ...hard,
  ];

  const timeoutMs = pipeline.probe.timeoutMs;
  const concurrency = request.concurrency ?? pipeline.model.concurrency;
  let adapter: ModelAdapter;
  try {
    adapter = createModelAdapter(probeModelConfig(pipeline.model, timeoutMs));
  } catch (err) {
    throw new AirlockError('CONFIG_INVALID', `cannot build the model of ${pipeline.name}: ${(err as Error).message}`);
  }
  request.onProgress?.(0, all.length);
  let done = 0;
  const outcomes = await mapLimited(
    all,
    concurrency,
    (c) => probeOne(adapter, c, timeoutMs, request.judge),
    () => request.onProgress?.(++done, all.length),
  );
  await adapter.close?.().catch(() => {});

  const duplicateOf = new Map(generated.cases.filter((c) => c.duplicateOf).map((c) => [c.id, c.duplicateOf as string]));
  const summary = summarizeProbe(all, outcomes, pipeline.probe.limits, { duplicateOf });
  return {
    pipeline: pipeline.name,
    seed: request.seed,
    model: { type: pipeline.model.type, fingerprint: modelFingerprint(pipeline.model) },
    threshold: request.threshold.value,
    threshold_source: request.threshold.source,
    calibrated: request.threshold.calibrated,
    timeout_ms: timeoutMs,
    concurrency,
    sample: {
      file: sample.file,
      records: records.length,
      unreadable: sample.unreadable,
      labelled: labels.filter((l) => l !== undefined).length,
    },
    pilot: pilot ? { file: pilot.file, records: pilot.records.length, unreadable: pilot.unreadable } : null,
    cases: {
      total: all.length,
      perturbations: generated.cases.filter((c) => c.kind === 'perturbation').length,
      garbage: generated.cases.filter((c) => c.kind === 'garbage').length,
      hard_cases: hard.length,
      skipped_families: generated.skipped,
    },
    ...summary,
    hard_cases: { ...summary.hard_cases, reference: pilotRecords ? 'pilot' : 'sample', ranked: hardCases },
  };
}

/** Sends one case within the probe's timeout and says what happened. */
async function probeOne(
  adapter: ModelAdapter,
  c: ProbeCase & { record: unknown },
  timeoutMs: number,
  judge: ProbeJudge,
): Promise<ProbeOutcome> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const prediction = await Promise.race([
      adapter.predict(c.record),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ProbeTimeout()), timeoutMs);
      }),
    ]);
    // The adapter's own measure: in-process models are timed without the queueing of concurrent calls.
    const latencyMs = Number.isFinite(prediction.latencyMs) ? prediction.latencyMs : performance.now() - started;
    const d = judge(c.record, c.id, prediction);
    return {
      status: 'answered',
      label: prediction.label,
      confidence: d.calibratedConfidence,
      rawConfidence: prediction.confidence,
      confident: d.calibratedConfidence >= d.threshold,
      latencyMs,
    };
  } catch (err) {
    return { ...classifyFailure(err, timeoutMs), latencyMs: performance.now() - started };
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** No answer within the probe's timeout. */
class ProbeTimeout extends Error {}

/** A failure in words — the status, the connection error or the model's message, cut short; never the record. */
function classifyFailure(err: unknown, timeoutMs: number): { status: 'crash' | 'error' | 'timeout'; reason: string } {
  const short = (s: string) => (s.length > 120 ? `${s.slice(0, 117)}…` : s);
  if (err instanceof ProbeTimeout) return { status: 'timeout', reason: `no answer within ${timeoutMs} ms` };
  if (err instanceof ModelCallError) {
    if (/timed out/.test(err.message) || err.status === 408) return { status: 'timeout', reason: `no answer within ${timeoutMs} ms` };
    if (err.status !== undefined) {
      return err.status >= 500
        ? { status: 'crash', reason: `answered ${err.status}` }
        : { status: 'error', reason: `answered ${err.status}` };
    }
    if (err.message.startsWith('model threw')) return { status: 'crash', reason: short(err.message) };
    if (err.kind === 'unavailable')
      return { status: 'crash', reason: short(err.message.replace(/^model unreachable/, 'connection failed')) };
    return { status: 'error', reason: short(err.message) };
  }
  return { status: 'crash', reason: short(`adapter failed: ${(err as Error)?.message ?? String(err)}`) };
}

/** The model config the probe calls: the probe's timeout per call, and no retries (every failure counts). */
function probeModelConfig(model: ModelConfig, timeoutMs: number): ModelConfig {
  return { ...model, timeoutMs, retries: 0 } as ModelConfig;
}

/** Runs `fn` over the items with at most `limit` in flight; results in the items' order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
  onDone: () => void,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
      onDone();
    }
  });
  await Promise.all(workers);
  return out;
}
