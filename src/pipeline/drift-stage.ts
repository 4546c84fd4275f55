/**
 * Drift monitoring in the server: the reference profile of a pipeline, window summaries kept as records flow, the
 * evaluation of each completed window with alert episodes, and the figures the API and the review report read.
 *
 * Counting is exactly-once: the stage marks records as counted (`records.drift_at`) in the transaction that merges
 * them into this process's part of their window (`drift_windows`, one row per pipeline, reference version, window
 * and process). A crash before the commit leaves both untouched; two processes never take the same record (FOR
 * UPDATE SKIP LOCKED on PostgreSQL, the write lock on SQLite); readers merge the parts of a window, which summaries
 * allow (src/drift/summary.ts states what merging preserves).
 */
import { alertOf } from '../alerts/catalog.js';
import type { DriftConfig } from '../config/sections/drift.js';
import type { PipelineConfig } from '../config/sections/pipeline.js';
import type { DriftOptions } from '../drift/compare.js';
import {
  addOutput,
  type EpisodeState,
  emptyOutputs,
  mergeOutputs,
  monitoredRow,
  type OutputCounts,
  type ScoredRecord,
  stepEpisode,
  type WindowReport,
  windowReport,
  windowStartOf,
} from '../drift/monitor.js';
import { buildSpec, type DriftSpec, DriftSummary } from '../drift/summary.js';
import type { Runtime } from '../runtime/context.js';
import {
  decision as decisionColumn,
  driftEvaluation,
  driftOutputs,
  driftSpec,
  driftSummary,
  prediction as predictionColumn,
  recordBody,
} from '../store/codecs.js';
import {
  activeReference,
  claimEvaluation,
  claimUnsummarised,
  episodeRows,
  insertReference,
  ownWindowPart,
  type ReferenceRow,
  SUMMARISED_STATES,
  saveEpisode,
  type WindowPart,
  windowParts,
  windowsToEvaluate,
  writeWindowPart,
} from '../store/drift.js';

/** Records counted per transaction. */
const BATCH = 500;
/** At most this many records of the first days after go-live make the go-live reference (the first ones). */
const GO_LIVE_MAX_ROWS = 100_000;

/** A reference ready to compare with: its spec and summary parsed. */
export interface LoadedReference {
  row: ReferenceRow;
  spec: DriftSpec;
  summary: DriftSummary;
  outputs: OutputCounts;
}

const loadedCache = new WeakMap<object, Map<string, LoadedReference>>();

/** Parses a reference row (cached per database and version: references never change once stored). */
export function loadReference(rt: Runtime, row: ReferenceRow): LoadedReference {
  let byKey = loadedCache.get(rt.store);
  if (!byKey) loadedCache.set(rt.store, (byKey = new Map()));
  const key = `${row.pipeline}\u0000${row.version}\u0000${row.created_at}`;
  let l = byKey.get(key);
  if (!l) {
    const spec = driftSpec.decode(row.spec);
    l = {
      row,
      spec,
      summary: DriftSummary.fromJSON(spec, driftSummary.decode(row.summary)),
      outputs: mergeOutputs(emptyOutputs(), driftOutputs.decode(row.outputs)),
    };
    byKey.set(key, l);
  }
  return l;
}

/** The options of the comparison from the pipeline's `drift:` block. */
export function driftOptions(cfg: DriftConfig): DriftOptions {
  return { shareThreshold: cfg.share, fields: cfg.fields };
}

/** Fields never summarised: the record id (unique by construction) and the config's exclusions. */
export const excludedFields = (cfg: DriftConfig): string[] => [...new Set(['id', ...cfg.exclude])];

/** Builds a reference from rows (each a record's fields, with `@model` outputs when known). */
export function buildReference(
  cfg: DriftConfig,
  rows: unknown[],
  outputs: OutputCounts,
): { spec: DriftSpec; summary: DriftSummary; outputs: OutputCounts } {
  const spec = buildSpec(rows, { exclude: excludedFields(cfg), text: cfg.text, notText: cfg.notText });
  return { spec, summary: new DriftSummary(spec).addAll(rows), outputs };
}

