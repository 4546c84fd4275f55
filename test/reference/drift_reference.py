#!/usr/bin/python3
"""Reference values for src/drift/statistics.ts (and the movies check in test/drift.test.ts).

Run with Debian's Python, where SciPy and NumPy come from apt:

    apt-get install -y python3-scipy python3-numpy
    /usr/bin/python3 test/reference/drift_reference.py

(Written against SciPy 1.10.1 and NumPy 1.24.2, the versions in Debian 12.) It writes
test/fixtures/drift/reference.json; the output is deterministic.

Samples are not stored: both sides generate them from a seed with the same arithmetic-only generator
(mulberry32 uniforms; an Irwin-Hall "normal" = sum of 12 uniforms - 6; rounding as floor(x*10 + 0.5)/10),
so Python and TypeScript see bit-identical values without committing megabytes of numbers. The
generator is mirrored in src/drift/random.ts.

Every expected value is the library's: scipy.stats.ks_2samp, scipy.stats.kstwo.sf, scipy.special.smirnov,
scipy.stats.wasserstein_distance (divided by numpy.std for the normalised distance), scipy.stats.chisquare,
scipy.stats.chi2_contingency, scipy.spatial.distance.jensenshannon(base=2), scipy.stats.norm.sf for the
two-proportion z-test, numpy.quantile. Where no library has the quantity (PSI as Evidently defines it,
Benjamini-Hochberg: SciPy 1.10 predates false_discovery_control), NumPy computes the formula, written
independently of the TypeScript.
"""

import json
import math
import os

import numpy as np
from scipy import special, stats
from scipy.spatial import distance

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'fixtures', 'drift', 'reference.json')
MOVIES = os.path.join(HERE, '..', '..', 'node_modules', 'vega-datasets', 'data', 'movies.json')
M32 = 0xFFFFFFFF


def mulberry32(seed):
    a = seed & M32

    def imul(x, y):
        return (x * y) & M32

    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & M32
        t = imul(a ^ (a >> 15), 1 | a)
        t = ((t + imul(t ^ (t >> 7), 61 | t)) & M32) ^ t
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return nxt


def normals(seed, n, shift=0.0, scale=1.0, ties=False):
    r = mulberry32(seed)
    out = []
    for _ in range(n):
        s = 0.0
        for _ in range(12):
            s += r()
        v = (s - 6) * scale + shift
        if ties:
            v = math.floor(v * 10 + 0.5) / 10
        out.append(v)
    return np.array(out, dtype=np.float64)


def sample_pair(c):
    x = normals(c['seed'], c['n1'], ties=c.get('ties', False))
    y = normals(c['seed'] + 1000, c['n2'], c.get('shift', 0.0), c.get('scale', 1.0), ties=c.get('ties', False))
    return x, y


def f(x):
    return float(x)


def sequential_sum(x):
    """Left-to-right sum, as the TypeScript check adds (numpy.sum adds pairwise)."""
    s = 0.0
    for v in x.tolist():
        s += v
    return s


# ---------------------------------------------------------------------------------- KS

KS_CASES = [
    dict(seed=1, n1=50, n2=50),
    dict(seed=2, n1=80, n2=120, shift=0.3),
    dict(seed=3, n1=37, n2=53, ties=True),
    dict(seed=4, n1=300, n2=1000, shift=0.1),
    dict(seed=5, n1=1000, n2=1000, shift=0.15),
    dict(seed=6, n1=10, n2=7, shift=1.0),
    dict(seed=7, n1=2000, n2=3000, shift=0.05, ties=True),
    dict(seed=8, n1=20000, n2=15000, shift=0.02),
    dict(seed=9, n1=12000, n2=200, shift=0.3),
    dict(seed=10, n1=11000, n2=100, shift=0.2),
    dict(seed=11, n1=100, n2=60, shift=0.4, method='asymp'),
    dict(seed=12, n1=500, n2=400, shift=1.0),
    dict(seed=13, n1=700, n2=700, scale=1.5),
    dict(seed=14, n1=999, n2=1000, shift=0.0),
    dict(seed=15, n1=30000, n2=30000, shift=0.0),
    dict(seed=16, n1=25000, n2=40000, shift=0.05),
]


