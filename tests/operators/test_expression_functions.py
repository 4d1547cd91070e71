"""The expression language's functions (operators.expression_functions): values, missing values, and errors
that name the column and the value at fault."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from operators import OperatorError
from operators.expressions import Expression


@pytest.fixture
def table():
    return pd.DataFrame({
        "x": [1.0, -2.0, None, 0.0],
        "n": [3, 4, 5, 6],
        "s": [" Ab ", "cd", None, "if"],
        "d": ["2024-01-05", "2024-03-02 10:30:00", None, "2023-12-31"],
        "t": pd.to_datetime(["2024-01-05", "2024-03-02 10:30", None, "2023-12-31"], format="ISO8601"),
        "bad": ["1", "x", "2", None],
    })


def values(text, table):
    out = Expression(text).evaluate(table)
    return [None if (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))) else v
            for v in out.tolist()]


@pytest.mark.parametrize("text, expected", [
    ('if(x > 0, "pos", "not")', ["pos", "not", "not", "not"]),  # a missing condition takes the else branch
    ("if(n > 4, n * 10, x)", [1.0, -2.0, 50.0, 60.0]),
    ('if(s == "if", 1, 0)', [0, 0, 0, 1]),  # `if` inside a string is text, not the function
    ("coalesce(x, n, 0)", [1.0, -2.0, 5.0, 0.0]),
    ("strip(lower(s))", ["ab", "cd", None, "if"]),
    ("upper(s)", [" AB ", "CD", None, "IF"]),
    ("length(s)", [4, 2, None, 2]),
    ("substring(s, 2, 2)", ["Ab", "d", None, "f"]),
    ("substring(s, 3)", ["b ", "", None, ""]),
    ('endswith(s, "d")', [False, True, False, False]),
    ("year(d)", [2024, 2024, None, 2023]),
    ("month(t)", [1, 3, None, 12]),
    ("day(d)", [5, 2, None, 31]),
    ("weekday(d)", [4, 5, None, 6]),  # Friday, Saturday, Sunday (Monday is 0)
    ("hour(d) * 60 + minute(d)", [0, 630, None, 0]),
    ("log(x)", [0.0, None, None, None]),  # zero and negatives are missing, as SQL's ln
    ("exp(n - n)", [1.0, 1.0, 1.0, 1.0]),
    ("abs(x)", [1.0, 2.0, None, 0.0]),
    ("round(n / 3, 2)", [1.0, 1.33, 1.67, 2.0]),
    ("clip(x, -1, 0.5)", [0.5, -1.0, None, 0.0]),
])
def test_functions(table, text, expected):
    assert values(text, table) == expected


@pytest.mark.parametrize("text, column, value", [
    ("log(bad) > 0", "bad", "'x'"),
    ("year(s) > 2000", "s", "' Ab '"),
    ("n + s", "s", "column 's' holds text, not numbers"),
    ("n * 2 > s", "s", "column 's' holds text, not numbers"),
    ("round(bad)", "bad", "'x'"),
    ("month(n) > 1", "n", "3"),
])
def test_a_value_a_function_cannot_use_is_named_with_its_column(table, text, column, value):
    with pytest.raises(OperatorError) as err:
        Expression(text).evaluate(table)
    assert err.value.column == column and value in err.value.message and err.value.field == "expression"


@pytest.mark.parametrize("text, message", [
    ("substring(s, 0)", "counts from 1; got 0"),
    ("substring(s, 1, n)", "must be a whole number written in the expression"),
    ("round(x, 10**6)", "at most 15 digits"),
    ("if(x > 0, 1)", "if() takes 3 argument(s), got 2"),
    ("clip(x)", "clip() takes 3 argument(s)"),
    ("coalesce()", "coalesce() takes 1 to 20 argument(s)"),
    ("iff(x, 1, 2)", "the function 'iff' (known: col, isnull, notnull, if, coalesce"),
    ("x if x > 0 else 1", "IfExp"),  # Python's conditional is not the language; if() is
])
def test_bad_calls_are_refused_with_a_reason(table, text, message):
    with pytest.raises(OperatorError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        Expression(text).evaluate(table)
    assert err.value.field == "expression"


def test_if_keeps_the_columns_it_reads():
    assert set(Expression('if(col("a b") > 1, c, lower(d))').columns()) == {"a b", "c", "d"}
