"""Data preparation in the manner of Azure ML designer's Edit Metadata / Clean Missing Data and KNIME's Rule
Engine and Math Formula: derive a column, recode values, cast types, drop duplicates, clean missing values,
sort rows, union tables.

The row-wise operators (derive, recode, cast) are pandas kernels over a frame (`derive`, `recode`, `cast`),
which the Spark halves run on each Arrow batch, so both engines give the same values. Errors name the
parameter, the column and the value at fault.
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, JsonValue

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..expressions import Expression
from ..tables import require_columns
from .table_ops import TABLE_IN, TABLE_OUT

CATEGORY = "Data preparation"
MAX_RECODES = 10_000  # entries of a recode mapping: what a form can reasonably hold
CastType = Literal["number", "integer", "string", "category", "boolean", "datetime"]
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def value_text(value) -> str | None:
    """A value as the text a user types for it (mapping keys, casts to string): 1.0 -> "1", True -> "true",
    missing -> None. The one spelling both engines use, so a mapping matches the same rows on each."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return None
        return str(int(value)) if float(value).is_integer() and abs(value) < 2 ** 63 else repr(float(value))
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(value).isoformat(sep=" ")
    return str(value)


def value_kind(values: pd.Series) -> str:
    """What a column holds, as both engines' checks and types see it: boolean, number, datetime, text, or empty
    (no value at all). An object column is judged by its values (pandas keeps booleans with gaps as objects)."""
    if pd.api.types.is_bool_dtype(values):
        return "boolean"
    if pd.api.types.is_numeric_dtype(values):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    present = values.dropna()
    if not len(present):
        return "empty"
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return "boolean"
    if all(isinstance(v, (int, float, np.integer, np.floating)) for v in present):
        return "number"
    return "datetime" if all(isinstance(v, pd.Timestamp) for v in present) else "text"


def _texts(series: pd.Series) -> pd.Series:
    """value_text of each value, computed once per distinct value (a million rows of a few codes is fast)."""
    if pd.api.types.is_string_dtype(series) and not isinstance(series.dtype, pd.CategoricalDtype):
        return series.astype(object).where(series.notna(), None)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    spelled = np.array([value_text(v) for v in uniques] + [None], dtype=object)
    return pd.Series(spelled[codes], index=series.index)


# -------------------------------------------------------------------------------------------- derive
class DeriveColumn(Operator):
    """Adds a column computed from an expression, or replaces a column of that name. The expression language is
    the safe one of filter_rows: columns, constants, arithmetic, comparisons, and / or / not, if(cond, a, b),
    coalesce, lower / upper / strip / length / substring / contains / startswith / endswith, round / log / exp /
    abs / clip, date parts (year, month, day, weekday, hour, minute). E.g. `if(income > 0, debt / income, 0)`."""

    name = "derive_column"

    spark = "operators.spark.prep:derive_column"
    category = CATEGORY
    description = "New or replaced column from an expression."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        column: str = Field(..., min_length=1, max_length=200, description="Name of the new (or replaced) column")
        expression: str = Field(..., min_length=1, description="e.g. if(age >= 65, \"senior\", \"adult\")")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        out = derive(table, params)
        ctx.log(f"{'replaced' if params.column in table.columns else 'added'} column {params.column!r} "
                f"({out[params.column].dtype})")
        return {"table": out}


def derive(table: pd.DataFrame, params) -> pd.DataFrame:
    value = Expression(params.expression).evaluate(table)
    if isinstance(value, list):
        raise OperatorError("the expression gives a list, not one value per row", field="expression")
    if not isinstance(value, pd.Series):
        value = pd.Series([value] * len(table), index=table.index)
    if isinstance(value.dtype, pd.StringDtype):  # the string functions' result, stored like other text
        value = value.astype(object).where(value.notna(), None)
    out = table.copy(deep=False)
    out[params.column] = value.to_numpy() if len(value) == len(table) else value
    return out


