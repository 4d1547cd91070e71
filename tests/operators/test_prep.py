"""Data-preparation operators on the local engine (operators.library.prep, prep_tables), on generated tables:
the rows they give, and errors that name the field, the column and the value."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from operators import OperatorError


def plain(values) -> list:
    """Values with every kind of missing (None, NaN, NA, NaT) as None: pandas 3 keeps text gaps as NaN."""
    return [None if pd.isna(v) else v for v in values]


def rows(table: pd.DataFrame) -> dict:
    return {c: plain(table[c]) for c in table.columns}


@pytest.fixture
def raw():
    """A table as it comes from a CSV: codes as text, numbers with junk, dates as text, a yes/no label."""
    return pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6],
        "age": ["41", "x", " 25", None, "33", "58"],
        "income": [52000.0, None, 31000.0, 75000.0, None, 0.0],
        "city": ["Berlin", "berlin ", None, "Paris", "Paris", "Rome"],
        "joined": ["2024-01-05", "2024-02-30", "2024-03-01 09:30:00", None, "2023-12-31", "2024-06-01"],
        "churned": ["yes", "no", "no", "yes", "maybe", "no"],
        "flag": ["Y", "n", "TRUE", "0", None, "perhaps"],
    })


# --------------------------------------------------------------------------------------------- derive
def test_derive_column_adds_or_replaces_a_column(run, raw):
    out = run("derive_column", {"table": raw}, column="band",
              expression='if(income >= 50000, "high", if(isnull(income), "unknown", "low"))')["table"]
    assert out["band"].tolist() == ["high", "unknown", "low", "high", "unknown", "low"]
    assert list(out.columns) == [*raw.columns, "band"] and "band" not in raw.columns  # the input is untouched
    city = run("derive_column", {"table": raw}, column="city", expression="upper(strip(city))")["table"]
    assert plain(city["city"]) == ["BERLIN", "BERLIN", None, "PARIS", "PARIS", "ROME"]
    assert list(city.columns) == list(raw.columns)
    ratio = run("derive_column", {"table": raw}, column="k", expression="round(log(income + 1) * 2, 1)")["table"]
    assert ratio["k"].tolist()[:1] == [round(np.log(52001) * 2, 1)] and np.isnan(ratio["k"][1])
    constant = run("derive_column", {"table": raw}, column="one", expression="1")["table"]
    assert constant["one"].tolist() == [1] * 6


def test_derive_column_errors_name_the_column_and_the_value(run, raw):
    with pytest.raises(OperatorError) as err:
        run("derive_column", {"table": raw}, column="y", expression="year(joined)")
    assert err.value.column == "joined" and "'2024-02-30'" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("derive_column", {"table": raw}, column="y", expression="age * 2 + income")
    assert err.value.column == "age" and "column 'age' holds text, not numbers" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("derive_column", {"table": raw}, column="y", expression="salary * 2")
    assert err.value.column == "salary" and err.value.field == "expression"


# --------------------------------------------------------------------------------------------- recode
def test_recode_values_maps_keeps_blanks_or_sets_the_rest(run, raw):
    kept = run("recode_values", {"table": raw}, column="churned", mapping={"yes": 1, "no": 0})["table"]
    assert kept["churned"].tolist() == ["1", "0", "0", "1", "maybe", "0"]  # one type: text
    missing = run("recode_values", {"table": raw}, column="churned", mapping={"yes": 1, "no": 0},
                  others="missing", output="label")["table"]
    assert missing["label"].tolist()[:4] == [1.0, 0.0, 0.0, 1.0] and np.isnan(missing["label"][4])
    assert missing["label"].dtype == np.float64 and missing["churned"].tolist() == raw["churned"].tolist()
    other = run("recode_values", {"table": raw}, column="churned", mapping={"yes": True, "no": False},
                others="value", other_value=False)["table"]
    assert other["churned"].dtype == bool and other["churned"].tolist() == [True, False, False, True, False, False]
    numbers = run("recode_values", {"table": raw}, column="id", mapping={"1": "one", "6": "six"},
                  others="missing")["table"]
    assert plain(numbers["id"]) == ["one", None, None, None, None, "six"]


def test_recode_values_errors(run, raw):
    with pytest.raises(OperatorError) as err:
        run("recode_values", {"table": raw}, column="status", mapping={"a": "b"})
    assert err.value.column == "status" and err.value.field == "column"
    with pytest.raises(OperatorError, match="needs other_value"):
        run("recode_values", {"table": raw}, column="city", mapping={"a": "b"}, others="value")
    with pytest.raises(OperatorError) as err:
        run("recode_values", {"table": raw}, column="city", mapping={"Rome": [1, 2]})
    assert err.value.field == "mapping.Rome"


# ----------------------------------------------------------------------------------------------- cast
def test_cast_columns_turns_what_does_not_cast_into_missing_and_counts_it(run, raw):
    out = run("cast_columns", {"table": raw}, types={"age": "integer", "joined": "datetime", "flag": "boolean",
                                                      "income": "string", "city": "category", "id": "number"})
    table, metrics = out["table"], out["metrics"]
    assert table["age"].tolist()[:3] == [41.0, None, 25.0] or table["age"].isna().tolist() == [
        False, True, False, True, False, False]
    assert table["age"].dropna().tolist() == [41, 25, 33, 58]
    assert table["joined"].dtype == "datetime64[ns]"
    assert table["joined"].tolist()[2] == pd.Timestamp("2024-03-01 09:30") and pd.isna(table["joined"][1])
    assert plain(table["flag"]) == [True, False, True, False, None, None]
    assert plain(table["income"]) == ["52000", None, "31000", "75000", None, "0"]
    assert isinstance(table["city"].dtype, pd.CategoricalDtype) and table["id"].dtype == np.float64
    assert metrics == {"not_cast.age": 1, "not_cast.joined": 1, "not_cast.flag": 1, "not_cast.income": 0,
                       "not_cast.city": 0, "not_cast.id": 0}
    clean = run("cast_columns", {"table": raw.dropna()}, types={"id": "integer"})["table"]
    assert clean["id"].dtype == np.int64
    dates = run("cast_columns", {"table": pd.DataFrame({"d": ["31/12/2024", "2024-12-31"]})},
                types={"d": "datetime"}, datetime_format="%d/%m/%Y")["table"]
    assert dates["d"].tolist()[0] == pd.Timestamp("2024-12-31") and pd.isna(dates["d"][1])


def test_cast_columns_can_fail_naming_column_and_value(run, raw):
    with pytest.raises(OperatorError) as err:
        run("cast_columns", {"table": raw}, types={"age": "number"}, on_error="fail")
    assert err.value.column == "age" and "'x'" in err.value.message and err.value.field == "types.age"
    with pytest.raises(OperatorError) as err:
        run("cast_columns", {"table": raw}, types={"height": "number"})
    assert err.value.column == "height" and err.value.field == "types"


# ----------------------------------------------------------------------------------------- duplicates
def test_drop_duplicates_on_all_or_chosen_columns_keeping_first_or_last(run):
    table = pd.DataFrame({"k": ["a", "b", "a", None, None, "b"], "v": [1, 2, 1, 3, 3, 5]})
    assert rows(run("drop_duplicates", {"table": table})["table"]) == {
        "k": ["a", "b", None, "b"], "v": [1, 2, 3, 5]}
    last = run("drop_duplicates", {"table": table}, columns=["k"], keep="last")["table"]
    assert rows(last) == {"k": ["a", None, "b"], "v": [1, 3, 5]}
    with pytest.raises(OperatorError) as err:
        run("drop_duplicates", {"table": table}, columns=["key"])
    assert err.value.column == "key"


# -------------------------------------------------------------------------------------------- missing
def test_clean_missing_per_column_with_indicators(run, raw):
    table = raw.assign(score=[1.0, None, 3.0, 3.0, 10.0, None])
    out = run("clean_missing", {"table": table}, columns=["income", "score", "city", "age"], mode="median",
              modes={"city": "mode", "age": "drop_rows", "score": "mean"}, indicator=True)["table"]
    assert out["age"].tolist() == ["41", "x", " 25", "33", "58"]  # the row missing age is gone
    assert out["income"].tolist() == [52000.0, 41500.0, 31000.0, 41500.0, 0.0]  # median of all rows present
    assert out["score"].tolist() == [1.0, 4.25, 3.0, 10.0, 4.25]
    assert out["city"].tolist() == ["Berlin", "berlin ", "Paris", "Paris", "Rome"]  # the mode (Paris: twice)
    assert out["income_missing"].tolist() == [0, 1, 0, 1, 0] and out["age_missing"].tolist() == [0, 0, 0, 0, 0]
    constant = run("clean_missing", {"table": table}, columns=["income", "city"], mode="constant", value=0)
    assert constant["table"]["city"].tolist()[2] == "0" and constant["table"]["income"].isna().sum() == 0
    dropped = run("clean_missing", {"table": table}, mode="drop_column", min_missing_ratio=0.3)["table"]
    assert list(dropped.columns) == ["id", "age", "city", "joined", "churned", "flag"]  # income, score: 2/6
    every = run("clean_missing", {"table": table}, mode="mean")["table"]  # text columns left alone
    assert every["income"].isna().sum() == 0 and every["city"].isna().sum() == 1


def test_clean_missing_errors(run, raw):
    with pytest.raises(OperatorError) as err:
        run("clean_missing", {"table": raw}, columns=["city"], mode="mean")
    assert err.value.column == "city" and "not numeric" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("clean_missing", {"table": raw}, columns=["income"], mode="constant", value="lots")
    assert err.value.column == "income" and "'lots'" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("clean_missing", {"table": raw}, modes={"nope": "mean"})
    assert err.value.column == "nope" and err.value.field == "modes"


# ------------------------------------------------------------------------------------------ sort, union
def test_sort_rows_by_columns_and_directions(run, raw):
    out = run("sort_rows", {"table": raw}, columns=["city", "income"], descending=[False, True])["table"]
    assert out["id"].tolist() == [1, 4, 5, 6, 2, 3]  # text sorts by code point: "Rome" < "berlin "
    first = run("sort_rows", {"table": raw}, columns=["income"], descending=[True], missing="first")["table"]
    assert first["id"].tolist() == [2, 5, 4, 1, 3, 6]
    with pytest.raises(OperatorError, match="descending has 2 values for 3 columns"):
        run("sort_rows", {"table": raw}, columns=["id", "age", "city"], descending=[True, False])


def test_union_tables_stacks_rows_and_names_a_column_that_differs(run):
    a = pd.DataFrame({"k": [1, 2], "v": ["x", "y"]})
    b = pd.DataFrame({"v": ["y", "z"], "k": [2.0, 3.5]})
    out = run("union_tables", {"first": a, "second": b})["table"]
    assert out.to_dict("list") == {"k": [1.0, 2.0, 2.0, 3.5], "v": ["x", "y", "y", "z"]}
    three = run("union_tables", {"first": a, "second": b, "third": a}, distinct=True)["table"]
    assert three.to_dict("list") == {"k": [1.0, 2.0, 3.5], "v": ["x", "y", "z"]}
    with pytest.raises(OperatorError) as err:
        run("union_tables", {"first": a, "second": b.rename(columns={"v": "value"})})
    assert err.value.column == "v" and err.value.port == "second"
    with pytest.raises(OperatorError) as err:
        run("union_tables", {"first": a, "second": b.assign(k=["2", "3"])})
    assert err.value.column == "k" and "number values in 'first' but text values in 'second'" in err.value.message
