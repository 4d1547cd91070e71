"""Automatic feature combination (Prophet's automatic feature-combination expansion; AutoCross, KDD 2019): a greedy
forward search over crosses of categorical and bucketised columns, scored by the validation gain of a fast LR.

The search (`search_crosses`) runs on a pandas sample of the training rows on either engine: it holds out 30% of
the sample, fits the LR view of a feature state without the new crosses on the rest, and then, round by round,
scores each candidate cross field-wise (AutoCross's approximation: an LR over the current model's logit and the
candidate's one-hot columns, so a candidate costs one small fit), keeps the best if it lifts the held-out AUC by
`min_gain`, and refits. Candidates are every pair of columns, then a kept cross extended by one more column, up
to `max_order`. The crosses it keeps become `crosses` of an ordinary feature_extraction fit: they are in the
fitted state (hashed `cross` blocks of the LR view), so predict and publishing carry them, and the report lists
them with their gains.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import Field

from ..contract import Port, PortType
from ..feature_state import FeatureConfig
from ..tables import binary_label, require_rows
from ..values import Report
from .features import FeatureExtraction, apply_state, fit_feature_state, plan_columns

MAX_CANDIDATE_COLUMNS = 40
MAX_CODES = 1000  # a column with more distinct values is not crossed


class AutoCrossConfig(FeatureConfig):
    cross_budget: float = Field(20.0, ge=0.5, le=3600, description="Seconds the cross search may take")
    max_crosses: int = Field(5, ge=1, le=50, description="Most crosses to keep")
    max_order: int = Field(3, ge=2, le=5, description="Most columns in one cross")
    min_gain: float = Field(0.002, ge=0, le=1, description="Held-out AUC a cross must add to be kept")
    search_rows: int = Field(50_000, ge=200, le=2_000_000, description="Rows (a seeded sample) the search uses")


def _codes(train: pd.Series, both: pd.Series, buckets: int) -> np.ndarray:
    """Integer codes of a column over all search rows: categories as they are, numbers in quantile buckets of
    the fitting rows; missing is a code of its own."""
    if pd.api.types.is_numeric_dtype(both) and not pd.api.types.is_bool_dtype(both):
        x = both.to_numpy(dtype=np.float64, na_value=np.nan)
        present = train.to_numpy(dtype=np.float64, na_value=np.nan)
        present = present[~np.isnan(present)]
        edges = np.unique(np.quantile(present, np.linspace(0, 1, buckets + 1)[1:-1])) if len(present) else []
        codes = np.searchsorted(edges, x, side="right")
        codes[np.isnan(x)] = len(edges) + 1
        return codes.astype(np.int64)
    codes, _ = pd.factorize(both, use_na_sentinel=True)
    return np.where(codes < 0, codes.max(initial=0) + 1, codes).astype(np.int64)


def _onehot(codes: np.ndarray, fit_rows: np.ndarray):
    """One-hot columns of combined codes; values unseen in the fitting rows share one column."""
    import scipy.sparse as sp

    seen, inverse = np.unique(codes[fit_rows], return_inverse=True)
    index = np.searchsorted(seen, codes)
    known = (index < len(seen)) & (seen[np.minimum(index, len(seen) - 1)] == codes)
    column = np.where(known, index, len(seen))
    return sp.csr_matrix((np.ones(len(codes)), (np.arange(len(codes)), column)), shape=(len(codes), len(seen) + 1))


class _Scorer:
    """The held-out AUC of a small LR, and the field-wise score of a candidate."""

    def __init__(self, y: np.ndarray, fit_rows: np.ndarray, hold_rows: np.ndarray):
        self.y, self.fit_rows, self.hold_rows = y, fit_rows, hold_rows

    def fit(self, X) -> tuple[float, np.ndarray]:
        """(held-out AUC, logit of every row) of an LR on the fitting rows."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score

        model = LogisticRegression(C=1.0, max_iter=200).fit(X[self.fit_rows], self.y[self.fit_rows])
        logit = model.decision_function(X)
        return float(roc_auc_score(self.y[self.hold_rows], logit[self.hold_rows])), logit


def search_crosses(sample: pd.DataFrame, config: AutoCrossConfig, deadline: float,
                   progress: Callable[[float, str], None] = lambda f, m: None) -> tuple[list[dict], dict]:
    """The crosses to keep, [{"columns", "gain", "auc"}] in the order found, and the search's summary."""
    import scipy.sparse as sp

    require_rows(sample)
    rng = np.random.default_rng(config.seed)
    if len(sample) > config.search_rows:
        sample = sample.iloc[np.sort(rng.choice(len(sample), config.search_rows, replace=False))]
    sample = sample.reset_index(drop=True)
    y = binary_label(sample, config.label, positive=config.positive)
    hold = rng.random(len(sample)) < 0.3
    fit_rows, hold_rows = np.flatnonzero(~hold), np.flatnonzero(hold)
    base = config.model_copy(update={"model_family": "lr"})
    state, _ = fit_feature_state(sample.iloc[fit_rows], base)
    X = sp.csr_matrix(apply_state(sample, state).X)
    columns = [c for c in plan_columns(sample, base) if c in {i["name"] for i in state.meta["inputs"]}]
    columns = columns[:MAX_CANDIDATE_COLUMNS]
    codes = {c: _codes(sample[c].iloc[fit_rows], sample[c], config.cross_buckets) for c in columns}
    codes = {c: v for c, v in codes.items() if v.max(initial=0) < MAX_CODES}  # ids and free text never cross
    columns = [c for c in columns if c in codes]
    scorer = _Scorer(y, fit_rows, hold_rows)
    auc, logit = scorer.fit(X)
    summary = {"base_auc": auc, "candidates_scored": 0, "rounds": 0}
    kept: list[dict] = []
    while len(kept) < config.max_crosses and time.monotonic() < deadline:
        best = _best_candidate(kept, columns, codes, scorer, logit, auc, deadline, summary)
        summary["rounds"] += 1
        if best is None or best[0] - auc < config.min_gain:
            break
        cross = best[1]
        X = sp.hstack([X, _onehot(_combine(codes, cross), fit_rows)], format="csr")
        new_auc, logit = scorer.fit(X)
        kept.append({"columns": list(cross), "gain": new_auc - auc, "auc": new_auc})
        auc = new_auc
        progress(len(kept) / config.max_crosses, f"cross {'*'.join(cross)}: AUC {auc:.4f}")
    summary["final_auc"] = auc
    return kept, summary


