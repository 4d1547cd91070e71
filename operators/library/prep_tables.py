"""Data preparation over whole tables: drop duplicates, clean missing values (Azure ML designer's Clean Missing
Data), sort rows, union tables. The checks and the plan of each are functions both engines' halves call, so
errors are the same on both; only where the statistics come from differs (DESIGN principle 1)."""
from __future__ import annotations

from typing import Literal

import pandas as pd
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..tables import require_columns
from .prep import value_kind, value_text
from .table_ops import TABLE_IN, TABLE_OUT

CATEGORY = "Data preparation"
CleanMode = Literal["drop_rows", "drop_column", "mean", "median", "mode", "constant"]
MISSING_SUFFIX = "_missing"


# ---------------------------------------------------------------------------------------- duplicates
class DropDuplicates(Operator):
    """Removes rows that repeat an earlier (or later) row, on all columns or on the chosen ones. Missing values
    are equal to each other here, as in SQL's DISTINCT."""

    name = "drop_duplicates"

    spark = "operators.spark.prep:drop_duplicates"
    category = CATEGORY
    description = "Remove repeated rows, on all or chosen columns."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        columns: list[str] = Field(default_factory=list, description="Columns that make a row a repeat; empty "
                                                                     "compares every column")
        keep: Literal["first", "last"] = Field("first", description="Which of the repeated rows to keep")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        require_columns(table, params.columns, field="columns")
        out = table.drop_duplicates(subset=list(dict.fromkeys(params.columns)) or None, keep=params.keep)
        ctx.log(f"removed {len(table) - len(out):,} repeated rows of {len(table):,}")
        return {"table": out.reset_index(drop=True)}


# ------------------------------------------------------------------------------------------- missing
class CleanMissing(Operator):
    """Azure's Clean Missing Data: for each chosen column (every column when none are chosen) whose share of
    missing values lies within [min_missing_ratio, max_missing_ratio], either remove the rows that miss it,
    remove the column, or replace the gaps with the column's mean, median, mode (most frequent value, the
    lowest on ties) or a constant. `modes` sets another mode per column. With `indicator` each cleaned column
    gets a 0/1 column `<name>_missing` that marks the rows that were missing. Statistics come from all rows
    present before any row is removed."""

    name = "clean_missing"

    spark = "operators.spark.prep:clean_missing"
    category = CATEGORY
    description = "Drop or replace missing values per column (mean, median, mode, constant), with indicators."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        columns: list[str] = Field(default_factory=list, description="Columns to clean; empty cleans every column")
        mode: CleanMode = Field("median", description="What to do with a gap; mean and median need numbers")
        modes: dict[str, CleanMode] = Field(default_factory=dict, description="Column -> mode, for columns "
                                                                              "cleaned otherwise than `mode`")
        value: str | float | int | bool | None = Field(None, description="mode 'constant': the value")
        indicator: bool = Field(False, description="Add a 0/1 column <name>_missing per cleaned column")
        min_missing_ratio: float = Field(0.0, ge=0, le=1, description="Clean a column only if at least this "
                                                                      "share of it is missing")
        max_missing_ratio: float = Field(1.0, ge=0, le=1, description="... and at most this share")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        missing = {c: int(table[c].isna().sum()) for c in clean_candidates(table, params)}
        plan = clean_plan(table.columns, len(table), missing, params, numeric=lambda c: _is_number(table[c]))
        fills = {c: _statistic(table[c], mode, params.value, c) for c, mode in plan.items()
                 if mode not in ("drop_rows", "drop_column")}
        out = table.copy(deep=False)
        for column in plan if params.indicator else ():
            out[column + MISSING_SUFFIX] = table[column].isna().astype("int64")
        for column, fill in fills.items():
            out[column] = table[column].fillna(fill) if fill is not None else table[column]
        dropped_rows = [c for c, m in plan.items() if m == "drop_rows"]
        if dropped_rows:
            out = out[table[dropped_rows].notna().all(axis=1).to_numpy()].reset_index(drop=True)
        out = out.drop(columns=[c for c, m in plan.items() if m == "drop_column"])
        ctx.log(clean_summary(plan, missing, len(table), len(out)))
        return {"table": out}


def clean_candidates(table, params) -> list[str]:
    require_columns(table, params.columns, field="columns")
    require_columns(table, params.modes, field="modes")
    return list(dict.fromkeys(params.columns or [*table.columns]))


def clean_plan(columns, rows: int, missing: dict[str, int], params, numeric) -> dict[str, str]:
    """Column -> mode for the columns that get cleaned (with gaps, within the ratios); errors name the column.
    `numeric(column)` is the engine's test."""
    if (params.mode == "constant" or "constant" in params.modes.values()) and params.value is None:
        raise OperatorError("mode 'constant' needs a value", field="value")
    plan = {}
    for column, count in missing.items():
        ratio = count / rows if rows else 0.0
        if not count or not params.min_missing_ratio <= ratio <= params.max_missing_ratio:
            continue
        mode = params.modes.get(column, params.mode)
        if mode in ("mean", "median") and not numeric(column):
            if params.columns or column in params.modes:
                field = f"modes.{column}" if column in params.modes else "columns"
                raise OperatorError(f"column {column!r} is not numeric; {mode} needs numbers", field=field,
                                    column=column)
            continue  # cleaning every column: text columns are left alone by mean / median
        if column + MISSING_SUFFIX in columns and params.indicator:
            raise OperatorError(f"the indicator column {column + MISSING_SUFFIX!r} exists already", field="indicator",
                                column=column)
        plan[column] = mode
    return plan