def ks_cases():
    out = []
    for c in KS_CASES:
        x, y = sample_pair(c)
        r = stats.ks_2samp(x, y, method=c.get('method', 'auto'))
        w = stats.wasserstein_distance(x, y)
        out.append({**c, 'statistic': f(r.statistic), 'p_value': f(r.pvalue), 'wasserstein': f(w),
                    'wasserstein_norm': f(w / np.std(x)), 'sum_x': sequential_sum(x), 'std_x': f(np.std(x))})
    return out


def kstwo_cases():
    out = []
    for n in [3, 10, 50, 140, 141, 500, 5000, 100000, 250000]:
        xs = set()
        for z in [0.3, 0.5, 0.7, 0.87, 1.0, 1.2, 1.5, 1.9, 2.5, 3.5]:
            x = z / math.sqrt(n)
            if 0 < x < 1:
                xs.add(x)
        xs.update([0.9 / n, 0.6, 1 - 0.5 / n, 0.75 / n])
        for x in sorted(xs):
            if 0 < x < 1:
                out.append({'n': n, 'x': x, 'sf': f(stats.kstwo.sf(x, n))})
    return out


def smirnov_cases():
    out = []
    for n in [1, 5, 20, 100, 1012, 1013, 5000, 200000]:
        for x in [0.01, 0.05, 0.1, 0.3, 0.6, 0.95]:
            out.append({'n': n, 'x': x, 'sf': f(special.smirnov(n, x))})
    return out


# ---------------------------------------------------------------------------------- chi-square, z

GOF = [
    dict(observed=[16, 18, 16, 14, 12, 12]),
    dict(observed=[16, 18, 16, 14, 12, 12], expected=[16, 16, 16, 16, 16, 8]),
    dict(observed=[120, 80, 50, 30, 20], expected=[100.0, 100.0, 50.0, 30.0, 20.0]),
    dict(observed=[1000, 10], expected=[505.0, 505.0]),
]
CONTINGENCY = [
    dict(table=[[12, 5], [7, 9]]),
    dict(table=[[12, 5], [7, 9]], correction=False),
    dict(table=[[120, 90, 40, 30, 20], [100, 110, 35, 45, 10]]),
    dict(table=[[300, 250, 10], [290, 260, 60]]),
    dict(table=[[5, 9, 3], [8, 2, 7], [4, 6, 6]]),
    dict(table=[[1000, 1], [900, 120]]),
]
ZTESTS = [
    dict(s1=40, n1=100, s2=55, n2=120),
    dict(s1=500, n1=1000, s2=500, n2=1000),
    dict(s1=3, n1=900, s2=40, n2=800),
    dict(s1=0, n1=10, s2=10, n2=10),
]


def gof_cases():
    out = []
    for c in GOF:
        r = stats.chisquare(c['observed'], c.get('expected'))
        out.append({**c, 'statistic': f(r.statistic), 'p_value': f(r.pvalue)})
    return out


def contingency_cases():
    out = []
    for c in CONTINGENCY:
        r = stats.chi2_contingency(np.array(c['table']), correction=c.get('correction', True))
        out.append({**c, 'statistic': f(r[0]), 'p_value': f(r[1]), 'dof': int(r[2])})
    return out


def z_cases():
    out = []
    for c in ZTESTS:
        p1, p2 = c['s1'] / c['n1'], c['s2'] / c['n2']
        P = (c['s1'] + c['s2']) / (c['n1'] + c['n2'])
        z = (p1 - p2) / math.sqrt(P * (1 - P) * (1 / c['n1'] + 1 / c['n2']))
        out.append({**c, 'statistic': z, 'p_value': f(2 * stats.norm.sf(abs(z)))})
    return out


# ---------------------------------------------------------------------------------- distances

