import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import type { AuditProfile, FieldProfile } from './profile.js';
import { normalTwoSided, twoProportionZ } from './timeline.js';

/**
 * What changed between a baseline (pilot) sample and a production sample, ranked by severity: new and vanished
 * fields, type-mix and missing-rate changes, new categories, format changes, and distribution drift per field.
 */

export type ChangeKind =
  | 'new_field'
  | 'vanished_field'
  | 'type_mix'
  | 'missing_rate'
  | 'null_rate'
  | 'new_categories'
  | 'format'
  | 'category_drift'
  | 'numeric_shift';
export type Severity = 'high' | 'medium' | 'low';

export interface Change {
  kind: ChangeKind;
  field: string;
  severity: Severity;
  /** One sentence a person can read. */
  summary: string;
  /** The test's statistic and p-value, when there is one. */
  test?: { name: string; statistic: number; df?: number; p_value: number };
  /** Size of the change on its own scale (difference of rates, total variation distance, Cramér's V, standardised mean difference). */
  effect?: number;
  baseline?: unknown;
  sample?: unknown;
}

export interface Comparison {
  baseline_rows: number;
  sample_rows: number;
  changes: Change[];
  counts: Record<Severity, number>;
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  p_value: number;
  /** Cramér's V (Cramér 1946): √(χ² / (n·(min(r, c) − 1))), here r = 2. */
  cramers_v: number;
}

/**
 * Pearson's chi-square test of homogeneity on a 2 × k table (Pearson 1900; scipy.stats.chi2_contingency with
 * correction=False): categories empty in both rows are dropped; df = k − 1.
 */
export function chiSquareHomogeneity(a: number[], b: number[]): ChiSquareResult {
  const cols: [number, number][] = [];
  for (let i = 0; i < a.length; i++) if (a[i] + b[i] > 0) cols.push([a[i], b[i]]);
  const na = cols.reduce((s, c) => s + c[0], 0);
  const nb = cols.reduce((s, c) => s + c[1], 0);
  const n = na + nb;
  if (cols.length < 2 || na === 0 || nb === 0) return { statistic: 0, df: Math.max(0, cols.length - 1), p_value: 1, cramers_v: 0 };
  let chi = 0;
  for (const [x, y] of cols) {
    const col = x + y;
    const ea = (na * col) / n;
    const eb = (nb * col) / n;
    chi += (x - ea) ** 2 / ea + (y - eb) ** 2 / eb;
  }
  const df = cols.length - 1;
  return { statistic: chi, df, p_value: 1 - chisquareCdf(chi, df), cramers_v: Math.sqrt(chi / n) };
}

/**
 * Welch's unequal-variance t statistic for a shift of means (Welch 1947; scipy.stats.ttest_ind(equal_var=False)),
 * with a two-sided p-value from the normal distribution — the t distribution's limit, close for the sample sizes an
 * audit sees (above ~100 rows per side the two p-values differ by less than 0.01).
 */
