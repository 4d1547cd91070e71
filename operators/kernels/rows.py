"""The single-row scorer: a fitted feature state and its model compiled, once per bundle, into one function of
one row's raw values (issue 19, the online path).

The batch kernel (`features.transform`) pays numpy's per-call cost in every block, and for one row that cost
is nearly all of the time. Here each block of the state's block list compiles, by its entry in `ROW_WRITERS`
(the same keys as `features.COMPILERS`: a new block kind is one entry in each), into a plain Python function
that writes the block's columns into a preallocated row buffer: dict look-ups for categories, float
arithmetic for numbers, `bisect` for quantile buckets, no numpy call. The model then scores the buffer: LR as
one dot product, LightGBM through its C API's single-row fast predict
(`LGBM_BoosterPredictForMatSingleRowFast`, in the library that lightgbm has already loaded).

    scorer = compile_row_scorer(feature_state, model_scorer)   # None when some block has no row writer
    scorer.probability({"age": 41.0, "region": "north", ...})  # P(class 1), or None: use the batch kernel

Values are those the kernel takes: numbers (None or NaN missing) for numeric inputs, strings (None missing)
for categorical ones. A value the fast path does not take as is (a numeric string, a missing input, ...)
answers None, and the caller scores the row with the batch kernel, which converts it or names the column in
its error. The numbers equal the batch kernel's to 1e-9 (tests/operators/test_row_scorer.py, per block kind
and for both models); a bundle also replays its held-out rows through this scorer on load.

The buffer is shared, so one call at a time: a call that finds the scorer busy (another thread) answers None.
Imports numpy (and lightgbm's loaded library for GBDT) only.
"""
from __future__ import annotations

import ctypes
import math
import threading
import zlib
from bisect import bisect_right
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..values import Fitted
from .features import MISSING_TOKEN, canonical, compiled

NAN = float("nan")
MASK64 = (1 << 64) - 1
FNV_OFFSET = 14695981039346656037
FNV_PRIME = 1099511628211

# A writer takes (values, buffer): `values` maps each input column to its converted value (a float, NaN for
# missing, for numeric inputs; a canonical string or None for categorical ones); it writes the block's columns.
Writer = Callable[[Mapping[str, Any], Any], None]


def _fill(block: dict) -> float:
    return float(block["fill"])


# ------------------------------------------------------------------------------------------ numeric writers
# Each builder takes (block, its arrays by name, the block's first column) like features.COMPILERS' entries.
def _standardize(block: dict, array: Callable, o: int) -> Writer:
    column, fill, mean, scale = block["column"], _fill(block), float(block["mean"]), float(block["scale"])

    def write(values, buf):
        x = values[column]
        buf[o] = ((fill if x != x else x) - mean) / scale
    return write


def _minmax(block: dict, array: Callable, o: int) -> Writer:
    column, fill, lo, span = block["column"], _fill(block), float(block["lo"]), float(block["span"])

    def write(values, buf):
        x = values[column]
        buf[o] = ((fill if x != x else x) - lo) / span
    return write


def _log1p(block: dict, array: Callable, o: int) -> Writer:
    column, fill = block["column"], _fill(block)

    def write(values, buf):
        x = values[column]
        if x != x:
            x = fill
        buf[o] = ((x > 0) - (x < 0)) * math.log1p(abs(x))
    return write


def _clip(block: dict, array: Callable, o: int) -> Writer:
    column, fill, lo, hi = block["column"], _fill(block), float(block["lo"]), float(block["hi"])

    def write(values, buf):
        x = values[column]
        buf[o] = min(max(fill if x != x else x, lo), hi)
    return write


def _raw(block: dict, array: Callable, o: int) -> Writer:
    column = block["column"]

    def write(values, buf):
        buf[o] = values[column]
    return write


def _missing_indicator(block: dict, array: Callable, o: int) -> Writer:
    column = block["column"]

    def write(values, buf):
        x = values[column]
        buf[o] = 1.0 if x != x else 0.0
    return write


def _buckets(block: dict, array: Callable, o: int) -> Writer:
    column = block["column"]
    groups, start = [], o  # (edges as a list, the group's first column, its missing column)
    for j in range(len(block["granularities"])):
        edges = array(f"edges{j}").tolist()
        groups.append((edges, start, start + len(edges) + 1))
        start += len(edges) + 2

    def write(values, buf):
        x = values[column]
        if x != x:
            for _, _, missing in groups:
                buf[missing] = 1.0
        else:
            for edges, first, _ in groups:
                buf[first + bisect_right(edges, x)] = 1.0
    return write


