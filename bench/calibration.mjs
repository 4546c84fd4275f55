// Benchmark: calibration metrics, calibrator fits and the LTT threshold search on 1,000,000 predictions, beside
// scikit-learn's equivalents on the same data in the same run (a python3 child reads the same float64 confidences and
// outcomes from files). Each figure is the best of 3 runs; the values are printed side by side so "same result" is
// visible. The LTT search has no scikit-learn equivalent: its peer is the same procedure vectorised with NumPy/SciPy.
// Standalone: node bench/calibration.mjs (after npm run build). BENCH_CALIBRATION_N changes the size.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { best, runPython } from './python.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const SKLEARN = `
import sys, time, json
import numpy as np
import sklearn
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
conf = np.fromfile(sys.argv[1], dtype=np.float64)
y = np.fromfile(sys.argv[2], dtype=np.uint8).astype(np.int64)
alpha, delta = float(sys.argv[3]), float(sys.argv[4])
def best(f):
    t = []
    for _ in range(3):
        t0 = time.perf_counter(); r = f(); t.append(time.perf_counter() - t0)
    return min(t), r
def ece():
    # calibration_curve's 15 uniform bins plus their counts: the reliability diagram ECE is made of.
    acc, mean = calibration_curve(y, conf, n_bins=15, strategy='uniform')
    counts = np.histogram(conf, bins=np.linspace(0, 1, 16))[0]
    counts = counts[counts > 0]
    return float(np.sum(counts * np.abs(acc - mean)) / len(conf))
def platt():
    z = np.log(conf / (1 - conf)).reshape(-1, 1)
    m = LogisticRegression(penalty=None, solver='lbfgs').fit(z, y)
    return [float(m.coef_[0][0]), float(m.intercept_[0])]
def ltt():
    # Learn then Test with Hoeffding-Bentkus p-values, fixed sequence from the top, grid of distinct confidences
    # (at most 10,000 by rank), candidates accepting fewer than n_min records skipped.
    order = np.argsort(-conf, kind='stable')
    c = conf[order]; wrong = 1 - y[order]
    errs = np.cumsum(wrong)
    last = np.r_[np.nonzero(c[1:] != c[:-1])[0], len(c) - 1]
    if len(last) > 10000: last = last[np.linspace(0, len(last) - 1, 10000).round().astype(int)]
    n = last + 1; k = errs[last]
    rhat = k / n
    a = alpha
    kl = np.where(rhat < a, rhat * np.log(np.maximum(rhat, 1e-300) / a) + (1 - rhat) * np.log((1 - rhat) / (1 - a)), 0.0)
    p = np.minimum(np.exp(-n * kl), np.e * stats.binom.cdf(np.ceil(n * rhat), n, a))
    nmin = int(np.ceil(np.log(delta) / np.log1p(-a)))
    ok = None
    for i in range(len(n)):
        if n[i] < nmin: continue
        if p[i] <= delta: ok = i
        else: break
    return None if ok is None else float(c[last[ok]])
out = {'version': sklearn.__version__}
for name, f in [('ece', ece), ('brier', lambda: float(brier_score_loss(y, conf))), ('nll', lambda: float(log_loss(y, conf))),
                ('auroc', lambda: float(roc_auc_score(y, conf))),
                ('isotonic', lambda: len(IsotonicRegression(out_of_bounds='clip').fit(conf, y).X_thresholds_)),
                ('platt', platt), ('ltt', ltt)]:
    s, v = best(f)
    out[name] = {'s': s, 'value': v}