DISTRIBUTIONS = [
    dict(p=[1, 0, 0], q=[0, 1, 0]),
    dict(p=[1, 1, 1], q=[1, 1, 1]),
    dict(p=[10, 20, 30, 40], q=[12, 18, 33, 37]),
    dict(p=[0.5, 0.5, 0.0], q=[0.1, 0.2, 0.7]),
    dict(p=[100, 0, 5, 7, 300], q=[80, 3, 0, 9, 330]),
    dict(p=[3] * 10, q=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
]


def fill_zeros(s):
    s = np.array(s, dtype=np.float64)
    nz = s[s != 0]
    fill = nz.min() / 10 ** 6 if nz.min() <= 0.0001 else 0.0001
    s[s == 0] = fill
    return s


def psi(r, c):
    r = np.asarray(r, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    rs = fill_zeros(r / r.sum())
    cs = fill_zeros(c / c.sum())
    return float(np.sum((cs - rs) * np.log(cs / rs)))


def distance_cases():
    out = []
    for c in DISTRIBUTIONS:
        out.append({**c, 'jensen_shannon': f(distance.jensenshannon(c['p'], c['q'], base=2)), 'psi': psi(c['p'], c['q'])})
    return out


def wasserstein_small():
    cases = [
        dict(u=[0, 1, 3], v=[5, 6, 8]),
        dict(u=[0, 1], v=[0, 1]),
        dict(u=[3.4, 3.9, 7.5, 7.8], v=[4.5, 1.4]),
        dict(u=[1, 1, 1, 2, 2, 9], v=[1, 2, 2, 2, 5]),
    ]
    return [{**c, 'wasserstein': f(stats.wasserstein_distance(c['u'], c['v']))} for c in cases]


def bh(p):
    p = np.asarray(p, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind='stable')
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1)
    return out.tolist()


def quantile_cases():
    x = normals(21, 1001, ties=True)
    qs = [i / 10 for i in range(1, 10)]
    return {'seed': 21, 'n': 1001, 'ties': True, 'q': qs, 'values': [f(v) for v in np.quantile(x, qs)]}


# ---------------------------------------------------------------------------------- movies (real data)

MOVIE_NUMERIC = ['US Gross', 'Worldwide Gross', 'Production Budget', 'IMDB Rating', 'IMDB Votes', 'Rotten Tomatoes Rating']


def movies():
    if not os.path.exists(MOVIES):
        return None
    rows = json.load(open(MOVIES))
    before = [r for r in rows if int(str(r['Release Date'])[-4:]) < 2000]
    after = [r for r in rows if int(str(r['Release Date'])[-4:]) >= 2000]
    out = {'split': 'year of Release Date (its last 4 characters) < 2000 vs >= 2000', 'reference_rows': len(before),
           'current_rows': len(after), 'fields': {}}
    for name in MOVIE_NUMERIC:
        a = np.array([r[name] for r in before if isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)], dtype=float)
        b = np.array([r[name] for r in after if isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)], dtype=float)
        ks = stats.ks_2samp(a, b)
        w = stats.wasserstein_distance(a, b)
        out['fields'][name] = {'ks': f(ks.statistic), 'ks_p_value': f(ks.pvalue), 'wasserstein_norm': f(w / np.std(a))}
    for name in ['MPAA Rating', 'Major Genre', 'Creative Type']:
        a = [r[name] for r in before if isinstance(r.get(name), str)]
        b = [r[name] for r in after if isinstance(r.get(name), str)]
        cats = sorted(set(a) | set(b))
        ca = [a.count(k) for k in cats]
        cb = [b.count(k) for k in cats]
        out['fields'][name] = {'categories': cats, 'jensen_shannon': f(distance.jensenshannon(ca, cb, base=2)),
                               'chi_square': f(stats.chi2_contingency(np.array([ca, cb]))[0])}
    return out


def main():
    data = {
        'generator': 'mulberry32 uniforms; normal = sum of 12 uniforms - 6, times scale plus shift; ties: floor(v*10 + 0.5)/10',
        'versions': {'scipy': stats.__name__ and __import__('scipy').__version__, 'numpy': np.__version__},
        'ks': ks_cases(),
        'kstwo': kstwo_cases(),
        'smirnov': smirnov_cases(),
        'chisquare': gof_cases(),
        'chi2_contingency': contingency_cases(),
        'ztest': z_cases(),
        'distances': distance_cases(),
        'wasserstein': wasserstein_small(),
        'benjamini_hochberg': {'p': [0.01, 0.04, 0.03, 0.5, 0.002, 0.04, 0.9], 'adjusted': bh([0.01, 0.04, 0.03, 0.5, 0.002, 0.04, 0.9])},
        'quantiles': quantile_cases(),
        'movies': movies(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as fh:
        json.dump(data, fh, indent=1)
        fh.write('\n')


if __name__ == '__main__':
    main()
