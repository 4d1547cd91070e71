"""The functions of the expression language (operators.expressions), each a vectorised pandas function.

`FUNCTIONS` maps a name to (fewest arguments, most arguments, function(table, *values)). A value is a pandas
Series (a column, or the result of an inner expression) or a constant. A function that meets a value it cannot
use raises `BadValue` with that value; the expression turns it into an error naming the column and the value.

None of these makes more data than it reads (no function repeats or pads text), so the expression's bounds on
length, depth, powers and repetition stay the only bounds needed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MAX_ROUND_DIGITS = 15  # round(x, n): a float has about 15 significant digits; more is noise (and 10**n overflows)


class BadValue(Exception):
    """A function met a value it cannot use: `value` is the first such value, `problem` says why."""

    def __init__(self, problem: str, value=None, *, from_column: bool = True):
        super().__init__(problem)
        self.problem, self.value, self.from_column = problem, value, from_column


def series(value, table) -> pd.Series:
    return value if isinstance(value, pd.Series) else pd.Series(value, index=table.index)


def text(value, table) -> pd.Series:
    return series(value, table).astype("string")


def numbers(value, table, function: str) -> pd.Series:
    """The value as float64 (missing as NaN); text that is not a number is a BadValue naming it."""
    values = series(value, table)
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    converted = pd.to_numeric(values, errors="coerce").astype("float64")
    failed = converted.isna() & values.notna()
    if failed.any():
        raise BadValue(f"{function}() needs numbers", values[failed].iloc[0])
    return converted


def times(value, table, function: str) -> pd.Series:
    """The value as datetime64 (missing as NaT); text in an ISO 8601 form is read, other text is a BadValue."""
    values = series(value, table)
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    needs = (f"{function}() needs dates or times (text in ISO 8601, e.g. 2024-05-31 or 2024-05-31 14:00:00)")
    if pd.api.types.is_numeric_dtype(values) and values.notna().any():
        raise BadValue(needs, values.dropna().iloc[0])
    converted = pd.to_datetime(values.astype(object).where(values.notna(), None), errors="coerce", format="ISO8601")
    failed = converted.isna() & values.notna()
    if failed.any():
        raise BadValue(needs, values[failed].iloc[0])
    return converted


def _constant_int(value, function: str, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise BadValue(f"{function}()'s {what} must be a whole number written in the expression", value,
                       from_column=False)
    return int(value)


def _if(t, condition, when_true, when_false):
    """if(cond, a, b): a where cond is true, b where it is false or missing."""
    if isinstance(condition, pd.Series):
        mask = condition.fillna(False).astype(bool) if condition.dtype != object else \
            condition.map(lambda v: bool(v) if pd.notna(v) else False).astype(bool)
    else:
        mask = pd.Series(bool(condition), index=t.index)
    a, b = series(when_true, t), series(when_false, t)
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b) \
            and not (pd.api.types.is_bool_dtype(a) and pd.api.types.is_bool_dtype(b)):
        a, b = a.astype("float64"), b.astype("float64")  # one numeric type whichever side a row takes
    return a.where(mask, b)


def _substring(t, value, start, length=None):
    """substring(x, start[, length]): `start` counts from 1, as in SQL; a start past the end gives ''."""
    first = _constant_int(start, "substring", "start")
    if first < 1:
        raise BadValue("substring()'s start counts from 1", first, from_column=False)
    stop = None
    if length is not None:
        count = _constant_int(length, "substring", "length")
        if count < 0:
            raise BadValue("substring()'s length cannot be negative", count, from_column=False)
        stop = first - 1 + count
    return text(value, t).str.slice(first - 1, stop)


def _abs(t, value):
    if isinstance(value, pd.Series) and not pd.api.types.is_numeric_dtype(value):
        return numbers(value, t, "abs").abs()
    return abs(value)  # an integer column stays integer


def _round(t, value, digits=0):
    places = _constant_int(digits, "round", "number of digits")
    if abs(places) > MAX_ROUND_DIGITS:
        raise BadValue(f"round() keeps at most {MAX_ROUND_DIGITS} digits", places, from_column=False)
    return numbers(value, t, "round").round(places)


def _log(t, value):
    """The natural logarithm; zero and negative numbers give a missing value (as SQL's ln does)."""
    x = numbers(value, t, "log")
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.log(x.where(x > 0)), index=x.index)


def _exp(t, value):
    with np.errstate(over="ignore"):
        return np.exp(numbers(value, t, "exp"))


def _clip(t, value, low, high):
    x = numbers(value, t, "clip")
    low, high = (None if b is None else numbers(b, t, "clip") for b in (low, high))
    return x.clip(lower=low, upper=high)


def _coalesce(t, *values):
    """The first value that is not missing, per row."""
    out = series(values[0], t)
    for value in values[1:]:
        out = out.where(out.notna(), series(value, t))
    return out


def _date_part(part: str):
    def extract(t, value):
        parts = times(value, t, part).dt
        # weekday: Monday is 0 ... Sunday 6 (Python's and pandas' numbering)
        result = parts.day_of_week if part == "weekday" else getattr(parts, part)
        return result.astype("Float64").astype("float64") if result.hasnans else result.astype("int64")
    return extract


FUNCTIONS = {
    "isnull": (1, 1, lambda t, x: series(x, t).isna()),
    "notnull": (1, 1, lambda t, x: series(x, t).notna()),
    "if_": (3, 3, _if),  # if(...): the expression parses `if(` as `if_(` (operators.expressions)
    "coalesce": (1, 20, _coalesce),
    # text
    "lower": (1, 1, lambda t, x: text(x, t).str.lower()),
    "upper": (1, 1, lambda t, x: text(x, t).str.upper()),
    "strip": (1, 1, lambda t, x: text(x, t).str.strip()),
    "length": (1, 1, lambda t, x: text(x, t).str.len().astype("Float64").astype("float64")),
    "substring": (2, 3, _substring),
    "contains": (2, 2, lambda t, x, s: text(x, t).str.contains(str(s), regex=False).fillna(False).astype(bool)),
    "startswith": (2, 2, lambda t, x, s: text(x, t).str.startswith(str(s)).fillna(False).astype(bool)),
    "endswith": (2, 2, lambda t, x, s: text(x, t).str.endswith(str(s)).fillna(False).astype(bool)),
    # numbers
    "abs": (1, 1, _abs),
    "round": (1, 2, _round),
    "log": (1, 1, _log),
    "exp": (1, 1, _exp),
    "clip": (3, 3, _clip),
    # dates and times
    "date": (1, 1, lambda t, s: pd.Timestamp(s)),
    **{part: (1, 1, _date_part(part)) for part in ("year", "month", "day", "weekday", "hour", "minute")},
}
