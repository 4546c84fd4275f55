/**
 * Reviewer agreement (pure): Cohen's kappa for two reviewers, Krippendorff's alpha for more (with missing
 * ratings), and the consensus rule that decides a case that needs several reviews. Both metrics are tested
 * against scikit-learn and NLTK (test/reference/agreement_reference.py, test/fixtures/agreement/).
 */

/** A label as reviewers give it. Labels are equal when they are the same value (1 and "1" differ). */
export type Label = string | number | boolean;

/** How far apart two labels are for weighted kappa: nominal (none), linear or quadratic in their sorted order. */
export type KappaWeights = 'linear' | 'quadratic';

/** Labels in sklearn's order (np.unique): numbers numerically, strings by code point, false before true. */
function sortedLabels(values: Iterable<Label>): Label[] {
  const unique = [...new Set(values)];
  const kinds = new Set(unique.map((v) => typeof v));
  if (kinds.size > 1) throw new TypeError(`labels mix ${[...kinds].join(' and ')}; give them one type`);
  return unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Cohen's kappa: κ = 1 − Σ w·O / Σ w·E over the confusion matrix O and its chance expectation E (outer product of
 * the marginals / n), w the disagreement weights — Cohen (1960); equal to sklearn.metrics.cohen_kappa_score,
 * weighted as sklearn weights (|i − j| or (i − j)² over the labels' sorted order). NaN when both reviewers always
 * give the same one label (0/0, as sklearn). `a[i]` and `b[i]` are the two reviewers' labels of item i.
 */
export function cohensKappa(a: readonly Label[], b: readonly Label[], weights?: KappaWeights): number {
  if (a.length !== b.length) throw new RangeError(`the two reviewers rated ${a.length} and ${b.length} items; kappa needs the same items`);
  if (a.length === 0) throw new RangeError('kappa needs at least one item rated by both reviewers');
  const labels = sortedLabels([...a, ...b]);
  const index = new Map(labels.map((l, i) => [l, i]));
  const k = labels.length;
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < a.length; i++) confusion[index.get(a[i]) as number][index.get(b[i]) as number]++;
  const rows = confusion.map((r) => r.reduce((s, x) => s + x, 0));
  const cols = labels.map((_, j) => confusion.reduce((s, r) => s + r[j], 0));
  const n = a.length;
  const w = (i: number, j: number) => (weights === 'linear' ? Math.abs(i - j) : weights === 'quadratic' ? (i - j) ** 2 : i === j ? 0 : 1);
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      observed += w(i, j) * confusion[i][j];
      // sklearn's expected matrix is outer(sum0, sum1) / n, i.e. E[i][j] = cols[i] · rows[j] / n.
      expected += (w(i, j) * cols[i] * rows[j]) / n;
    }
  }
  return 1 - observed / expected;
}

/** One rating: reviewer `coder` gave `label` to item `item` (e.g. a verdict on a case). */
export interface Annotation {
  coder: string;
  item: string | number;
  label: Label;
}

/**
 * Krippendorff's alpha, nominal: α = 1 − D_o / D_e, with D_o the disagreement among the pairable values within items
 * and D_e the disagreement expected from all pairable values (Krippendorff 2011, "Computing Krippendorff's
 * Alpha-Reliability"); items with fewer than two ratings are left out (missing values allowed); equal to NLTK's
 * AnnotationTask(...).alpha(). As NLTK: 1 when one label is all there is; NaN when no item has two ratings.
 * `ratings[coder][item]`, null or undefined where that reviewer did not rate that item.
 */
export function krippendorffAlpha(ratings: readonly (readonly (Label | null | undefined)[])[]): number {
  const annotations: Annotation[] = [];
  ratings.forEach((row, coder) => {
    row.forEach((label, item) => {
      if (label !== null && label !== undefined) annotations.push({ coder: String(coder), item, label });
    });
  });
  return krippendorffAlphaOf(annotations);
}