# -------------------------------------------------------------------------------------- categorical writers
def _onehot(block: dict, array: Callable, o: int) -> Writer:
    column, n = block["column"], len(block["vocab"])
    lut = {v: o + k for k, v in enumerate(block["vocab"])}
    other, missing = o + n, o + n + 1

    def write(values, buf):
        name = values[column]
        buf[missing if name is None else lut.get(name, other)] = 1.0
    return write


def _ordinal(block: dict, array: Callable, o: int) -> Writer:
    column = block["column"]
    lut = {v: float(k) for k, v in enumerate(block["vocab"])}

    def write(values, buf):
        buf[o] = lut.get(values[column], NAN)  # None (missing) is in no vocabulary
    return write


def _crc32(name: str | None) -> int:
    return zlib.crc32((MISSING_TOKEN if name is None else name).encode("utf-8"))


def _hash(block: dict, array: Callable, o: int) -> Writer:
    column, n_dims = block["column"], int(block["n_dims"])

    def write(values, buf):
        buf[o + _crc32(values[column]) % n_dims] = 1.0
    return write


def _encoded(block: dict, array: Callable, o: int) -> Writer:
    """frequency and target: a value per known category; unseen and missing have their own."""
    column = block["column"]
    lut = dict(zip(block["vocab"], array("values").tolist(), strict=True))
    unseen = 0.0 if block["op"] == "frequency" else float(block["prior"])
    missing = float(block["missing_value"])

    def write(values, buf):
        name = values[column]
        buf[o] = missing if name is None else lut.get(name, unseen)
    return write


def _part_code(value, edges: list | None) -> int:
    """A cross part's code: a category's crc32, a number's bucket (NaN: the one past the last)."""
    if edges is None:
        return _crc32(value)
    return len(edges) + 1 if value != value else bisect_right(edges, value)


def _cross(block: dict, array: Callable, o: int) -> Writer:
    n_dims = int(block["n_dims"])
    parts = [(p["column"], array(f"edges{i}").tolist() if p["kind"] == "buckets" else None)
             for i, p in enumerate(block["parts"])]

    def write(values, buf):
        h = FNV_OFFSET
        for column, edges in parts:
            h = ((h * FNV_PRIME) & MASK64) ^ _part_code(values[column], edges)
        buf[o + h % n_dims] = 1.0
    return write


ROW_WRITERS: dict[str, Callable[[dict, Callable, int], Writer]] = {
    "standardize": _standardize, "minmax": _minmax, "log1p": _log1p, "clip": _clip, "raw": _raw,
    "missing_indicator": _missing_indicator, "buckets": _buckets,
    "onehot": _onehot, "ordinal": _ordinal, "hash": _hash, "frequency": _encoded, "target": _encoded,
    "cross": _cross,
}


# ------------------------------------------------------------------------------------------------ inputs
def _numeric(value) -> float | None:
    """A numeric input's value as a float (NaN for missing), or None when the batch kernel must decide."""
    kind = type(value)
    if kind is float:
        return value
    if value is None:
        return NAN
    if kind is int or isinstance(value, (np.floating, np.integer)):
        try:
            return float(value)
        except OverflowError:
            return None
    return None


def _category(value) -> str | None:
    return value if type(value) is str else canonical(value)


# ------------------------------------------------------------------------------------------------ models
class _LinearRow:
    """LR on the row buffer: the same terms as the batch kernel's X @ coef, then the sigmoid."""

    def __init__(self, scorer):
        self.coef, self.intercept = scorer.coef, scorer.intercept

    def __call__(self, row: np.ndarray) -> float:
        z = float(row @ self.coef) + self.intercept
        try:
            return 1.0 / (1.0 + math.exp(-z))
        except OverflowError:  # exp(-z) beyond a float: numpy's sigmoid gives 0.0 there
            return 0.0


