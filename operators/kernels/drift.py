"""Drift of served inputs away from the rows a model was published with: the population stability index (PSI)
per input and of the score, and the share of missing values. numpy only, so the studio, the check_drift
operator and the serving process's /metrics compute the same numbers.

    reference_statistics(columns, spec, probability) -> statistics   (kept in the bundle, no rows)
    drift_report(statistics, columns, probability) -> report

statistics = {"rows": n, "inputs": {name: <numeric> | <categorical>}, "score": <numeric>} where
    numeric     = {"kind": "numeric", "edges": [interior decile edges], "fractions": [per bin], "missing": share}
    categorical = {"kind": "categorical", "categories": {value: share}, "other": share of the values beyond the
                   MAX_CATEGORIES most frequent, "missing": share}

PSI = sum over bins of (a - e) * ln(a / e), with a and e the served and reference shares, each at least EPS.
Bins: numeric values by the reference's quantile edges, a category by itself (values the reference never
had are "unseen", one bin of their own), and missing values as one more bin, so a surge of gaps shows too.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

QUANTILES = np.linspace(0.1, 0.9, 9)
MAX_CATEGORIES = 200
EPS = 1e-4
UNSEEN = "__unseen__"


@dataclass
class CategoryCounts:
    """A categorical column already counted (by Arrow, say): value -> rows, missing rows, all rows."""

    counts: dict[str, int]
    missing: int
    n: int


def _missing_numeric(values: np.ndarray) -> np.ndarray:
    return np.isnan(values)


def _as_float(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def _as_strings(values) -> np.ndarray:
    """Category values as an object array of str, None for missing (NaN, None and "" are missing)."""
    out = np.asarray(values, dtype=object).copy()
    for i, v in enumerate(out):
        if v is None or v == "" or (isinstance(v, float) and v != v):
            out[i] = None
        elif not isinstance(v, str):
            out[i] = str(v)
    return out


def numeric_reference(values) -> dict:
    x = _as_float(values)
    present = x[~_missing_numeric(x)]
    n = len(x)
    if len(present) == 0:
        return {"kind": "numeric", "edges": [], "fractions": [0.0], "missing": 1.0 if n else 0.0}
    edges = np.unique(np.quantile(present, QUANTILES))
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    return {"kind": "numeric", "edges": edges.tolist(), "fractions": (counts / n).tolist(),
            "missing": float((n - len(present)) / n)}


def categorical_reference(values) -> dict:
    x = _as_strings(values)
    n = len(x)
    present = x[~np.equal(x, None)]
    names, counts = np.unique(present.astype(str), return_counts=True) if len(present) else ([], np.array([]))
    order = np.argsort(-counts, kind="stable")[:MAX_CATEGORIES]
    kept = {str(names[i]): float(counts[i] / n) for i in order}
    return {"kind": "categorical", "categories": kept,
            "other": float((len(present) - sum(counts[i] for i in order)) / n) if n else 0.0,
            "missing": float((n - len(present)) / n) if n else 0.0}


def reference_statistics(columns: Mapping[str, np.ndarray], spec: list[dict], probability: np.ndarray) -> dict:
    """The small summary of the reference rows that a drift report compares served rows with."""
    inputs = {}
    for s in spec:
        values = columns[s["name"]]
        inputs[s["name"]] = categorical_reference(values) if s["datatype"] == "BYTES" else numeric_reference(values)
    return {"format": "drift-statistics/1", "rows": int(len(probability)), "inputs": inputs,
            "score": numeric_reference(probability)}


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.maximum(np.asarray(expected, dtype=np.float64), EPS)
    a = np.maximum(np.asarray(actual, dtype=np.float64), EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def numeric_drift(reference: dict, values) -> dict:
    x = _as_float(values)
    missing = _missing_numeric(x)
    n = max(len(x), 1)
    edges = np.asarray(reference["edges"], dtype=np.float64)
    counts = np.bincount(np.searchsorted(edges, x[~missing], side="left"), minlength=len(edges) + 1)
    expected = list(reference["fractions"]) + [reference["missing"]]
    actual = list(counts / n) + [missing.sum() / n]
    return {"kind": "numeric", "psi": psi(expected, actual), "missing_share": float(missing.sum() / n),
            "reference_missing_share": reference["missing"], "unseen": 0, "unseen_share": 0.0}


def count_categories(values) -> CategoryCounts:
    x = _as_strings(values)
    missing = np.equal(x, None).astype(bool)
    present = x[~missing].astype(str)
    names, counts = np.unique(present, return_counts=True) if len(present) else (np.array([]), np.array([]))
    return CategoryCounts(dict(zip(names.tolist(), counts.tolist(), strict=True)), int(missing.sum()), len(x))


def categorical_drift(reference: dict, values) -> dict:
    counted = values if isinstance(values, CategoryCounts) else count_categories(values)
    n = max(counted.n, 1)
    seen, known = counted.counts, reference["categories"]
    in_known = sum(seen.get(c, 0) for c in known)
    beyond = counted.n - counted.missing - in_known  # values outside the kept categories
    # With a lumped rest in the reference, a value outside the kept ones may be a rare known one: it counts
    # as "other"; only a reference without a rest can tell that a value was never seen.
    unseen = 0 if reference["other"] > 0 else beyond
    expected = [known[c] for c in known] + [reference["other"], 0.0, reference["missing"]]
    actual = [seen.get(c, 0) / n for c in known] + [(beyond - unseen) / n, unseen / n, counted.missing / n]
    return {"kind": "categorical", "psi": psi(expected, actual), "missing_share": counted.missing / n,
            "reference_missing_share": reference["missing"], "unseen": int(unseen), "unseen_share": unseen / n,
            "unseen_values": sorted(set(seen) - set(known))[:10] if unseen else []}


def drift_report(statistics: dict, columns: Mapping[str, np.ndarray], probability: np.ndarray) -> dict:
    """PSI per input (by the reference's bins), of the score, and missing shares, for the served rows in
    `columns` (inputs the served rows lack are skipped: another version may have had other inputs)."""
    if len(probability) == 0:
        return {"rows": 0, "reference_rows": statistics["rows"], "features": [], "score": None}
    features = []
    for name, reference in statistics["inputs"].items():
        if name not in columns:
            continue
        values = columns[name]
        entry = numeric_drift(reference, values) if reference["kind"] == "numeric" else \
            categorical_drift(reference, values)
        features.append({"name": name, **entry})
    score = numeric_drift(statistics["score"], probability)
    return {"rows": int(len(probability)), "reference_rows": statistics["rows"], "features": features,
            "score": {"psi": score["psi"], "mean": float(np.nanmean(probability)) if len(probability) else None}}
