"""The feature transform kernel: a fitted feature state applied to raw columns -> a feature matrix.

One implementation for training, batch scoring (local and Spark, through Arrow batches) and online scoring.
Imports numpy and scipy only. Fitting (statistics, vocabularies, quantiles, target encoding) is
`operators.feature_state.build_feature_state`, over pandas or Spark statistics. Each transform is compiled by
its entry in `COMPILERS`.

    transform(state, columns, n_rows) -> FeatureMatrix
    input_spec(state) -> [{"name", "datatype", "nullable", "categories"?}]

`columns` maps raw column names to 1-D arrays: float64 for numbers (NaN = missing), object / str arrays for
categories (None or NaN = missing), or for categories a dictionary-encoded `Categories(codes, values)` (codes
-1 = missing; what pandas.factorize and Arrow dictionary arrays give), which is much faster on many rows.
Unknown extra columns are ignored; a missing one is an OperatorError naming it.

The state: `Fitted(kind="features", meta=..., arrays=...)`, JSON + numeric arrays, no pickle.

    meta = {
      "format": "features/1",
      "label": "default" | null,              # carried into FeatureMatrix.label when present and 0/1
      "inputs": [{"name": "age", "kind": "numeric" | "categorical", "nullable": true}, ...],
      "blocks": [<block>, ...],               # in output order; each adds columns to the right
      "names": [...], "categorical": [...],   # output feature names; those holding category codes
      "views": ["lr", "gbdt"]                 # optional: the model families the state serves (below)
    }
    arrays = {"b<i>.<name>": float64 array}  # vectors of block i (quantile edges, per-category values)

Blocks. `x` is the numeric column, `xf` is x with NaN replaced by `fill`. "dense" blocks add one column;
"group" blocks add `width` columns of which exactly one is 1.0 per row (sparse one-hot).

Each op as "name: its keys; [the arrays it reads] -> its output".

- standardize: column, fill, mean, scale -> dense (xf - mean) / scale
- minmax: column, fill, lo, span -> dense (xf - lo) / span
- log1p: column, fill -> dense sign(xf) * log1p(abs(xf))
- clip: column, fill, lo, hi -> dense clip(xf, lo, hi)
- raw: column -> dense x, NaN kept (for GBDT)
- missing_indicator: column -> dense 1.0 if x is NaN else 0.0
- buckets: column, granularities [k...]; [b<i>.edges<j>] -> one group per granularity j:
  searchsorted(edges, x, "right"), NaN -> len(edges)+1; width len(edges)+2
- onehot: column, vocab [str] -> group: vocab position; unseen or rare -> len(vocab) ("__other__");
  missing -> len(vocab)+1
- ordinal: column, vocab [str] -> dense vocab position as float, NaN for unseen / missing; a categorical feature
- hash: column, n_dims -> group: crc32(utf-8 value) % n_dims, missing hashes as MISSING_TOKEN
- frequency: column, vocab, missing_value; [b<i>.values] -> dense values[vocab position]; unseen -> 0.0;
  missing -> missing_value
- target: column, vocab, prior, missing_value; [b<i>.values] -> dense values[vocab position]; unseen -> prior;
  missing -> missing_value
- cross: parts [{column, kind: "category"} or {column, kind: "buckets"}], n_dims; [b<i>.edges<p> for bucket
  part p] -> group: hash of the parts' codes % n_dims

Views. A block may carry `"view": "lr"` or `"view": "gbdt"`: it serves that model family only (auto mode gives LR
standardised values, buckets and one-hot, and GBDT raw values and category codes, from one fit); a block without
one serves every view. `transform` builds all blocks and records each view's column ranges in
`FeatureMatrix.views`; a trainer takes its view's columns (`matrix_view`) and records the view in its model, and
`state_view(state, view)` is the plain state of those blocks alone, which predict and publishing use.

Category values are compared as canonical strings: str as is; an integral number as its integer digits
("3", not "3.0"); other floats by repr; anything else by str(). Cross codes: a category part's code is the
crc32 of its canonical string (MISSING_TOKEN for missing), a bucket part's code is its bucket index; the
parts fold as h = (h * 1099511628211) XOR code in uint64 arithmetic starting from h = 14695981039346656037,
and the column is h % n_dims.
"""
from __future__ import annotations

