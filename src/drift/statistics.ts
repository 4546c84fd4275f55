/**
 * Two-sample statistics for drift, each equal to SciPy's on the same input (test/reference/drift_reference.py
 * computes the expected values with Debian's SciPy 1.10 and NumPy 1.24; test/fixtures/drift/reference.json holds them).
 * Pure functions over arrays; none of them mutates its input.
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';

export type Values = ArrayLike<number>;

export interface KsResult {
  /** D = sup_x |F1(x) − F2(x)| of the two empirical CDFs. */
  statistic: number;
  pValue: number;
  /** How the p-value was computed: exactly (lattice paths) or from the Kolmogorov distribution of round(n1·n2/(n1+n2)). */
  method: 'exact' | 'asymp';
}

export interface TestResult {
  statistic: number;
  pValue: number;
  /** Degrees of freedom (chi-square tests). */
  dof?: number;
}

/** `scipy.stats.ks_2samp`: switches from exact to asymptotic p-values above this many values in the larger sample ('auto'). */
export const KS_MAX_EXACT_N = 10_000;

const sortedCopy = (x: Values): Float64Array => {
  const out = Float64Array.from(x as ArrayLike<number>);
  out.sort();
  return out;
};

/** numpy.round: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** D of two ascending samples: cdf_i(v) = #(x ≤ v)/n_i over every v in either sample (= scipy's searchsorted side='right'). */
export function ksStatisticSorted(a: Values, b: Values): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let max = 0;
  let min = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] <= v) i++;
    while (j < n2 && b[j] <= v) j++;
    const diff = i / n1 - j / n2;
    if (diff > max) max = diff;
    if (diff < min) min = diff;
  }
  return Math.max(max, Math.min(Math.max(-min, 0), 1));
}

/**
 * Two-sample Kolmogorov–Smirnov test, two-sided (= scipy.stats.ks_2samp(x, y, method=…)): D as above; 'auto' gives
 * exact p-values when both samples hold ≤ 10,000 values (Hodges 1958; Viehmann 2021's 1−p recursion), else
 * kstwo.sf(D, round(n1·n2/(n1+n2))) (Simard & L'Ecuyer 2011). An exact computation that fails numerically falls back
 * to the asymptotic one, as SciPy does.
 */
export function ks2Samp(x: Values, y: Values, options: { method?: 'auto' | 'exact' | 'asymp'; sorted?: boolean } = {}): KsResult {
  const a = options.sorted ? x : sortedCopy(x);
  const b = options.sorted ? y : sortedCopy(y);
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2Samp needs two non-empty samples');
  let d = ksStatisticSorted(a, b);
  let mode = options.method ?? 'auto';
  const g = gcd(n1, n2);
  if (mode === 'auto') mode = Math.max(n1, n2) <= KS_MAX_EXACT_N ? 'exact' : 'asymp';
  else if (mode === 'exact' && n1 / g >= 2147483647 / (n2 / g)) mode = 'asymp';
  let p = Number.NaN;
  if (mode === 'exact') {
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1, method: 'exact' };
    p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInsideMethod(n1, n2, g, h);
    if (!(p >= 0 && p <= 1 && Number.isFinite(p))) mode = 'asymp';
  }
  if (mode === 'asymp') {
    const m = Math.max(n1, n2);
    const n = Math.min(n1, n2);
    p = kolmogorovSf(roundHalfEven((m * n) / (m + n)), d);
  }
  return { statistic: d, pValue: Math.min(Math.max(p, 0), 1), method: mode };
}

/** P(D_{n,n} ≥ h/n) by the alternating sum of binomial ratios in Horner form (scipy's _compute_prob_outside_square). */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/** Share of lattice paths leaving |x/m − y/n| < h/lcm, computed as 1 − p column by column (scipy's _compute_outer_prob_inside_method). */
function outerProbInsideMethod(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(Math.max(lenA, 1)).fill(1);
  for (let j = minj; j < maxj; j++) A[j] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) for (let t = maxj - minj; t < maxj - minj + (lastlen - curlen) && t < A.length; t++) A[t] = 1;
  }
  return A[maxj - minj - 1];
}

// --------------------------------------------------------------------------- Kolmogorov distribution (kstwo)

const TWO_128 = 2 ** 128;
const TWO_M128 = 2 ** -128;
const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const STIRLING = [
  -2.955065359477124e-2, 6.41025641025641e-3, -1.917526917526917e-3, 8.417508417508417e-4, -5.952380952380952e-4, 7.936507936507937e-4,
  -2.777777777777778e-3, 8.333333333333333e-2,
];

