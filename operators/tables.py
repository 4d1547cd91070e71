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


def binary_label(df: pd.DataFrame, column: str, *, field: str = "label", positive: str = ""):
    """The label column as 0/1 integers (1: the positive class, by operators/labels.py's rule); a clear error
    when it has missing values or more than two values."""
    from .labels import encode_label

    return encode_label(df, column, positive, field=field)[0]


def _as_number(value):
    if isinstance(value, (bool,)) or str(type(value)).endswith("bool_'>"):
        return int(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number in (0.0, 1.0) else number
