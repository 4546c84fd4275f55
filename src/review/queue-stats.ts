import { type Annotation, krippendorffAlphaOf, pairwiseKappa } from './agreement.js';

/** The figures of a review queue over a window, computed from its cases and actions (pure). */
export interface QueueCase {
  id: number;
  type: string;
  status: 'open' | 'resolved';
  created_at: number;
  first_action_at: number | null;
  resolved_at: number | null;
  sla_due_at: number | null;
  first_action_due_at: number | null;
  paused_ms: number;
  waiting_since: number | null;
  /** The model's label, when the case is about a prediction. */
  model_label: string | null;
  /** The label the case was resolved with (`rejected` for a rejected record). */
  final_label: string | null;
}

/** The review_cases columns a QueueCase is read from (PostgreSQL returns bigints as strings: they are converted). */
export const QUEUE_CASE_COLUMNS = [
  'id',
  'type',
  'status',
  'created_at',
  'first_action_at',
  'resolved_at',
  'sla_due_at',
  'first_action_due_at',
  'paused_ms',
  'waiting_since',
] as const;

type Num = number | string | bigint;
const numOrNull = (v: Num | null) => (v === null ? null : Number(v));

/** A review_cases row (QUEUE_CASE_COLUMNS) as a QueueCase, with its labels when the caller knows them. */
export function queueCaseOf(
  r: {
    id: Num;
    type: string;
    status: QueueCase['status'];
    created_at: Num;
    first_action_at: Num | null;
    resolved_at: Num | null;
    sla_due_at: Num | null;
    first_action_due_at: Num | null;
    paused_ms: Num;
    waiting_since: Num | null;
  },
  labels: { model_label: string | null; final_label: string | null } = { model_label: null, final_label: null },
): QueueCase {
  return {
    id: Number(r.id),
    type: r.type,
    status: r.status,
    created_at: Number(r.created_at),
    first_action_at: numOrNull(r.first_action_at),
    resolved_at: numOrNull(r.resolved_at),
    sla_due_at: numOrNull(r.sla_due_at),
    first_action_due_at: numOrNull(r.first_action_due_at),
    paused_ms: Number(r.paused_ms),
    waiting_since: numOrNull(r.waiting_since),
    ...labels,
  };
}

export interface QueueAction {
  case_id: number;
  actor: string;
  action: string;
  label: string | null;
  at: number;
  model_label: string | null;
}

/** Linear-interpolation quantile of sorted values (numpy's default, method 'linear'). */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** The SLA deadline moved by the time the case waited for information (the clock pauses then). */
function effectiveDue(due: number, c: QueueCase, now: number): number {
  return due + c.paused_ms + (c.waiting_since !== null ? now - c.waiting_since : 0);
}

export interface QueueMetrics {
  by_type: {
    type: string;
    open: number;
    /** Age of the oldest open case, ms. */
    oldest_open_ms: number | null;
    /** Time to first action over cases that had one in the window: p50 and p95, ms (numpy linear quantiles). */
    time_to_first_action_ms: { p50: number | null; p95: number | null; n: number };
    /** Share of cases resolved in the window by their (pause-adjusted) resolution deadline; null without an SLA. */
    sla_attainment: { share: number | null; met: number; n: number };
    /** Open cases past their deadline now. */
    breached_open: number;
  }[];
  /** Share of decided cases where the reviewers' final label differs from the model's, per model label. */
  overturn_rate: { label: string; overturned: number; n: number; rate: number }[];
  /** Deciding actions (approve, relabel, reject) per reviewer in the window. */
  throughput: { reviewer: string; decisions: number; per_hour: number }[];
  agreement: {
    /** Cases with at least two verdicts. */
    items: number;
    /** Krippendorff's alpha (nominal) over all reviewers' verdicts; null when no case had two. */
    krippendorff_alpha: number | null;
    /** Cohen's kappa for each pair of reviewers with at least 10 cases in common. */
    pairs: { a: string; b: string; items: number; cohen_kappa: number }[];
  };
}