export function scoredRecordOf(r: { body: string; prediction: string | null; decision: string | null; status: string }): ScoredRecord {
  return {
    body: recordBody.decode(r.body),
    prediction: predictionColumn.decodeOrNull(r.prediction),
    decision: decisionColumn.decodeOrNull(r.decision),
    status: r.status,
  };
}

/** The merged summary and output counts of the given parts of one window. */
export function mergeParts(ref: LoadedReference, parts: WindowPart[]): { summary: DriftSummary; outputs: OutputCounts } {
  const summary = new DriftSummary(ref.spec);
  const outputs = emptyOutputs();
  for (const p of parts) {
    summary.merge(DriftSummary.fromJSON(ref.spec, driftSummary.decode(p.summary)));
    mergeOutputs(outputs, driftOutputs.decode(p.outputs));
  }
  return { summary, outputs };
}

/** The console page of a field's drift. */
export function driftFieldLink(rt: Runtime, pipeline: string, field: string): string {
  const s = rt.config.server;
  const host = s.host.includes(':') ? `[${s.host}]` : s.host;
  const base = s.publicUrl ?? `http://${host}:${s.port}`;
  return `${base}/pipelines/${encodeURIComponent(pipeline)}/drift/${encodeURIComponent(field)}`;
}

const iso = (t: number) => new Date(t).toISOString();

/** The drift stage of one pipeline: keeps window summaries, builds the go-live reference, evaluates windows and alerts. */
export class DriftStage {
  private refCheckedAt = Number.NEGATIVE_INFINITY;
  private ref: ReferenceRow | undefined;

  constructor(
    private readonly rt: Runtime,
    private readonly pipeline: PipelineConfig,
    private readonly owner: string,
    private readonly options: { batch?: number } = {},
  ) {}

  private get cfg(): DriftConfig {
    return this.pipeline.drift;
  }

  /** The active reference, looked up at most every 2 s (a new `airlock reference` is picked up by then). */
  private async reference(): Promise<LoadedReference | undefined> {
    const now = Date.now();
    if (now - this.refCheckedAt > 2000) {
      this.ref = await activeReference(this.rt.store.db, this.pipeline.name);
      if (!this.ref) await this.maybeBuildGoLiveReference();
      this.refCheckedAt = now;
    }
    return this.ref ? loadReference(this.rt, this.ref) : undefined;
  }

  /**
   * With `drift.reference_days` and `launch.go_live`: once those days are over and their records were scored, the
   * reference is made of them.
   */
  private async maybeBuildGoLiveReference(): Promise<void> {
    const days = this.cfg.referenceDays;
    const goLive = this.pipeline.launch.goLive ? Date.parse(`${this.pipeline.launch.goLive}T00:00:00Z`) : Number.NaN;
    if (!(days > 0) || !Number.isFinite(goLive)) return;
    const end = goLive + days * 86_400_000;
    const now = this.rt.clock.now();
    if (now < end) return;
    // Not while records of those days still wait for the model: the reference would be a part of them.
    const waiting = await this.rt.store.db
      .selectFrom('records')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('pipeline', '=', this.pipeline.name)
      .where('created_at', '>=', goLive)
      .where('created_at', '<', end)
      .where('status', 'in', ['received', 'scoring'])
      .executeTakeFirst();
    if (Number(waiting?.n ?? 0) > 0) return;
    const records = await this.rt.store.db
      .selectFrom('records')
      .select(['body', 'prediction', 'decision', 'status'])
      .where('pipeline', '=', this.pipeline.name)
      .where('created_at', '>=', goLive)
      .where('created_at', '<', end)
      .where('status', 'in', [...SUMMARISED_STATES])
      .orderBy('seq')
      .limit(GO_LIVE_MAX_ROWS)
      .execute();
    if (records.length === 0) return;
    const outputs = emptyOutputs();
    const rows = records.map((r) => {
      const s = scoredRecordOf(r);
      addOutput(outputs, s);
      return monitoredRow(s);
    });
    const built = buildReference(this.cfg, rows, outputs);
    const version = await insertReference(
      this.rt.store.db,
      {
        pipeline: this.pipeline.name,
        source: 'go_live',
        spec: driftSpec.encode(built.spec),
        summary: driftSummary.encode(built.summary.toJSON()),
        outputs: driftOutputs.encode(outputs),
        rows: rows.length,
        created_at: now,
        created_by: null,
        note: `records of the first ${days} day(s) after go-live (${this.pipeline.launch.goLive})`,
      },
      { ifNone: true },
    );
    if (version !== null) {
      this.rt.logger.info({ pipeline: this.pipeline.name, version, rows: rows.length }, 'drift reference built from the go-live days');
    }
    this.ref = await activeReference(this.rt.store.db, this.pipeline.name);
  }

