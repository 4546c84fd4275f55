/**
 * Drift between a reference summary and a current one, field by field, and for the dataset.
 *
 * Default test per field, in the manner of Evidently (its data-drift preset), by the number of values the reference
 * has for the field:
 * - ≤ 1,000 (`smallReference`): a test with a p-value at p < 0.05, Benjamini–Hochberg-adjusted across the fields
 *   that use one — Kolmogorov–Smirnov for numbers with more than 5 distinct values, the two-proportion z-test for two
 *   values, chi-square (contingency, reference vs current) otherwise;
 * - larger: an effect size — Wasserstein distance / reference std ≥ 0.1 for numbers, Jensen–Shannon distance (base 2)
 *   ≥ 0.1 for the rest.
 * At scale every p-value is tiny for a shift nobody cares about (a KS test on 10^6 rows rejects a 0.5 % shift), so a
 * p-value would alarm on every window; an effect size measures how far the distribution moved, whatever the size.
 * Small samples cannot estimate an effect size well, so there the test asks whether the difference is noise, and the
 * correction keeps the chance of any false alarm across many fields near 5 % instead of growing with their number.
 *
 * Where the statistics come from: when both reservoirs hold every value of the field (windows of ≤ `reservoir` values),
 * KS and Wasserstein are computed exactly on the raw values (= scipy). Otherwise from the value sketches: both sketches
 * share the reference's bucket layout, so the KS distance is read at bucket edges (it is too small by at most the mass
 * of one bucket) and the Wasserstein distance from bucket representatives (each value moved by ≤ α·|x − median|, so
 * the normalised distance is off by ≤ α·E|x − median|/std + the same for the current ≈ 0.016 for α = 1 % on normal
 * data; measured error is far smaller, see summary.test.ts). PSI and Jensen–Shannon use the reference-decile histogram
 * (numbers) or category counts, which merge exactly. KS p-values always come from the reservoirs: a uniform sample of
 * the window, exact when the window fits.
 */

import type { ValueSketch } from './sketch.js';
import {
  benjaminiHochberg,
  chiSquareContingency,
  jensenShannonDistance,
  ks2Samp,
  ksStatisticSorted,
  populationStabilityIndex,
  twoProportionZTest,
  wassersteinDistance,
} from './statistics.js';
import type { FieldSummary } from './summary.js';
import { type DriftSummary, TEXT_FEATURES } from './summary.js';
import { outOfVocabularyRate } from './text.js';

export type DriftTestName = 'ks' | 'chi_square' | 'z' | 'wasserstein' | 'jensen_shannon' | 'psi';
export type FieldKind = 'numeric' | 'categorical' | 'binary' | 'text' | 'empty';

export interface FieldTestOverride {
  test?: DriftTestName;
  threshold?: number;
  /** Leave the field out of the drift decision (still described). */
  skip?: boolean;
}

export interface DriftOptions {
  /** Share of tested fields that must drift for dataset drift. Default 0.5. */
  shareThreshold?: number;
  /** Reference values per field at or below which p-value tests decide. Default 1000. */
  smallReference?: number;
  /** Significance level of p-value tests (after correction). Default 0.05. */
  pValue?: number;
  /** Default 'benjamini-hochberg'. */
  correction?: 'benjamini-hochberg' | 'none';
  wassersteinThreshold?: number;
  jensenShannonThreshold?: number;
  psiThreshold?: number;
  /** Categories kept as their own bin (top of the reference and top of the current), the rest is "other". Default 20. */
  topCategories?: number;
  fields?: Record<string, FieldTestOverride>;
}

export interface SideStats {
  rows: number;
  present: number;
  missing_share: number;
  distinct: number;
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
}

export interface Bins {
  labels: string[];
  reference: number[];
  current: number[];
}

