"""Awkward tables on both engines: NaN beside null in a float column, groups of one row, times centuries apart.
Parquet written with pyarrow, so a NaN stays a NaN in the file (pandas would write it as null): the local
engine reads both as one missing value, and Spark must see them so too."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.spark.both import assert_same_rows, graph, one_operator, outputs_of, run_both

NAN = float("nan")
AWKWARD = {"table": "data/awkward.parquet"}


@pytest.fixture(scope="module")
def awkward_root(tmp_path_factory):
    """data/awkward.parquet: a float column with NaN and null both (and a repeated 1.5), text with groups of one
    row, with a null and a NaN, times from 1900 to the last day nanoseconds reach (2262-04-11)."""
    table = pa.table({
        "id": pa.array(range(8), pa.int64()),
        "f": pa.array([1.5, NAN, None, -0.0, 2.5, NAN, 3.0, 1.5], pa.float64()),
        "s": pa.array([" Apple", "apple", "ÄPFEL", None, "", "Äpfel ", "bé", "apple"], pa.string()),
        "g": pa.array([1.0, NAN, None, 2.0, 2.0, 2.0, 3.0, NAN], pa.float64()),
        "d": pa.array([pd.Timestamp("1950-03-01"), pd.Timestamp("1969-12-31 23:59:59"), None,
                       pd.Timestamp("2200-01-01"), pd.Timestamp("1970-01-01"), pd.Timestamp("2024-02-29"),
                       pd.Timestamp("1900-01-01"), pd.Timestamp("2262-04-11")], pa.timestamp("us")),
    })
    root = tmp_path_factory.mktemp("awkward")
    (root / "data").mkdir()
    pq.write_table(table, root / "data" / "awkward.parquet")
    return root


@pytest.mark.parametrize("params", [{"columns": ["f"]}, {"columns": ["f"], "keep": "last"}, {}],
                         ids=["first", "last", "all"])
def test_drop_duplicates_takes_nan_and_null_for_one_missing_value(spark, awkward_root, tmp_path, params):
    """Locally NaN and null in 'f' are one key (pandas' NaN): 5 rows of 8 remain on column f. Spark kept 6, the
    NaN rows and the null row as two keys. On all columns no row repeats: all 8 remain on both."""
    local, distributed = run_both(one_operator("drop_duplicates", params, AWKWARD), awkward_root, tmp_path)
    expected, got = outputs_of(local)["table"], outputs_of(distributed)["table"]
    assert len(expected) == (5 if params else 8)
    assert_same_rows(expected, got)


@pytest.mark.parametrize("column", ["s", "g"])
def test_stratified_split_sends_as_many_rows_of_each_group_to_each_side(spark, awkward_root, tmp_path, column):
    """round(0.5 * 1) is 0 in Python (half to even): a group of one row sends it to the second side. Spark's
    round() took it to the first (half up), so 7 of 8 rows went first where locally 1 did; and on 'g' the NaN rows
    and the null row are one group of missing values locally, two on Spark."""
    params = {"ratio": 0.5, "stratify": column, "seed": 3}
    local, distributed = run_both(one_operator("split_random", params, AWKWARD), awkward_root, tmp_path)
    expected, got = outputs_of(local), outputs_of(distributed)

    def groups(side: pd.DataFrame) -> dict:
        return side[column].astype("string").fillna("missing").value_counts().to_dict()

    for port in ("first", "second"):
        assert groups(got[port]) == groups(expected[port]), port


def test_summarize_draws_times_centuries_apart(spark, awkward_root, tmp_path):
    """A time histogram from 1900 to 2262: Spark's run failed (OutOfBoundsDatetime: the span in nanoseconds
    overflows int64), and the local one read the column's microseconds as nanoseconds (its edges in 1969)."""
    local, distributed = run_both(one_operator("summarize", {}, AWKWARD), awkward_root, tmp_path)
    expected, got = outputs_of(local)["report"], outputs_of(distributed)["report"]
    times = expected.figures["histogram:d"]["data"][0]
    assert times["x"][0] == "1900-01-01T00:00:00" and times["x"][-1].startswith("2244-"), times["x"]
    assert sum(times["y"]) == 7
    assert got.figures == expected.figures
    assert got.tables == expected.tables


def test_sql_transform_reads_nan_as_null(spark, awkward_root, tmp_path):
    """DuckDB reads the local engine's NaN as NULL (pandas' missing value): avg() skips it, count() does not count
    it, IS NULL finds it. Spark SQL took NaN for a value: avg(f) of 'apple' was NaN where locally 1.5."""
    sql = ("SELECT s, avg(f) AS mean, count(f) AS present, sum(CASE WHEN g IS NULL THEN 1 ELSE 0 END) AS gaps "
           "FROM t1 GROUP BY s")
    local, distributed = run_both(one_operator("sql_transform", {"sql": sql}, {"t1": AWKWARD["table"]}),
                                  awkward_root, tmp_path)
    expected, got = outputs_of(local)["table"], outputs_of(distributed)["table"]
    assert expected.set_index("s").loc["apple", "mean"] == 1.5
    assert_same_rows(expected, got)