  async runOnce(): Promise<number> {
    const ref = await this.reference();
    if (!ref) return 0;
    const counted = await this.summariseBatch(ref);
    const evaluated = await this.evaluateCompletedWindows(ref);
    return counted + evaluated;
  }

  /** Counts a batch of scored records into this process's parts of their windows, in one transaction. */
  async summariseBatch(ref: LoadedReference): Promise<number> {
    const { store, clock } = this.rt;
    const windowMs = this.cfg.windowMs;
    return store.db.transaction().execute(async (trx) => {
      const now = clock.now();
      const records = await claimUnsummarised(trx, store.kind, this.pipeline.name, now, this.options.batch ?? BATCH);
      if (records.length === 0) return 0;
      const byWindow = new Map<number, { summary: DriftSummary; outputs: OutputCounts }>();
      for (const r of records) {
        const w = windowStartOf(r.created_at, windowMs);
        let acc = byWindow.get(w);
        if (!acc) byWindow.set(w, (acc = { summary: new DriftSummary(ref.spec), outputs: emptyOutputs() }));
        const s = scoredRecordOf(r);
        addOutput(acc.outputs, s);
        acc.summary.add(monitoredRow(s));
      }
      for (const [w, acc] of [...byWindow].sort((a, b) => a[0] - b[0])) {
        const key = { pipeline: this.pipeline.name, reference_version: ref.row.version, window_start: w, process: this.owner };
        const own = await ownWindowPart(trx, key);
        if (own) {
          acc.summary.merge(DriftSummary.fromJSON(ref.spec, driftSummary.decode(own.summary)));
          mergeOutputs(acc.outputs, driftOutputs.decode(own.outputs));
        }
        await writeWindowPart(
          trx,
          {
            ...key,
            window_ms: windowMs,
            rows: acc.summary.rows,
            summary: driftSummary.encode(acc.summary.toJSON()),
            outputs: driftOutputs.encode(acc.outputs),
            updated_at: now,
          },
          own !== undefined,
        );
      }
      return records.length;
    });
  }

