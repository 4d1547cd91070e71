"""An LR over linear features folded into one linear map of the raw columns (issue 19, many-row requests).

When every block of a feature state is an affine transform of one numeric column (standardize, minmax), a
missing indicator or the raw value, the model's logit is itself linear in the raw columns:

    z = intercept + sum_i coef_i * (fill_i(x) - shift_i) / scale_i + sum_m coef_m * isnan(x) + sum_r coef_r * x
      = c + sum_j a_j * fill_j(x_j) + sum_j b_j * isnan(x_j)     (one a_j, b_j per raw column j)

so a request's probabilities are one (columns x rows) product of its stacked raw columns instead of the feature
matrix (a column per block: a fill, a subtraction and a division per affine block, an isnan per indicator) and
then its product with the coefficients. Built once per bundle (pipelines.bundle), used for requests of more
than one row without explanations; the numbers equal the batch kernel's to 1e-9 (the terms are summed in
another order; tests/operators/test_linear_fold.py, and a bundle replays its held-out rows through it on load).

    folded = fold_linear(feature_state, model_scorer)   # None unless the state and model qualify
    folded.probability(columns, n_rows)                 # P(class 1), or None: use the batch kernel

Imports numpy only.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..contract import OperatorError
from ..values import Fitted
from .features import AFFINE, compiled, numeric_column
from .models import LRScorer

FOLDED_OPS = {*AFFINE, "missing_indicator", "raw"}
_FLOAT64 = np.dtype(np.float64)


class FoldedLR:
    """P(class 1) = sigmoid(c + a . fill(X) + b . isnan(X)) over the stacked raw numeric columns X."""

    def __init__(self, columns: list[str], weights: np.ndarray, missing: np.ndarray, fill: np.ndarray,
                 raw: np.ndarray, constant: float):
        self.columns = columns  # the raw numeric columns, in the order of the arrays below
        self.weights = weights  # a_j: the sum of coef_i / scale_i over the column's affine blocks (+ raw coefs)
        self.missing = missing  # b_j: the sum of the column's missing indicators' coefficients
        self.fill = fill  # the column's fill for its affine blocks (one per column: see fold_linear)
        self.raw = raw  # a raw block reads the column: a NaN there stays NaN (as in the batch kernel)
        self.constant = constant  # intercept - sum_i coef_i * shift_i / scale_i
        # A missing value of column j adds a_j * fill_j + b_j to the logit: the same as the value
        # fill_j + b_j / a_j in the product, so a column with a weight has its NaNs replaced by that and needs no
        # term of its own (one pass instead of four; the sums differ by rounding, ~1e-16 of the logit). A column
        # without a weight (missing indicators only) keeps the term.
        with np.errstate(divide="ignore", invalid="ignore"):
            substitute = fill + missing / weights
        self.substitute = np.where((weights != 0) & np.isfinite(substitute), substitute, np.nan)

    def probability(self, columns: Mapping[str, np.ndarray], n_rows: int) -> np.ndarray | None:
        """The rows' probabilities; None when the request is not one this map takes as it is (a column missing,
        of another length, not numbers, infinite, or NaN in a raw feature's column): the batch kernel then
        scores it and names the column at fault."""
        stacked = np.empty((len(self.columns), n_rows), dtype=np.float64)
        for j, name in enumerate(self.columns):
            values = columns.get(name)
            if values is None or len(values) != n_rows:
                return None
            if type(values) is np.ndarray and values.dtype == _FLOAT64:  # (a binary request's columns)
                stacked[j] = values
                continue
            try:
                stacked[j] = numeric_column(values, name)
            except OperatorError:
                return None
        totals = np.add.reduce(stacked, axis=1)  # a NaN anywhere in a column makes its sum NaN, an infinity inf
        z = None
        for j in np.flatnonzero(totals != totals).tolist():
            if self.raw[j]:  # the batch kernel's NaN term, as it is
                return None
            nan = np.isnan(stacked[j])
            substitute = self.substitute[j]
            if substitute == substitute:
                np.copyto(stacked[j], substitute, where=nan)
            else:
                z = self.missing[j] * nan if z is None else np.add(z, self.missing[j] * nan, out=z)
                np.copyto(stacked[j], self.fill[j], where=nan)
            if not math.isfinite(np.add.reduce(stacked[j])):
                return None  # an infinity beside the NaN (or a sum that overflowed): as below
        if np.isinf(totals).any():
            return None  # an infinity (or a sum that overflowed): the batch kernel's terms as they are
        product = self.weights @ stacked
        z = np.add(product, self.constant, out=product) if z is None else np.add(z, product, out=z) + self.constant
        np.negative(z, out=z)  # 1 / (1 + exp(-z)), as the batch scorer, in place
        np.exp(z, out=z)
        np.add(z, 1.0, out=z)
        return np.divide(1.0, z, out=z)


def fold_linear(state: Fitted, scorer) -> FoldedLR | None:
    """The folded map of an LR over a state of affine, missing-indicator and raw blocks; None for any other
    model or block, or when two affine blocks of one column fill its missing values differently."""
    if not isinstance(scorer, LRScorer):
        return None
    c = compiled(state)
    blocks = state.meta["blocks"]
    if any(b["op"] not in FOLDED_OPS or c.kinds.get(b["column"]) != "numeric" for b in blocks):
        return None
    if not c.width == len(blocks) == len(scorer.coef):  # the batch path names the mismatch
        return None
    index: dict[str, int] = {}
    for b in blocks:
        index.setdefault(b["column"], len(index))
    weights, missing = np.zeros(len(index)), np.zeros(len(index))
    fill, raw = np.full(len(index), np.nan), np.zeros(len(index), dtype=bool)
    constant = scorer.intercept
    for coef, b in zip(scorer.coef.tolist(), blocks, strict=True):
        j = index[b["column"]]
        if b["op"] == "missing_indicator":
            missing[j] += coef
        elif b["op"] == "raw":
            weights[j] += coef
            raw[j] = True
        else:
            shift, scale = (float(b[k]) for k in AFFINE[b["op"]])
            block_fill = float(b["fill"])
            if fill[j] == fill[j] and fill[j] != block_fill:
                return None
            fill[j] = block_fill
            weights[j] += coef / scale
            constant -= coef * shift / scale
    fill[np.isnan(fill)] = 0.0  # a column with no affine block: its weight is 0 (missing indicators only)
    return FoldedLR(list(index), weights, missing, fill, raw, float(constant))