export function welchShift(a: { n: number; mean: number; std: number }, b: { n: number; mean: number; std: number }) {
  const se = Math.sqrt(a.std ** 2 / a.n + b.std ** 2 / b.n);
  const t = se === 0 ? (a.mean === b.mean ? 0 : Number.POSITIVE_INFINITY) : (b.mean - a.mean) / se;
  // Standardised mean difference with the pooled SD (Cohen's d).
  const pooled = Math.sqrt(((a.n - 1) * a.std ** 2 + (b.n - 1) * b.std ** 2) / Math.max(1, a.n + b.n - 2));
  return { statistic: t, p_value: Number.isFinite(t) ? normalTwoSided(t) : 0, cohens_d: pooled === 0 ? 0 : (b.mean - a.mean) / pooled };
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ALPHA = 0.001;

function severity(p: number, effect: number, high: number, medium: number): Severity | null {
  if (p >= ALPHA) return null;
  if (effect >= high) return 'high';
  if (effect >= medium) return 'medium';
  return 'low';
}

const isCategorical = (f: FieldProfile) =>
  f.distinct_method === 'exact' && f.distinct > 0 && f.distinct <= 50 && f.top.length === f.distinct && !f.types.array && !f.types.number;

/** Compares a production sample's profile with a baseline's. */
export function compareProfiles(baseline: AuditProfile, sample: AuditProfile): Comparison {
  const changes: Change[] = [];
  const nb = baseline.rows.parsed;
  const ns = sample.rows.parsed;
  const base = new Map(baseline.fields.map((f) => [f.name, f]));
  const samp = new Map(sample.fields.map((f) => [f.name, f]));

  for (const f of sample.fields) {
    if (base.has(f.name)) continue;
    const share = ns ? f.count / ns : 0;
    changes.push({
      kind: 'new_field',
      field: f.name,
      severity: share >= 0.5 ? 'high' : share >= 0.05 ? 'medium' : 'low',
      summary: `${f.name} is new: present in ${pct(share)} of the sample's rows, never in the baseline`,
      effect: r4(share),
      sample: { count: f.count },
    });
  }
  for (const f of baseline.fields) {
    if (samp.has(f.name)) continue;
    const share = nb ? f.count / nb : 0;
    changes.push({
      kind: 'vanished_field',
      field: f.name,
      severity: share >= 0.5 ? 'high' : share >= 0.05 ? 'medium' : 'low',
      summary: `${f.name} vanished: present in ${pct(share)} of the baseline's rows, never in the sample`,
      effect: r4(share),
      baseline: { count: f.count },
    });
  }

  for (const b of baseline.fields) {
    const s = samp.get(b.name);
    if (!s) continue;
    const name = b.name;
    // Missing rate (key absent), two-proportion z-test.
    {
      const z = twoProportionZ(b.missing, nb, s.missing, ns);
      const p = normalTwoSided(z);
      const diff = s.missing / ns - b.missing / nb;
      const sev = severity(p, Math.abs(diff), 0.2, 0.05);
      if (sev) {
        changes.push({
          kind: 'missing_rate',
          field: name,
          severity: sev,
          summary: `${name} is missing in ${pct(s.missing / ns)} of rows, against ${pct(b.missing / nb)} in the baseline`,
          test: { name: 'two-proportion z-test (pooled)', statistic: r4(z), p_value: p },
          effect: r4(diff),
          baseline: b.missing / nb,
          sample: s.missing / ns,
        });
      }
    }
    // Null rate among present values.
    if (b.count > 0 && s.count > 0) {
      const z = twoProportionZ(b.nulls, b.count, s.nulls, s.count);
      const p = normalTwoSided(z);
      const diff = s.nulls / s.count - b.nulls / b.count;
      const sev = severity(p, Math.abs(diff), 0.2, 0.05);
      if (sev) {
        changes.push({
          kind: 'null_rate',
          field: name,
          severity: sev,
          summary: `${name} is null in ${pct(s.nulls / s.count)} of the rows that have it, against ${pct(b.nulls / b.count)} in the baseline`,
          test: { name: 'two-proportion z-test (pooled)', statistic: r4(z), p_value: p },
          effect: r4(diff),
          baseline: b.nulls / b.count,
          sample: s.nulls / s.count,
        });
      }
    }
    // Type mix of non-null values.
    {
      const types = [...new Set([...Object.keys(b.types), ...Object.keys(s.types)])].filter(
        (t) => t !== 'null',
      ) as (keyof FieldProfile['types'])[];
      if (types.length > 1) {
        const ca = types.map((t) => b.types[t] ?? 0);
        const cb = types.map((t) => s.types[t] ?? 0);
        const chi = chiSquareHomogeneity(ca, cb);
        const tvd = totalVariation(ca, cb);
        const sev = severity(chi.p_value, tvd, 0.2, 0.02);
        if (sev) {
          const newTypes = types.filter((t) => !b.types[t] && s.types[t]);
          changes.push({
            kind: 'type_mix',
            field: name,
            severity: newTypes.length > 0 && sev !== 'high' ? 'medium' : sev,
            summary: `${name} types changed: ${mix(b.types)} in the baseline, ${mix(s.types)} in the sample${newTypes.length ? ` (new: ${newTypes.join(', ')})` : ''}`,
            test: { name: 'chi-square test of homogeneity', statistic: r4(chi.statistic), df: chi.df, p_value: chi.p_value },
            effect: r4(tvd),
            baseline: b.types,
            sample: s.types,
          });
        }
      }
    }
    // Formats (of values that have one; 'none' for the rest of the present non-null values).
    {
      const fa = withNone(b);
      const fb = withNone(s);
      const names = [...new Set([...Object.keys(fa), ...Object.keys(fb)])];
      if (names.length > 1) {
        const ca = names.map((k) => fa[k] ?? 0);
        const cb = names.map((k) => fb[k] ?? 0);
        const chi = chiSquareHomogeneity(ca, cb);
        const tvd = totalVariation(ca, cb);
        const sev = severity(chi.p_value, tvd, 0.2, 0.05);
        if (sev) {
          const newFormats = names.filter((k) => !fa[k] && fb[k] && k !== 'none');
          changes.push({
            kind: 'format',
            field: name,
            severity: sev,
            summary: `${name} formats changed: ${mix(fa)} in the baseline, ${mix(fb)} in the sample${newFormats.length ? ` (new: ${newFormats.join(', ')})` : ''}`,
            test: { name: 'chi-square test of homogeneity', statistic: r4(chi.statistic), df: chi.df, p_value: chi.p_value },
            effect: r4(tvd),
            baseline: fa,
            sample: fb,
          });
        }
      }
    }
    // Categories: new values, and drift of the distribution.
    if (isCategorical(b)) {
      const known = new Set(b.top.map((t) => t.value));
      const fresh = s.top.filter((t) => !known.has(t.value));
      const freshRows = fresh.reduce((x, t) => x + t.count, 0);
      if (fresh.length > 0) {
        const nonNull = Math.max(1, s.count - s.nulls);
        changes.push({
          kind: 'new_categories',
          field: name,
          severity: freshRows / nonNull >= 0.05 ? 'high' : freshRows / nonNull >= 0.005 ? 'medium' : 'low',
          summary: `${name} has ${fresh.length}${isCategorical(s) ? '' : '+'} value(s) the baseline never had (${fresh
            .slice(0, 5)
            .map((t) => JSON.stringify(t.value))
            .join(', ')}${fresh.length > 5 ? ', …' : ''}) in ${pct(freshRows / nonNull)} of its values`,
          effect: r4(freshRows / nonNull),
          sample: fresh.slice(0, 20),
        });
      }
      if (isCategorical(s)) {
        const cats = [...new Set([...b.top.map((t) => t.value), ...s.top.map((t) => t.value)])];
        const bm = new Map(b.top.map((t) => [t.value, t.count]));
        const sm = new Map(s.top.map((t) => [t.value, t.count]));
        const chi = chiSquareHomogeneity(
          cats.map((c) => bm.get(c) ?? 0),
          cats.map((c) => sm.get(c) ?? 0),
        );
        const sev = severity(chi.p_value, chi.cramers_v, 0.3, 0.1);
        if (sev) {
          changes.push({
            kind: 'category_drift',
            field: name,
            severity: sev,
            summary: `${name}'s category shares moved (Cramér's V ${chi.cramers_v.toFixed(3)})`,
            test: { name: 'chi-square test of homogeneity', statistic: r4(chi.statistic), df: chi.df, p_value: chi.p_value },
            effect: r4(chi.cramers_v),
          });
        }
      }
    }
    // Numbers: a shift of the mean.
    const bn = b.numeric;
    const sn = s.numeric;
    if (bn && sn && bn.count > 1 && sn.count > 1 && bn.std !== null && sn.std !== null) {
      const w = welchShift({ n: bn.count, mean: bn.mean, std: bn.std }, { n: sn.count, mean: sn.mean, std: sn.std });
      const sev = severity(w.p_value, Math.abs(w.cohens_d), 0.8, 0.2);
      if (sev) {
        changes.push({
          kind: 'numeric_shift',
          field: name,
          severity: sev,
          summary: `${name}'s mean moved from ${fmt(bn.mean)} to ${fmt(sn.mean)} (median ${fmt(bn.quantiles.p50)} → ${fmt(sn.quantiles.p50)}; Cohen's d ${w.cohens_d.toFixed(2)})`,
          test: { name: "Welch's t (normal p-value)", statistic: r4(w.statistic), p_value: w.p_value },
          effect: r4(w.cohens_d),
          baseline: { mean: bn.mean, std: bn.std, p50: bn.quantiles.p50 },
          sample: { mean: sn.mean, std: sn.std, p50: sn.quantiles.p50 },
        });
      }
    }
  }
  const rank: Record<Severity, number> = { high: 0, medium: 1, low: 2 };
  changes.sort((x, y) => rank[x.severity] - rank[y.severity] || Math.abs(y.effect ?? 0) - Math.abs(x.effect ?? 0));
  const counts = { high: 0, medium: 0, low: 0 };
  for (const c of changes) counts[c.severity]++;
  return { baseline_rows: nb, sample_rows: ns, changes, counts };
}

/** Total variation distance between two count vectors' distributions: ½ Σ |p_i − q_i|. */
export function totalVariation(a: number[], b: number[]): number {
  const na = a.reduce((s, x) => s + x, 0);
  const nb = b.reduce((s, x) => s + x, 0);
  if (na === 0 || nb === 0) return 0;
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i] / na - b[i] / nb);
  return d / 2;
}

function withNone(f: FieldProfile): Record<string, number> {
  const out: Record<string, number> = { ...f.formats } as Record<string, number>;
  // A value may carry several formats; 'none' counts the non-null values without any.
  const withFormat = Object.values(f.formats).reduce((s, x) => Math.max(s, x ?? 0), 0);
  out.none = Math.max(0, f.count - f.nulls - withFormat);
  return out;
}

function mix(counts: Record<string, number | undefined>): string {
  const total = Object.values(counts).reduce((s: number, x) => s + (x ?? 0), 0);
  const parts = Object.entries(counts)
    .filter(([, v]) => v)
    .sort((x, y) => (y[1] ?? 0) - (x[1] ?? 0))
    .map(([k, v]) => `${k} ${pct((v ?? 0) / Math.max(1, total))}`);
  return parts.join(', ') || 'none';
}

const fmt = (x: number) =>
  Math.abs(x) >= 1000 || Number.isInteger(x) ? x.toLocaleString('en-US', { maximumFractionDigits: 2 }) : x.toPrecision(4);