export interface FieldDrift {
  name: string;
  type: FieldKind;
  /**
   * The test that decides; 'text_features' for a text field (it drifts when one of its derived fields does, and
   * counts once in the dataset share); 'none' when the field is not tested (empty, skipped, only on one side).
   */
  test: DriftTestName | 'text_features' | 'none';
  /** For FIELD.length, .non_ascii, .charset, .tokens: the text field they describe. */
  derived_from?: string;
  statistic: number | null;
  p_value: number | null;
  /** Benjamini–Hochberg adjusted p-value (p-value tests only). */
  p_value_adjusted?: number | null;
  threshold: number | null;
  drift: boolean;
  ks?: number;
  psi?: number;
  wasserstein_norm?: number;
  jensen_shannon?: number;
  chi_square?: number;
  z?: number;
  /** Text tokens: share of tokens outside the reference vocabulary. */
  oov_rate?: { reference: number; current: number };
  /** Whether KS and Wasserstein came from every raw value (true) or from the sketches. */
  exact?: boolean;
  reference: SideStats;
  current: SideStats;
  bins?: Bins;
  note?: string;
}

export interface DriftReport {
  dataset_drift: boolean;
  drift_share: number;
  share_threshold: number;
  drifted_fields: number;
  tested_fields: number;
  reference_rows: number;
  current_rows: number;
  fields: FieldDrift[];
}

const P_VALUE_TESTS: readonly string[] = ['ks', 'chi_square', 'z'];

function sideStats(f: FieldSummary | undefined, rows: number): SideStats {
  if (!f) return { rows, present: 0, missing_share: 1, distinct: 0 };
  const s: SideStats = { rows, present: f.present, missing_share: rows ? 1 - f.present / rows : 0, distinct: f.distinctCount() };
  if (f.moments.n > 0) Object.assign(s, { mean: f.moments.mean, std: f.moments.std, min: f.moments.min, max: f.moments.max });
  return s;
}

function kindOf(f: FieldSummary): FieldKind {
  if (f.spec.text) return 'text';
  if (f.present === 0) return 'empty';
  const numeric = (f.types.integer ?? 0) + (f.types.number ?? 0);
  if (numeric >= 0.9 * f.present) {
    const distinct = f.numericValues?.counts.size ?? Number.POSITIVE_INFINITY;
    return distinct === 2 ? 'binary' : 'numeric';
  }
  const d = f.categories.exact ? f.categories.counts.size : Number.POSITIVE_INFINITY;
  return d === 2 && (f.types.boolean ?? 0) + (f.types.string ?? 0) >= 0.9 * f.present ? 'binary' : 'categorical';
}

/** Category counts of a field: its numbers' values when it has few (≤ 5 distinct numbers), else its strings and booleans. */
function categoryCounts(f: FieldSummary | undefined, useNumbers: boolean): { counts: Map<string, number>; total: number } {
  if (!f) return { counts: new Map(), total: 0 };
  if (useNumbers && f.numericValues) return { counts: f.numericValues.counts, total: f.numericValues.total };
  return { counts: f.categories.counts, total: f.categories.total };
}

function categoryBins(
  ref: { counts: Map<string, number>; total: number },
  cur: { counts: Map<string, number>; total: number },
  top: number,
): Bins {
  const sortTop = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, top)
      .map(([k]) => k);
  const labels = [...new Set([...sortTop(ref.counts), ...sortTop(cur.counts)])];
  const r = labels.map((k) => ref.counts.get(k) ?? 0);
  const c = labels.map((k) => cur.counts.get(k) ?? 0);
  const rOther = ref.total - r.reduce((a, b) => a + b, 0);
  const cOther = cur.total - c.reduce((a, b) => a + b, 0);
  if (rOther > 0 || cOther > 0) {
    labels.push('(other)');
    r.push(rOther);
    c.push(cOther);
  }
  return { labels, reference: r, current: c };
}