import zlib
from typing import Any, NamedTuple
from collections.abc import Callable, Mapping

import numpy as np

from ..contract import OperatorError
from ..lazy import lazy_module
from ..values import FeatureMatrix, Fitted

sp = lazy_module("scipy.sparse")  # only to build a sparse matrix: see operators.lazy
FORMAT = "features/1"
MISSING_TOKEN = "\x00missing"
FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)


# ------------------------------------------------------------------------------------------------ inputs
def numeric_column(values: Any, name: str) -> np.ndarray:
    """A raw column as float64 with NaN for missing; an OperatorError naming the column if it is not numeric."""
    array = np.asarray(values)
    if array.dtype.kind == "f" and array.dtype.itemsize == 8:
        return array
    if array.dtype.kind in "fiub":
        return array.astype(np.float64)
    try:
        return np.asarray(array, dtype=np.float64)  # None -> NaN; numeric strings parse
    except (TypeError, ValueError):
        bad = next((v for v in array.ravel() if not _parses_as_float(v)), None)
        raise OperatorError(f"column {name!r} must be numeric; found {bad!r}", column=name) from None


def _parses_as_float(value) -> bool:
    try:
        float(value if value is not None else "nan")
        return True
    except (TypeError, ValueError):
        return False


def canonical(value) -> str | None:
    """The canonical string of one category value; None when missing."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (float, np.floating)):
        if value != value:
            return None
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def category_column(values: Any) -> np.ndarray:
    """A raw column as an object array of canonical strings, None for missing."""
    if isinstance(values, Categories):
        codes, names = category_codes(values)
        return np.array(names + [None], dtype=object)[codes]
    array = np.asarray(values)
    if array.dtype.kind in "fiub":  # numbers used as categories: convert each distinct value once
        if array.size == 0:
            return np.empty(0, dtype=object)
        uniques, inverse = np.unique(array, return_inverse=True)
        names = np.array([canonical(u.item()) for u in uniques], dtype=object)
        return names[inverse.reshape(-1)]
    if array.dtype.kind == "U":
        return array.astype(object)
    out = np.empty(array.shape[0], dtype=object)
    out[:] = [v if type(v) is str else canonical(v) for v in array]
    return out


def _crc32(strings) -> np.ndarray:
    """crc32 of each canonical string (MISSING_TOKEN for None) as uint64."""
    return np.fromiter((zlib.crc32((MISSING_TOKEN if s is None else s).encode("utf-8")) for s in strings),
                       dtype=np.uint64, count=len(strings))


class Categories(NamedTuple):
    """A dictionary-encoded categorical column: `codes[i]` indexes `values`, -1 is missing. Callers that
    already hold one (pandas.factorize, an Arrow dictionary array) pass it instead of a plain array, so the
    kernel's per-value work (canonical strings, lookups, hashes) runs once per distinct value, not per row."""

    codes: Any
    values: Any


