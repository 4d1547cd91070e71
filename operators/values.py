"""The values that travel along edges, apart from tables (pandas / Spark DataFrames) and metrics (dicts).

Each is plain data: JSON-able metadata plus numpy arrays plus library-native text, so the artifact
store can write it without pickle (DESIGN principle 6).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Fitted:
    """A fitted state: a model (LR coefficients, a LightGBM text model) or a feature transform's state.

    `kind` says which code can use it ("lr", "lightgbm", "features"); `meta` is JSON-able; `arrays` are
    numeric numpy arrays; `texts` hold library-native text formats (LightGBM's model string).
    """

    kind: str
    meta: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


@dataclass
class FeatureMatrix:
    """Rows x features, dense (numpy) or sparse (scipy CSR), with names, an optional label and row ids."""

    X: Any
    names: list[str]
    label: np.ndarray | None = None
    label_name: str | None = None
    # names of columns that hold category codes (LightGBM's native categorical handling)
    categorical: list[str] = field(default_factory=list)
    # a state serving several model families: view ("lr", "gbdt") -> its [start, stop) column ranges
    views: dict[str, list[list[int]]] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return self.X.shape[0]


@dataclass
class Report:
    """Charts (plotly figure dicts, drawn by plotly.js) and small tables for the outputs panel."""

    figures: dict[str, dict] = field(default_factory=dict)
    tables: dict[str, list[dict]] = field(default_factory=dict)
    text: str = ""
