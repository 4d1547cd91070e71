"""Split one table into two: at random (optionally stratified), by a rule, or by time."""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..expressions import Expression
from ..tables import require_columns, require_rows

TWO_OUTPUTS = (Port("first", PortType.TABLE, "The first part (e.g. training)"),
               Port("second", PortType.TABLE, "The rest (e.g. test)"))


def _parts(table: pd.DataFrame, mask: np.ndarray) -> dict:
    return {"first": table[mask].reset_index(drop=True), "second": table[~mask].reset_index(drop=True)}


class SplitRandom(Operator):
    """Splits rows at random into two tables, `ratio` of them into the first. Seeded, so a rerun gives the
    same split. With `stratify` naming a column (usually the label), each of its values is split in the same
    ratio, so both parts keep the class balance."""

    name = "split_random"
    spark = "operators.spark.split:split_random"
    category = "Data preparation"
    description = "Split rows at random by ratio (seeded), optionally stratified by a column."
    inputs = (Port("table", PortType.TABLE, "Rows to split"),)
    outputs = (Port("first", PortType.TABLE, "`ratio` of the rows (e.g. training)"),
               Port("second", PortType.TABLE, "The remaining rows (e.g. test)"))

    class Params(Params):
        ratio: float = Field(0.7, gt=0.0, lt=1.0, description="Share of rows that go to the first output")
        seed: int = Field(42, description="Random seed")
        stratify: str = Field("", description="Column whose values keep the same shares in both parts (e.g. the "
                                              "label); empty for a plain random split")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        require_rows(table)
        rng = np.random.default_rng(params.seed)
        if not params.stratify:
            return _parts(table, rng.random(len(table)) < params.ratio)
        require_columns(table, [params.stratify], field="stratify")
        groups = table[params.stratify].astype("string").fillna("\x00missing").to_numpy()
        mask = np.zeros(len(table), dtype=bool)
        for value in np.unique(groups):
            rows = np.flatnonzero(groups == value)
            chosen = rng.permutation(rows)[:int(round(params.ratio * len(rows)))]
            mask[chosen] = True
        return _parts(table, mask)


class SplitRule(Operator):
    """Rows where the expression is true go to the first output, the rest (including rows where it is
    missing) to the second. The expression language is safe (never Python eval): columns, constants,
    comparisons, and / or / not, `in [..]`, arithmetic, isnull(), contains(), date()."""

    name = "split_rule"
    spark = "operators.spark.split:split_rule"
    category = "Data preparation"
    description = "Split rows by a boolean expression over columns."
    inputs = (Port("table", PortType.TABLE, "Rows to split"),)
    outputs = (Port("first", PortType.TABLE, "Rows where the expression is true"),
               Port("second", PortType.TABLE, "The other rows"))

    class Params(Params):
        expression: str = Field(..., min_length=1, description="e.g. region == \"south\" and age >= 30")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        require_rows(table)
        return _parts(table, Expression(params.expression).mask(table))


class SplitTime(Operator):
    """Splits by a time column: rows before the cutoff (or all but the last `last_fraction` of the time range
    by row count) go to the first output, later rows to the second, as a forecast would see them. Rows with
    no time are an error, since their side is unknown."""

    name = "split_time"
    spark = "operators.spark.split:split_time"
    category = "Data preparation"
    description = "Split rows by a date/time column: before a cutoff, or the last N% as the second part."
    inputs = (Port("table", PortType.TABLE, "Rows to split"),)
    outputs = (Port("first", PortType.TABLE, "Earlier rows (e.g. training)"),
               Port("second", PortType.TABLE, "Later rows (e.g. out-of-time test)"))

    class Params(Params):
        column: str = Field(..., min_length=1, description="The date/time (or numeric time) column")
        mode: Literal["last_fraction", "cutoff"] = Field("last_fraction", description="How to choose the split point")
        last_fraction: float = Field(0.2, gt=0, lt=1, description="last_fraction: share of rows, latest first, "
                                                                  "that go to the second output")
        cutoff: str = Field("", description="cutoff: rows at or after this time (e.g. 2025-01-01) go to the second "
                                            "output")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        require_rows(table)
        require_columns(table, [params.column], field="column")
        column = table[params.column]
        if pd.api.types.is_numeric_dtype(column):
            times = column
        else:
            try:
                times = pd.to_datetime(column, errors="coerce", format="mixed")
            except ValueError:  # times of several UTC offsets (pandas refuses to mix them): as instants in UTC,
                times = pd.to_datetime(column, errors="coerce", format="mixed", utc=True)  # as Spark reads them
            if times.notna().sum() == 0:
                raise OperatorError(f"column {params.column!r} holds no dates or times", field="column",
                                    column=params.column)
        if times.isna().any():
            raise OperatorError(f"column {params.column!r} has {int(times.isna().sum())} missing or unparseable "
                                "times; fill or filter them first", field="column", column=params.column)
        if params.mode == "cutoff":
            if not params.cutoff:
                raise OperatorError("mode 'cutoff' needs a cutoff", field="cutoff")
            try:
                cutoff = float(params.cutoff) if pd.api.types.is_numeric_dtype(times) else pd.Timestamp(params.cutoff)
            except ValueError:
                raise OperatorError(f"cannot read {params.cutoff!r} as a time", field="cutoff") from None
            if isinstance(cutoff, pd.Timestamp) and cutoff.tzinfo is None and times.dt.tz is not None:
                cutoff = cutoff.tz_localize(times.dt.tz)
            mask = (times < cutoff).to_numpy()
        else:
            order = np.argsort(times.to_numpy(), kind="stable")
            n_second = int(round(params.last_fraction * len(table)))
            boundary = times.to_numpy()[order[len(table) - n_second]] if n_second else None
            # rows tied with the boundary time all go to the second part, so no time lands on both sides
            mask = np.ones(len(table), dtype=bool) if boundary is None else (times < boundary).to_numpy()
        return _parts(table, mask)
