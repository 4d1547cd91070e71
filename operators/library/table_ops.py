"""Table utilities users expect on a canvas: select / drop / rename columns, filter rows, fill missing values,
join two tables, sample, summarize."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..expressions import Expression
from ..profile import table_profile
from ..tables import require_columns, require_rows
from ..values import Report

TABLE_IN = (Port("table", PortType.TABLE, "Input rows"),)
TABLE_OUT = (Port("table", PortType.TABLE, "Output rows"),)


class SelectColumns(Operator):
    """Keeps the listed columns (in that order), or drops them."""

    name = "select_columns"
    spark = "operators.spark.table_ops:select_columns"
    category = "Data preparation"
    description = "Keep or drop columns."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        columns: list[str] = Field(..., min_length=1, description="Columns to keep (or to drop)")
        mode: Literal["keep", "drop"] = Field("keep", description="keep: only these columns; drop: all but these")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        require_columns(table, params.columns, field="columns")
        if params.mode == "keep":
            return {"table": table[list(dict.fromkeys(params.columns))].copy()}
        return {"table": table.drop(columns=params.columns)}


class RenameColumns(Operator):
    """Renames columns; two columns may not end up with the same name."""

    name = "rename_columns"
    spark = "operators.spark.table_ops:rename_columns"
    category = "Data preparation"
    description = "Rename columns."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        mapping: dict[str, str] = Field(..., min_length=1, description="Old name -> new name")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        renamed_columns(table, params.mapping)
        return {"table": table.rename(columns=params.mapping)}


def renamed_columns(table, mapping: dict[str, str]) -> list[str]:
    """The table's column names after `mapping` (both engines), or an error naming the column at fault."""
    require_columns(table, mapping, field="mapping")
    for old, new in mapping.items():
        if not new:
            raise OperatorError(f"the new name of {old!r} is empty", field=f"mapping.{old}", column=old)
    renamed = [mapping.get(c, c) for c in table.columns]
    duplicate = next((c for c in renamed if renamed.count(c) > 1), None)
    if duplicate is not None:
        raise OperatorError(f"renaming gives two columns named {duplicate!r}", field="mapping", column=duplicate)
    return renamed


class FilterRows(Operator):
    """Keeps the rows where an expression is true, in the same safe expression language as the rule split
    (rows where it is missing are dropped)."""

    name = "filter_rows"
    spark = "operators.spark.table_ops:filter_rows"
    category = "Data preparation"
    description = "Keep rows matching a boolean expression."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        expression: str = Field(..., min_length=1, description="e.g. age >= 18 and not isnull(income)")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        mask = Expression(params.expression).mask(table)
        ctx.log(f"kept {int(mask.sum()):,} of {len(table):,} rows")
        return {"table": table[mask].reset_index(drop=True)}


class FillMissing(Operator):
    """Fills missing values of the chosen columns (all columns with gaps when none are listed): a constant,
    or each column's mean, median or most frequent value."""

    name = "fill_missing"
    spark = "operators.spark.table_ops:fill_missing"
    category = "Data preparation"
    description = "Fill missing values with a constant, mean, median or most frequent value."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        columns: list[str] = Field(default_factory=list, description="Columns to fill; empty fills every column")
        strategy: Literal["value", "mean", "median", "most_frequent"] = Field(
            "median", description="What to fill with; mean and median apply to numeric columns only")
        value: str | float | int | bool | None = Field(None, description="strategy 'value': the fill value")

    def run(self, ctx, inputs, params):
        table = inputs["table"].copy()
        require_columns(table, params.columns, field="columns")
        columns = params.columns or [c for c in table.columns if table[c].isna().any()]
        if params.strategy == "value" and params.value is None:
            raise OperatorError("strategy 'value' needs a value", field="value")
        for column in columns:
            series = table[column]
            if not series.isna().any():
                continue
            if params.strategy in ("mean", "median"):
                if not pd.api.types.is_numeric_dtype(series):
                    if params.columns:
                        raise OperatorError(f"column {column!r} is not numeric; {params.strategy} needs numbers",
                                            field="columns", column=column)
                    continue  # filling every column: text columns are left for another strategy
                fill = series.mean() if params.strategy == "mean" else series.median()
            elif params.strategy == "most_frequent":
                mode = series.mode(dropna=True)
                if mode.empty:
                    continue
                fill = mode.iloc[0]
            else:
                fill = params.value
                if pd.api.types.is_numeric_dtype(series) and not isinstance(fill, (int, float)):
                    try:
                        fill = float(fill)
                    except (TypeError, ValueError):
                        raise OperatorError(f"column {column!r} is numeric; {fill!r} is not a number",
                                            field="value", column=column) from None
            table[column] = series.fillna(fill)
        return {"table": table}