const clip01 = (p: number) => Math.min(Math.max(p, 0), 1);

/** log(n!/n^n) by Stirling's series with n·log n removed up front. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + Math.log(2 * Math.PI) / 2 + rn * poly;
}

/**
 * P(D_n ≥ x) of the one-sample two-sided Kolmogorov statistic (= scipy.stats.kstwo.sf(x, n)), by Simard & L'Ecuyer's
 * (2011) choice of method: Ruben–Gambino at the ends, 2·smirnov for x ≥ 0.5 or deep tails, Durbin's matrix
 * (Marsaglia–Tsang–Wang 2003) or Pomeranz (1974) for n ≤ 140, Pelz–Good (1976) for larger n.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxx = t * x;
  if (n <= 140) {
    if (nxx <= 0.754693) return clip01(1 - durbinMatrixCdf(n, x));
    if (nxx <= 4) return clip01(1 - pomeranzCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxx >= 370) return 0;
  if (nxx >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nxx >= 18) cdf = 1;
  else if (n <= 100_000 && n * x ** 1.5 <= 1.4) cdf = durbinMatrixCdf(n, x);
  else cdf = pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}

/**
 * P(D⁺_n ≥ x), the one-sided Smirnov statistic (= scipy.special.smirnov(n, x)), by the Birnbaum–Tingey sum
 * x·Σ_{j ≤ n(1−x)} C(n, j)(x + j/n)^(j−1)(1 − x − j/n)^(n−j), term by term in log space (all terms are positive).
 */
export function smirnovSf(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const last = Math.floor(n * (1 - x));
  let logC = 0;
  let sum = 0;
  for (let j = 0; j <= last; j++) {
    const e = x + j / n;
    const rest = (n - j) / n - x;
    if (rest > 0 || j === n) {
      const term = logC + (j - 1) * Math.log(e) + (n - j > 0 ? (n - j) * Math.log(rest) : 0);
      if (term > -745) sum += Math.exp(term);
    }
    logC += Math.log((n - j) / (j + 1));
  }
  return clip01(x * sum);
}

function matMul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k];
      if (aik === 0) continue;
      const bo = k * m;
      const oo = i * m;
      for (let j = 0; j < m; j++) out[oo + j] += aik * b[bo + j];
    }
  }
  return out;
}

/** P(D_n ≤ d) by Durbin's matrix (Marsaglia, Tsang & Wang 2003), scaled by powers of 2^128 (scipy's _kolmogn_DMTW). */
function durbinMatrixCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H: Float64Array = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1];
  for (let r = 0; r < m; r++) H[r * m] = v[r];
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c];
  let P: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      P = matMul(P, H, m);
      expnt += hexpnt;
    }
    H = matMul(H, H, m);
    hexpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]) > TWO_128) {
      for (let i = 0; i < H.length; i++) H[i] /= TWO_128;
      hexpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = P[(k - 1) * m + (k - 1)];
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < TWO_M128) {
      p *= TWO_128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p *= 2 ** expnt;
  return clip01(p);
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n ≤ x) by Pomeranz's recursion (1974), as scipy's _kolmogn_Pomeranz. */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  let expnt = 0;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1] * (g / n)) / m;
    twogpower[m] = (twogpower[m - 1] * ((2 * g) / n)) / m;
    onem2gpower[m] = (onem2gpower[m - 1] * ((1 - 2 * g) / n)) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      // conv = convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2]); keep conv[j1 - k1 : j1 - k1 + (j2 - j1 + 1)]
      const start = j1 - k1;
      const len = j2 - j1 + 1;
      const base = k1 - V0s;
      let max = 0;
      for (let c = 0; c < len; c++) {
        const idx = start + c;
        let s = 0;
        for (let a = Math.max(0, idx - ln2 + 1); a <= Math.min(idx, ln2 - 1); a++) {
          const vi = base + a;
          if (vi >= 0 && vi < npwrs) s += V0[vi] * pwrs[idx - a];
        }
        V1[c] = s;
        if (s > max) max = s;
      }
      if (max > 0 && max < TWO_M128) {
        for (let c = 0; c < npwrs; c++) V1[c] *= TWO_128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s];
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > TWO_128) {
      ans *= TWO_M128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans *= 2 ** expnt;
  return clip01(ans);
}

/** Pelz–Good (1976) asymptotic series for P(D_n ≤ x), as scipy's _kolmogn_PelzGood. */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qp = q ** (8 * k);
    const c = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i] * qp + c[i];
  }
  const div = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * SQRT2PI) / div[i];
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qk = q ** k2;
    k2extra += k2 * qk;
    const kspi = Math.PI * k;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * k2 * qk;
  }
  K[2] += (k2extra * PI2 * SQRT2PI) / (-36 * z3);
  K[3] += (k3extra * PI2 * SQRT2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += K[i] / n ** (i / 2);
  return sum;
}