  /**
   * Evaluates windows that ended (each once, by whichever process inserts its evaluation row), moves each field's
   * episode, and sends the alerts after the commit. Windows that ended more than two windows ago (a backlog counted
   * late, or a new reference) move the episodes but alert nobody; windows older than a week are not evaluated.
   */
  async evaluateCompletedWindows(ref: LoadedReference): Promise<number> {
    const { store, clock } = this.rt;
    const p = this.pipeline.name;
    const now0 = clock.now();
    // Windows of the last week (at least the last three): older ones are history, not news (and the query stays small).
    const since = now0 - Math.max(7 * 86_400_000, 3 * this.cfg.windowMs);
    const pending = await windowsToEvaluate(store.db, p, ref.row.version, since, now0, 10);
    let n = 0;
    for (const w of pending) {
      const parts = await windowParts(store.db, p, ref.row.version, w, w + 1);
      const { summary } = mergeParts(ref, parts);
      const report = windowReport(ref.summary, summary, driftOptions(this.cfg));
      const alertable = report.fields.filter((f) => f.test !== 'none' && !f.derived_from);
      const tooSmall = summary.rows < this.cfg.minRows;
      const now = clock.now();
      const windowEnd = w + this.cfg.windowMs;
      const events: { field: string; event: 'opened' | 'resolved'; state: EpisodeState; f: (typeof alertable)[number] }[] = [];
      const claimed = await store.db.transaction().execute(async (trx) => {
        const ok = await claimEvaluation(trx, {
          pipeline: p,
          window_start: w,
          reference_version: ref.row.version,
          evaluated_at: now,
          rows: summary.rows,
          tested: tooSmall ? 0 : alertable.length,
          result: driftEvaluation.encode({
            dataset_drift: report.dataset_drift,
            drift_share: report.drift_share,
            skipped: tooSmall ? `fewer than ${this.cfg.minRows} records` : undefined,
            drifted: alertable
              .filter((f) => f.drift)
              .map((f) => ({ field: f.name, test: f.test, statistic: f.statistic, threshold: f.threshold })),
          }),
        });
        if (!ok || tooSmall) return ok;
        const existing = new Map((await episodeRows(trx, p)).map((e) => [e.field, e]));
        for (const f of alertable) {
          const e = existing.get(f.name);
          const state: EpisodeState = e
            ? {
                state: e.state,
                drifted_run: e.drifted_run,
                clean_run: e.clean_run,
                opened_at: e.opened_at,
                resolved_at: e.resolved_at,
                alerted: e.alerted === 1,
                episodes: e.episodes,
              }
            : { state: 'clear', drifted_run: 0, clean_run: 0, opened_at: null, resolved_at: null, alerted: false, episodes: 0 };
          if (!e && !f.drift) continue;
          const step = stepEpisode(state, f.drift, windowEnd, this.cfg.alert);
          await saveEpisode(trx, {
            pipeline: p,
            field: f.name,
            state: step.state.state,
            drifted_run: step.state.drifted_run,
            clean_run: step.state.clean_run,
            opened_at: step.state.opened_at,
            opened_window: step.event === 'opened' ? w : (e?.opened_window ?? null),
            resolved_at: step.state.resolved_at,
            alerted: step.state.alerted ? 1 : 0,
            episodes: step.state.episodes,
            statistic: f.statistic,
            updated_at: now,
          });
          if (step.event) events.push({ field: f.name, event: step.event, state: step.state, f });
        }
        return true;
      });
      if (!claimed) continue;
      n++;
      if (windowEnd < now - 2 * this.cfg.windowMs) continue;
      for (const ev of events) await this.alert(ev.field, ev.event, ev.state, ev.f, w, summary.rows);
    }
    return n;
  }

  private async alert(
    field: string,
    event: 'opened' | 'resolved',
    state: EpisodeState,
    f: WindowReport['fields'][number],
    window: number,
    rows: number,
  ): Promise<void> {
    const p = this.pipeline.name;
    const link = driftFieldLink(this.rt, p, field);
    const stat = f.statistic === null ? '-' : Number(f.statistic.toPrecision(4));
    const span = `${iso(window)} – ${iso(window + this.cfg.windowMs)}`;
    const measure =
      f.p_value !== null
        ? `${f.test} statistic ${stat}, adjusted p = ${Number((f.p_value_adjusted ?? f.p_value).toPrecision(3))} (threshold ${f.threshold})`
        : `${f.test} ${stat} (threshold ${f.threshold})`;
    const facts = {
      pipeline: p,
      field,
      episode: state.episodes,
      span,
      measure,
      records: rows,
      link,
      fields: { test: f.test, statistic: stat, threshold: f.threshold ?? '-', window_start: iso(window) },
    };
    await this.rt.alerts.raise(
      event === 'opened' ? alertOf('drift', facts) : alertOf('drift_resolved', { ...facts, resolveAfter: this.cfg.alert.resolveAfter }),
    );
  }
}
