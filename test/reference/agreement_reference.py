#!/usr/bin/python3
"""Reference values for src/review/agreement.ts (reviewer agreement).

Run with Debian's Python, where scikit-learn and NLTK are packaged:

    apt-get install -y python3-sklearn python3-nltk
    /usr/bin/python3 test/reference/agreement_reference.py

(Written against scikit-learn 1.2.1 and NLTK 3.8 — the versions in Debian 12.)
It writes test/fixtures/agreement/reference.json: the inputs and, beside them, the values the TypeScript must
reproduce. The output is deterministic (seeded NumPy RandomState).

* Cohen's kappa: sklearn.metrics.cohen_kappa_score, unweighted and with linear and quadratic weights
  (weights index the labels in sorted order, as sklearn does). A kappa sklearn leaves undefined (both raters
  always give the same one label: 0/0) is written as null.
* Krippendorff's alpha, nominal, with missing values: nltk.metrics.agreement.AnnotationTask(data).alpha() with
  its default binary distance, on (coder, item, label) triples — a missing value is a triple that is not there.
  The script also computes alpha from Krippendorff's coincidence matrix (K. Krippendorff, "Computing
  Krippendorff's Alpha-Reliability", 2011, section C) and checks that both agree to 1e-12; the first dataset is
  that paper's worked nominal example (four observers, twelve units, missing values: alpha = 0.743).
"""

import json
import math
import os
from collections import Counter

import numpy as np
from nltk.metrics.agreement import AnnotationTask
from sklearn.metrics import cohen_kappa_score

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'agreement')


def clean(x):
    """NaN → None for JSON; floats as floats."""
    if isinstance(x, float) and math.isnan(x):
        return None
    return float(x)


# ------------------------------------------------------------------------------------------ Cohen's kappa


def kappa_cases():
    rs = np.random.RandomState(20260301)
    cases = []

    # Two reviewers on a binary task, agreeing about 85% of the time.
    a = rs.choice(['ham', 'spam'], size=200, p=[0.7, 0.3])
    b = np.where(rs.rand(200) < 0.85, a, rs.choice(['ham', 'spam'], size=200))
    cases.append(('binary', list(a), list(b)))

    # Five labels, uneven, about 70% agreement.
    labels = ['billing', 'bug', 'feature', 'account', 'other']
    a = rs.choice(labels, size=300, p=[0.35, 0.25, 0.2, 0.15, 0.05])
    b = np.where(rs.rand(300) < 0.7, a, rs.choice(labels, size=300))
    cases.append(('multiclass', list(a), list(b)))

    # Ordinal 1–5 ratings (the weighted kappas matter here), off by one now and then.
    a = rs.randint(1, 6, size=150)
    b = np.clip(a + rs.choice([-1, 0, 0, 0, 1], size=150), 1, 5)
    cases.append(('ordinal', [int(x) for x in a], [int(x) for x in b]))

    cases.append(('perfect', ['a', 'b', 'c', 'a', 'b'], ['a', 'b', 'c', 'a', 'b']))
    # Worse than chance: they always pick the other label.
    cases.append(('opposed', ['x', 'y', 'x', 'y', 'x', 'y'], ['y', 'x', 'y', 'x', 'y', 'x']))
    # One reviewer always says the same: kappa 0.
    cases.append(('one_constant', ['a', 'a', 'a', 'a', 'a', 'a'], ['a', 'b', 'a', 'b', 'a', 'a']))
    # Both always say the same one label: 0/0, undefined.
    cases.append(('both_constant', ['a', 'a', 'a'], ['a', 'a', 'a']))
    # A label only one reviewer uses.
    cases.append(('unshared_label', ['a', 'b', 'a', 'c', 'b', 'a', 'a'], ['a', 'b', 'b', 'a', 'b', 'a', 'd']))

    out = []
    for name, y1, y2 in cases:
        y1 = [x.item() if hasattr(x, 'item') else x for x in y1]
        y2 = [x.item() if hasattr(x, 'item') else x for x in y2]
        row = {'name': name, 'a': y1, 'b': y2}
        with np.errstate(divide='ignore', invalid='ignore'):
            row['kappa'] = clean(cohen_kappa_score(y1, y2))
            row['kappa_linear'] = clean(cohen_kappa_score(y1, y2, weights='linear'))
            row['kappa_quadratic'] = clean(cohen_kappa_score(y1, y2, weights='quadratic'))
        out.append(row)
    return out