# -------------------------------------------------------------------------------------------- recode
class RecodeValues(Operator):
    """Replaces values of a column by a mapping, e.g. {"yes": 1, "no": 0}. Keys are values as typed: a number
    column's 1 matches the key "1", a boolean's true the key "true". Values no key names are kept, made
    missing, or set to `other_value`. `output` writes the recoded values to a new column instead."""

    name = "recode_values"

    spark = "operators.spark.prep:recode_values"
    category = CATEGORY
    description = "Map values of a column to other values."
    inputs, outputs = TABLE_IN, TABLE_OUT

    class Params(Params):
        column: str = Field(..., min_length=1, description="Column to recode")
        mapping: dict[str, JsonValue] = Field(..., min_length=1, max_length=MAX_RECODES,
                                              description="Value -> new value")
        others: Literal["keep", "missing", "value"] = Field(
            "keep", description="Values the mapping does not name: keep them, make them missing, or set "
                                "other_value")
        other_value: str | float | int | bool | None = Field(None, description="others 'value': the value")
        output: str = Field("", max_length=200, description="Column to write; empty replaces `column`")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        out, unmatched = recode(table, params)
        ctx.log(f"recoded {params.column!r}: {unmatched:,} rows had a value the mapping does not name"
                f" ({params.others})")
        return {"table": out}


def recode_checks(columns, params) -> None:
    if params.column not in columns:
        known = ", ".join(map(str, list(columns)[:20]))
        raise OperatorError(f"column {params.column!r} (from column) is not in the 'table' input; columns are: "
                            f"{known}", field="column", column=params.column)
    for key, value in params.mapping.items():
        if isinstance(value, (dict, list)):
            raise OperatorError(f"the new value of {key!r} must be a number, text, true/false or null, not "
                                f"{value!r}", field=f"mapping.{key}", column=params.column)
    if params.others == "value" and params.other_value is None:
        raise OperatorError("others 'value' needs other_value", field="other_value")


def recode(table: pd.DataFrame, params) -> tuple[pd.DataFrame, int]:
    """The table with the column recoded, and how many rows held a value the mapping does not name."""
    recode_checks(table.columns, params)
    keys = _texts(table[params.column])
    named = keys.isin(list(params.mapping)).to_numpy()
    new = keys.map(params.mapping).astype(object)
    if params.others == "keep":
        new = new.where(named, table[params.column].astype(object))
    elif params.others == "value":
        new = new.where(named, params.other_value)
    values = new.where(named | (params.others != "missing"), None)
    out = table.copy(deep=False)
    out[params.output or params.column] = _tidy(values)
    return out, int((~named & keys.notna().to_numpy()).sum())


def _tidy(values: pd.Series) -> pd.Series:
    """Object values as one column type: all numbers -> int64 (float64 with gaps), all true/false -> bool,
    anything else -> text (a kept 2 beside a new "two" becomes "2": a Parquet column holds one type)."""
    present = values.dropna()
    if not len(present):
        return values
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
           for v in present):
        numbers = pd.to_numeric(values, errors="coerce")
        return numbers.astype("int64") if numbers.notna().all() and (numbers % 1 == 0).all() else \
            numbers.astype("float64")
    if all(isinstance(v, (bool, np.bool_)) for v in present):
        return values.astype(bool) if len(present) == len(values) else values
    if all(isinstance(v, str) for v in present):
        return values
    return values.map(value_text, na_action="ignore").astype(object).where(values.notna(), None)