def _combine(codes: dict[str, np.ndarray], cross: tuple[str, ...]) -> np.ndarray:
    combined = np.zeros(len(next(iter(codes.values()))), dtype=np.int64)
    for column in cross:
        combined = combined * (int(codes[column].max()) + 2) + codes[column]
    return combined


def _candidates(kept: list[dict], columns: list[str], max_order: int):
    taken = {tuple(sorted(k["columns"])) for k in kept}
    for pair in itertools.combinations(columns, 2):
        if tuple(sorted(pair)) not in taken:
            yield pair
    for k in kept:
        if len(k["columns"]) < max_order:
            for column in columns:
                cross = (*k["columns"], column)
                if column not in k["columns"] and tuple(sorted(cross)) not in taken:
                    yield cross


def _best_candidate(kept, columns, codes, scorer: _Scorer, logit, auc, deadline, summary):
    """The candidate with the highest field-wise held-out AUC: (auc, cross), or None when none was scored."""
    import scipy.sparse as sp

    best = None
    offset = sp.csr_matrix(logit.reshape(-1, 1))
    max_order = max((len(k["columns"]) for k in kept), default=2) + 1
    for cross in _candidates(kept, columns, max_order):
        if time.monotonic() >= deadline:
            break
        candidate_auc, _ = scorer.fit(sp.hstack([offset, _onehot(_combine(codes, cross), scorer.fit_rows)],
                                                format="csr"))
        summary["candidates_scored"] += 1
        if best is None or candidate_auc > best[0]:
            best = (candidate_auc, cross)
    return best


def cross_report(kept: list[dict], summary: dict) -> Report:
    names = ["*".join(k["columns"]) for k in kept]
    figure = {"data": [{"type": "bar", "x": names, "y": [k["gain"] for k in kept], "name": "AUC gain"}],
              "layout": {"title": {"text": "Crosses kept and their held-out AUC gain"},
                         "yaxis": {"title": {"text": "AUC gain"}}}}
    text = (f"{len(kept)} cross(es) kept from {summary['candidates_scored']} scored; held-out LR AUC "
            f"{summary['base_auc']:.4f} -> {summary['final_auc']:.4f}")
    return Report(figures={"crosses": figure}, tables={"crosses": [
        {"cross": n, "columns": ", ".join(k["columns"]), "gain": k["gain"], "auc": k["auc"]}
        for n, k in zip(names, kept, strict=True)]}, text=text)


def with_crosses(params: AutoCrossConfig, kept: list[dict]) -> FeatureConfig:
    """The feature_extraction parameters: the user's crosses plus the ones found."""
    fields = {k: v for k, v in params.model_dump().items() if k in FeatureConfig.model_fields}
    fields["crosses"] = list(params.crosses) + [k["columns"] for k in kept]
    return FeatureConfig(**fields)


class AutoCross(FeatureExtraction):
    """feature_extraction with automatic feature combination (AutoCross, KDD 2019): before fitting, a greedy
    forward search within `cross_budget` seconds tries crosses of categorical and bucketised numeric columns,
    pairs first and then longer ones built on the crosses kept, each scored by the held-out AUC gain of a fast LR
    on a sample of the training rows, and keeps up to `max_crosses` that add at least `min_gain`. They join
    `crosses` (hashed into `cross_dims` columns of the LR view), so the fitted state, predict and a published
    model carry them; the report lists them with their gains. Everything else is feature_extraction's."""

    name = "auto_cross"
    spark = "operators.spark.auto_cross:auto_cross"
    description = "Feature extraction that also finds useful column crosses for LR, within a time budget."
    outputs = (*FeatureExtraction.outputs,
               Port("report", PortType.REPORT, "The crosses kept, with their held-out AUC gains"))
    Params = AutoCrossConfig

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        kept, summary = search_crosses(table, params, time.monotonic() + params.cross_budget,
                                       lambda f, m: ctx.progress(0.6 * f, m))
        report = cross_report(kept, summary)
        ctx.log(report.text + "".join(f"\n  {'*'.join(k['columns'])}: +{k['gain']:.4f}" for k in kept))
        out = super().run(ctx, inputs, with_crosses(params, kept))
        out["feature_state"].meta["auto_crosses"] = kept
        return {**out, "report": report}