def test_csv_dates_are_the_local_ones_from_an_impossible_date_to_9999(spark, tmp_path):
    """A column of ISO dates with one impossible ('2024-02-30') stays text locally; Spark made the date null, no
    word said. And a '9999-12-31' (a common 'no end'): Spark writes times as INT96, which read as nanoseconds
    wrapped round to 1816-03-29 (and 2300-01-01 to 1715)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dates.csv").write_text(
        "id,day,until\n1,2024-02-30,1950-01-01\n2,2024-01-01,9999-12-31\n3,2024-03-01,2300-01-01 12:00:00\n")
    local, distributed = run_both(graph([("n", "import_csv", {"path": "data/dates.csv"})]), tmp_path, tmp_path)
    expected, got = outputs_of(local)["table"], outputs_of(distributed)["table"]
    assert expected["day"].tolist() == ["2024-02-30", "2024-01-01", "2024-03-01"]
    assert expected["until"].max() == pd.Timestamp("9999-12-31")
    assert got["day"].tolist() == expected["day"].tolist()
    assert got["until"].tolist() == expected["until"].tolist()


def test_csv_true_and_false_in_any_case_are_booleans_on_both_engines(spark, tmp_path):
    """pandas reads a column of true / false words (any case, gaps allowed) as booleans; Spark kept the text,
    so 'flag == True' kept no row there. ' True' (a space) or 'yes' stays text on both."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "flags.csv").write_text(
        "id,flag,spaced,words\n1,True,True,yes\n2,FALSE,false,no\n3,,False,yes\n4,tRuE, True,no\n")
    local, distributed = run_both(graph([("n", "import_csv", {"path": "data/flags.csv"})]), tmp_path, tmp_path)
    expected, got = outputs_of(local)["table"], outputs_of(distributed)["table"]
    assert expected["flag"].tolist()[:2] == [True, False]
    assert expected["spaced"].tolist()[-1] == " True"
    assert_same_rows(expected, got)


def test_csv_repeated_and_blank_header_names_are_the_local_ones(spark, tmp_path):
    """pandas names a repeated 'x' 'x.1' and a blank header 'Unnamed: 2'; Spark said 'x1' and '_c2', so a
    parameter naming the column found it on one engine only."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "header.csv").write_text("x,x,,y\n1,2,3,a\n4,5,6,b\n")
    local, distributed = run_both(graph([("n", "import_csv", {"path": "data/header.csv"})]), tmp_path, tmp_path)
    expected, got = outputs_of(local)["table"], outputs_of(distributed)["table"]
    assert list(expected.columns) == ["x", "x.1", "Unnamed: 2", "y"]
    assert_same_rows(expected, got)


@pytest.mark.parametrize("how", ["inner", "left"])
def test_join_on_a_float_key_matches_nan_and_null_alike(spark, awkward_root, tmp_path, how):
    """pandas' merge matches missing keys with each other, NaN and null alike (one missing value); Spark's
    null-safe equality matched NaN to NaN and null to null only."""
    right = pa.table({"f": pa.array([NAN, None, 1.5, -0.0, 0.0]), "w": pa.array([1, 2, 3, 4, 5])})
    pq.write_table(right, awkward_root / "data" / "floats.parquet")
    inputs = {"left": AWKWARD["table"], "right": "data/floats.parquet"}
    local, distributed = run_both(one_operator("join", {"left_on": ["f"], "how": how}, inputs), awkward_root,
                                  tmp_path)
    expected, got = outputs_of(local)["table"], outputs_of(distributed)["table"]
    assert len(expected) == {"inner": 10, "left": 12}[how]
    assert_same_rows(expected, got)


def test_cast_to_integer_leaves_a_number_past_int64_missing_on_both_engines(spark, tmp_path):
    """'9223372036854775808' (2**63) does not fit an integer column: Spark's task failed on it (ArrowInvalid:
    truncated converting to int64) and the local engine kept an inexact float. Now it is a value that did not
    cast, on both, and counted so."""
    (tmp_path / "data").mkdir()
    texts = pa.table({"t": pa.array([" 12 ", "9223372036854775808", "-9223372036854775808", "1e3", "2.5", None])})
    pq.write_table(texts, tmp_path / "data" / "texts.parquet")
    local, distributed = run_both(one_operator("cast_columns", {"types": {"t": "integer"}},
                                               {"table": "data/texts.parquet"}), tmp_path, tmp_path)
    expected, got = outputs_of(local), outputs_of(distributed)
    assert expected["table"]["t"][0] == 12 and pd.isna(expected["table"]["t"][1])
    assert expected["metrics"] == {"not_cast.t": 2}
    assert got["metrics"] == expected["metrics"]
    assert_same_rows(expected["table"], got["table"])


@pytest.mark.parametrize("params", [{"last_fraction": 0.5}, {"mode": "cutoff", "cutoff": "2024-01-06 09:00"}],
                         ids=["fraction", "cutoff"])
def test_split_time_on_text_times_of_several_utc_offsets(spark, tmp_path, params):
    """Times as text with different UTC offsets: Spark reads them as instants; the local run failed with pandas'
    bare 'ValueError: Mixed timezones detected', no field, no column. Now the same instants, the same sides."""
    (tmp_path / "data").mkdir()
    times = ["2024-01-05T10:00:00Z", "2024-01-06T10:00:00+02:00", "2024-01-06T09:30:00+00:00",
             "2024-01-07T01:00:00-05:00"]
    pq.write_table(pa.table({"id": pa.array(range(4)), "t": pa.array(times)}), tmp_path / "data" / "times.parquet")
    local, distributed = run_both(one_operator("split_time", {"column": "t", **params},
                                               {"table": "data/times.parquet"}), tmp_path, tmp_path)
    expected, got = outputs_of(local), outputs_of(distributed)
    assert sorted(expected["second"]["id"]) == [2, 3]  # id 1 is 08:00 UTC, before the cutoff
    for side in ("first", "second"):
        assert sorted(got[side]["id"]) == sorted(expected[side]["id"]), side