def category_codes(raw: Any) -> tuple[np.ndarray, list[str]]:
    """A categorical column as (codes, names): names are distinct canonical strings, codes index them, -1 is
    missing. Accepts a `Categories`, a numeric array or an object / str array."""
    if isinstance(raw, Categories):
        codes, values = np.asarray(raw.codes, dtype=np.int64), list(raw.values)
    else:
        array = np.asarray(raw)
        if array.dtype.kind in "fiub" and array.size:
            uniques, inverse = np.unique(array, return_inverse=True)
            codes, values = inverse.reshape(-1).astype(np.int64), [u.item() for u in uniques]
        else:
            lut: dict = {}
            setdefault = lut.setdefault
            try:
                codes = np.fromiter((setdefault(v, len(lut)) for v in array.ravel()), dtype=np.int64,
                                    count=array.size)
            except TypeError:  # unhashable values: compare them as strings
                codes = np.fromiter((setdefault(str(v), len(lut)) for v in array.ravel()), dtype=np.int64,
                                    count=array.size)
            values = list(lut)
            if all(type(v) is str for v in values):  # distinct, canonical, none missing: nothing to merge
                return codes, values
    # distinct raw values may share a canonical string (3 and 3.0) or be missing (None, NaN): merge them
    names: dict[str, int] = {}
    remap = np.fromiter((-1 if (c := canonical(v)) is None else names.setdefault(c, len(names)) for v in values),
                        dtype=np.int64, count=len(values))
    if len(remap) and not (np.array_equal(remap, np.arange(len(values)))):
        codes = np.where(codes < 0, -1, remap[np.maximum(codes, 0)]) if len(codes) else codes
    return codes, list(names)