/** Krippendorff's alpha (nominal) from annotations, one per (coder, item); see krippendorffAlpha. */
export function krippendorffAlphaOf(annotations: readonly Annotation[]): number {
  const all = new Set(annotations.map((a) => a.label));
  if (all.size === 1) return 1;
  const byItem = new Map<string | number, Map<Label, number>>();
  for (const a of annotations) {
    let counts = byItem.get(a.item);
    if (!counts) byItem.set(a.item, (counts = new Map()));
    counts.set(a.label, (counts.get(a.label) ?? 0) + 1);
  }
  // Coincidences: within an item of m values, each ordered pair of different values adds 1 / (m − 1).
  let observed = 0;
  let pairable = 0;
  const totals = new Map<Label, number>();
  for (const counts of byItem.values()) {
    let m = 0;
    for (const c of counts.values()) m += c;
    if (m < 2) continue;
    pairable += m;
    let sumSquares = 0;
    for (const [label, c] of counts) {
      sumSquares += c * c;
      totals.set(label, (totals.get(label) ?? 0) + c);
    }
    observed += (m * m - sumSquares) / (m - 1);
  }
  if (pairable === 0) return Number.NaN;
  let totalSquares = 0;
  for (const c of totals.values()) totalSquares += c * c;
  const expected = (pairable * pairable - totalSquares) / (pairable - 1);
  return 1 - observed / expected;
}

/** Cohen's kappa of two named reviewers over the items both rated (annotations as for alpha). */
export function pairwiseKappa(annotations: readonly Annotation[], coderA: string, coderB: string, weights?: KappaWeights): number {
  const of = (coder: string) => new Map(annotations.filter((a) => a.coder === coder).map((a) => [a.item, a.label]));
  const ra = of(coderA);
  const rb = of(coderB);
  const a: Label[] = [];
  const b: Label[] = [];
  for (const [item, label] of ra) {
    if (rb.has(item)) {
      a.push(label);
      b.push(rb.get(item) as Label);
    }
  }
  return cohensKappa(a, b, weights);
}

export interface ReviewRequirement {
  required: number;
  agreement: 'unanimous' | 'majority';
}

export type Consensus =
  | { status: 'pending'; have: number; need: number }
  | { status: 'decided'; outcome: string; votes: number }
  | { status: 'needs_adjudication'; votes: Record<string, number> };

/**
 * The consensus rule for a case that needs `required` reviews. Each verdict is an outcome key (see verdictOutcome);
 * verdicts beyond the first `required` are ignored (a lead adjudicates instead).
 * - unanimous: decided when `required` verdicts all agree; needs adjudication as soon as two differ.
 * - majority: decided as soon as one outcome has more than half of `required` (it can no longer be outvoted);
 *   needs adjudication as soon as no outcome can reach that any more (a tie, e.g. 1–1 of 2); else pending.
 */
export function consensus(verdicts: readonly string[], rule: ReviewRequirement): Consensus {
  const need = Math.max(1, rule.required);
  const counted = verdicts.slice(0, need);
  const votes: Record<string, number> = {};
  for (const v of counted) votes[v] = (votes[v] ?? 0) + 1;
  const ranked = Object.entries(votes).sort((x, y) => y[1] - x[1]);
  if (rule.agreement === 'unanimous') {
    if (ranked.length > 1) return { status: 'needs_adjudication', votes };
    if (counted.length < need) return { status: 'pending', have: counted.length, need };
    return { status: 'decided', outcome: ranked[0][0], votes: counted.length };
  }
  const majority = Math.floor(need / 2) + 1;
  const remaining = need - counted.length;
  if (ranked.length > 0 && ranked[0][1] >= majority) return { status: 'decided', outcome: ranked[0][0], votes: ranked[0][1] };
  // The leader, or a newcomer, with every remaining vote still short of a majority: nobody can win.
  const best = ranked.length > 0 ? ranked[0][1] : 0;
  if (best + remaining < majority) return { status: 'needs_adjudication', votes };
  return { status: 'pending', have: counted.length, need };
}

/**
 * The outcome a decision stands for, for consensus and agreement: approve (the model's label) and relabel both
 * come down to the label they leave (`label:billing`), reject is `reject`; request_info and escalate are not
 * verdicts (null).
 */
export function verdictOutcome(decision: { action: string; label?: string | null }, modelLabel?: string | null): string | null {
  if (decision.action === 'approve') {
    const label = decision.label ?? modelLabel;
    return label === undefined || label === null ? 'approve' : `label:${label}`;
  }
  if (decision.action === 'relabel') return decision.label ? `label:${decision.label}` : null;
  if (decision.action === 'reject') return 'reject';
  return null;
}