/** Verdict key for agreement: the label a decision leaves, or `reject`. */
function verdictOf(a: QueueAction): string | null {
  if (a.action === 'approve') return `label:${a.label ?? a.model_label ?? ''}`;
  if (a.action === 'relabel') return a.label ? `label:${a.label}` : null;
  if (a.action === 'reject') return 'reject';
  return null;
}

export function queueMetrics(
  cases: readonly QueueCase[],
  actions: readonly QueueAction[],
  window: { from: number; now: number },
): QueueMetrics {
  const { from, now } = window;
  const types = [...new Set(cases.map((c) => c.type))].sort();
  const by_type = types.map((type) => {
    const of = cases.filter((c) => c.type === type);
    const open = of.filter((c) => c.status === 'open');
    const firstActions = of
      .filter((c) => c.first_action_at !== null && c.first_action_at >= from)
      .map((c) => (c.first_action_at as number) - c.created_at)
      .sort((a, b) => a - b);
    const resolvedWithSla = of.filter(
      (c) => c.status === 'resolved' && c.resolved_at !== null && c.resolved_at >= from && c.sla_due_at !== null,
    );
    const met = resolvedWithSla.filter((c) => (c.resolved_at as number) <= effectiveDue(c.sla_due_at as number, c, now)).length;
    return {
      type,
      open: open.length,
      oldest_open_ms: open.length > 0 ? now - Math.min(...open.map((c) => c.created_at)) : null,
      time_to_first_action_ms: { p50: quantile(firstActions, 0.5), p95: quantile(firstActions, 0.95), n: firstActions.length },
      sla_attainment: { share: resolvedWithSla.length > 0 ? met / resolvedWithSla.length : null, met, n: resolvedWithSla.length },
      breached_open: open.filter((c) => c.sla_due_at !== null && now > effectiveDue(c.sla_due_at, c, now)).length,
    };
  });

  const overturn = new Map<string, { overturned: number; n: number }>();
  for (const c of cases) {
    if (c.status !== 'resolved' || c.resolved_at === null || c.resolved_at < from || c.model_label === null || c.final_label === null)
      continue;
    const o = overturn.get(c.model_label) ?? { overturned: 0, n: 0 };
    o.n++;
    if (c.final_label !== c.model_label) o.overturned++;
    overturn.set(c.model_label, o);
  }

  const inWindow = actions.filter((a) => a.at >= from && a.at <= now);
  const hours = Math.max((now - from) / 3_600_000, 1e-9);
  const perReviewer = new Map<string, number>();
  for (const a of inWindow) if (verdictOf(a) !== null) perReviewer.set(a.actor, (perReviewer.get(a.actor) ?? 0) + 1);

  const annotations: Annotation[] = [];
  for (const a of inWindow) {
    const v = verdictOf(a);
    if (v !== null) annotations.push({ coder: a.actor, item: a.case_id, label: v });
  }
  const perItem = new Map<number, number>();
  for (const a of annotations) perItem.set(a.item as number, (perItem.get(a.item as number) ?? 0) + 1);
  const items = [...perItem.values()].filter((n) => n >= 2).length;
  const coders = [...new Set(annotations.map((a) => a.coder))].sort();
  const pairs: QueueMetrics['agreement']['pairs'] = [];
  for (let i = 0; i < coders.length; i++) {
    for (let j = i + 1; j < coders.length; j++) {
      const a = new Set(annotations.filter((x) => x.coder === coders[i]).map((x) => x.item));
      const common = annotations.filter((x) => x.coder === coders[j] && a.has(x.item)).length;
      if (common >= 10)
        pairs.push({ a: coders[i], b: coders[j], items: common, cohen_kappa: pairwiseKappa(annotations, coders[i], coders[j]) });
    }
  }
  const alpha = items > 0 ? krippendorffAlphaOf(annotations.filter((a) => (perItem.get(a.item as number) ?? 0) >= 2)) : null;

  return {
    by_type,
    overturn_rate: [...overturn.entries()].sort().map(([label, o]) => ({ label, ...o, rate: o.overturned / o.n })),
    throughput: [...perReviewer.entries()].sort().map(([reviewer, decisions]) => ({ reviewer, decisions, per_hour: decisions / hours })),
    agreement: { items, krippendorff_alpha: alpha === null || Number.isNaN(alpha) ? null : alpha, pairs },
  };
}
