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


# The key under which a scored table names the true label column its model was trained on: predict sets it
# (pandas: the frame's attrs, kept in its Parquet; Spark: the probability column's metadata), evaluate reads it
# when its own label is left empty, as Azure ML's Score Model marks the label of the dataset it scores. A mark names
# a column of its table: the executor carries it through any operator whose output keeps that column under its name
# (a filter, a join with the scored table on the left, sql_transform...) and drops it with the column
# (pipelines.store.carried_marks); operators neither copy nor check it.
SCORED_LABEL = "studio.scored_label"


def mark_scored_label(df: pd.DataFrame, label: str | None) -> pd.DataFrame:
    """Name the true label column of a scored pandas table (nothing when the feature state had none)."""
    if label:
        df.attrs[SCORED_LABEL] = label
    return df


def scored_label(df: pd.DataFrame) -> str | None:
    """The true label column a pandas table was scored against, as predict marked it."""
    value = getattr(df, "attrs", {}).get(SCORED_LABEL)
    return value if isinstance(value, str) and value else None


def true_label(label: str | None, marked: str | None, columns: list[str], *, port: str = "table") -> str:
    """Which column holds the true label: the one asked for (the node's `label`, else the label the connected
    model was trained on), else the one predict marked on the scored table, else a column called "label" (the
    former default); else an error that says how to choose one."""
    if label:
        return label
    if marked:
        return marked
    if "label" in columns:
        return "label"
    known = ", ".join(map(str, columns[:20]))
    raise OperatorError(f"which column holds the true label? Set label, or connect the model (its training label "
                        f"is used) or a table scored by predict; the {port!r} input's columns are: {known}",
                        field="label", port=port)


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