def _per_code(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """`table` holds one entry per name and a last one for missing; code -1 picks the last."""
    return table[codes]


# ------------------------------------------------------------------------------------------- compiling
class _Block:
    """One compiled block: `dense` (list of functions to columns) or `groups` (functions to indices)."""

    __slots__ = ("kind", "column", "compute", "width", "categorical")

    def __init__(self, kind: str, column: str | tuple, compute: Callable, width: int):
        self.kind = kind  # "numeric", "categorical" or "cross": which raw column view compute() receives
        self.column = column
        self.compute = compute  # -> list of ("dense", float array) or ("group", int array, width)
        self.width = width


class CompiledState:
    def __init__(self, state: Fitted):
        meta = state.meta
        if state.kind != "features" or meta.get("format") != FORMAT:
            raise OperatorError(f"not a feature state (kind {state.kind!r}, format {meta.get('format')!r})",
                                port="feature_state")
        self.inputs = meta["inputs"]
        self.kinds = {c["name"]: c["kind"] for c in self.inputs}
        self.names = list(meta["names"])
        self.categorical = list(meta.get("categorical", []))
        self.label = meta.get("label")
        classes = meta.get("label_classes")  # [negative, positive] as the training rows held them
        self.positive = classes[1] if isinstance(classes, list) and len(classes) == 2 else None
        self.blocks = [_compile_block(i, b, state.arrays) for i, b in enumerate(meta["blocks"])]
        self.width = sum(b.width for b in self.blocks)
        self.fused = _fused_plan(meta["blocks"])
        self.views = _view_ranges(meta["blocks"], [b.width for b in self.blocks], meta.get("views") or [])
        if self.width != len(self.names):
            raise OperatorError(f"feature state is inconsistent: {self.width} columns but {len(self.names)} names",
                                port="feature_state")


AFFINE = {"standardize": ("mean", "scale"), "minmax": ("lo", "span")}  # (xf - a) / b
DENSE_OPS = {*AFFINE, "log1p", "clip", "raw", "missing_indicator", "ordinal", "frequency", "target"}


class _Fused(NamedTuple):
    """A dense state's affine and missing-indicator blocks, computed as a few 2-D operations over all their
    columns at once instead of four or five numpy calls per block: the same element-wise operations in the
    same order, so the same doubles. Built once per state."""

    columns: list[str]  # the distinct numeric columns these blocks read, in first-use order
    affine: np.ndarray  # block indices (= output columns of a dense state) of the affine blocks
    affine_rows: np.ndarray  # each affine block's row in the stacked columns
    fill: np.ndarray  # (k, 1) per affine block
    shift: np.ndarray  # (k, 1)
    scale: np.ndarray  # (k, 1)
    missing: np.ndarray  # block indices of the missing indicators
    missing_rows: np.ndarray  # each missing indicator's row in the stacked columns
    others: list[int]  # the state's other blocks, computed one by one
    affine_identity: bool  # affine block k reads stacked row k: it is computed in place
    full: list  # [(n_rows, shift, scale) or None]: see _full


def _fused_plan(blocks: list[dict]) -> _Fused | None:
    """The fused plan of a state whose blocks all add one dense column (its blocks' indices are its output
    columns); None for any other state, or when fewer than two blocks would be fused."""
    if not blocks or any(b["op"] not in DENSE_OPS for b in blocks):
        return None
    columns: dict[str, int] = {}
    affine, missing = [], []
    for i, b in enumerate(blocks):
        if b["op"] in AFFINE:
            affine.append((i, columns.setdefault(b["column"], len(columns)), float(b["fill"]),
                           *(float(b[k]) for k in AFFINE[b["op"]])))
        elif b["op"] == "missing_indicator":
            missing.append((i, columns.setdefault(b["column"], len(columns))))
    if len(affine) + len(missing) < 2:
        return None
    fused = {r[0] for r in affine} | {r[0] for r in missing}

    def ints(rows, j):
        return np.array([r[j] for r in rows], dtype=np.intp)

    def floats(j):  # a column vector: it broadcasts along each block's row
        return np.array([r[j] for r in affine], dtype=np.float64).reshape(-1, 1)
    return _Fused(list(columns), ints(affine, 0), ints(affine, 1), floats(2), floats(3), floats(4),
                  ints(missing, 0), ints(missing, 1), [i for i in range(len(blocks)) if i not in fused],
                  [r[1] for r in affine] == list(range(len(columns))), [None])


def _view_ranges(blocks: list[dict], widths: list[int], views: list[str]) -> dict[str, list[list[int]]]:
    """Each view's output columns as [start, stop) ranges (adjacent ranges merged); {} for a single-view state."""
    out: dict[str, list[list[int]]] = {}
    for view in views:
        ranges: list[list[int]] = []
        start = 0
        for block, width in zip(blocks, widths, strict=True):
            if block.get("view", view) == view and width:
                if ranges and ranges[-1][1] == start:
                    ranges[-1][1] = start + width
                else:
                    ranges.append([start, start + width])
            start += width
        out[view] = ranges
    return out


def _fill(x: np.ndarray, fill: float) -> np.ndarray:
    # Most columns have no missing value in most requests: their sum is a number (a NaN anywhere makes it NaN;
    # infinities or an overflow at most send a column without NaN the long way), one pass and no bool array.
    total = np.add.reduce(x)
    return x if total == total else np.where(np.isnan(x), fill, x)


def _compile_block(i: int, block: dict, arrays: Mapping[str, np.ndarray]) -> _Block:
    compiler = COMPILERS.get(block["op"])
    if compiler is None:
        raise OperatorError(f"feature state has an unknown transform {block['op']!r}", port="feature_state")

    def array(name):
        return np.asarray(arrays[f"b{i}.{name}"], dtype=np.float64)

    return compiler(block, array)


# Each compiler takes (block, array) -- the block's JSON and a reader of its arrays by name -- and returns the
# compiled block. A new transform is one entry in COMPILERS (and one in operators.feature_state's tables).
def _standardize(block: dict, array: Callable) -> _Block:
    fill, mean, scale = float(block["fill"]), float(block["mean"]), float(block["scale"])
    return _Block("numeric", block["column"], lambda x: [("dense", (_fill(x, fill) - mean) / scale)], 1)


def _minmax(block: dict, array: Callable) -> _Block:
    fill, lo, span = float(block["fill"]), float(block["lo"]), float(block["span"])
    return _Block("numeric", block["column"], lambda x: [("dense", (_fill(x, fill) - lo) / span)], 1)


def _log1p(block: dict, array: Callable) -> _Block:
    fill = float(block["fill"])

    def log1p(x):
        xf = _fill(x, fill)
        return [("dense", np.sign(xf) * np.log1p(np.abs(xf)))]
    return _Block("numeric", block["column"], log1p, 1)


def _clip(block: dict, array: Callable) -> _Block:
    fill, lo, hi = float(block["fill"]), float(block["lo"]), float(block["hi"])
    return _Block("numeric", block["column"], lambda x: [("dense", np.clip(_fill(x, fill), lo, hi))], 1)


def _raw(block: dict, array: Callable) -> _Block:
    return _Block("numeric", block["column"], lambda x: [("dense", x)], 1)


def _missing_indicator(block: dict, array: Callable) -> _Block:
    return _Block("numeric", block["column"], lambda x: [("dense", np.isnan(x).astype(np.float64))], 1)


def _buckets(block: dict, array: Callable) -> _Block:
    edges = [array(f"edges{j}") for j in range(len(block["granularities"]))]

    def buckets(x):
        nan = np.isnan(x)
        out = []
        for e in edges:
            index = e.searchsorted(x, side="right")
            index[nan] = len(e) + 1
            out.append(("group", index, len(e) + 2))
        return out
    return _Block("numeric", block["column"], buckets, sum(len(e) + 2 for e in edges))


def _onehot(block: dict, array: Callable) -> _Block:
    n = len(block["vocab"])
    lut = {v: k for k, v in enumerate(block["vocab"])}

    def onehot(view):
        codes, names = view
        table = np.array([lut.get(name, n) for name in names] + [n + 1], dtype=np.int64)
        return [("group", _per_code(table, codes), n + 2)]
    return _Block("categorical", block["column"], onehot, n + 2)


def _ordinal(block: dict, array: Callable) -> _Block:
    lut = {v: float(k) for k, v in enumerate(block["vocab"])}

    def ordinal(view):
        codes, names = view
        table = np.array([lut.get(name, np.nan) for name in names] + [np.nan], dtype=np.float64)
        return [("dense", _per_code(table, codes))]
    return _Block("categorical", block["column"], ordinal, 1)


def _hash(block: dict, array: Callable) -> _Block:
    n_dims = int(block["n_dims"])

    def hashed(view):
        codes, names = view
        table = (_crc32(names + [None]) % np.uint64(n_dims)).astype(np.int64)
        return [("group", _per_code(table, codes), n_dims)]
    return _Block("categorical", block["column"], hashed, n_dims)


def _encoded(block: dict, array: Callable) -> _Block:
    """frequency and target: a value per known category; unseen and missing have their own."""
    known = array("values")
    unseen = 0.0 if block["op"] == "frequency" else float(block["prior"])
    missing = float(block["missing_value"])
    lut = {v: k for k, v in enumerate(block["vocab"])}

    def encoded(view):
        codes, names = view
        table = np.array([known[lut[name]] if name in lut else unseen for name in names] + [missing],
                         dtype=np.float64)
        return [("dense", _per_code(table, codes))]
    return _Block("categorical", block["column"], encoded, 1)


def _cross(block: dict, array: Callable) -> _Block:
    parts = block["parts"]
    n_dims = int(block["n_dims"])
    edges = {p: array(f"edges{p}") for p, part in enumerate(parts) if part["kind"] == "buckets"}

    def cross(views):
        n = len(views[0][0]) if isinstance(views[0], tuple) else len(views[0])
        h = np.full(n, FNV_OFFSET, dtype=np.uint64)
        for p, part in enumerate(parts):
            if part["kind"] == "buckets":
                x = views[p]
                code = np.searchsorted(edges[p], x, side="right").astype(np.uint64)
                code[np.isnan(x)] = np.uint64(len(edges[p]) + 1)
            else:
                codes, names = views[p]
                code = _per_code(_crc32(names + [None]), codes)
            h = (h * FNV_PRIME) ^ code
        return [("group", (h % np.uint64(n_dims)).astype(np.int64), n_dims)]
    return _Block("cross", tuple((p["column"], p["kind"]) for p in parts), cross, n_dims)


COMPILERS: dict[str, Callable[[dict, Callable], _Block]] = {
    "standardize": _standardize, "minmax": _minmax, "log1p": _log1p, "clip": _clip, "raw": _raw,
    "missing_indicator": _missing_indicator, "buckets": _buckets,
    "onehot": _onehot, "ordinal": _ordinal, "hash": _hash, "frequency": _encoded, "target": _encoded,
    "cross": _cross,
}


def compiled(state: Fitted) -> CompiledState:
    """The state's lookups, built once per state object and kept on it (a scorer calls this per request)."""
    cached = state.__dict__.get("_compiled")
    if cached is None or cached[0] is not state.meta:
        cached = (state.meta, CompiledState(state))
        state.__dict__["_compiled"] = cached
    return cached[1]


# ------------------------------------------------------------------------------------------- transform
def transform(state: Fitted, columns: Mapping[str, Any], n_rows: int, *, column_major: bool = False) -> FeatureMatrix:
    """Apply a fitted feature state to raw columns. Sparse CSR when any block is one-hot, else dense; with
    `column_major`, a dense X is the Fortran-ordered view of the columns as the kernel wrote them (same values,
    no transposing copy: about 11 us of 1,000 rows x 12 columns) for a consumer that reads either order, as the
    scorers do (LightGBM takes column-major input as it is, LR's product too)."""
    return transform_compiled(compiled(state), columns, n_rows, column_major=column_major)


def transform_compiled(c: CompiledState, columns: Mapping[str, Any], n_rows: int,
                       overrides: Mapping[int, np.ndarray] | None = None, *,
                       column_major: bool = False) -> FeatureMatrix:
    views: dict[tuple[str, str], np.ndarray] = {}

    def view(name: str, kind: str) -> np.ndarray:
        key = (name, kind)
        if key not in views:
            if name not in columns:
                raise OperatorError(f"input column {name!r} is missing; the feature state needs it", column=name)
            raw = columns[name]
            if len(raw.codes if isinstance(raw, Categories) else raw) != n_rows:
                raise OperatorError(f"column {name!r} has {len(raw)} values, expected {n_rows}", column=name)
            views[key] = numeric_column(raw, name) if kind == "numeric" else category_codes(raw)
        return views[key]

    for spec in c.inputs:  # check every input first, so the error names the first missing column
        view(spec["name"], "numeric" if spec["kind"] == "numeric" else "categorical")

    if c.fused is not None and not overrides:
        X = _dense_fused(c, view, n_rows)
        X = X.T if column_major else np.ascontiguousarray(X.T)
    else:
        X = _assemble(_pieces(c, view, overrides), n_rows, c.width, column_major)
    return FeatureMatrix(X, list(c.names), _label(columns, c.label, n_rows, c.positive), c.label,
                         list(c.categorical), {k: [list(r) for r in v] for k, v in c.views.items()})


def _pieces(c: CompiledState, view: Callable, overrides) -> list[tuple]:
    """Each block's output pieces in turn (an override replacing a block's dense column)."""
    pieces: list[tuple] = []
    for i, block in enumerate(c.blocks):
        if overrides and i in overrides:
            pieces.append(("dense", np.asarray(overrides[i], dtype=np.float64)))
            continue
        if block.kind == "cross":
            arg = [view(col, "numeric" if kind == "buckets" else "categorical") for col, kind in block.column]
        else:
            arg = view(block.column, block.kind)
        pieces.extend(block.compute(arg))
    return pieces


def _dense_fused(c: CompiledState, view: Callable, n_rows: int) -> np.ndarray:
    """A dense state's (columns, n_rows) output: the fused blocks in a few 2-D operations, the others as usual."""
    f = c.fused
    X = np.empty((c.width, n_rows), dtype=np.float64)
    stacked = np.empty((len(f.columns), n_rows), dtype=np.float64)
    for j, name in enumerate(f.columns):
        stacked[j] = view(name, "numeric")
    nan = np.isnan(stacked)
    if len(f.missing):
        X[f.missing] = nan[f.missing_rows]  # bool -> 1.0 / 0.0
    if len(f.affine):
        x = stacked if f.affine_identity else stacked[f.affine_rows]
        for r in np.flatnonzero(nan.any(axis=1)[f.affine_rows]).tolist():  # as _fill: NaN -> fill
            x[r][nan[f.affine_rows[r]]] = f.fill[r, 0]  # (copyto's where= costs 25 instructions a value)
        shift, scale = _full(f, n_rows)
        np.subtract(x, shift, out=x)
        np.divide(x, scale, out=x)
        X[f.affine] = x
    for i in f.others:
        block = c.blocks[i]
        X[i] = block.compute(view(block.column, block.kind))[0][1]
    return X


def _full(f: _Fused, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """The shifts and scales as (k, n_rows) arrays, kept for the last request size: a (k, 1) operand makes
    numpy's ufunc loop copy it into a buffer row by row, 6 instructions a value (the subtraction takes 1.3)."""
    cached = f.full[0]
    if cached is None or cached[0] != n_rows:
        cached = (n_rows, *(np.ascontiguousarray(np.broadcast_to(a, (len(a), n_rows))) for a in (f.shift, f.scale)))
        f.full[0] = cached  # one assignment: a concurrent request sees the old entry or the new one
    return cached[1], cached[2]


def _assemble(pieces: list[tuple], n_rows: int, width: int, column_major: bool = False):
    # Columns are written as contiguous rows of a (columns, n_rows) array and transposed in one pass:
    # writing them straight into a row-major matrix is strided and several times slower on many rows.
    if not any(p[0] == "group" for p in pieces):
        X = np.empty((width, n_rows), dtype=np.float64)
        for j, piece in enumerate(pieces):
            X[j] = piece[1]
        return X.T if column_major else np.ascontiguousarray(X.T)
    slots = len(pieces)
    index_type = np.int32 if width < 2**31 - 1 else np.int64
    indices = np.empty((slots, n_rows), dtype=index_type)
    data = np.empty((slots, n_rows), dtype=np.float64)
    offset = 0
    for j, piece in enumerate(pieces):
        if piece[0] == "dense":
            indices[j] = offset
            data[j] = piece[1]
            offset += 1
        else:
            indices[j] = piece[1] + offset
            data[j] = 1.0
            offset += piece[2]
    indptr = np.arange(0, n_rows * slots + 1, slots, dtype=index_type)
    return sp.csr_matrix((np.ascontiguousarray(data.T).reshape(-1), np.ascontiguousarray(indices.T).reshape(-1),
                          indptr), shape=(n_rows, width))


def _label(columns: Mapping[str, Any], name: str | None, n_rows: int, positive=None) -> np.ndarray | None:
    """The label as 0/1 int8 when the column is present and binary (1: the training label's positive value,
    when the state knows it); None otherwise (scoring new rows)."""
    if not name or name not in columns:
        return None
    raw = np.asarray(columns[name])
    if positive is not None:
        missing = np.isnan(raw).any() if raw.dtype.kind == "f" else \
            raw.dtype.kind == "O" and any(v is None or v != v for v in raw)
        return None if len(raw) != n_rows or missing else (raw == positive).astype(np.int8)
    if raw.dtype.kind == "b":
        return raw.astype(np.int8)
    if raw.dtype.kind not in "fiu":
        strings = category_column(raw)
        mapping = {"0": 0.0, "1": 1.0, "False": 0.0, "True": 1.0, "false": 0.0, "true": 1.0}
        raw = np.array([mapping.get(s, np.nan) if s is not None else np.nan for s in strings], dtype=np.float64)
    raw = raw.astype(np.float64)
    if len(raw) != n_rows or not np.all((raw == 0) | (raw == 1)):
        return None
    return raw.astype(np.int8)


# ------------------------------------------------------------------------------------------------ views
def view_columns(views: Mapping[str, list], view: str) -> np.ndarray:
    """The column indices of `view` from a matrix's or a state's view ranges."""
    if view not in views:
        raise OperatorError(f"the features have no {view!r} view (they have {sorted(views)})", port="features")
    ranges = views[view]
    return np.concatenate([np.arange(a, b) for a, b in ranges]) if ranges else np.empty(0, dtype=np.int64)


DENSE_VIEW_COLUMNS = 4096  # a GBDT view of at most this many columns trains on a dense matrix


def dense_view(view: str | None, columns: int) -> bool:
    """Whether a model trains on the `view` of `columns` columns as a dense matrix (the GBDT view)."""
    return view == "gbdt" and columns <= DENSE_VIEW_COLUMNS


def matrix_view(features: FeatureMatrix, view: str) -> tuple[FeatureMatrix, str | None]:
    """The columns of `features` a `view` ("lr" or "gbdt") model trains on, and the view to record in the model
    (None when the matrix has a single view: every column serves every model). The GBDT view is dense (raw
    values and category codes), as LightGBM receives a pandas frame in a hand-written script."""
    if not features.views:
        return features, None
    index = view_columns(features.views, view)
    X = features.X[:, index]
    if sp.issparse(X) and dense_view(view, len(index)):
        X = X.toarray()
    names = [features.names[j] for j in index]
    kept = set(names)
    return FeatureMatrix(X, names, features.label, features.label_name,
                         [c for c in features.categorical if c in kept]), view


def state_view(state: Fitted, view: str | None) -> Fitted:
    """The plain feature state of the blocks serving `view` (the one a model trained on that view is scored and
    published with); the state itself when `view` is None or the state has a single view."""
    if not view or not state.meta.get("views"):
        return state
    if view not in state.meta["views"]:
        raise OperatorError(f"the feature state has no {view!r} view (it has {state.meta['views']})",
                            port="feature_state")
    c = compiled(state)
    blocks, names, arrays, used = [], [], {}, set()
    start = 0
    for i, (block, compiled_block) in enumerate(zip(state.meta["blocks"], c.blocks, strict=True)):
        width = compiled_block.width
        if block.get("view", view) == view:
            j = len(blocks)
            blocks.append({k: v for k, v in block.items() if k != "view"})
            names.extend(c.names[start:start + width])
            prefix = f"b{i}."
            arrays.update({f"b{j}.{k[len(prefix):]}": v for k, v in state.arrays.items() if k.startswith(prefix)})
            used.update([p["column"] for p in block["parts"]] if block["op"] == "cross" else [block["column"]])
        start += width
    kept = set(names)
    meta = {k: v for k, v in state.meta.items() if k != "views"}
    meta.update(blocks=blocks, names=names, view=view, categorical=[n for n in c.categorical if n in kept],
                inputs=[spec for spec in state.meta["inputs"] if spec["name"] in used])
    return Fitted(state.kind, meta=meta, arrays=arrays, texts=dict(state.texts))


def model_view(model: Fitted) -> str | None:
    """The feature view a model was trained on (None: every column of its feature state)."""
    return model.meta.get("feature_view")


# ------------------------------------------------------------------------------------------ input spec
def input_spec(state: Fitted) -> list[dict]:
    """The raw input columns a scorer must receive, for the serving manifest (Open Inference Protocol v2)."""
    vocab: dict[str, list[str] | None] = {}
    for block in state.meta["blocks"]:
        if block["op"] in ("onehot", "ordinal") and block["column"] not in vocab:
            vocab[block["column"]] = list(block["vocab"])
    spec = []
    for column in state.meta["inputs"]:
        entry = {"name": column["name"], "datatype": "FP64" if column["kind"] == "numeric" else "BYTES",
                 "nullable": bool(column.get("nullable", True))}
        if column["name"] in vocab:
            # other values are accepted too (they map to the "other" bucket); these are the known ones
            entry["categories"] = vocab[column["name"]]
        spec.append(entry)
    return spec


def feature_names(state: Fitted) -> list[str]:
    return list(state.meta["names"])
