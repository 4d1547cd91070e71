"""Small checks on input tables that every operator shares, so errors name the column and the field."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from .contract import OperatorError


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, field: str, port: str = "table") -> None:
    """Raise an OperatorError naming the first column of `columns` that `df` lacks."""
    for column in columns:
        if column not in df.columns:
            known = ", ".join(map(str, list(df.columns)[:20]))
            raise OperatorError(f"column {column!r} (from {field}) is not in the {port!r} input; "
                                f"columns are: {known}", field=field, column=column, port=port)


def require_rows(df: pd.DataFrame, *, port: str = "table") -> None:
    if len(df) == 0:
        raise OperatorError(f"the {port!r} input has no rows", port=port)


def binary_label(df: pd.DataFrame, column: str, *, field: str = "label"):
    """The label column as 0/1 integers; a clear error if it is not binary or has missing values."""
    import numpy as np

    require_columns(df, [column], field=field)
    values = df[column]
    if values.isna().any():
        raise OperatorError(f"label column {column!r} has {int(values.isna().sum())} missing values",
                            field=field, column=column)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):  # fast path, no per-row Python
        array = values.to_numpy()
        distinct = np.unique(array)
        if len(distinct) <= 2 and set(distinct.tolist()) <= {0, 1}:
            return array.astype(np.int8)
    distinct = pd.unique(values)
    if len(distinct) > 2:
        raise OperatorError(f"label column {column!r} must be binary; it has {len(distinct)} distinct values",
                            field=field, column=column)
    if set(map(_as_number, distinct)) <= {0, 1}:
        return values.map(_as_number).to_numpy(dtype=np.int8)
    raise OperatorError(f"label column {column!r} must hold 0/1 (or true/false); found {list(distinct)[:5]}",
                        field=field, column=column)


def _as_number(value):
    if isinstance(value, (bool,)) or str(type(value)).endswith("bool_'>"):
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number in (0.0, 1.0) else number