/** Chi-square test of homogeneity on the 2 × k table of the bins (bins empty on both sides dropped). */
function chiSquareOnBins(b: Bins): { statistic: number; pValue: number } {
  const keep = b.labels.map((_, i) => i).filter((i) => b.reference[i] + b.current[i] > 0);
  const rT = keep.reduce((s, i) => s + b.reference[i], 0);
  const cT = keep.reduce((s, i) => s + b.current[i], 0);
  if (keep.length < 2 || rT === 0 || cT === 0) return { statistic: 0, pValue: 1 };
  return chiSquareContingency([keep.map((i) => b.reference[i]), keep.map((i) => b.current[i])]);
}

// --------------------------------------------------------------------------- statistics from sketches

/** KS distance of two value sketches with the same layout: max |F1 − F2| at the bucket edges. */
export function sketchKs(a: ValueSketch, b: ValueSketch): number {
  if (a.n === 0 || b.n === 0) return Number.NaN;
  const keys = [...new Set([...a.counts.keys(), ...b.counts.keys()])].sort((x, y) => x - y);
  let ca = 0;
  let cb = 0;
  let max = 0;
  for (const k of keys) {
    ca += a.counts.get(k) ?? 0;
    cb += b.counts.get(k) ?? 0;
    max = Math.max(max, Math.abs(ca / a.n - cb / b.n));
  }
  return max;
}

/** Wasserstein distance of two value sketches: each bucket's mass at its representative, clamped to the side's [min, max]. */
export function sketchWasserstein(a: ValueSketch, aMin: number, aMax: number, b: ValueSketch, bMin: number, bMax: number): number {
  const pa = [...a.counts.entries()].map(([k, c]) => [Math.min(Math.max(a.value(k), aMin), aMax), c] as const).sort((x, y) => x[0] - y[0]);
  const pb = [...b.counts.entries()].map(([k, c]) => [Math.min(Math.max(b.value(k), bMin), bMax), c] as const).sort((x, y) => x[0] - y[0]);
  let i = 0;
  let j = 0;
  let fa = 0;
  let fb = 0;
  let prev = Math.min(pa[0][0], pb[0][0]);
  let sum = 0;
  while (i < pa.length || j < pb.length) {
    const v = j >= pb.length || (i < pa.length && pa[i][0] <= pb[j][0]) ? pa[i][0] : pb[j][0];
    sum += Math.abs(fa / a.n - fb / b.n) * (v - prev);
    prev = v;
    while (i < pa.length && pa[i][0] <= v) fa += pa[i++][1];
    while (j < pb.length && pb[j][0] <= v) fb += pb[j++][1];
  }
  return sum;
}

// --------------------------------------------------------------------------- compare

const fin = (x: number) => (Number.isFinite(x) ? x : x > 0 ? Number.MAX_VALUE : x);

