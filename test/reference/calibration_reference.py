#!/usr/bin/python3
"""Reference values for src/calibration/metrics.ts and src/calibration/calibrators.ts.

Run with Debian's Python, which is where scikit-learn is installed on this project's machines:

    apt-get install -y python3-sklearn python3-scipy python3-numpy
    /usr/bin/python3 test/reference/calibration_reference.py

(Written against scikit-learn 1.2.1, SciPy 1.10.1, NumPy 1.24.2 — the versions in Debian 12.)
It writes test/fixtures/calibration/synthetic.json and test/fixtures/calibration/edge-cases.json:
the inputs and, beside them, the values the TypeScript must reproduce. The output is deterministic.

Where a library has the quantity, the library computes it (sklearn's brier_score_loss, log_loss,
roc_auc_score, accuracy_score, calibration_curve, IsotonicRegression, LogisticRegression, and
sklearn.calibration._sigmoid_calibration as a cross-check of smoothed Platt). Where none does (ECE as
defined, equal-mass bins, the debiased L2 error, Murphy's decomposition, temperature scaling, histogram
binning, the seeded bootstrap), this script implements the paper's formula itself in NumPy — written
independently of the TypeScript, vectorised where the TypeScript loops — and says which equation.

Conventions shared with the TypeScript (see the doc comments there):
  * bins are (lo, hi]; confidence 0 falls in the first bin;
  * equal-mass bins: sort the confidences, cut the sorted list into `bins` runs the way
    np.array_split does (the first n % bins runs get one extra row); each run's last value is an
    upper edge; a row belongs to the first edge >= its confidence, so ties never straddle two bins
    (a run of ties goes to the lower bin) and duplicate edges (empty bins) are dropped;
  * probabilities are clipped to [1e-15, 1 - 1e-15] for NLL (sklearn's log_loss eps, passed explicitly:
    1.2 changed the default to float64 eps) and for the log/logit of a probability in the calibrators.
"""

import json
import math
import os

# One BLAS thread: multi-threaded reductions may differ in the last bit from run to run.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')

import numpy as np  # noqa: E402
from scipy.optimize import minimize, minimize_scalar  # noqa: E402
from scipy.special import expit, log_expit, logsumexp, softmax  # noqa: E402
from sklearn.calibration import _sigmoid_calibration, calibration_curve  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score  # noqa: E402

EPS = 1e-15
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'calibration')


# ---------------------------------------------------------------------------------------------- bins


def equal_width_bin(confidence, bins):
    """Index of the (lo, hi] bin among `bins` equal-width bins; 0 goes in the first bin."""
    upper = np.arange(1, bins + 1) / bins
    return np.searchsorted(upper, confidence, side='left')


def equal_mass_edges(confidence, bins):
    """Upper edges of the equal-mass bins (module docstring)."""
    s = np.sort(confidence, kind='stable')
    ends = np.cumsum([len(part) for part in np.array_split(np.arange(len(s)), bins)])
    return np.unique([s[e - 1] for e in ends if e > 0])


def layout(confidence, binning, bins):
    """(bin index per row, lo per bin, hi per bin)."""
    if binning == 'equal-width':
        hi = np.arange(1, bins + 1) / bins
        lo = np.arange(0, bins) / bins
        return equal_width_bin(confidence, bins), lo, hi
    edges = equal_mass_edges(confidence, bins) if binning == 'equal-mass' else np.unique(confidence)
    lo = np.concatenate([[0.0], edges[:-1]])
    return np.searchsorted(edges, confidence, side='left'), lo, edges


def reliability(confidence, correct, binning='equal-width', bins=15, weight=None):
    w = np.ones_like(confidence) if weight is None else weight
    y = correct.astype(float)
    idx, lo, hi = layout(confidence, binning, bins)
    nb = len(hi)
    count = np.bincount(idx, minlength=nb)
    sw = np.bincount(idx, weights=w, minlength=nb)
    swc = np.bincount(idx, weights=w * confidence, minlength=nb)
    swy = np.bincount(idx, weights=w * y, minlength=nb)
    out = []
    for b in range(nb):
        if count[b] == 0:
            out.append(dict(lo=lo[b], hi=hi[b], count=0, weight=0.0, meanConfidence=None, accuracy=None, gap=None))
        else:
            conf, acc = swc[b] / sw[b], swy[b] / sw[b]
            out.append(dict(lo=lo[b], hi=hi[b], count=int(count[b]), weight=sw[b], meanConfidence=conf, accuracy=acc, gap=conf - acc))
    return out