# ---------------------------------------------------------------------------------------------- cast
class CastColumns(Operator):
    """Changes column types: number, integer, string, category, boolean (true/false, yes/no, y/n, t/f, 1/0 in
    any case) or datetime (ISO 8601, or `datetime_format` in strftime codes such as %d/%m/%Y). A value that does
    not cast becomes missing and the node's log and metrics count them per column, naming an example; with
    `on_error` 'fail' the node fails naming the column and the value instead."""

    name = "cast_columns"

    spark = "operators.spark.prep:cast_columns"
    category = CATEGORY
    description = "Change column types; values that do not cast become missing (counted)."
    inputs = TABLE_IN
    outputs = (*TABLE_OUT, Port("metrics", PortType.METRICS, "Per column: values that did not cast"))

    class Params(Params):
        types: dict[str, CastType] = Field(..., min_length=1, description="Column -> new type")
        datetime_format: str = Field("", max_length=100, description="strftime format of datetime text; empty "
                                                                     "reads ISO 8601")
        on_error: Literal["missing", "fail"] = Field("missing", description="A value that does not cast: make it "
                                                                            "missing (counted), or fail")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        out, failures = cast(table, params)
        for column, (count, example) in failures.items():
            if count:
                ctx.log(f"column {column!r}: {count:,} values did not cast to {params.types[column]}, e.g. "
                        f"{example!r}; they are missing now")
        return {"table": out, "metrics": {f"not_cast.{c}": n for c, (n, _) in failures.items()}}


def cast(table: pd.DataFrame, params) -> tuple[pd.DataFrame, dict[str, tuple[int, object]]]:
    """The table with the columns cast, and per column (values that did not cast, the first of them)."""
    require_columns(table, params.types, field="types")
    out, failures = table.copy(deep=False), {}
    for column, to in params.types.items():
        values, failed = cast_series(table[column], to, params.datetime_format)
        count = int(failed.sum())
        example = table[column][failed].iloc[0] if count else None
        if count and params.on_error == "fail":
            raise OperatorError(f"column {column!r}: the value {example!r} does not cast to {to}"
                                f" ({count:,} values do not)", field=f"types.{column}", column=column)
        out[column] = values
        failures[column] = (count, None if example is None else value_text(example))
    return out, failures


def cast_series(series: pd.Series, to: str, datetime_format: str = "") -> tuple[pd.Series, np.ndarray]:
    """The series cast to `to`, and which of its present values did not cast (now missing)."""
    present = series.notna().to_numpy()
    if to == "string":
        return _texts(series), np.zeros(len(series), dtype=bool)
    if to == "category":
        return _texts(series).astype("category"), np.zeros(len(series), dtype=bool)
    if to in ("number", "integer"):
        values = _numbers(series)
        if to == "integer":
            # whole and within int64: a '9223372036854775808' (2**63) is no integer a column can hold (Spark's
            # bigint failed the node on it; pandas kept it as an inexact float)
            values = values.where((values % 1 == 0) & values.between(-2.0 ** 63, 2.0 ** 63, inclusive="left"))
            failed = present & values.isna().to_numpy()
            return (values.astype("int64") if values.notna().all() else values), failed
        return values, present & values.isna().to_numpy()
    if to == "boolean":
        return _booleans(series, present)
    return _datetimes(series, datetime_format, present)


def _numbers(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.Series(np.nan, index=series.index)  # a time is not a number: every present value fails
    return pd.to_numeric(_texts(series).str.strip(), errors="coerce").astype("float64")


def _booleans(series: pd.Series, present: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(series):
        return series, np.zeros(len(series), dtype=bool)
    words = _texts(series).str.strip().str.lower()
    values = pd.Series(np.where(words.isin(list(_TRUE)), True, np.where(words.isin(list(_FALSE)), False, None)),
                       index=series.index, dtype=object)
    failed = present & values.isna().to_numpy()
    return (values.astype(bool) if values.notna().all() else values), failed


def _datetimes(series: pd.Series, datetime_format: str, present: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series, np.zeros(len(series), dtype=bool)
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]"), present
    texts = _texts(series).str.strip()
    values = pd.to_datetime(texts, errors="coerce", format=datetime_format or "ISO8601")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[ns]"), present & values.isna().to_numpy()
