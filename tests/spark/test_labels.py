"""The label rule and the row-identifier rule on Spark give what the local engine gives (issue 14 items 2, 3)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from operators import OperatorError
from operators.identifiers import row_identifiers
from operators.labels import encode_label

from .both import error_of, node_logs_of_both, one_operator, run_both


@pytest.mark.parametrize("values, positive", [
    (["yes", "no", "no"], ""), ([True, False, False], ""), ([1, 2, 2], ""), (["stayed", "churned", "stayed"], ""),
    (["stayed", "churned", "stayed"], "stayed"),
])
def test_spark_label_matches_the_local_rule(spark, values, positive):
    from operators.spark.labels import spark_label

    table = pd.DataFrame({"y": values * 10})
    local_y, local_classes = encode_label(table, "y", positive)
    column, classes = spark_label(spark.createDataFrame(table), "y", positive)
    assert classes == local_classes
    assert [r[0] for r in spark.createDataFrame(table).select(column).collect()] == local_y.tolist()


def test_spark_label_errors_name_the_values(spark):
    from operators.spark.labels import spark_label

    with pytest.raises(OperatorError, match=r"it holds 3: 'b' \(2 rows\)"):
        spark_label(spark.createDataFrame(pd.DataFrame({"y": ["a", "b", "b", "c"]})), "y")
    with pytest.raises(OperatorError, match="has 1 missing values"):
        spark_label(spark.createDataFrame(pd.DataFrame({"y": ["a", None, "b"]})), "y")


def test_spark_row_identifiers_match_local(spark):
    from operators.spark.identifiers import spark_row_identifiers

    rng = np.random.default_rng(2)
    table = pd.DataFrame({"Unnamed: 0": np.arange(50), "seq": rng.permutation(50) + 1,
                          "age": rng.integers(18, 90, 50), "spread": rng.choice(10_000, 50, replace=False),
                          "customer_id": [f"C{i:04d}" for i in range(50)], "comment": [f"n{i}" for i in range(50)],
                          "region_id": ["a", "b"] * 25})
    found = row_identifiers(table, list(table.columns))
    assert [f["column"] for f in found] == ["Unnamed: 0", "seq", "customer_id"]
    assert spark_row_identifiers(spark.createDataFrame(table), list(table.columns)) == found


def test_row_identifiers_from_the_fits_column_profiles_match_local_and_run_only_undecided_columns(spark):
    """The feature fit's column profiles decide integer columns without a job where their exact distinct count,
    missing values or span do; a column only an estimate leaves open is counted in one aggregation."""
    from pyspark.sql import functions as F

    from operators.spark.features import _column_profiles
    from operators.spark.identifiers import spark_row_identifiers

    from .jobs import jobs_of

    rng = np.random.default_rng(3)
    n = 3_000
    table = pd.DataFrame({"seq": rng.permutation(n) + 1, "age": rng.integers(18, 90, n),
                          "spread": rng.choice(10 * n, n, replace=False), "holes": np.arange(n, dtype=float),
                          "x": rng.random(n), "customer_id": [f"C{i:05d}" for i in rng.permutation(n)]})
    table.loc[5, "holes"] = np.nan
    df = spark.createDataFrame(table).withColumn("holes", F.col("holes").cast("bigint"))
    columns = list(table.columns)
    expected = row_identifiers(table.astype({"holes": "Int64"}), columns)
    assert [f["column"] for f in expected] == ["seq", "customer_id"]
    dtypes = dict(df.dtypes)
    for exact_below in (10 * n, 100):  # every distinct count exact / seq's (and spread's) only estimated
        profiles, _ = _column_profiles(df, columns, dtypes, exact_below)
        found = []
        jobs = jobs_of(spark, lambda p=profiles, f=found: f.extend(spark_row_identifiers(df, columns, p)))
        assert found == expected
        assert (jobs == 0) if exact_below > n else (jobs > 0)  # seq: unique, dense, counted exactly


def test_evaluate_with_a_worded_label_on_both_engines(spark, tmp_path):
    rng = np.random.default_rng(0)
    p = rng.random(2000)
    table = pd.DataFrame({"churned": np.where(rng.random(2000) < p, "yes", "no"), "probability": p})
    (tmp_path / "data").mkdir()
    table.to_parquet(tmp_path / "data" / "scored.parquet")
    g = one_operator("evaluate_binary", {"label": "churned"}, {"table": "data/scored.parquet"})
    local, on_spark = run_both(g, tmp_path, tmp_path)
    for result in (local, on_spark):
        metrics = result.metrics["n"]
        assert (metrics["positive_class"], metrics["negative_class"]) == ("yes", "no")
        assert "positive class: 'yes'" in result.output("n", "report").text
    assert on_spark.metrics["n"]["auc"] == pytest.approx(local.metrics["n"]["auc"], abs=1e-4)
    three = table.assign(churned=np.resize(["a", "b", "c"], 2000))
    three.to_parquet(tmp_path / "data" / "three.parquet")
    g = one_operator("evaluate_binary", {"label": "churned"}, {"table": "data/three.parquet"})
    for result in run_both(g, tmp_path, tmp_path / "again"):
        assert "must hold two values; it holds 3" in error_of(result)["message"]


def test_feature_extraction_on_both_engines_leaves_the_row_number_out(spark, tmp_path):
    rng = np.random.default_rng(4)
    n = 3000
    tenure = rng.integers(0, 72, n)
    table = pd.DataFrame({"Unnamed: 0": np.arange(n), "tenure": tenure, "plan": rng.choice(["basic", "pro"], n),
                          "churned": np.where(rng.random(n) * 72 > tenure + 20, "churned", "stayed")})
    (tmp_path / "data").mkdir()
    table.to_parquet(tmp_path / "data" / "churn.parquet")
    g = one_operator("feature_extraction", {"label": "churned"}, {"table": "data/churn.parquet"})
    local, on_spark = run_both(g, tmp_path, tmp_path)
    for result in (local, on_spark):
        assert result.status == "succeeded", result.nodes["n"].error
        meta = result.output("n", "feature_state").meta
        assert [i["name"] for i in meta["inputs"]] == ["tenure", "plan"]
        assert [e["column"] for e in meta["excluded_identifiers"]] == ["Unnamed: 0"]
        assert meta["label_classes"] == ["stayed", "churned"]  # churned is the minority here


def test_feature_extraction_on_both_engines_names_the_date_column_it_leaves_out(spark, tmp_path):
    rng = np.random.default_rng(5)
    n = 2000
    tenure = rng.integers(0, 72, n)
    days = pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    table = pd.DataFrame({"signup_date": pd.Timestamp("2023-01-01") + days,
                          "tenure": tenure, "churned": np.where(rng.random(n) * 72 > tenure + 20, "yes", "no")})
    (tmp_path / "data").mkdir()
    table.to_parquet(tmp_path / "data" / "dated.parquet")
    g = one_operator("feature_extraction", {"label": "churned"}, {"table": "data/dated.parquet"})
    results, logs = node_logs_of_both(g, tmp_path, tmp_path)
    for result in results.values():
        state = result.output("n", "feature_state")
        assert [i["name"] for i in state.meta["inputs"]] == ["tenure"]
        assert state.meta["left_out_times"] == ["signup_date"]  # kept for a published model's Try it form
    for lines in logs.values():
        assert [line for line in lines if "signup_date" in line] == [
            "left out 'signup_date' (a date/time: auto mode makes no feature of it); to use it, derive numbers from "
            "it before this node with derive_column, e.g. month(signup_date) or year(signup_date)"]


def test_feature_extraction_on_both_engines_says_a_column_of_numbers_became_a_category(spark, tmp_path):
    """A column of numbers with a few "n/a" / "unknown" cells is text, so auto mode makes a category of it: the
    Data page warned of it, the features node's log said nothing. Now it names the column, the count, the odd
    values and the fixes, on both engines; a column of plain text says nothing."""
    rng = np.random.default_rng(6)
    n = 2000
    income = rng.integers(20, 200, n).astype(str).astype(object)
    income[rng.choice(n, 40, replace=False)] = "n/a"
    income[np.flatnonzero(income != "n/a")[:10]] = " unknown"
    table = pd.DataFrame({"income": income, "plan": rng.choice(["basic", "pro", "3 seats"], n),
                          "churned": rng.choice(["yes", "no"], n)})
    (tmp_path / "data").mkdir()
    table.to_parquet(tmp_path / "data" / "mixed.parquet")
    g = one_operator("feature_extraction", {"label": "churned"}, {"table": "data/mixed.parquet"})
    _, logs = node_logs_of_both(g, tmp_path, tmp_path)
    for lines in logs.values():
        assert [line for line in lines if "not numbers" in line] == [
            "column 'income' is used as a category, not numbers: 50 of its 2,000 values are not numbers ('n/a', "
            "'unknown'); if they mean 'missing', add them to the import node's null values (cells read as missing), "
            "or replace them with numbers in a derive_column node"]


def test_a_table_the_driver_holds_is_checked_for_numbers_on_the_driver(spark):
    """The mixed-type check of a split done on the driver (operators.spark.split.split_on_driver) reads the rows
    the driver holds, with no Spark job (a 200-row sample job first shipped every row to the executors: 2.1 s at
    1M rows), and says what the Spark path and the local engine say."""
    import pyarrow as pa

    from operators.library.features import FeatureConfig, fit_feature_state
    from operators.library.features import not_numbers_lines as on_pandas
    from operators.spark.features import not_numbers_lines as on_spark
    from operators.spark.tables import held_on_driver

    from .jobs import jobs_of

    rng = np.random.default_rng(7)
    n = 1000
    income = rng.integers(20, 200, n).astype(str).astype(object)
    income[rng.choice(n, 30, replace=False)] = "n/a"
    table = pd.DataFrame({"income": income, "plan": rng.choice(["basic", "pro"], n),
                          "churned": rng.choice(["yes", "no"], n)})
    config = FeatureConfig(label="churned")
    state, _ = fit_feature_state(table, config)
    rows = pa.Table.from_pandas(table, preserve_index=False)
    held = held_on_driver(spark.createDataFrame(rows), rows)
    out = []
    assert jobs_of(spark, lambda: out.append(on_spark(held, state, config))) == 0
    assert out[0] == on_spark(spark.createDataFrame(rows), state, config) == on_pandas(table, state, config)
    assert [line.split(":")[0] for line in out[0]] == ["column 'income' is used as a category, not numbers"]