def ece(confidence, correct, binning='equal-width', bins=15, weight=None):
    """Guo et al. 2017, eq. 3: sum_m |B_m|/n * |acc(B_m) - conf(B_m)| (weights replace counts)."""
    rel = [b for b in reliability(confidence, correct, binning, bins, weight) if b['count'] > 0]
    total = sum(b['weight'] for b in rel)
    return sum(b['weight'] / total * abs(b['gap']) for b in rel)


def mce(confidence, correct, binning='equal-width', bins=15, weight=None):
    """Guo et al. 2017, eq. 5: max_m |acc(B_m) - conf(B_m)| over non-empty bins."""
    return max(abs(b['gap']) for b in reliability(confidence, correct, binning, bins, weight) if b['count'] > 0)


def debiased_l2(confidence, correct, bins=15):
    """Kumar, Liang & Ma 2019, section 5, the debiased estimator (after Broecker 2012, Ferro & Fricker 2012):
    E^2 = sum_j (n_j/n) [ (mean s - mean y)^2 - mean y (1 - mean y) / (n_j - 1) ]; bins with n_j < 2 add 0
    (as their library does); the root is sqrt(max(E^2, 0))."""
    y = correct.astype(float)
    idx, _, hi = layout(confidence, 'equal-mass', bins)
    n = len(confidence)
    total = 0.0
    for b in range(len(hi)):
        m = idx == b
        nj = int(m.sum())
        if nj < 2:
            continue
        ybar = y[m].mean()
        total += nj / n * ((confidence[m].mean() - ybar) ** 2 - ybar * (1 - ybar) / (nj - 1))
    return dict(squared=total, root=math.sqrt(max(total, 0.0)))


def murphy(confidence, correct, binning='equal-width', bins=15, weight=None):
    """Murphy 1973 (BS = REL - RES + UNC over forecast groups) with the two within-bin terms of
    Stephenson, Coelho & Jolliffe 2008 (BS = REL - RES + UNC + WBV - WBC) that make it exact
    when a bin holds different forecasts."""
    w = np.ones_like(confidence) if weight is None else weight
    y = correct.astype(float)
    idx, _, hi = layout(confidence, binning, bins)
    nb = len(hi)
    W = w.sum()
    sw = np.bincount(idx, weights=w, minlength=nb)
    occupied = sw > 0
    fbar = np.zeros(nb)
    obar = np.zeros(nb)
    fbar[occupied] = np.bincount(idx, weights=w * confidence, minlength=nb)[occupied] / sw[occupied]
    obar[occupied] = np.bincount(idx, weights=w * y, minlength=nb)[occupied] / sw[occupied]
    o = (w * y).sum() / W
    df = confidence - fbar[idx]
    return dict(
        brier=float((w * (confidence - y) ** 2).sum() / W),
        reliability=float((sw * (fbar - obar) ** 2).sum() / W),
        resolution=float((sw * (obar - o) ** 2).sum() / W),
        uncertainty=float(o * (1 - o)),
        withinBinVariance=float((w * df**2).sum() / W),
        withinBinCovariance=float(2 * (w * df * (y - obar[idx])).sum() / W),
    )


def multiclass_brier(probs, labels, weight=None):
    """Brier 1950: mean over rows of sum_k (p_k - y_k)^2, here as the sum over classes of sklearn's
    one-vs-rest brier_score_loss — the same number, since the mean of a sum is the sum of the means."""
    return sum(brier_score_loss(labels == k, probs[:, k], sample_weight=weight) for k in range(probs.shape[1]))


# ------------------------------------------------------------------------------------------ bootstrap


def mulberry32(seed):
    """Tommy Ettinger's mulberry32 with 32-bit state, as seededRandom() in metrics.ts."""
    state = seed & 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & 0xFFFFFFFF

    def next_float():
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return next_float