// --------------------------------------------------------------------------- Wasserstein

/**
 * First Wasserstein distance between two empirical distributions, ∫|F1 − F2| dx (= scipy.stats.wasserstein_distance,
 * unweighted). O((n1 + n2) log) for the sorts, then one merge walk.
 */
export function wassersteinDistance(x: Values, y: Values, options: { sorted?: boolean } = {}): number {
  const a = options.sorted ? x : sortedCopy(x);
  const b = options.sorted ? y : sortedCopy(y);
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('wassersteinDistance needs two non-empty samples');
  let i = 0;
  let j = 0;
  let sum = 0;
  let prev = Math.min(a[0], b[0]);
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    sum += Math.abs(i / n1 - j / n2) * (v - prev);
    prev = v;
    while (i < n1 && a[i] <= v) i++;
    while (j < n2 && b[j] <= v) j++;
  }
  return sum;
}

/** Population standard deviation, ddof = 0 (= numpy.std), by a two-pass mean. */
export function populationStd(x: Values): number {
  const n = x.length;
  if (n === 0) return Number.NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - mean) ** 2;
  return Math.sqrt(ss / n);
}

/**
 * Wasserstein distance divided by the reference's population standard deviation (Evidently's "normed Wasserstein";
 * drift at ≥ 0.1 by default). A constant reference (std 0) gives 0 when the current equals it, else Infinity.
 */
export function normalizedWasserstein(reference: Values, current: Values): number {
  const w = wassersteinDistance(reference, current);
  const s = populationStd(reference);
  return s > 0 ? w / s : w === 0 ? 0 : Number.POSITIVE_INFINITY;
}

// --------------------------------------------------------------------------- chi-square, z

/** Upper tail of χ²_k. 1 − CDF: absolute error ~1e-16, so relative error grows for p below ~1e-10. */
export const chiSquareSf = (x: number, k: number): number => (x <= 0 ? 1 : Math.max(0, 1 - chisquareCdf(x, k)));

/**
 * Pearson's goodness-of-fit test (= scipy.stats.chisquare(observed, expected)): Σ (O − E)²/E on k − 1 degrees of
 * freedom; `expected` defaults to uniform and must have the same total as `observed` (relative 1e-8, as SciPy checks).
 */
export function chiSquareGoodnessOfFit(observed: Values, expected?: Values): TestResult {
  const k = observed.length;
  let total = 0;
  for (let i = 0; i < k; i++) total += observed[i];
  const exp = expected ?? Array.from({ length: k }, () => total / k);
  if (exp.length !== k) throw new RangeError('observed and expected must have the same length');
  let expTotal = 0;
  for (let i = 0; i < k; i++) expTotal += exp[i];
  if (Math.abs(expTotal - total) > 1e-8 * Math.max(Math.abs(total), Math.abs(expTotal))) {
    throw new RangeError('observed and expected frequencies must have the same sum');
  }
  let stat = 0;
  for (let i = 0; i < k; i++) stat += (observed[i] - exp[i]) ** 2 / exp[i];
  return { statistic: stat, pValue: chiSquareSf(stat, k - 1), dof: k - 1 };
}

/**
 * Pearson's test of independence on an r × c table (= scipy.stats.chi2_contingency(table), correction=True by
 * default): expected = row total × column total / total; Yates' continuity correction when dof = 1. Rows and columns
 * that are all zero must be dropped by the caller (SciPy refuses a zero expected count).
 */
export function chiSquareContingency(table: ArrayLike<Values>, options: { correction?: boolean } = {}): TestResult {
  const r = table.length;
  const c = r ? table[0].length : 0;
  const rows = new Float64Array(r);
  const cols = new Float64Array(c);
  let total = 0;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      rows[i] += table[i][j];
      cols[j] += table[i][j];
      total += table[i][j];
    }
  }
  for (const s of [...rows, ...cols]) if (!(s > 0)) throw new RangeError('every row and column of the table needs a positive total');
  const dof = (r - 1) * (c - 1);
  if (dof === 0) return { statistic: 0, pValue: 1, dof: 0 };
  const correction = (options.correction ?? true) && dof === 1;
  let stat = 0;
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      const e = (rows[i] * cols[j]) / total;
      let o = table[i][j];
      if (correction) {
        const diff = e - o;
        o += Math.sign(diff) * Math.min(0.5, Math.abs(diff));
      }
      stat += (o - e) ** 2 / e;
    }
  }
  return { statistic: stat, pValue: chiSquareSf(stat, dof), dof };
}

