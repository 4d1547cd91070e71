"""Splits, the safe expression language and the table utilities."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from operators import OperatorError
from operators.expressions import Expression
from tests.operators.conftest import planted_table


@pytest.fixture
def people():
    return pd.DataFrame({
        "name": ["ann", "bob", "cy", "dee", "ed", "flo"],
        "age": [25, 41, None, 33, 58, 19],
        "region": ["north", "south", "south", None, "east", "north"],
        "joined": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-06-30", "2024-07-01", "2024-09-09",
                                  "2024-12-31"]),
        "label": [0, 1, 0, 1, 1, 0],
    })


def test_random_split_is_seeded_and_stratified_keeps_the_class_shares(run):
    df = planted_table(3000)
    a = run("split_random", {"table": df}, ratio=0.7, seed=3)
    b = run("split_random", {"table": df}, ratio=0.7, seed=3)
    assert a["first"].equals(b["first"]) and len(a["first"]) + len(a["second"]) == len(df)
    strat = run("split_random", {"table": df}, ratio=0.7, seed=3, stratify="label")
    overall = df["label"].mean()
    assert abs(strat["first"]["label"].mean() - overall) < 0.002
    assert abs(strat["second"]["label"].mean() - overall) < 0.004
    assert abs(len(strat["first"]) / len(df) - 0.7) < 0.001
    with pytest.raises(OperatorError) as err:
        run("split_random", {"table": df}, stratify="nope")
    assert err.value.field == "stratify" and err.value.column == "nope"
    with pytest.raises(OperatorError, match="no rows"):
        run("split_random", {"table": df.iloc[:0]})


def test_rule_split_and_filter_use_the_safe_expression_language(run, people):
    out = run("split_rule", {"table": people}, expression='age >= 30 and region in ["south", "east"]')
    assert out["first"]["name"].tolist() == ["bob", "ed"]
    assert out["second"]["name"].tolist() == ["ann", "cy", "dee", "flo"]
    kept = run("filter_rows", {"table": people},
               expression='isnull(region) or (contains(name, "o") and not age < 20) or joined >= date("2024-12-01")')
    assert kept["table"]["name"].tolist() == ["bob", "dee", "flo"]
    doubled = run("filter_rows", {"table": people}, expression="col(\"age\") * 2 > 100")
    assert doubled["table"]["name"].tolist() == ["ed"]
    assert run("filter_rows", {"table": people}, expression="region != None")["table"]["name"].tolist() == [
        "ann", "bob", "cy", "ed", "flo"]


@pytest.mark.parametrize("expression, message", [
    ("__import__('os')", "function '__import__'"),
    ("__import__('os').system('true')", "method call"),
    ("name.__class__ == 1", "Attribute"),
    ("[x for x in name]", "ListComp"),
    ("age >", "cannot parse"),
    ("lambda: 1", "Lambda"),
    ("age + 1", "true or false"),
    ("age > 'x'", "cannot evaluate"),
    ("upper(name, 2) == 'A'", "takes 1 argument"),
])
def test_bad_expressions_are_refused_naming_the_field(run, people, expression, message):
    with pytest.raises(OperatorError, match=message) as err:
        run("filter_rows", {"table": people}, expression=expression)
    assert err.value.field == "expression"


def test_expression_naming_a_missing_column_names_it(run, people):
    with pytest.raises(OperatorError) as err:
        run("split_rule", {"table": people}, expression="salary > 10")
    assert err.value.column == "salary" and err.value.field == "expression"
    assert Expression("a > 1 and col('b c') < 2").columns() == ["a", "b c"]


def test_time_split_by_last_fraction_and_by_cutoff(run, people):
    out = run("split_time", {"table": people}, column="joined", last_fraction=0.34)
    assert out["second"]["name"].tolist() == ["ed", "flo"] and len(out["first"]) == 4
    out = run("split_time", {"table": people}, column="joined", mode="cutoff", cutoff="2024-07-01")
    assert out["first"]["name"].tolist() == ["ann", "bob", "cy"]
    assert out["second"]["joined"].min() == pd.Timestamp("2024-07-01")
    with pytest.raises(OperatorError) as err:
        run("split_time", {"table": people}, column="age")
    assert err.value.column == "age" and "missing" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("split_time", {"table": people}, column="name")
    assert err.value.column == "name"
    with pytest.raises(OperatorError) as err:
        run("split_time", {"table": people}, column="joined", mode="cutoff", cutoff="not a date")
    assert err.value.field == "cutoff"


def test_select_rename_fill(run, people):
    assert list(run("select_columns", {"table": people}, columns=["region", "name"])["table"].columns) == [
        "region", "name"]
    assert "age" not in run("select_columns", {"table": people}, columns=["age"], mode="drop")["table"].columns
    with pytest.raises(OperatorError) as err:
        run("select_columns", {"table": people}, columns=["nope"])
    assert err.value.column == "nope" and err.value.field == "columns"
    renamed = run("rename_columns", {"table": people}, mapping={"name": "who"})["table"]
    assert list(renamed.columns)[0] == "who"
    with pytest.raises(OperatorError) as err:
        run("rename_columns", {"table": people}, mapping={"name": "age"})
    assert err.value.column == "age"
    filled = run("fill_missing", {"table": people}, strategy="median")["table"]
    assert filled["age"].tolist()[2] == 33.0 and filled["region"].isna().sum() == 1  # text left alone
    mode = run("fill_missing", {"table": people}, columns=["region"], strategy="most_frequent")["table"]
    assert mode["region"].tolist()[3] in ("north", "south")
    const = run("fill_missing", {"table": people}, columns=["region"], strategy="value", value="unknown")["table"]
    assert const["region"].tolist()[3] == "unknown"
    with pytest.raises(OperatorError) as err:
        run("fill_missing", {"table": people}, columns=["region"], strategy="mean")
    assert err.value.column == "region"
    with pytest.raises(OperatorError) as err:
        run("fill_missing", {"table": people}, columns=["age"], strategy="value", value="abc")
    assert err.value.column == "age"


def test_a_join_says_which_keys_found_no_match_and_when_only_case_or_spaces_differ(run):
    """A newcomer's two tables whose ids differ in case (and one typo): the inner join keeps a third of the rows;
    the log says how many rows lost their match, shows some keys, and that case and spaces explain most."""
    customers = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(1, 13)], "region": ["north"] * 12})
    support = pd.DataFrame({"Customer ID": [f"c{i:04d}" if i % 3 else f"C{i:04d}" for i in range(1, 13)],
                            "calls": range(12)})
    support.loc[0, "Customer ID"] = "C0O01 "  # a typo no normalising fixes
    joined = run("join", {"left": customers, "right": support}, left_on=["customer_id"],
                 right_on=["Customer ID"])["table"]
    assert len(joined) == 4
    notes = [line for line in run.logged() if "not in the other table" in line]
    assert notes == [
        "8 of 12 left rows have a key that is not in the other table (e.g. 'C0001', 'C0002', 'C0004'); 7 of them "
        "match once case and surrounding spaces are ignored: make the keys alike first (derive_column with "
        "lower(...) or strip(...) on 'customer_id')",
        "8 of 12 right rows have a key that is not in the other table (e.g. 'C0O01 ', 'c0002', 'c0004'); 7 of "
        "them match once case and surrounding spaces are ignored: make the keys alike first (derive_column with "
        "lower(...) or strip(...) on 'Customer ID')",
    ]
    run.events.clear()
    numbers = pd.DataFrame({"id": [1, 2, 3]})
    run("join", {"left": numbers, "right": pd.DataFrame({"id": [1, 2, 3, 4]})}, left_on=["id"], how="left")
    assert [line for line in run.logged() if "not in the other table" in line] == [
        "1 of 4 right rows have a key that is not in the other table (e.g. 4)"]


def test_join_sample_summarize(run, people):
    regions = pd.DataFrame({"region": ["north", "south", "west"], "manager": ["x", "y", "z"],
                            "name": ["r1", "r2", "r3"]})
    joined = run("join", {"left": people, "right": regions}, left_on=["region"], how="left")["table"]
    assert len(joined) == 6 and joined["manager"].tolist()[:3] == ["x", "y", "y"]
    assert {"name_left", "name_right"} <= set(joined.columns)
    inner = run("join", {"left": people, "right": regions}, left_on=["region"])["table"]
    assert len(inner) == 4  # east has no manager
    with pytest.raises(OperatorError) as err:
        run("join", {"left": people, "right": regions}, left_on=["region"], right_on=["boss"])
    assert err.value.column == "boss" and err.value.port == "right"
    with pytest.raises(OperatorError) as err:
        run("join", {"left": people, "right": regions}, left_on=["age"], right_on=["region"])
    assert err.value.column == "region"
    sample = run("sample", {"table": people}, rows=3, seed=1)["table"]
    assert len(sample) == 3 and sample.equals(run("sample", {"table": people}, rows=3, seed=1)["table"])
    assert len(run("sample", {"table": planted_table(1000)}, fraction=0.25)["table"]) == 250
    with pytest.raises(OperatorError) as err:
        run("sample", {"table": people}, rows=10)
    assert err.value.field == "rows"
    out = run("summarize", {"table": people})
    rows = {r["column"]: r for r in out["report"].tables["columns"]}
    assert rows["age"]["missing"] == 1 and rows["age"]["max"] == 58 and rows["region"]["distinct"] == 3
    assert "histogram:age" in out["report"].figures and out["metrics"]["missing_cells"] == 2
    assert np.isclose(rows["age"]["mean"], np.nanmean(people["age"]))


@pytest.mark.parametrize("operator, params", [
    ("split_random", {}), ("split_rule", {"expression": "age > 1"}), ("split_time", {"column": "joined"}),
    ("sample", {}), ("feature_extraction", {"label": "label"}),
])
def test_an_empty_table_is_refused_by_name(run, people, operator, params):
    with pytest.raises(OperatorError, match="'table' input has no rows") as err:
        run(operator, {"table": people.iloc[:0]}, **params)
    assert err.value.port == "table"


def test_utilities_keep_an_empty_table_empty(run, people):
    empty = people.iloc[:0]
    assert len(run("filter_rows", {"table": empty}, expression="age > 1")["table"]) == 0
    assert run("summarize", {"table": empty})["metrics"]["rows"] == 0
    assert list(run("select_columns", {"table": empty}, columns=["age"])["table"].columns) == ["age"]