def bootstrap(n, statistic, resamples, level, seed):
    """Percentile bootstrap (Efron & Tibshirani 1993, ch. 13): resample n rows with replacement
    (row = floor(u * n) for u from mulberry32), R times; quantiles (1-level)/2 and 1-(1-level)/2 of the R
    statistics with linear interpolation (NumPy's default, Hyndman & Fan type 7)."""
    rng = mulberry32(seed)
    stats = []
    for _ in range(resamples):
        rows = np.array([int(rng() * n) for _ in range(n)])
        stats.append(statistic(rows))
    alpha = 1 - level
    lower, upper = np.quantile(np.array(stats), [alpha / 2, 1 - alpha / 2])
    return dict(estimate=statistic(np.arange(n)), lower=float(lower), upper=float(upper), level=level, resamples=resamples, seed=seed)


# ----------------------------------------------------------------------------------------- calibrators


def clipped_logit(p):
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def temperature_nll(log_t, z, labels):
    """Guo et al. 2017, section 4.2: NLL of softmax(z / T), as a function of log T."""
    zt = z / math.exp(log_t)
    return float(np.mean(logsumexp(zt, axis=1) - zt[np.arange(len(labels)), labels]))


def fit_temperature(z, labels):
    """T minimising the NLL over [1e-3, 1e4], searched on log T with scipy's bounded Brent method."""
    res = minimize_scalar(
        temperature_nll, bounds=(math.log(1e-3), math.log(1e4)), args=(z, labels), method='bounded', options=dict(xatol=1e-12, maxiter=2000)
    )
    t = math.exp(res.x)
    calibrated = softmax(z / t, axis=1)
    return dict(temperature=t, nll=res.fun, nllAtOne=temperature_nll(0.0, z, labels), calibratedConfidence=calibrated.max(axis=1).tolist())


def platt_objective(params, s, t):
    """Platt 1999, section 2.2: cross-entropy of sigmoid(a s + b) against targets t (mean over rows).
    Platt writes 1/(1+exp(A f + B)); here a = -A, b = -B."""
    z = params[0] * s + params[1]
    return float(np.mean(-(t * log_expit(z) + (1 - t) * log_expit(-z))))


def platt_gradient(params, s, t):
    r = expit(params[0] * s + params[1]) - t
    return np.array([np.mean(r * s), np.mean(r)])


def platt_hessian(params, s, t):
    p = expit(params[0] * s + params[1])
    v = p * (1 - p)
    return np.array([[np.mean(v * s * s), np.mean(v * s)], [np.mean(v * s), np.mean(v)]])


def minimise_platt(s, t):
    """Newton-type trust-region minimisation of platt_objective to machine precision."""
    res = minimize(platt_objective, np.zeros(2), args=(s, t), jac=platt_gradient, hess=platt_hessian, method='trust-exact', options=dict(gtol=1e-13))
    assert np.max(np.abs(platt_gradient(res.x, s, t))) < 1e-9, res
    return res.x


def fit_platt(confidence, correct):
    """Platt scaling on the clipped logit of the confidence."""
    s = clipped_logit(confidence)
    y = correct.astype(float)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    # Platt 1999, section 2.2: targets (N+ + 1)/(N+ + 2) for positives and 1/(N- + 2) for negatives.
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    a, b = minimise_platt(s, t)
    # Cross-check against scikit-learn's own smoothed Platt (CalibratedClassifierCV(method='sigmoid')),
    # which stops earlier (BFGS, gtol 1e-5 on the summed loss), hence the looser tolerance.
    A, B = _sigmoid_calibration(s, y)
    assert abs(-A - a) < 1e-3 * max(1, abs(a)) and abs(-B - b) < 1e-3 * max(1, abs(b)), (a, b, A, B)
    out = dict(smoothed=dict(slope=float(a), intercept=float(b)))
    if 0 < n_pos < len(y):
        # Unsmoothed: plain maximum-likelihood logistic regression (sklearn, no penalty), checked against
        # the same minimiser on 0/1 targets.
        lr = LogisticRegression(penalty=None, solver='newton-cholesky', tol=1e-12, max_iter=10000).fit(s.reshape(-1, 1), y)
        slope, intercept = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        a0, b0 = minimise_platt(s, y)
        assert abs(a0 - slope) < 1e-7 and abs(b0 - intercept) < 1e-7, (a0, b0, slope, intercept)
        out['unsmoothed'] = dict(slope=slope, intercept=intercept)
    return out