/** Compares every field of `current` with `reference` (two summaries made with the same spec). */
export function compareSummaries(reference: DriftSummary, current: DriftSummary, options: DriftOptions = {}): DriftReport {
  if (reference.fingerprint !== current.fingerprint) throw new RangeError('the two summaries were made with different specs');
  const small = options.smallReference ?? 1000;
  const alpha = options.pValue ?? 0.05;
  const wT = options.wassersteinThreshold ?? 0.1;
  const jsT = options.jensenShannonThreshold ?? 0.1;
  const psiT = options.psiThreshold ?? 0.1;
  const top = options.topCategories ?? 20;
  const names = [...new Set([...reference.fields.keys(), ...current.fields.keys()])].sort();
  const fields: FieldDrift[] = [];

  for (const name of names) {
    const r = reference.fields.get(name);
    const c = current.fields.get(name);
    const override = options.fields?.[name] ?? {};
    const out: FieldDrift = {
      name,
      type: r ? kindOf(r) : c ? kindOf(c) : 'empty',
      test: 'none',
      statistic: null,
      p_value: null,
      threshold: null,
      drift: false,
      reference: sideStats(r, reference.rows),
      current: sideStats(c, current.rows),
    };
    fields.push(out);
    const tokens = name.endsWith('.tokens') && reference.spec.fields[name.slice(0, -7)]?.text;
    if (tokens) out.type = 'text';
    if (!r || r.present === 0) {
      out.note = r ? 'no values in the reference' : 'not in the reference';
      continue;
    }
    if (!c || c.present === 0) {
      out.note = 'no values in the current data';
      continue;
    }
    const base = TEXT_FEATURES.map((t) => `.${t}`).find(
      (sfx) => name.endsWith(sfx) && reference.spec.fields[name.slice(0, -sfx.length)]?.text,
    );
    if (override.skip || (base && options.fields?.[name.slice(0, -base.length)]?.skip)) {
      out.note = 'skipped by option';
      continue;
    }
    if (out.type === 'text' && !tokens) {
      out.test = 'text_features';
      out.note = `free text: drifts when one of ${TEXT_FEATURES.map((t) => `${name}.${t}`).join(', ')} does`;
      continue;
    }
    const numbers = out.type === 'numeric' || (out.type === 'binary' && r.moments.n >= 0.9 * r.present);
    const fewNumbers = numbers && r.numericValues !== null && r.numericValues.counts.size <= 5;
    let defaultTest: DriftTestName;
    if (numbers && !fewNumbers) {
      const exact = r.reservoir.complete && c.reservoir.complete;
      out.exact = exact;
      const refStd = r.moments.std;
      if (exact) {
        const a = Float64Array.from(r.reservoir.values).sort();
        const b = Float64Array.from(c.reservoir.values).sort();
        out.ks = ksStatisticSorted(a, b);
        const w = wassersteinDistance(a, b, { sorted: true });
        out.wasserstein_norm = refStd > 0 ? w / refStd : w === 0 ? 0 : Number.POSITIVE_INFINITY;
      } else {
        out.ks = sketchKs(r.sketch, c.sketch);
        const w = sketchWasserstein(r.sketch, r.moments.min, r.moments.max, c.sketch, c.moments.min, c.moments.max);
        out.wasserstein_norm = refStd > 0 ? w / refStd : w === 0 ? 0 : Number.POSITIVE_INFINITY;
      }
      if (r.spec.edges.length > 0) {
        const labels = histogramLabels(r.spec.edges);
        const bins = { labels, reference: [...r.histogram.counts], current: [...c.histogram.counts] };
        out.bins = bins;
        out.psi = populationStabilityIndex(bins.reference, bins.current);
        out.jensen_shannon = jensenShannonDistance(bins.reference, bins.current);
      }
      defaultTest = r.present <= small ? 'ks' : 'wasserstein';
    } else {
      const bins = categoryBins(categoryCounts(r, fewNumbers), categoryCounts(c, fewNumbers), top);
      out.bins = bins;
      out.jensen_shannon = jensenShannonDistance(bins.reference, bins.current);
      out.psi = populationStabilityIndex(bins.reference, bins.current);
      out.chi_square = chiSquareOnBins(bins).statistic;
      if (tokens) {
        const vocab = new Set(r.categories.counts.keys());
        out.oov_rate = {
          reference: outOfVocabularyRate(vocab, r.categories.counts, r.categories.total),
          current: outOfVocabularyRate(vocab, c.categories.counts, c.categories.total),
        };
      }
      if (r.present <= small) defaultTest = out.type === 'binary' ? 'z' : 'chi_square';
      else defaultTest = 'jensen_shannon';
    }
    const test = override.test ?? defaultTest;
    out.test = test;
    switch (test) {
      case 'ks': {
        if (!numbers) throw new RangeError(`${name}: the KS test needs a numeric field`);
        const k = ks2Samp(r.reservoir.values, c.reservoir.values);
        out.statistic = k.statistic;
        out.p_value = k.pValue;
        if (!(r.reservoir.complete && c.reservoir.complete)) out.note = 'KS p-value on the reservoir samples';
        break;
      }
      case 'chi_square': {
        const b = out.bins ?? categoryBins(categoryCounts(r, true), categoryCounts(c, true), top);
        const t = chiSquareOnBins(b);
        out.statistic = t.statistic;
        out.p_value = t.pValue;
        break;
      }
      case 'z': {
        const b = out.bins ?? categoryBins(categoryCounts(r, true), categoryCounts(c, true), top);
        const rT = b.reference.reduce((s, x) => s + x, 0);
        const cT = b.current.reduce((s, x) => s + x, 0);
        // The reference's most common value is the "success".
        let first = 0;
        for (let i = 1; i < b.labels.length; i++) if (b.reference[i] > b.reference[first]) first = i;
        const t = twoProportionZTest(b.reference[first], rT, b.current[first], cT);
        out.z = t.statistic;
        out.statistic = t.statistic;
        out.p_value = t.pValue;
        break;
      }
      case 'wasserstein':
        if (out.wasserstein_norm === undefined) throw new RangeError(`${name}: the Wasserstein distance needs a numeric field`);
        out.statistic = fin(out.wasserstein_norm);
        out.threshold = override.threshold ?? wT;
        out.drift = out.statistic >= out.threshold;
        break;
      case 'jensen_shannon':
        out.statistic = out.jensen_shannon ?? Number.NaN;
        out.threshold = override.threshold ?? jsT;
        out.drift = out.statistic >= out.threshold;
        break;
      case 'psi':
        out.statistic = out.psi ?? Number.NaN;
        out.threshold = override.threshold ?? psiT;
        out.drift = out.statistic >= out.threshold;
        break;
    }
    if (P_VALUE_TESTS.includes(test)) out.threshold = override.threshold ?? alpha;
  }

  // p-value tests: Benjamini–Hochberg across fields, then p_adj < alpha.
  const pFields = fields.filter((f) => P_VALUE_TESTS.includes(f.test) && f.p_value !== null);
  const adjusted =
    (options.correction ?? 'benjamini-hochberg') === 'none'
      ? pFields.map((f) => f.p_value as number)
      : benjaminiHochberg(pFields.map((f) => f.p_value as number));
  pFields.forEach((f, i) => {
    f.p_value_adjusted = adjusted[i];
    f.drift = adjusted[i] < (f.threshold ?? alpha);
  });

  // Derived text features decide their text field's drift; the text field counts once.
  const byNameMap = new Map(fields.map((f) => [f.name, f]));
  for (const f of fields) {
    for (const t of TEXT_FEATURES) {
      const d = byNameMap.get(`${f.name}.${t}`);
      if (f.test === 'text_features' && d) {
        d.derived_from = f.name;
        if (d.drift) f.drift = true;
      }
    }
  }
  const tested = fields.filter((f) => f.test !== 'none' && !f.derived_from);
  const drifted = tested.filter((f) => f.drift).length;
  const share = tested.length ? drifted / tested.length : 0;
  const shareThreshold = options.shareThreshold ?? 0.5;
  return {
    dataset_drift: tested.length > 0 && share >= shareThreshold,
    drift_share: share,
    share_threshold: shareThreshold,
    drifted_fields: drifted,
    tested_fields: tested.length,
    reference_rows: reference.rows,
    current_rows: current.rows,
    fields,
  };
}

function histogramLabels(edges: readonly number[]): string[] {
  const f = (x: number) => (Math.abs(x) >= 1e5 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(2) : String(Number(x.toPrecision(4))));
  const labels = [`≤ ${f(edges[0])}`];
  for (let i = 1; i < edges.length; i++) labels.push(`${f(edges[i - 1])} – ${f(edges[i])}`);
  labels.push(`> ${f(edges[edges.length - 1])}`);
  return labels;
}