class _LightGBMRow:
    """LightGBM's single-row fast predict over the row buffer (its address fixed at start)."""

    def __init__(self, scorer, row: np.ndarray):
        from lightgbm.basic import _LIB, _safe_call

        booster = scorer.booster
        num_iteration = scorer.num_iteration if scorer.num_iteration is not None else booster.best_iteration
        self._lib, self._safe_call = _LIB, _safe_call
        self._config = ctypes.c_void_p()
        _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle, ctypes.c_int(0),  # C_API_PREDICT_NORMAL: the probability for a binary objective
            ctypes.c_int(0), ctypes.c_int(num_iteration if num_iteration and num_iteration > 0 else -1),
            ctypes.c_int(1),  # C_API_DTYPE_FLOAT64
            ctypes.c_int32(len(row)), ctypes.c_char_p(b"num_threads=1"), ctypes.byref(self._config)))
        self._booster = booster  # the fast config points into the booster: keep it alive as long
        self._row = row.ctypes.data_as(ctypes.c_void_p)
        self._out_len = ctypes.c_int64(0)
        self._out = (ctypes.c_double * 1)()
        self._predict = _LIB.LGBM_BoosterPredictForMatSingleRowFast
        self._args = (self._config, self._row, ctypes.byref(self._out_len), self._out)

    def __call__(self, row: np.ndarray) -> float:
        if self._predict(*self._args) != 0:
            self._safe_call(-1)  # raises LightGBMError with the library's message
        return self._out[0]

    def __del__(self):
        config = getattr(self, "_config", None)
        if config is not None and config.value:
            self._lib.LGBM_FastConfigFree(config)


def _model_row(scorer, row: np.ndarray):
    """The model's single-row function over `row`, or None when the model has no fast path here."""
    from .models import LightGBMScorer, LRScorer

    if isinstance(scorer, LRScorer):
        return _LinearRow(scorer)
    if isinstance(scorer, LightGBMScorer):
        booster = scorer.booster
        if booster.num_model_per_iteration() != 1:  # one probability per row only (binary)
            return None
        return _LightGBMRow(scorer, row)
    return None


# ------------------------------------------------------------------------------------------------ scorer
class RowScorer:
    """One row's raw values -> P(class 1), with no numpy call but the model's one."""

    def __init__(self, inputs: list[tuple[str, bool]], writers: list[Writer], width: int, scorer):
        self.inputs = inputs  # (name, is numeric), in the state's input order
        self.writers = writers
        self.width = width
        self._buffer = (ctypes.c_double * width)()
        self.row = np.frombuffer(self._buffer, dtype=np.float64)  # a view of the same memory
        self._bytes = ctypes.sizeof(self._buffer)
        self._model = _model_row(scorer, self.row)
        self._lock = threading.Lock()

    @property
    def usable(self) -> bool:
        return self._model is not None

    def values(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        """The converted value of every input, or None when one is absent or not a plain value."""
        values = {}
        for name, numeric in self.inputs:
            if name not in raw:
                return None
            value = raw[name]
            values[name] = _numeric(value) if numeric else _category(value)
            if numeric and values[name] is None:
                return None
        return values

    def probability(self, raw: Mapping[str, Any]) -> float | None:
        """P(class 1) of one row given as {input: value}; None: score it with the batch kernel instead."""
        values = self.values(raw)
        if values is None or not self._lock.acquire(blocking=False):
            return None
        try:
            buf = self._buffer
            ctypes.memset(buf, 0, self._bytes)
            for write in self.writers:
                write(values, buf)
            return self._model(self.row)
        finally:
            self._lock.release()

    def probability_of_columns(self, columns: Mapping[str, Any]) -> float | None:
        """The same for a one-row request's columns (numpy arrays of one value each, as the protocol parses)."""
        raw = {}
        for name, _ in self.inputs:
            column = columns.get(name)
            if type(column) is not np.ndarray or column.shape != (1,):
                return None
            raw[name] = column[0]
        return self.probability(raw)

    def features(self, raw: Mapping[str, Any]) -> np.ndarray | None:
        """The row's feature vector (a copy), for tests and diagnostics."""
        values = self.values(raw)
        if values is None:
            return None
        with self._lock:
            ctypes.memset(self._buffer, 0, self._bytes)
            for write in self.writers:
                write(values, self._buffer)
            return self.row.copy()


def compile_row_scorer(state: Fitted, scorer) -> RowScorer | None:
    """The state's blocks as row writers in front of the model's single-row function; None when some block
    kind has no row writer or the model has no fast path (the batch kernel then scores single rows too)."""
    c = compiled(state)  # checks the state and its width
    writers, offset = [], 0
    for i, (block, meta) in enumerate(zip(c.blocks, state.meta["blocks"], strict=True)):
        builder = ROW_WRITERS.get(meta["op"])
        if builder is None:
            return None

        def array(name, i=i):
            return np.asarray(state.arrays[f"b{i}.{name}"], dtype=np.float64)

        writers.append(builder(meta, array, offset))
        offset += block.width
    if len(scorer.feature_names) != c.width:  # the batch path names the mismatch
        return None
    inputs = [(spec["name"], spec["kind"] == "numeric") for spec in c.inputs]
    row_scorer = RowScorer(inputs, writers, c.width, scorer)
    return row_scorer if row_scorer.usable else None