def constant_for(column: str, value, numeric: bool, text: bool):
    """mode 'constant': the value as the column takes it (text in a text column), or an error naming the column
    and the value."""
    if text:
        return value_text(value)
    if numeric and not isinstance(value, (int, float)):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise OperatorError(f"column {column!r} is numeric; the constant {value!r} is not a number",
                                field="value", column=column) from None
    return value


def _is_number(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype) and not (
        series.dtype == object and series.dropna().map(lambda v: not isinstance(v, str)).any())


def _statistic(series: pd.Series, mode: str, value, column: str):
    if mode == "constant":
        return constant_for(column, value, _is_number(series), _is_text(series))
    if mode == "mean":
        return series.mean()
    if mode == "median":
        return series.median()
    counts = series.value_counts(dropna=True)  # mode: the most frequent, the lowest value on ties
    if counts.empty:
        return None
    top = counts[counts == counts.max()].index
    return sorted(top)[0] if len(top) > 1 else top[0]


def clean_summary(plan: dict[str, str], missing: dict[str, int], rows_in: int, rows_out: int | None = None) -> str:
    if not plan:
        return "no column needed cleaning"
    parts = ", ".join(f"{c} ({missing[c]:,} missing: {m})" for c, m in list(plan.items())[:20])
    return f"cleaned {parts} of {rows_in:,} rows" + (f"; {rows_out:,} rows remain" if rows_out is not None else "")


# ---------------------------------------------------------------------------------------------- sort
class SortRows(Operator):
    """Sorts rows by one or more columns, each ascending or descending, missing values first or last. Rows that
    tie keep their order."""

    name = "sort_rows"

    spark = "operators.spark.prep:sort_rows"
    category = CATEGORY
    description = "Sort rows by columns."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        columns: list[str] = Field(..., min_length=1, description="Columns to sort by, the first first")
        descending: list[bool] = Field(default_factory=list, description="Per column (or one for all): "
                                                                         "descending; empty sorts ascending")
        missing: Literal["last", "first"] = Field("last", description="Where missing values go")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        ascending = [not d for d in sort_directions(table, params)]
        out = table.sort_values(list(params.columns), ascending=ascending, na_position=params.missing,
                                kind="stable")
        return {"table": out.reset_index(drop=True)}


def sort_directions(table, params) -> list[bool]:
    require_columns(table, params.columns, field="columns")
    if len(params.descending) not in (0, 1, len(params.columns)):
        raise OperatorError(f"descending has {len(params.descending)} values for {len(params.columns)} columns; "
                            "give one per column, or one for all", field="descending")
    if len(params.descending) == 1:
        return params.descending * len(params.columns)
    return params.descending or [False] * len(params.columns)


# --------------------------------------------------------------------------------------------- union
UNION_INPUTS = (Port("first", PortType.TABLE, "Rows"), Port("second", PortType.TABLE, "More rows"),
                Port("third", PortType.TABLE, "More rows", optional=True),
                Port("fourth", PortType.TABLE, "More rows", optional=True))


class UnionTables(Operator):
    """Stacks the rows of two to four tables with the same columns (in any order; the first table's order is
    kept). A column that one table lacks, or that holds numbers in one table and text in another, is an error
    naming it. `distinct` removes repeated rows afterwards (SQL's UNION rather than UNION ALL)."""

    name = "union_tables"

    spark = "operators.spark.prep:union_tables"
    category = CATEGORY
    description = "Stack the rows of tables with the same columns."
    inputs, outputs = UNION_INPUTS, TABLE_OUT

    class Params(Params):
        distinct: bool = Field(False, description="Remove repeated rows (UNION instead of UNION ALL)")

    def run(self, ctx, inputs, params):
        tables = union_inputs(inputs, kind=_kind)
        first = next(iter(tables.values()))
        out = pd.concat([t[list(first.columns)] for t in tables.values()], ignore_index=True)
        if params.distinct:
            out = out.drop_duplicates().reset_index(drop=True)
        ctx.log(" + ".join(f"{len(t):,}" for t in tables.values()) + f" rows -> {len(out):,}")
        return {"table": out}


def _kind(table, column) -> str:
    return value_kind(table[column])


def union_inputs(inputs, *, kind) -> dict:
    """The connected inputs by port, after checking they have the same columns of compatible kinds (a column
    with no values takes any kind). `kind(table, column)` is the engine's test."""
    tables = {p.name: inputs[p.name] for p in UNION_INPUTS if inputs.get(p.name) is not None}
    names = iter(tables)
    first_port = next(names)
    first = tables[first_port]
    for port in names:
        other = tables[port]
        for column in [c for c in first.columns if c not in other.columns][:1]:
            raise OperatorError(f"column {column!r} of {first_port!r} is not in {port!r}", port=port, column=column)
        for column in [c for c in other.columns if c not in first.columns][:1]:
            raise OperatorError(f"column {column!r} of {port!r} is not in {first_port!r}", port=port, column=column)
        for column in first.columns:
            a, b = kind(first, column), kind(other, column)
            if "empty" not in (a, b) and a != b:
                raise OperatorError(f"column {column!r} holds {a} values in {first_port!r} but {b} values in "
                                    f"{port!r}", port=port, column=column)
    return tables