# ------------------------------------------------------------------------------------ Krippendorff's alpha


def alpha_coincidence(units):
    """Nominal alpha from the coincidence matrix (Krippendorff 2011, section C).

    units: list of lists of values present in each unit (missing values left out).
    o_ck = sum over units u with m_u >= 2 of (number of c-k pairs of values in u) / (m_u - 1);
    n_c = sum_k o_ck; n = sum_c n_c; alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k.
    """
    o = Counter()
    for values in units:
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, nc in counts.items():
            for k, nk in counts.items():
                pairs = nc * (nk - 1) if c == k else nc * nk
                o[(c, k)] += pairs / (m - 1)
    n_c = Counter()
    for (c, _k), v in o.items():
        n_c[c] += v
    n = sum(n_c.values())
    observed = sum(v for (c, k), v in o.items() if c != k)
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    return 1 - (n - 1) * observed / expected


def alpha_cases():
    rs = np.random.RandomState(20260302)
    cases = []

    # Krippendorff (2011), the nominal example: rows are observers A–D, columns units 1–12, None missing.
    k2011 = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    cases.append(('krippendorff_2011', k2011))

    # Five reviewers, 120 cases, four labels, about 30% of the ratings missing; reviewers agree with a hidden
    # truth 75% of the time.
    labels = ['billing', 'bug', 'feature', 'other']
    truth = rs.choice(labels, size=120)
    rows = []
    for _coder in range(5):
        r = np.where(rs.rand(120) < 0.75, truth, rs.choice(labels, size=120))
        rows.append([None if rs.rand() < 0.3 else str(v) for v in r])
    cases.append(('five_reviewers_missing', rows))

    # Two reviewers, nothing missing.
    a = rs.choice(['yes', 'no'], size=80)
    b = np.where(rs.rand(80) < 0.8, a, rs.choice(['yes', 'no'], size=80))
    cases.append(('two_reviewers', [[str(x) for x in a], [str(x) for x in b]]))

    # Three reviewers, boolean labels, a unit with a single rating (left out of the pairable values).
    cases.append(('three_booleans', [[True, True, False, None, True], [True, False, False, True, None], [True, True, False, None, None]]))

    # Total agreement on varied labels; and everybody giving one label (NLTK answers 1).
    cases.append(('total_agreement', [['a', 'b', 'c', 'a'], ['a', 'b', 'c', 'a'], ['a', 'b', None, 'a']]))
    cases.append(('one_label', [['a', 'a', 'a'], ['a', None, 'a']]))

    out = []
    for name, matrix in cases:
        triples = []
        for coder, row in enumerate(matrix):
            for item, v in enumerate(row):
                if v is not None:
                    triples.append((f'c{coder}', f'u{item}', v))
        nltk_alpha = AnnotationTask(data=triples).alpha()
        units = [[row[i] for row in matrix if row[i] is not None] for i in range(len(matrix[0]))]
        if len({v for u in units for v in u}) > 1:
            mine = alpha_coincidence(units)
            assert abs(mine - nltk_alpha) < 1e-12, (name, mine, nltk_alpha)
        out.append({'name': name, 'ratings': matrix, 'alpha': float(nltk_alpha)})
    return out


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    data = {
        'generated_by': 'test/reference/agreement_reference.py',
        'versions': {'sklearn': __import__('sklearn').__version__, 'nltk': __import__('nltk').__version__},
        'kappa': kappa_cases(),
        'alpha': alpha_cases(),
    }
    path = os.path.join(OUT_DIR, 'reference.json')
    with open(path, 'w') as f:
        json.dump(data, f, indent=1)
        f.write('\n')
    k2011 = next(a for a in data['alpha'] if a['name'] == 'krippendorff_2011')['alpha']
    print(f'wrote {os.path.relpath(path)}; Krippendorff 2011 nominal example: alpha = {k2011:.4f} (paper: 0.743)')


if __name__ == '__main__':
    main()
