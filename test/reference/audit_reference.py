#!/usr/bin/python3
"""Reference values for src/audit/profile.ts (`airlock audit`), computed with pandas.

Run with Debian's Python (where pandas is installed on this project's machines), from the repository root:

    apt-get install -y python3-pandas python3-scipy
    node test/fixtures/audit/make-fixtures.mjs          # the real-data inputs (SpamAssassin, Vega movies)
    /usr/bin/python3 test/reference/audit_reference.py

(Written against pandas 1.5.3, NumPy 1.24.2, SciPy 1.10.1 — the versions in Debian 12.)
It writes test/fixtures/audit/reference.json: for each input, the row counts and, per field, what the audit
must report. Definitions shared with the TypeScript:

  * a row is a non-blank line (JSONL, CSV after the header) or an item of the JSON array;
  * fields are dotted paths into nested objects; `count` = rows where the key is present (value may be null),
    `missing` = rows where it is absent, `nulls` = present with value null, `empty` = strings that are empty
    or whitespace only (str.strip() == '');
  * `distinct` = distinct non-null scalar values, typed (the string "7" and the number 7 differ; 7 and 7.0 are
    one number, as in JSON) — pandas Series.nunique over (type, value) keys; `top_count` = value_counts().iloc[0];
  * numbers (JSON numbers, booleans excluded; for CSV the cells pandas.to_numeric reads): count, min, max, mean,
    std (ddof=1) and the quantiles 0.01 0.05 0.25 0.5 0.75 0.95 0.99 with pandas' default method, linear
    interpolation between order statistics (Hyndman & Fan 1996 type 7);
  * string lengths in code points (Series.str.len()), with the same statistics;
  * exact duplicates: rows equal to an earlier row (DataFrame/Series.duplicated().sum()) — on the raw line for
    JSONL, on the record for a JSON array and CSV;
  * invalid UTF-8: lines whose bytes bytes.decode('utf-8') refuses; U+FFFD / control characters per field:
    strings containing U+FFFD / a C0 control other than TAB, LF, CR, or DEL, or a C1 control.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "test" / "fixtures" / "audit"
QS = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]
CONTROL = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]")


def typed_key(v):
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float)):
        return ("n", float(v))
    if isinstance(v, str):
        return ("s", v)
    return ("a", json.dumps(v, separators=(",", ":"), ensure_ascii=False))


def summary(values):
    s = pd.Series(values, dtype="float64")
    if len(s) == 0:
        return None
    out = {
        "count": int(s.count()),
        "min": float(s.min()),
        "max": float(s.max()),
        "mean": float(s.mean()),
        "std": None if len(s) < 2 else float(s.std(ddof=1)),
        "quantiles": {f"p{round(q * 100)}": float(s.quantile(q, interpolation="linear")) for q in QS},
    }
    return out


def flatten(record, prefix, out):
    """Every dotted path of a record and its value (objects included, then their keys)."""
    for k, v in record.items():
        path = f"{prefix}.{k}" if prefix else k
        out.append((path, v))
        if isinstance(v, dict):
            flatten(v, path, out)


def profile_records(records, csv=False):
    fields = {}
    order = []
    for r in records:
        pairs = []
        flatten(r, "", pairs)
        for path, v in pairs:
            if path not in fields:
                fields[path] = []
                order.append(path)
            fields[path].append(v)
    n = len(records)
    out = {}
    for name in order:
        present = pd.Series(fields[name], dtype="object")
        nonnull = present[present.map(lambda v: v is not None)]
        scalars = nonnull[nonnull.map(lambda v: not isinstance(v, dict))]
        strings = nonnull[nonnull.map(lambda v: isinstance(v, str))]
        if csv:
            nums = pd.to_numeric(strings[strings.str.strip() != ""], errors="coerce").dropna()
            nums = nums[np.isfinite(nums)]
        else:
            nums = nonnull[nonnull.map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))]
        keys = scalars.map(typed_key)
        f = {
            "count": int(len(present)),
            "missing": int(n - len(present)),
            "nulls": int(len(present) - len(nonnull)),
            "empty": int((strings.str.strip() == "").sum()),
            "distinct": int(keys.nunique()),
            "top_count": int(keys.value_counts().iloc[0]) if len(keys) else 0,
            "numeric": summary(list(nums)),
            "length": summary(list(strings.str.len())),
            "replacement_character": int(strings.map(lambda s: "\ufffd" in s).sum()),
            "control_characters": int(strings.map(lambda s: bool(CONTROL.search(s))).sum()),
        }
        out[name] = f
    return out


def jsonl(path):
    raw = path.read_bytes().split(b"\n")
    lines = [l.rstrip(b"\r") for l in raw]
    invalid = 0
    rows = []
    texts = []
    for l in lines:
        try:
            t = l.decode("utf-8")
        except UnicodeDecodeError:
            invalid += 1
            t = l.decode("utf-8", errors="replace")
        if t.strip() == "":
            continue
        texts.append(t.strip())
        rows.append(json.loads(t))
    return {
        "rows": len(rows),
        "duplicates": int(pd.Series(texts).duplicated().sum()),
        "invalid_utf8_lines": invalid,
        "fields": profile_records(rows),
    }


def json_array(path):
    items = json.loads(path.read_text("utf-8"))
    canon = pd.Series([json.dumps(x, sort_keys=False, separators=(",", ":"), ensure_ascii=False) for x in items])
    return {"rows": len(items), "duplicates": int(canon.duplicated().sum()), "invalid_utf8_lines": 0, "fields": profile_records(items)}


def csv(path, sep):
    df = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    records = df.to_dict(orient="records")
    return {"rows": len(df), "duplicates": int(df.duplicated().sum()), "invalid_utf8_lines": 0, "fields": profile_records(records, csv=True)}


def clean(x):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x


def statistics():
    """The tests of src/audit/compare.ts and timeline.ts, from SciPy.

    * chi-square of homogeneity on a 2 x k table: scipy.stats.chi2_contingency(correction=False);
    * the pooled two-proportion z-test: |z| = sqrt(chi-square of the 2 x 2 table [[x1, n1-x1], [x2, n2-x2]]),
      same p-value (the two tests are the same test);
    * Welch's t from summary statistics: scipy.stats.ttest_ind_from_stats(equal_var=False); its normal p-value
      2 * norm.sf(|t|) (what the TypeScript reports).
    """
    tables = [
        ([120, 30, 50], [100, 60, 40]),
        ([500, 5], [480, 40]),
        ([10, 20, 30, 40], [12, 18, 33, 37]),
        ([3000, 100, 1], [2500, 300, 50]),
    ]
    chi = []
    for a, b in tables:
        c2, p, df, _ = stats.chi2_contingency(np.array([a, b]), correction=False)
        n = sum(a) + sum(b)
        chi.append({"a": a, "b": b, "statistic": float(c2), "p_value": float(p), "df": int(df), "cramers_v": float(math.sqrt(c2 / n))})
    props = []
    for x1, n1, x2, n2 in [(30, 1000, 45, 1000), (5, 200, 40, 220), (100, 5000, 100, 5000), (0, 300, 12, 300)]:
        c2, p, _, _ = stats.chi2_contingency(np.array([[x1, n1 - x1], [x2, n2 - x2]]), correction=False)
        sign = 1 if x2 / n2 >= x1 / n1 else -1
        props.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "z": float(sign * math.sqrt(c2)), "p_value": float(p)})
    welch = []
    for m1, s1, n1, m2, s2, n2 in [(10.0, 2.0, 400, 10.4, 2.5, 350), (100.0, 30.0, 50, 80.0, 10.0, 60), (5.0, 1.0, 1000, 5.0, 1.2, 900)]:
        t, p = stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=False)
        welch.append({"a": {"mean": m1, "std": s1, "n": n1}, "b": {"mean": m2, "std": s2, "n": n2}, "statistic": float(-t), "p_value_t": float(p), "p_value_normal": float(2 * stats.norm.sf(abs(t)))})
    return {"chi_square": chi, "two_proportion": props, "welch": welch}


def main():
    movies = ROOT / "node_modules" / "vega-datasets" / "data" / "movies.json"
    ref = {
        "pandas": pd.__version__,
        "quantile_method": "linear (Hyndman & Fan type 7), pandas Series.quantile default",
        "statistics": statistics(),
        "inputs": {
            "spam.jsonl": jsonl(FIX / "spam.jsonl"),
            "spam-raw.jsonl": jsonl(FIX / "spam-raw.jsonl"),
            "movies.json": json_array(movies),
            "movies.csv": csv(FIX / "movies.csv", ";"),
        },
    }
    (FIX / "reference.json").write_text(json.dumps(clean(ref), indent=1, ensure_ascii=False) + "\n")
    print("wrote", FIX / "reference.json")


if __name__ == "__main__":
    main()