print(json.dumps(out))
`;

export async function benchCalibration({ n = 1_000_000, alpha = 0.05, delta = 0.05, log = console.log } = {}) {
  const dist = path.join(here, '..', 'dist', 'calibration');
  const metrics = await import(path.join(dist, 'metrics.js'));
  const calibrators = await import(path.join(dist, 'calibrators.js'));
  const threshold = await import(path.join(dist, 'threshold.js'));
  // An overconfident model: confidence uniform on [0.5, 1), right with probability confidence².
  const random = metrics.seededRandom(7);
  const confidence = new Float64Array(n);
  const correct = new Array(n);
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    confidence[i] = 0.5 + random() / 2;
    correct[i] = random() < confidence[i] ** 2;
    bytes[i] = correct[i] ? 1 : 0;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'airlock-bench-calibration-'));
  try {
    writeFileSync(path.join(tmp, 'conf.f64'), Buffer.from(confidence.buffer));
    writeFileSync(path.join(tmp, 'y.u8'), Buffer.from(bytes.buffer));
    const confidenceArray = Array.from(confidence); // the threshold search takes plain arrays
    const ours = {};
    const time = (name, f) => {
      const [s, value] = best(f);
      ours[name] = { s, value };
    };
    time('ece', () => metrics.expectedCalibrationError(confidence, correct));
    time('brier', () => metrics.brierScore(confidence, correct));
    time('nll', () => metrics.binaryNegativeLogLikelihood(confidence, correct));
    time('auroc', () => metrics.confidenceAuroc(confidence, correct));
    time('isotonic', () => calibrators.fitIsotonicRegression(confidence, correct).params.x.length);
    time('platt', () => {
      const m = calibrators.fitPlattScaling(confidence, correct, { targetSmoothing: false });
      return [m.params.slope, m.params.intercept];
    });
    time('ltt', () => {
      const t = threshold.chooseAutoAcceptThreshold({ confidence: confidenceArray, correct }, { alpha, delta, method: 'ltt-hb' });
      return t.feasible ? t.value : null;
    });
    let peer;
    try {
      peer = await runPython(SKLEARN, [path.join(tmp, 'conf.f64'), path.join(tmp, 'y.u8'), String(alpha), String(delta)]);
    } catch (err) {
      peer = { skip: err.message.split('\n')[0] };
    }
    for (const [name, label] of ROWS) {
      const o = ours[name];
      const p = peer.skip ? undefined : peer[name];
      log(
        `  ${label.padEnd(34)} Airlock ${o.s.toFixed(3)} s${p ? `   ${name === 'ltt' ? 'NumPy/SciPy' : `scikit-learn ${peer.version}`} ${p.s.toFixed(3)} s` : ''}   (${show(o.value)}${p ? ` vs ${show(p.value)}` : ''})`,
      );
    }
    if (peer.skip) log(`  scikit-learn skipped: ${peer.skip}`);
    return { n, alpha, delta, ours, peer };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const ROWS = [
  ['ece', 'ECE, 15 bins'],
  ['brier', 'Brier score'],
  ['nll', 'NLL (log loss)'],
  ['auroc', 'AUROC of confidence'],
  ['isotonic', 'isotonic fit (PAV)'],
  ['platt', 'Platt fit'],
  ['ltt', 'LTT-HB threshold search'],
];

const PEER = {
  ece: '`calibration_curve` (15 uniform bins) + bin counts',
  brier: '`brier_score_loss`',
  nll: '`log_loss`',
  auroc: '`roc_auc_score`',
  isotonic: '`IsotonicRegression.fit` (value: blocks)',
  platt: '`LogisticRegression(penalty=None)` on logit(confidence); Airlock unsmoothed targets (value: slope, intercept)',
  ltt: 'the same procedure in NumPy/SciPy (no scikit-learn equivalent)',
};

const show = (v) =>
  Array.isArray(v)
    ? v.map((x) => Number(x).toPrecision(6)).join(', ')
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toPrecision(8)
      : String(v);
const fmt = (v) => Math.round(v).toLocaleString('en-US');

export function calibrationSummaryLine(c) {
  const total = (o) => ROWS.reduce((s, [k]) => s + o[k].s, 0);
  const metricsOnly = (o) => ['ece', 'brier', 'nll', 'auroc'].reduce((s, k) => s + o[k].s, 0);
  const peer = c.peer.skip ? 'scikit-learn skipped' : `scikit-learn ${metricsOnly(c.peer).toFixed(2)} s`;
  return `  calibration  : ${fmt(c.n)} predictions, ECE+Brier+NLL+AUROC Airlock ${metricsOnly(c.ours).toFixed(2)} s vs ${peer}; all seven steps ${total(c.ours).toFixed(2)} s${c.peer.skip ? '' : ` vs ${total(c.peer).toFixed(2)} s`}`;
}

/** The RESULTS.md section. */
export function calibrationSection(c) {
  const rows = ROWS.map(([name, label]) => {
    const o = c.ours[name];
    const p = c.peer.skip ? undefined : c.peer[name];
    return `| ${label} | ${o.s.toFixed(3)} | ${p ? p.s.toFixed(3) : 'skipped'} | ${p ? (p.s / o.s).toFixed(2) : ''} | ${PEER[name]} | ${show(o.value)}${p ? ` vs ${show(p.value)}` : ''} |`;
  });
  return [
    '## 7. Calibration and threshold search beside scikit-learn',
    '',
    `${fmt(c.n)} predictions of an overconfident model (confidence uniform on [0.5, 1), right with probability confidence²), ` +
      `the same float64 values on both sides (scikit-learn ${c.peer.version ?? ''} in a python3 child reads them from files). ` +
      `Best of 3 runs each. LTT: α = ${c.alpha}, δ = ${c.delta}, Hoeffding–Bentkus p-values, fixed sequence over at most 10,000 thresholds.`,
    '',
    '| Step | Airlock s | peer s | peer / Airlock | Peer | Values (Airlock vs peer) |',
    '|---|---:|---:|---:|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number.parseInt(process.env.BENCH_CALIBRATION_N ?? '', 10);
  console.log('Calibration beside scikit-learn');
  await benchCalibration({ n: Number.isFinite(n) && n > 0 ? n : 1_000_000 });
}