def fit_histogram(confidence, correct, binning, bins):
    """Zadrozny & Elkan 2001, section 3: a bin's calibrated value is the mean outcome of the fitting rows
    in it. Empty bins are dropped; a score maps to the first kept upper edge >= it (else the last bin)."""
    y = correct.astype(float)
    idx, _, hi = layout(confidence, binning, bins)
    count = np.bincount(idx, minlength=len(hi))
    mean = np.bincount(idx, weights=y, minlength=len(hi))
    keep = count > 0
    return dict(upperEdges=hi[keep].tolist(), values=(mean[keep] / count[keep]).tolist(), counts=count[keep].tolist())


def apply_histogram(model, scores):
    edges = np.array(model['upperEdges'])
    idx = np.minimum(np.searchsorted(edges, scores, side='left'), len(edges) - 1)
    return np.array(model['values'])[idx]


def isotonic(confidence, correct, probes):
    iso = IsotonicRegression(out_of_bounds='clip', increasing=True).fit(confidence, correct.astype(float))
    return dict(x=iso.X_thresholds_.tolist(), y=iso.y_thresholds_.tolist(), probes=probes.tolist(), predictions=iso.predict(probes).tolist())


# ------------------------------------------------------------------------------------------- fixtures


def top_label(probs, labels):
    predicted = probs.argmax(axis=1)  # ties: the lowest class index
    return probs.max(axis=1), predicted, predicted == labels


def metrics_for(confidence, correct, weight=None, equal_mass_bins=15):
    assert len(np.unique(correct)) == 2, 'calibration_curve needs both outcomes'
    rel = reliability(confidence, correct, weight=weight)
    if weight is None:
        # The equal-width bins are exactly sklearn's calibration_curve(strategy='uniform') bins.
        prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=15, strategy='uniform')
        occupied = [b for b in rel if b['count'] > 0]
        assert np.allclose(prob_true, [b['accuracy'] for b in occupied], rtol=0, atol=1e-12)
        assert np.allclose(prob_pred, [b['meanConfidence'] for b in occupied], rtol=0, atol=1e-12)
    return dict(
        accuracy=accuracy_score(np.ones_like(correct), correct, sample_weight=weight),
        ece=ece(confidence, correct, weight=weight),
        eceEqualMass=ece(confidence, correct, 'equal-mass', equal_mass_bins, weight),
        mce=mce(confidence, correct, weight=weight),
        mceEqualMass=mce(confidence, correct, 'equal-mass', equal_mass_bins, weight),
        brier=brier_score_loss(correct, confidence, sample_weight=weight),
        binaryNll=log_loss(correct, confidence, eps=EPS, sample_weight=weight),
        auroc=roc_auc_score(correct, confidence, sample_weight=weight),
        reliability=rel,
        reliabilityEqualMass=reliability(confidence, correct, 'equal-mass', equal_mass_bins, weight),
        murphy=murphy(confidence, correct, weight=weight),
        murphyDistinct=murphy(confidence, correct, 'distinct', weight=weight),
    )


def multiclass_metrics_for(probs, labels, weight=None):
    return dict(
        brier=multiclass_brier(probs, labels, weight),
        nll=log_loss(labels, probs, eps=EPS, labels=np.arange(probs.shape[1]), sample_weight=weight),
    )


def calibrators_for(confidence, correct, probes, histogram_bins):
    return dict(
        platt=fit_platt(confidence, correct),
        isotonic=isotonic(confidence, correct, probes),
        histogramEqualMass=dict(bins=histogram_bins, **fit_histogram(confidence, correct, 'equal-mass', histogram_bins)),
        histogramEqualWidth=dict(bins=15, **fit_histogram(confidence, correct, 'equal-width', 15)),
    )


def with_predictions(histograms, probes):
    for h in histograms:
        h['predictions'] = apply_histogram(h, probes).tolist()


