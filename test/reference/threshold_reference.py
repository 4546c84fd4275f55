#!/usr/bin/env python3
"""Reference values for src/calibration/threshold.ts, computed independently with numpy and scipy.

How to run (from the repository root; needs numpy and scipy, e.g. Debian's python3-numpy python3-scipy):

    python3 test/reference/threshold_reference.py

It rewrites test/fixtures/threshold/{bounds,synthetic,edge_cases}.json, then formats them with the project's
biome (`npx biome format --write test/fixtures/threshold`, which `npm run lint` expects). The synthetic data come
from a seeded generator, so a re-run gives the same files.

What it implements (the TypeScript must agree):
  * Hoeffding-Bentkus p-value for H: risk > alpha with `errors` wrong out of `n` accepted
    (Angelopoulos, Bates, Candes, Jordan & Lei 2021, "Learn then Test", Hoeffding-Bentkus p-value;
    Bates, Angelopoulos, Lei, Malik & Jordan 2021, "Distribution-free, risk-controlling prediction sets",
    Hoeffding-Bentkus bound):
        p = min( exp(-n * h1(min(r, alpha), alpha)),  e * P(Binom(n, alpha) <= ceil(n r)) ),  r = errors/n,
        h1(a, b) = a log(a/b) + (1-a) log((1-a)/(1-b)).
    ceil(n r) is `errors` itself (an integer; n * (errors/n) can round past it).
  * Its upper confidence bound sup{R : p(R) > delta} by root finding (scipy.optimize.brentq).
  * Clopper-Pearson upper bound sup{b : P(Binom(n, b) <= k) >= delta} = beta.ppf(1 - delta, k + 1, n - k)
    (Geifman & El-Yaniv 2017, eq. (4)).
  * Learn then Test over thresholds t, accept = confidence >= t, n = number accepted: fixed-sequence testing
    from the highest threshold down, skipping thresholds that accept fewer than n_min records
    (n_min = min{n : p(0 errors, n) <= delta}), stopping at the first p > delta; the lowest rejected wins.
  * SGR (Geifman & El-Yaniv 2017, Algorithm 1): binary search over ascending confidences, ceil(log2 m)
    steps at delta / ceil(log2 m); the largest-coverage tested candidate with bound < alpha wins.
  * labelsNeeded when infeasible (threshold.ts, InfeasibleThreshold.labelsNeeded): over the thresholds more labels
    could reach (LTT: at or above the first failed test, or all when none was tested; SGR: those its search tried)
    with an observed error rate r < alpha, the fewest N' = ceil(n' N / n_t) for accepted counts n' > n_t passing with
    ceil(n' r) errors (doubling, then bisection); None when no such threshold; with no records, the count if none
    were wrong.
"""

import json
import math
import os
import subprocess

import numpy as np
from scipy.optimize import brentq
from scipy.stats import beta, binom

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "threshold")
DEFAULT_MAX_THRESHOLDS = 10_000
LABELS_NEEDED_CANDIDATES = 1_000
LABELS_SEARCH_LIMIT = 2**40


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------


def h1(a, b):
    if b == 1:
        return math.inf if a < 1 else 0.0  # the divergence from a certain error: the root finder's upper end
    first = 0.0 if a == 0 else a * math.log(a / b)
    second = 0.0 if a == 1 else (1 - a) * math.log((1 - a) / (1 - b))
    return first + second


def hb_p_value(errors, n, alpha):
    if n == 0:
        return 1.0
    r = errors / n
    hoeffding = math.exp(-n * h1(min(r, alpha), alpha))
    bentkus = math.e * float(binom.cdf(errors, n, alpha))
    return min(hoeffding, bentkus)


