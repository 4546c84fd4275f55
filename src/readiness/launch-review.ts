/** Gathers the post-launch monitoring review of a pipeline from the database (rendering: src/drift/launch-review.ts). */
import { sql } from 'kysely';
import { type DayOutputs, type FieldOverTime, type ReviewReport, recommendActions } from '../drift/launch-review.js';
import { emptyOutputs, mergeOutputs, type OutputCounts } from '../drift/monitor.js';
import { AirlockError } from '../errors.js';
import { loadReference } from '../pipeline/drift-stage.js';
import { outputView, referenceView, type VerdictCounts, verdictsByWindow, windowReports } from '../pipeline/drift-views.js';
import { routingHistory } from '../pipeline/routing-versions.js';
import { QUEUE_CASE_COLUMNS, type QueueCase, queueCaseOf, queueMetrics } from '../review/queue-stats.js';
import type { Runtime } from '../runtime/context.js';
import { eventDetailOf, evidenceSummary } from '../store/codecs.js';
import { activeReference, episodeRows } from '../store/drift.js';

const DAY = 86_400_000;
const iso = (t: number) => new Date(t).toISOString();
const dateOf = (t: number) => iso(t).slice(0, 10);

export async function gatherReviewReport(rt: Runtime, pipeline: string, days: number): Promise<ReviewReport> {
  const pc = rt.config.pipelines[pipeline];
  if (!pc) throw new AirlockError('USAGE', `pipeline "${pipeline}" is not in the config`);
  const { db } = rt.store;
  const now = rt.clock.now();
  // Whole UTC days: the period ends with today and starts `days` days before its end.
  const to = Math.floor(now / DAY) * DAY + DAY;
  const from = to - days * DAY;

  // ------------------------------------------------------------------ drift per field, per day (windows merge into days)
  const refRow = await activeReference(db, pipeline);
  const ref = refRow ? loadReference(rt, refRow) : undefined;
  const dayReports = ref ? await windowReports(rt, pipeline, ref, from, to, DAY) : [];
  const fields = new Map<string, FieldOverTime>();
  for (const d of dayReports) {
    for (const f of d.report.fields) {
      if (f.test === 'none' || f.derived_from) continue;
      let o = fields.get(f.name);
      if (!o) fields.set(f.name, (o = { name: f.name, test: f.test, days_tested: 0, days_drifted: 0, max_severity: 0, series: [] }));
      o.days_tested++;
      if (f.drift) o.days_drifted++;
      o.max_severity = Math.max(o.max_severity, f.severity);
      o.series.push({ date: dateOf(d.start), statistic: f.statistic, drift: f.drift });
    }
  }
  const episodes = await episodeRows(db, pipeline);

  // ------------------------------------------------------------------ model outputs and verdicts per day
  const verdicts = await verdictsByWindow(rt, pipeline, from, to, DAY);
  const modelDays: DayOutputs[] = dayReports.map((d) => ({ date: dateOf(d.start), ...outputView(d.outputs, verdicts.get(d.start)) }));
  const allOutputs: OutputCounts = emptyOutputs();
  for (const d of dayReports) mergeOutputs(allOutputs, d.outputs);
  const allVerdicts: VerdictCounts = { verdicts: 0, agree: 0, confidence_sum: 0, audit_verdicts: 0, audit_agree: 0 };
  for (const v of verdicts.values()) for (const k of Object.keys(allVerdicts) as (keyof VerdictCounts)[]) allVerdicts[k] += v[k];

  const calibrations = (
    await db
      .selectFrom('evidence')
      .select(['created_at', 'summary'])
      .where('kind', '=', 'calibration')
      .where('pipeline', '=', pipeline)
      .where('created_at', '>=', from)
      .orderBy('created_at')
      .execute()
  ).map((e) => {
    const s = evidenceSummary.decode(e.summary);
    const figure = (x: unknown) => (typeof x === 'number' ? x : null);
    return {
      at: iso(Number(e.created_at)),
      rows: figure(s.rows) ?? 0,
      ece: figure(s.ece),
      calibrated_ece: figure(s.calibrated_ece),
      threshold: figure(s.threshold),
    };
  });
  const routing = (await routingHistory(rt.store, pipeline)).map((v) => ({
    version: v.version,
    status: v.status,
    threshold: typeof v.threshold.value === 'number' ? v.threshold.value : null,
    activated_at: v.activated_at,
  }));

  // ------------------------------------------------------------------ schema changes and quarantine
  const received = await db
    .selectFrom('records')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('pipeline', '=', pipeline)
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .executeTakeFirst();
  const quarantinedByDay = await sql<{ day: number; n: number }>`
    select at / ${sql.raw(String(DAY))} as day, count(*) as n from events
    where pipeline = ${pipeline} and kind = 'quarantined' and at >= ${from} and at < ${to}
    group by at / ${sql.raw(String(DAY))} order by 1`.execute(db);
  const halts = await db
    .selectFrom('halts')
    .select(['id', 'kind', 'field', 'status', 'opened_at', 'resolved_at'])
    .where('pipeline', '=', pipeline)
    .where((eb) => eb.or([eb('opened_at', '>=', from), eb('status', '=', 'open')]))
    .orderBy('opened_at')
    .execute();
  const contractVersions = await db
    .selectFrom('contract_versions')
    .select(['version', 'source', 'created_at', 'note'])
    .where('pipeline', '=', pipeline)
    .where('created_at', '>=', from)
    .orderBy('version')
    .execute();

  // ------------------------------------------------------------------ review SLA attainment
  const caseRows = await db
    .selectFrom('review_cases')
    .select(QUEUE_CASE_COLUMNS)
    .where('pipeline', '=', pipeline)
    .where((eb) => eb.or([eb('status', '=', 'open'), eb('resolved_at', '>=', from)]))
    .execute();
  const cases: QueueCase[] = caseRows.map((c) => queueCaseOf(c));
  const queue = queueMetrics(cases, [], { from, now });

  // ------------------------------------------------------------------ delivery health
  const deliveries = await db
    .selectFrom('deliveries')
    .select(['destination', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('pipeline', '=', pipeline)
    .where('created_at', '>=', from)
    .groupBy(['destination', 'status'])
    .execute();
  const retries = await db
    .selectFrom('events')
    .select(['detail'])
    .where('pipeline', '=', pipeline)
    .where('kind', '=', 'delivery_retry_scheduled')
    .where('at', '>=', from)
    .where('at', '<', to)
    .execute();
  const breakers = await db.selectFrom('delivery_breakers').selectAll().where('pipeline', '=', pipeline).execute();
  const destNames = [...new Set([...Object.keys(pc.destinations), ...deliveries.map((d) => d.destination)])].sort();
  const destinations = destNames.map((name) => {
    const count = (s: string) => Number(deliveries.find((d) => d.destination === name && d.status === s)?.n ?? 0);
    let retried = 0;
    let throttled = 0;
    for (const e of retries) {
      const d = eventDetailOf('delivery_retry_scheduled', e.detail);
      if (d.destination !== name) continue;
      retried++;
      if (d.status === 429) throttled++;
    }
    const b = breakers.find((x) => x.destination === name);
    return {
      destination: name,
      delivered: count('delivered'),
      pending: count('pending'),
      dead_lettered: count('dead_lettered'),
      attempts_retried: retried,
      throttled,
      breaker_state: b?.state ?? null,
      breaker_openings: Number(b?.openings ?? 0),
    };
  });

  const base: Omit<ReviewReport, 'recommendations'> = {
    pipeline,
    generated_at: iso(now),
    period: { from: iso(from), to: iso(to), days },
    reference: ref ? (({ version, source, rows, created_at }) => ({ version, source, rows, created_at }))(referenceView(ref)) : null,
    drift: {
      days: dayReports.map((d) => ({
        date: dateOf(d.start),
        rows: d.rows,
        dataset_drift: d.report.dataset_drift,
        drift_share: d.report.drift_share,
        drifted: d.report.fields.filter((f) => f.drift && !f.derived_from).map((f) => f.name),
      })),
      fields: [...fields.values()].sort(
        (a, b) => b.days_drifted - a.days_drifted || b.max_severity - a.max_severity || (a.name < b.name ? -1 : 1),
      ),
      open_episodes: episodes
        .filter((e) => e.state === 'open')
        .map((e) => ({ field: e.field, opened_at: e.opened_at === null ? null : iso(e.opened_at) })),
    },
    schema: {
      records_received: Number(received?.n ?? 0),
      quarantined: quarantinedByDay.rows.reduce((s, r) => s + Number(r.n), 0),
      quarantined_by_day: quarantinedByDay.rows.map((r) => ({ date: dateOf(Number(r.day) * DAY), n: Number(r.n) })),
      halts: halts.map((h) => ({
        id: Number(h.id),
        kind: h.kind,
        field: h.field,
        status: h.status,
        opened_at: iso(Number(h.opened_at)),
        resolved_at: h.resolved_at === null ? null : iso(Number(h.resolved_at)),
      })),
      contract_versions: contractVersions.map((c) => ({
        version: Number(c.version),
        source: c.source,
        created_at: iso(Number(c.created_at)),
        note: c.note,
      })),
    },
    model: {
      days: modelDays,
      totals: outputView(allOutputs, allVerdicts),
      calibrations,
      routing_versions: routing,
    },
    review: {
      by_type: queue.by_type.map((t) => ({ type: t.type, open: t.open, breached_open: t.breached_open, sla_attainment: t.sla_attainment })),
    },
    delivery: { destinations },
  };
  return { ...base, recommendations: recommendActions(base) };
}