class Join(Operator):
    """Joins two tables on key columns (inner, left, right or outer). Columns present in both tables, other
    than the keys, get the suffixes `_left` / `_right`."""

    name = "join"
    spark = "operators.spark.table_ops:join"
    category = "Data preparation"
    description = "Join two tables on key columns."
    inputs = (Port("left", PortType.TABLE, "Left table"), Port("right", PortType.TABLE, "Right table"))
    outputs = TABLE_OUT

    class Params(Params):
        left_on: list[str] = Field(..., min_length=1, description="Key columns of the left table")
        right_on: list[str] = Field(default_factory=list, description="Key columns of the right table; empty "
                                                                      "uses the left names")
        how: Literal["inner", "left", "right", "outer"] = Field("inner", description="Which rows to keep")

    def run(self, ctx, inputs, params):
        left, right = inputs["left"], inputs["right"]
        right_on = join_keys(left, right, params, lambda table, column: pd.api.types.is_numeric_dtype(table[column]))
        out = left.merge(right, left_on=params.left_on, right_on=right_on, how=params.how,
                         suffixes=("_left", "_right"))
        ctx.log(f"{len(left):,} x {len(right):,} rows -> {len(out):,}")
        for side, rows, keys, other, other_keys in (("left", left, params.left_on, right, right_on),
                                                   ("right", right, right_on, left, params.left_on)):
            note = unmatched_keys_note(side, unmatched_keys(rows[keys], other[other_keys]))
            if note:
                ctx.log(note)
        return {"table": out}


def _normalised(frame):
    """The keys with text lowered and stripped of surrounding spaces: how a person reads them alike."""
    return frame.apply(lambda c: c if pd.api.types.is_numeric_dtype(c) else c.astype("string").str.strip().str.lower())


def _present(keys, other) -> np.ndarray:
    """Whether each row's key (all its columns) is among the other table's keys."""
    return pd.MultiIndex.from_frame(keys).isin(pd.MultiIndex.from_frame(other))


EXAMPLE_KEYS = 3  # unmatched keys a join's log line shows


@dataclass(frozen=True)
class UnmatchedKeys:
    """The statistics of one side's unmatched keys that a join's log line reads, whichever engine counted them:
    rows with a complete key (`rows`), those whose key is not on the other side (`unmatched`), the smallest few
    of those keys (`examples`, each a tuple of plain values), how many of them match once text is lowered and
    stripped (`alike`), and the key columns that hold text (`text`)."""

    rows: int
    unmatched: int
    examples: list[tuple]
    alike: int
    text: list[str]


def unmatched_keys(keys, other_keys, examples: int = EXAMPLE_KEYS) -> UnmatchedKeys:
    """UnmatchedKeys of `keys` against `other_keys` (pandas frames of the key columns). Rows with a missing key part
    are left out."""
    keys = keys[keys.notna().all(axis=1)]
    other_keys = other_keys.dropna()
    missing = ~_present(keys, other_keys)
    lost = keys[missing]
    text = [c for c in keys.columns if not pd.api.types.is_numeric_dtype(keys[c])]
    alike = int(_present(_normalised(lost), _normalised(other_keys)).sum()) if text and len(lost) else 0
    distinct = lost.drop_duplicates()
    try:  # the smallest keys, as Spark's ordering picks them
        shown = distinct.sort_values(list(distinct.columns), kind="stable").head(examples)
    except TypeError:  # a text column holding other values too: by their text
        shown = distinct.loc[distinct.astype(str).sort_values(list(distinct.columns), kind="stable").index[:examples]]
    return UnmatchedKeys(int(len(keys)), int(missing.sum()), list(shown.itertuples(index=False, name=None)), alike,
                         [str(c) for c in text])


def _key_text(key: tuple) -> str:
    """A key as the log shows it: text quoted, numbers as numbers, times as their text; several parts in brackets."""
    def one(value):
        value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, float) and value.is_integer():  # 4.0: an integer column with gaps held as floats
            value = int(value)
        return repr(value) if isinstance(value, (str, int, float, bool)) else str(value)

    return one(key[0]) if len(key) == 1 else f"({', '.join(one(v) for v in key)})"


def unmatched_keys_note(side: str, found: UnmatchedKeys) -> str:
    """A log line for the rows of one side whose key is not on the other side (an inner join drops them, an
    outer one leaves their other columns empty), with a few of those keys and, when text keys differ only in case
    or surrounding spaces, how many would match once normalised: a key typed `c0003` on one side and `C0003` on
    the other otherwise loses rows without a word. Empty when every key matches. The one text of both engines'
    joins; what differs is where `found` was counted (pandas here, Spark aggregations in operators.spark)."""
    if not found.unmatched:
        return ""
    shown = ", ".join(_key_text(key) for key in found.examples)
    note = (f"{found.unmatched:,} of {found.rows:,} {side} rows have a key that is not in the other table "
            f"(e.g. {shown})")
    if found.alike:
        note += (f"; {found.alike:,} of them match once case and surrounding spaces are ignored: make the keys alike "
                 f"first (derive_column with lower(...) or strip(...) on {', '.join(map(repr, found.text))})")
    return note