def hb_upper(errors, n, delta):
    if n == 0 or errors >= n:
        return 1.0
    r = errors / n
    return brentq(lambda R: hb_p_value(errors, n, R) - delta, r, 1.0, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def cp_upper(errors, n, delta):
    if n == 0 or errors >= n:
        return 1.0
    return float(beta.ppf(1 - delta, errors + 1, n - errors))


def n_min(alpha, delta):
    n = max(1, math.ceil(math.log(delta) / math.log(1 - alpha)) - 2)
    while hb_p_value(0, n, alpha) > delta:
        n += 1
    while n > 1 and hb_p_value(0, n - 1, alpha) <= delta:
        n -= 1
    return n


def sgr_steps(m):
    return max(1, (m - 1).bit_length()) if m >= 1 else 1


# --------------------------------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------------------------------


def counts(conf, wrong, t):
    accepted = conf >= t
    return int(accepted.sum()), int((accepted & wrong).sum())


def data_thresholds(conf, max_thresholds):
    distinct = np.unique(conf)[::-1]
    if len(distinct) <= max_thresholds:
        return [float(v) for v in distinct]
    desc = np.sort(conf)[::-1]
    n = len(conf)
    out = []
    for j in range(1, max_thresholds + 1):
        rank = -(-(j * n) // max_thresholds)
        v = float(desc[rank - 1])
        if not out or out[-1] != v:
            out.append(v)
    return out


def passes(method, errors, accepted, total, alpha, delta):
    if method == "ltt-hb":
        return hb_p_value(errors, accepted, alpha) <= delta
    return cp_upper(errors, accepted, delta / sgr_steps(total)) < alpha


def labels_needed_at(method, errors, accepted, total, start, alpha, delta):
    """Smallest N' = ceil(n' total / accepted) over n' > start passing with ceil(n' errors / accepted) errors."""

    def total_for(n):
        return -(-(n * total) // accepted)

    def pass_at(n):
        return passes(method, -(-(n * errors) // accepted), n, total_for(n), alpha, delta)

    low, high = start, start + 1
    while not pass_at(high):
        low = high
        high *= 2
        if high > LABELS_SEARCH_LIMIT:
            return math.inf
    while high - low > 1:
        mid = (low + high) // 2
        if pass_at(mid):
            high = mid
        else:
            low = mid
    return total_for(high)


def labels_needed(conf, wrong, reachable, method, alpha, delta):
    """Fewest N' over reachable thresholds with error rate < alpha; None when there is none."""
    grid = reachable
    if len(grid) > LABELS_NEEDED_CANDIDATES:
        grid = [grid[-(-((j + 1) * len(grid)) // LABELS_NEEDED_CANDIDATES) - 1] for j in range(LABELS_NEEDED_CANDIDATES)]
    best = math.inf
    for t in grid:
        a, k = counts(conf, wrong, t)
        if a == 0 or k / a >= alpha:
            continue
        best = min(best, labels_needed_at(method, k, a, len(conf), a, alpha, delta))
    return best if math.isfinite(best) else None


def no_records(method, alpha, delta):
    return infeasible(method, alpha, delta, 0, labels_needed_at(method, 0, 1, 1, 0, alpha, delta))


def feasible(method, alpha, delta, n, t, a, k, bound):
    return {
        "method": method,
        "alpha": alpha,
        "delta": delta,
        "feasible": True,
        "value": t,
        "coverage": a / n,
        "error": k / a,
        "error_upper_bound": bound,
        "accepted": a,
        "n": n,
    }


def infeasible(method, alpha, delta, n, needed):
    return {
        "method": method,
        "alpha": alpha,
        "delta": delta,
        "feasible": False,
        "value": None,
        "coverage": None,
        "error": None,
        "error_upper_bound": None,
        "accepted": 0,
        "n": n,
        "labelsNeeded": needed,
    }


def learn_then_test(conf, wrong, alpha, delta, grid=None, max_thresholds=DEFAULT_MAX_THRESHOLDS):
    thresholds = sorted(set(grid), reverse=True) if grid is not None else data_thresholds(conf, max_thresholds)
    smallest = n_min(alpha, delta)
    chosen = None
    failed_at = None
    for t in thresholds:
        a, k = counts(conf, wrong, t)
        if a < smallest:
            continue
        if hb_p_value(k, a, alpha) <= delta:
            chosen = (t, a, k)
        else:
            failed_at = t
            break
    n = len(conf)
    if chosen is not None:
        t, a, k = chosen
        return feasible("ltt-hb", alpha, delta, n, t, a, k, hb_upper(k, a, delta))
    if n == 0:
        return no_records("ltt-hb", alpha, delta)
    reachable = thresholds if failed_at is None else [t for t in thresholds if t >= failed_at]
    return infeasible("ltt-hb", alpha, delta, n, labels_needed(conf, wrong, reachable, "ltt-hb", alpha, delta))


def selection_with_guaranteed_risk(conf, wrong, alpha, delta):
    m = len(conf)
    if m == 0:
        return no_records("sgr-cp", alpha, delta)
    ascending = np.sort(conf)
    steps = sgr_steps(m)
    z_min, z_max = 1, m
    best = None
    tried = []
    for _ in range(steps):
        z = -(-(z_min + z_max) // 2)
        theta = float(ascending[z - 1])
        tried.append(theta)
        a, k = counts(conf, wrong, theta)
        bound = cp_upper(k, a, delta / steps)
        if bound < alpha:
            z_max = z
            best = (theta, a, k, bound)
        else:
            z_min = z
    if best is not None:
        theta, a, k, bound = best
        return feasible("sgr-cp", alpha, delta, m, theta, a, k, bound)
    return infeasible("sgr-cp", alpha, delta, m, labels_needed(conf, wrong, tried, "sgr-cp", alpha, delta))


def report(conf, correct, options, segment=None):
    conf = np.asarray(conf, dtype=float)
    wrong = ~np.asarray(correct, dtype=bool)

    def one(c, w):
        if options.get("method", "ltt-hb") == "sgr-cp":
            return selection_with_guaranteed_risk(c, w, options["alpha"], options["delta"])
        return learn_then_test(c, w, options["alpha"], options["delta"], options.get("grid"), options.get("maxThresholds", DEFAULT_MAX_THRESHOLDS))

    overall = one(conf, wrong)
    if segment is not None:
        seg = np.asarray(segment)
        overall["segments"] = {name: one(conf[seg == name], wrong[seg == name]) for name in sorted(set(segment))}
    return overall


# --------------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------------


def synthetic_predictions(seed=20240611, n=5000):
    """Three segments, confidence ~ Beta, correct ~ Bernoulli(g(confidence)) with a miscalibrated, increasing g."""
    rng = np.random.default_rng(seed)
    names = np.array(["chat", "email", "phone"])
    segment = rng.choice(names, size=n, p=[0.5, 0.35, 0.15])
    conf = np.empty(n)
    accuracy = np.empty(n)
    for name, (a, b), g in [
        ("chat", (5.0, 1.5), lambda c: c**1.2),  # mildly overconfident
        ("email", (9.0, 1.2), lambda c: c**1.8),  # overconfident, most mass near 1
        ("phone", (3.0, 2.0), lambda c: 0.3 + 0.68 * c),  # underconfident at the bottom
    ]:
        mask = segment == name
        c = rng.beta(a, b, size=mask.sum())
        conf[mask] = c
        accuracy[mask] = g(c)
    correct = rng.random(n) < accuracy
    conf = np.round(conf, 4)  # scores as a model would print them: ties happen
    return [float(c) for c in conf], [bool(x) for x in correct], [str(s) for s in segment]


def bounds_table():
    rows = []
    for n in [1, 2, 5, 10, 37, 100, 298, 299, 300, 1000, 4096, 10000, 123457, 1000000]:
        ks = sorted({k for k in [0, 1, 2, n // 200, n // 100, n // 20, n // 2, n - 1, n] if 0 <= k <= n})
        for k in ks:
            row = {"errors": k, "n": n, "hb_p_value": {}, "hb_upper": {}, "cp_upper": {}}
            for alpha in [0.001, 0.01, 0.05, 0.2]:
                row["hb_p_value"][repr(alpha)] = hb_p_value(k, n, alpha)
            for delta in [0.05, 0.1 / 13, 0.001]:
                row["hb_upper"][repr(delta)] = hb_upper(k, n, delta)
                row["cp_upper"][repr(delta)] = cp_upper(k, n, delta)
            rows.append(row)
    return {
        "alphas": [0.001, 0.01, 0.05, 0.2],
        "deltas": [0.05, 0.1 / 13, 0.001],
        "n_min": [{"alpha": a, "delta": d, "n_min": n_min(a, d)} for a in [0.001, 0.01, 0.05, 0.2] for d in [0.05, 0.1 / 13, 0.001]],
        "sgr_steps": [{"m": m, "steps": sgr_steps(m)} for m in [1, 2, 3, 4, 5, 8, 9, 1000, 1024, 1025, 5000]],
        "rows": rows,
    }


def synthetic_fixture():
    conf, correct, segment = synthetic_predictions()
    c = np.asarray(conf)
    w = ~np.asarray(correct)
    cases = []
    for options in [
        {"alpha": 0.05, "delta": 0.05},
        {"alpha": 0.05, "delta": 0.05, "method": "sgr-cp"},
        {"alpha": 0.02, "delta": 0.1},
        {"alpha": 0.02, "delta": 0.1, "method": "sgr-cp"},
        {"alpha": 0.01, "delta": 0.05},
        {"alpha": 0.01, "delta": 0.05, "method": "sgr-cp"},
        {"alpha": 0.05, "delta": 0.05, "maxThresholds": 100},
        {"alpha": 0.05, "delta": 0.05, "grid": [round(0.5 + 0.005 * i, 3) for i in range(100)]},
    ]:
        cases.append({"options": options, "expected": report(conf, correct, options, segment)})
    # Per-threshold statistics at 200 thresholds spread over the distinct values.
    distinct = np.unique(c)[::-1]
    picks = [float(distinct[int(i)]) for i in np.linspace(0, len(distinct) - 1, 200)]
    per_threshold = []
    for t in picks:
        a, k = counts(c, w, t)
        per_threshold.append(
            {
                "threshold": t,
                "accepted": a,
                "errors": k,
                "hb_p_value_alpha_0.05": hb_p_value(k, a, 0.05),
                "hb_upper_delta_0.05": hb_upper(k, a, 0.05),
                "cp_upper_delta_0.05": cp_upper(k, a, 0.05),
            }
        )
    return {
        "description": "5,000 seeded synthetic predictions in three segments; see synthetic_predictions()",
        "confidence": conf,
        "correct": correct,
        "segment": segment,
        "cases": cases,
        "per_threshold": per_threshold,
    }


def edge_cases():
    rng = np.random.default_rng(7)
    cases = []

    def add(name, conf, correct, options, segment=None):
        conf = [float(x) for x in conf]
        correct = [bool(x) for x in correct]
        case = {"name": name, "confidence": conf, "correct": correct, "options": options}
        if segment is not None:
            case["segment"] = segment
        case["expected"] = report(conf, correct, options, segment)
        cases.append(case)

    for method in ["ltt-hb", "sgr-cp"]:
        m = {"method": method}
        spread50 = np.round(rng.uniform(0.5, 1, 50), 4)
        add("all correct, 50 records", spread50, [True] * 50, {"alpha": 0.01, "delta": 0.05, **m})
        spread400 = np.round(rng.uniform(0.5, 1, 400), 4)
        add("all correct, 400 records", spread400, [True] * 400, {"alpha": 0.01, "delta": 0.05, **m})
        add("all wrong, 500 records", np.round(rng.uniform(0, 1, 500), 4), [False] * 500, {"alpha": 0.05, "delta": 0.05, **m})
        add("no records", [], [], {"alpha": 0.05, "delta": 0.05, **m})
        add("one record", [0.99], [True], {"alpha": 0.05, "delta": 0.05, **m})
        add("one confidence value for all, 3 errors in 1000", [0.9] * 1000, [i >= 3 for i in range(1000)], {"alpha": 0.02, "delta": 0.05, **m})
        # Errors only among the most confident records: fixed-sequence testing stops at the top.
        top_wrong = np.linspace(1, 0.5, 1010)
        add("errors at the top", top_wrong, [i >= 10 for i in range(1010)], {"alpha": 0.02, "delta": 0.05, **m})
        # A good ranker: error probability falls with confidence; a partial-coverage threshold exists.
        c = np.round(rng.uniform(0, 1, 2000), 3)
        correct = rng.random(2000) > 0.25 * (1 - c) ** 2
        add("partial coverage, 2000 records", c, correct, {"alpha": 0.02, "delta": 0.05, **m})
        # Raw scores (logit margins), not probabilities: any finite number works.
        logits = np.round(rng.normal(2, 2, 1500), 3)
        correct = rng.random(1500) < 1 / (1 + np.exp(-1.5 * logits))
        add("raw logit scores", logits, correct, {"alpha": 0.05, "delta": 0.05, **m})
        # Small and mixed: infeasible, labelsNeeded from the observed error rate.
        c = np.round(rng.uniform(0.6, 1, 120), 3)
        correct = rng.random(120) > 0.02
        add("120 records, 2% errors", c, correct, {"alpha": 0.05, "delta": 0.05, **m})
        # Segments, one of them tiny.
        c = np.round(rng.uniform(0.5, 1, 900), 3)
        seg = ["big"] * 800 + ["tiny"] * 100
        correct = rng.random(900) > 0.1 * (1 - c)
        add("segments, one tiny", c, correct, {"alpha": 0.03, "delta": 0.1, **m}, seg)
    return {"cases": cases}


def write(name, data):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(data, f, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    write("bounds.json", bounds_table())
    write("edge_cases.json", edge_cases())
    write("synthetic.json", synthetic_fixture())
    print("wrote", os.path.normpath(OUT))
    try:
        subprocess.run(["npx", "biome", "format", "--write", os.path.normpath(OUT)], check=True, cwd=ROOT)
    except (OSError, subprocess.CalledProcessError) as error:
        print("could not format with biome; run `npx biome format --write test/fixtures/threshold`:", error)