def synthetic():
    """2,000 rows, 4 classes. Labels are drawn from softmax(1.5 g) with g ~ N(0, 1); the model reports
    logits 2.5 times too large (rounded to 4 decimals), so it is overconfident and temperature scaling
    should find T near 2.5."""
    rng = np.random.default_rng(20260401)
    n, k = 2000, 4
    g = rng.normal(size=(n, k))
    truth = softmax(1.5 * g, axis=1)
    labels = (rng.random(n)[:, None] > np.cumsum(truth, axis=1)).sum(axis=1)
    labels = np.minimum(labels, k - 1)
    logits = np.round(2.5 * 1.5 * g, 4)
    probs = softmax(logits, axis=1)
    weight = np.round(rng.uniform(0.5, 2.0, n), 3)
    confidence, predicted, correct = top_label(probs, labels)
    probes = np.round(np.linspace(0, 1, 101), 10)
    cal = calibrators_for(confidence, correct, probes, 10)
    with_predictions([cal['histogramEqualMass'], cal['histogramEqualWidth']], probes)
    cal['temperatureLogits'] = fit_temperature(logits, labels)
    cal['temperatureProbs'] = fit_temperature(np.log(np.clip(probs, EPS, 1)), labels)
    boot = dict(resamples=200, level=0.95, seed=7)
    return dict(
        description=synthetic.__doc__.strip(),
        inputs=dict(logits=logits.tolist(), probs=probs.tolist(), labels=labels.tolist(), weight=weight.tolist(), confidence=confidence.tolist(), predicted=predicted.tolist(), correct=correct.tolist()),
        metrics=dict(
            unweighted=metrics_for(confidence, correct),
            weighted=metrics_for(confidence, correct, weight),
            debiased=debiased_l2(confidence, correct, 15),
            multiclass=multiclass_metrics_for(probs, labels),
            multiclassWeighted=multiclass_metrics_for(probs, labels, weight),
            bootstrap=dict(
                options=boot,
                ece=bootstrap(n, lambda r: ece(confidence[r], correct[r]), **boot),
                brier=bootstrap(n, lambda r: brier_score_loss(correct[r], confidence[r]), **boot),
                eceWeighted=bootstrap(n, lambda r: ece(confidence[r], correct[r], weight=weight[r]), **boot),
            ),
        ),
        calibrators=cal,
        library=library_versions(),
    )


def edge_cases():
    """Ten hand-checkable rows. Top-label: confidence 0 and 1, three ties on the bin edge 0.4 = 6/15 (one
    right, two wrong), edges 0.2 = 3/15 and 0.8 = 12/15. Multi-class (3 classes): a true class given
    probability 0 (NLL clipping), argmax ties (the lowest index wins)."""
    confidence = np.array([0.0, 0.2, 0.4, 0.4, 0.4, 0.55, 0.8, 0.8, 0.95, 1.0])
    correct = np.array([False, False, True, False, False, True, True, False, True, True])
    probs = np.array(
        [
            [1.0, 0.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.5, 0.3, 0.2],
            [0.5, 0.5, 0.0],
            [0.2, 0.4, 0.4],
            [0.25, 0.25, 0.5],
            [0.1, 0.1, 0.8],
            [0.6, 0.4, 0.0],
            [0.4, 0.4, 0.2],
            [0.05, 0.9, 0.05],
        ]
    )
    labels = np.array([0, 0, 0, 1, 2, 2, 2, 0, 1, 1])
    mc_conf, mc_pred, mc_correct = top_label(probs, labels)
    probes = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 1.0])
    cal = calibrators_for(confidence, correct, probes, 5)
    with_predictions([cal['histogramEqualMass'], cal['histogramEqualWidth']], probes)
    cal['temperatureProbs'] = fit_temperature(np.log(np.clip(probs, EPS, 1)), labels)
    return dict(
        description=edge_cases.__doc__.strip(),
        inputs=dict(confidence=confidence.tolist(), correct=correct.tolist(), probs=probs.tolist(), labels=labels.tolist()),
        metrics=dict(
            unweighted=metrics_for(confidence, correct, equal_mass_bins=5),
            debiased=debiased_l2(confidence, correct, 5),
            multiclass=multiclass_metrics_for(probs, labels),
            topLabel=dict(confidence=mc_conf.tolist(), predicted=mc_pred.tolist(), correct=mc_correct.tolist()),
        ),
        calibrators=cal,
        library=library_versions(),
    )


def library_versions():
    import scipy
    import sklearn

    return dict(numpy=np.__version__, scipy=scipy.__version__, sklearn=sklearn.__version__)


def plain(value):
    """NumPy scalars and arrays to JSON-ready Python values (floats keep all 17 significant digits)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        assert math.isfinite(value), value
        return float(value)
    return value


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for name, build in [('synthetic', synthetic), ('edge-cases', edge_cases)]:
        path = os.path.join(OUT_DIR, name + '.json')
        with open(path, 'w') as f:
            json.dump(plain(build()), f, separators=(',', ':'))
            f.write('\n')
        print('wrote', os.path.relpath(path))


if __name__ == '__main__':
    main()