/**
 * Two-proportion z-test with the pooled proportion (Evidently's binary test): z = (p1 − p2)/√(P(1−P)(1/n1 + 1/n2)),
 * two-sided p = 2·Φ(−|z|). Both samples all one value: z = 0, p = 1.
 */
export function twoProportionZTest(successes1: number, n1: number, successes2: number, n2: number): TestResult {
  if (!(n1 > 0 && n2 > 0)) throw new RangeError('twoProportionZTest needs two non-empty samples');
  const p1 = successes1 / n1;
  const p2 = successes2 / n2;
  const P = (successes1 + successes2) / (n1 + n2);
  const se = Math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / se;
  return { statistic: z, pValue: Math.min(1, 2 * normalCdf(-Math.abs(z), 0, 1)) };
}

// --------------------------------------------------------------------------- distances on binned distributions

/** Evidently's floor for empty bins before a logarithm: min(non-zero share)/10^6 when that is ≤ 0.0001, else 0.0001. */
function fillZeros(shares: number[]): number[] {
  const nonZero = shares.filter((s) => s > 0);
  if (nonZero.length === 0) return shares;
  const min = Math.min(...nonZero);
  const fill = min <= 0.0001 ? min / 1e6 : 0.0001;
  return shares.map((s) => (s === 0 ? fill : s));
}

const shares = (counts: Values): number[] => {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  return Array.from(counts as ArrayLike<number>, (c) => (total > 0 ? c / total : 0));
};

/**
 * Population stability index over the same bins, Σ (c_i − r_i)·ln(c_i/r_i) on shares, empty bins floored as
 * Evidently does (Yurdakul 2018; Evidently's psi_stat_test). Common reading: < 0.1 stable, 0.1–0.25 moderate, > 0.25 large.
 */
export function populationStabilityIndex(referenceCounts: Values, currentCounts: Values): number {
  if (referenceCounts.length !== currentCounts.length) throw new RangeError('the two histograms need the same bins');
  const r = fillZeros(shares(referenceCounts));
  const c = fillZeros(shares(currentCounts));
  let psi = 0;
  for (let i = 0; i < r.length; i++) psi += (c[i] - r[i]) * Math.log(c[i] / r[i]);
  return psi;
}

const relEntr = (x: number, y: number): number => (x > 0 && y > 0 ? x * Math.log(x / y) : x === 0 && y >= 0 ? 0 : Number.POSITIVE_INFINITY);

/**
 * Jensen–Shannon distance in base 2, in [0, 1] (= scipy.spatial.distance.jensenshannon(p, q, base=2)): both vectors
 * normalised to sum 1, √(½·KL(p‖m) + ½·KL(q‖m)) with m = (p + q)/2.
 */
export function jensenShannonDistance(p: Values, q: Values): number {
  if (p.length !== q.length) throw new RangeError('the two distributions need the same support');
  const a = shares(p);
  const b = shares(q);
  let js = 0;
  for (let i = 0; i < a.length; i++) {
    const m = (a[i] + b[i]) / 2;
    js += relEntr(a[i], m) + relEntr(b[i], m);
  }
  js /= Math.log(2);
  return Math.sqrt(js / 2);
}

// --------------------------------------------------------------------------- multiple testing, quantiles

/**
 * Benjamini–Hochberg adjusted p-values (= statsmodels multipletests(method='fdr_bh')): p_(i)·m/i, made monotone from
 * the largest down, capped at 1. NaN entries are left out of m and stay NaN.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const idx = pValues.map((p, i) => [p, i] as const).filter(([p]) => !Number.isNaN(p));
  idx.sort((x, y) => x[0] - y[0]);
  const m = idx.length;
  const out = pValues.map(() => Number.NaN);
  let running = 1;
  for (let r = m - 1; r >= 0; r--) {
    const [p, i] = idx[r];
    running = Math.min(running, (p * m) / (r + 1));
    out[i] = Math.min(1, running);
  }
  return out;
}

/** numpy.quantile(sorted, q) with the default 'linear' method: h = (n − 1)q, interpolate between ⌊h⌋ and ⌊h⌋ + 1. */
export function quantileSorted(sorted: Values, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const t = h - lo;
  const diff = sorted[hi] - sorted[lo];
  // numpy's _lerp: from the nearer end, so t = 1 gives exactly the upper value.
  return t >= 0.5 ? sorted[hi] - diff * (1 - t) : sorted[lo] + diff * t;
}