def join_keys(left, right, params, numeric) -> list[str]:
    """The right table's key columns, after the checks both engines' joins make: as many keys on each side,
    present, and numeric on both sides or on neither (pandas refuses to merge numbers with text).
    `numeric(table, column)` is the engine's test."""
    right_on = params.right_on or params.left_on
    if len(right_on) != len(params.left_on):
        raise OperatorError("left_on and right_on need the same number of columns", field="right_on")
    require_columns(left, params.left_on, field="left_on", port="left")
    require_columns(right, right_on, field="right_on", port="right")
    for lk, rk in zip(params.left_on, right_on, strict=True):
        lnum, rnum = numeric(left, lk), numeric(right, rk)
        if lnum != rnum:
            raise OperatorError(f"key {lk!r} is {'numeric' if lnum else 'text'} on the left but {rk!r} is "
                                f"{'numeric' if rnum else 'text'} on the right", field="right_on", column=rk)
    return right_on


class Sample(Operator):
    """Draws a seeded random sample of rows: a number of rows or a fraction."""

    name = "sample"
    spark = "operators.spark.table_ops:sample"
    category = "Data preparation"
    description = "Random sample of rows (seeded)."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        rows: int = Field(0, ge=0, description="Number of rows; 0 uses `fraction`")
        fraction: float = Field(0.1, gt=0, le=1, description="Share of rows, when `rows` is 0")
        replace: bool = Field(False, description="Sample with replacement")
        seed: int = Field(42, description="Random seed")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        require_rows(table)
        if params.rows and params.rows > len(table) and not params.replace:
            raise OperatorError(f"cannot draw {params.rows:,} rows from {len(table):,} without replacement",
                                field="rows")
        kwargs = {"n": params.rows} if params.rows else {"frac": params.fraction}
        return {"table": table.sample(replace=params.replace, random_state=params.seed, **kwargs)
                .reset_index(drop=True)}


class Summarize(Operator):
    """A report on a table: per column type, missing values, distinct values, min / max / mean, top values,
    and a histogram per numeric column."""

    name = "summarize"
    spark = "operators.spark.table_ops:summarize"
    category = "Data exploration"
    description = "Column statistics and histograms of a table."
    inputs = TABLE_IN
    outputs = (Port("report", PortType.REPORT, "A statistics table and histograms"),
               Port("metrics", PortType.METRICS, "Row and column counts"))

    class Params(Params):
        max_histograms: int = Field(12, ge=0, le=200, description="Histograms drawn, numeric columns first")

    def run(self, ctx, inputs, params):
        return summary(table_profile(inputs["table"]), params.max_histograms)


def summary(profile: dict, max_histograms: int) -> dict:
    """Summarize's report and metrics from a table profile; the local and Spark halves differ only in how
    they profile the table."""
    rows = []
    for c in profile["columns"]:
        rows.append({"column": c["name"], "type": c["kind"], "missing": c["nulls"],
                     "missing %": round(100 * c["nulls"] / max(1, profile["rows"]), 2), "distinct": c["distinct"],
                     "min": c.get("min"), "max": c.get("max"), "mean": c.get("mean"),
                     "top": ", ".join(f"{t['value']} ({t['count']})" for t in c.get("top", [])[:3])})
    figures = {}
    for c in [c for c in profile["columns"] if "histogram" in c][:max_histograms]:
        edges = c["histogram"]["edges"]
        centers = edges[:-1] if isinstance(edges[0], str) else \
            ((np.asarray(edges[:-1]) + np.asarray(edges[1:])) / 2).tolist()
        figures[f"histogram:{c['name']}"] = {
            "data": [{"type": "bar", "name": c["name"], "x": centers, "y": c["histogram"]["counts"]}],
            "layout": {"title": {"text": c["name"]}, "xaxis": {"title": {"text": c["name"]}},
                       "yaxis": {"title": {"text": "Rows"}}}}
    return {"report": Report(figures=figures, tables={"columns": rows},
                             text=f"{profile['rows']:,} rows x {len(profile['columns'])} columns"),
            "metrics": {"rows": profile["rows"], "columns": len(profile["columns"]),
                        "missing_cells": int(sum(c["nulls"] for c in profile["columns"]))}}
