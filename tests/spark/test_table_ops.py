"""The table utilities and the rule and time splits on Spark local[2] against the local engine, on small
generated tables with gaps of every kind: the same rows (sample: the same count, repeatable for a seed), the
same report, and for bad input the very same error (message, field, column, port)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pipelines
from tests.spark.both import assert_same_rows, error_of, graph, one_operator, run_both

PEOPLE = {"table": "data/people.parquet"}
ROWS = 400


@pytest.fixture(scope="module")
def people_root(tmp_path_factory):
    """data/people.parquet: integers with and without gaps, floats with NaN, booleans and text with gaps, times
    with ties (days), times as ISO text, a column name with a space; data/cities.parquet to join with (a null
    key, a city of no one, columns named as people's); data/empty.parquet: people's columns, no rows."""
    rng = np.random.default_rng(3)
    cities = ["north", "south", "east", "west", None]
    joined = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, ROWS), unit="D")
    people = pd.DataFrame({
        "id": np.arange(ROWS),
        "age": np.where(rng.random(ROWS) < 0.1, np.nan, rng.integers(18, 80, ROWS)),
        "score": np.where(rng.random(ROWS) < 0.15, np.nan, np.round(rng.normal(50, 10, ROWS), 3)),
        "weight": np.round(rng.uniform(40, 120, ROWS), 2),
        "flag": pd.array(np.where(rng.random(ROWS) < 0.1, None, rng.random(ROWS) < 0.4), dtype=object),
        "city": pd.array([cities[i] for i in rng.integers(0, 5, ROWS)], dtype=object),
        "late payments": rng.poisson(0.7, ROWS),
        "joined": joined.astype("datetime64[ns]"),
        "joined_text": joined.strftime("%Y-%m-%d"),
    })
    every_seventh = people.index % 7 == 0
    people.loc[every_seventh, "joined_text"] = (joined[every_seventh]
                                                + pd.Timedelta(hours=9, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
    city_table = pd.DataFrame({"city": ["north", "south", "east", "west", None, "nowhere"],
                               "region": ["N", "S", "E", "W", "?", "X"], "id": [10, 20, 30, 40, 50, 60],
                               "score": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    root = tmp_path_factory.mktemp("people")
    (root / "data").mkdir()
    people.to_parquet(root / "data" / "people.parquet", index=False)
    people.head(0).to_parquet(root / "data" / "empty.parquet", index=False)
    city_table.to_parquet(root / "data" / "cities.parquet", index=False)
    bad = people.assign(joined_text=people["joined_text"].where(people.index != 5, "not a date"))
    bad.to_parquet(root / "data" / "bad_times.parquet", index=False)
    return root


def _outputs(result, node="n") -> dict:
    outcome = result.nodes[node]
    assert outcome.status == "succeeded", outcome.error
    return {port: result.output(node, port) for port in outcome.outputs}


ROW_CASES = [
    ("select_columns", {"columns": ["city", "age", "city"]}),
    ("select_columns", {"columns": ["flag", "joined"], "mode": "drop"}),
    ("rename_columns", {"mapping": {"age": "years", "late payments": "late"}}),
    ("filter_rows", {"expression": "age >= 30 and city in ['north', 'east']"}),
    ("filter_rows", {"expression": "isnull(score) or col(\"late payments\") > 1"}),
    ("filter_rows", {"expression": "joined >= date('2024-02-01') and not contains(city, 'th')"}),
    ("filter_rows", {"expression": "flag == True"}),
    ("fill_missing", {"strategy": "mean"}),
    ("fill_missing", {"strategy": "median", "columns": ["age", "score"]}),
    ("fill_missing", {"strategy": "most_frequent"}),
    ("fill_missing", {"strategy": "value", "value": -1, "columns": ["age", "score"]}),
    ("fill_missing", {"strategy": "value", "value": "unknown", "columns": ["city"]}),
    ("split_rule", {"expression": "score > 50 or city == 'west'"}),
    ("split_time", {"column": "joined", "last_fraction": 0.3}),
    ("split_time", {"column": "joined_text", "last_fraction": 0.25}),
    ("split_time", {"column": "weight", "last_fraction": 0.1}),
    ("split_time", {"column": "joined", "mode": "cutoff", "cutoff": "2024-02-10"}),
    ("split_time", {"column": "joined_text", "mode": "cutoff", "cutoff": "2024-01-20 12:00"}),
    ("split_time", {"column": "late payments", "mode": "cutoff", "cutoff": "1"}),
]


@pytest.mark.parametrize("operator,params", ROW_CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_spark_half_gives_the_local_rows(spark, people_root, tmp_path, operator, params):
    local, distributed = run_both(one_operator(operator, params, PEOPLE), people_root, tmp_path)
    expected, got = _outputs(local), _outputs(distributed)
    assert sorted(got) == sorted(expected)
    for port in expected:
        assert_same_rows(expected[port], got[port])
    if operator.startswith("split"):  # a real split, not everything on one side
        assert 0 < len(got["first"]) < ROWS


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
def test_join_gives_the_local_rows(spark, people_root, tmp_path, how):
    """Same-named key merged into one column (missing keys match each other, as in pandas), `id` and `score`
    on both sides suffixed."""
    inputs = {"left": "data/people.parquet", "right": "data/cities.parquet"}
    local, distributed = run_both(one_operator("join", {"left_on": ["city"], "how": how}, inputs), people_root,
                                  tmp_path)
    expected, got = _outputs(local)["table"], _outputs(distributed)["table"]
    assert "id_left" in got.columns and "score_right" in got.columns
    assert_same_rows(expected, got)


def test_join_on_differently_named_keys(spark, people_root, tmp_path):
    inputs = {"left": "data/people.parquet", "right": "data/people.parquet"}
    params = {"left_on": ["id"], "right_on": ["late payments"], "how": "left"}
    local, distributed = run_both(one_operator("join", params, inputs), people_root, tmp_path)
    assert_same_rows(_outputs(local)["table"], _outputs(distributed)["table"])


@pytest.mark.parametrize("params", [{"fraction": 0.3, "seed": 1}, {"rows": 57, "seed": 2},
                                    {"rows": 900, "replace": True, "seed": 3}, {"fraction": 0.5, "replace": True}],
                         ids=["fraction", "rows", "rows-replace", "fraction-replace"])
def test_sample_draws_the_local_count_and_repeats_for_a_seed(spark, people_root, tmp_path, params):
    g = one_operator("sample", params, PEOPLE)
    local, distributed = run_both(g, people_root, tmp_path)
    expected, got = _outputs(local)["table"], _outputs(distributed)["table"]
    assert len(got) == len(expected) == (params.get("rows") or round(params["fraction"] * ROWS))
    assert list(got.columns) == list(expected.columns)
    people = pd.read_parquet(people_root / "data" / "people.parquet").set_index("id")
    assert set(got["id"]) <= set(people.index)
    assert_same_rows(people.loc[got["id"]].reset_index(), got)  # whole rows of the table, not mixtures
    if not params.get("replace"):
        assert got["id"].is_unique
    else:
        assert not got["id"].is_unique  # 900 draws of 400 rows
    again = pipelines.run(g, store_root=tmp_path / "again", data_root=people_root, engine="spark")
    assert sorted(_outputs(again)["table"]["id"]) == sorted(got["id"])
    other = pipelines.run(one_operator("sample", {**params, "seed": 99}, PEOPLE), store_root=tmp_path / "other",
                          data_root=people_root, engine="spark")
    assert sorted(_outputs(other)["table"]["id"]) != sorted(got["id"])


def test_summarize_report_equals_the_local_report(spark, people_root, tmp_path):
    local, distributed = run_both(one_operator("summarize", {"max_histograms": 5}, PEOPLE), people_root, tmp_path)
    expected, got = _outputs(local), _outputs(distributed)
    assert got["metrics"] == expected["metrics"]
    assert got["report"].text == expected["report"].text
    assert got["report"].figures == expected["report"].figures
    assert len(got["report"].tables["columns"]) == len(expected["report"].tables["columns"])
    for a, b in zip(expected["report"].tables["columns"], got["report"].tables["columns"], strict=True):
        assert b.keys() == a.keys()
        for key, value in a.items():
            wanted = pytest.approx(value, rel=1e-12) if isinstance(value, float) else value
            assert b[key] == wanted, (a["column"], key)


def test_sample_credit_default_generates_the_local_table(spark, tmp_path):
    g = graph([("n", "sample_credit_default", {"n_rows": 500, "seed": 4})])
    local, distributed = run_both(g, tmp_path, tmp_path)
    assert_same_rows(_outputs(local)["table"], _outputs(distributed)["table"], rtol=0)


def test_value_at_rank_is_exact_with_ties_and_beyond_the_quantile_window(spark):
    """Ranks of a column with heavy ties, on more rows than 1 / RANK_WINDOW_ERROR, so approxQuantile's window
    (not the whole range) is what the exact counts search."""
    from operators.spark.split import RANK_WINDOW_ERROR, value_at_rank

    rng = np.random.default_rng(8)
    values = np.concatenate([rng.integers(0, 300, 30_000), rng.normal(0, 1e6, 20_000).round()]).astype(np.int64)
    assert len(values) * RANK_WINDOW_ERROR > 1
    keys = spark.createDataFrame(pd.DataFrame({"k": values})).repartition(3)
    ordered = np.sort(values)
    for rank in (0, 1, 12_345, 25_000, 37_500, len(values) - 1):
        assert value_at_rank(keys, rank, len(values)) == ordered[rank], rank


ERROR_CASES = [
    ("select_columns", {"columns": ["age", "nope"]}, PEOPLE, {"column": "nope", "field": "columns"}),
    ("rename_columns", {"mapping": {"age": ""}}, PEOPLE, {"field": "mapping.age"}),
    ("rename_columns", {"mapping": {"age": "score"}}, PEOPLE, {"column": "score"}),
    ("filter_rows", {"expression": "agee > 3"}, PEOPLE, {"column": "agee", "field": "expression"}),
    ("filter_rows", {"expression": "age >"}, PEOPLE, {"field": "expression"}),
    ("filter_rows", {"expression": "age + 1"}, PEOPLE, {"field": "expression"}),
    ("filter_rows", {"expression": "city + 1 > 3"}, PEOPLE, {"field": "expression"}),
    # only rows with a value fail (booleans with gaps are objects): raised in a Spark task, carried back
    ("filter_rows", {"expression": "flag > 'a'"}, PEOPLE, {"field": "expression"}),
    ("fill_missing", {"strategy": "value"}, PEOPLE, {"field": "value"}),
    ("fill_missing", {"strategy": "mean", "columns": ["age", "city"]}, PEOPLE, {"field": "columns", "column": "city"}),
    ("fill_missing", {"strategy": "value", "value": "many", "columns": ["score"]}, PEOPLE,
     {"field": "value", "column": "score"}),
    ("fill_missing", {"columns": ["nope"]}, PEOPLE, {"field": "columns", "column": "nope"}),
    ("join", {"left_on": ["city"], "right_on": ["city", "id"]}, {"left": "data/people.parquet",
                                                                "right": "data/cities.parquet"}, {"field": "right_on"}),
    ("join", {"left_on": ["town"]}, {"left": "data/people.parquet", "right": "data/cities.parquet"},
     {"field": "left_on", "column": "town", "port": "left"}),
    ("join", {"left_on": ["city"], "right_on": ["region2"]}, {"left": "data/people.parquet",
                                                            "right": "data/cities.parquet"},
     {"field": "right_on", "column": "region2", "port": "right"}),
    ("join", {"left_on": ["age"], "right_on": ["city"]}, {"left": "data/people.parquet",
                                                        "right": "data/cities.parquet"},
     {"field": "right_on", "column": "city"}),
    ("sample", {"rows": 401}, PEOPLE, {"field": "rows"}),
    ("sample", {"fraction": 0.5}, {"table": "data/empty.parquet"}, {"port": "table"}),
    ("split_rule", {"expression": "nope == 1"}, PEOPLE, {"column": "nope"}),
    ("split_rule", {"expression": "age > 1"}, {"table": "data/empty.parquet"}, {"port": "table"}),
    ("split_time", {"column": "nope"}, PEOPLE, {"field": "column", "column": "nope"}),
    ("split_time", {"column": "city"}, PEOPLE, {"field": "column", "column": "city"}),
    ("split_time", {"column": "score"}, PEOPLE, {"field": "column", "column": "score"}),
    ("split_time", {"column": "joined_text"}, {"table": "data/bad_times.parquet"}, {"field": "column"}),
    ("split_time", {"column": "joined", "mode": "cutoff"}, PEOPLE, {"field": "cutoff"}),
    ("split_time", {"column": "joined", "mode": "cutoff", "cutoff": "soon"}, PEOPLE, {"field": "cutoff"}),
    ("split_time", {"column": "joined"}, {"table": "data/empty.parquet"}, {"port": "table"}),
]


@pytest.mark.parametrize("operator,params,inputs,names", ERROR_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(ERROR_CASES)])
def test_bad_input_gets_the_local_error(spark, people_root, tmp_path, operator, params, inputs, names):
    local, distributed = run_both(one_operator(operator, params, inputs), people_root, tmp_path)
    expected, got = error_of(local), error_of(distributed)
    assert "traceback" not in expected and "traceback" not in got, got.get("traceback") or expected.get("traceback")
    assert got == expected
    assert names.items() <= got.items()


def test_a_pipeline_beyond_the_fallback_limit_runs_on_spark_throughout(spark, credit_root, tmp_path, monkeypatch):
    """8,000 rows through filter_rows -> split_time -> join with STUDIO_SPARK_LOCAL_FALLBACK_ROWS at 100: an
    operator without a Spark half would fail (see test_engine), so this runs on Spark end to end, and gives
    the local engine's rows."""
    monkeypatch.setenv("STUDIO_SPARK_LOCAL_FALLBACK_ROWS", "100")
    g = graph([("import", "import_parquet", {"path": "data/credit.parquet"}),
               ("adults", "filter_rows", {"expression": "age >= 25 and not isnull(income)"}),
               ("split", "split_time", {"column": "application_date", "last_fraction": 0.25}),
               ("keys", "select_columns", {"columns": ["customer_id", "region", "default"]}),
               ("n", "join", {"left_on": ["customer_id"], "how": "inner"})],
              [("import", "table", "adults", "table"), ("adults", "table", "split", "table"),
               ("split", "second", "n", "left"), ("import", "table", "keys", "table"),
               ("keys", "table", "n", "right")])
    events = []
    distributed = pipelines.run(g, store_root=tmp_path / "spark", data_root=credit_root, engine="spark",
                                on_event=events.append)
    assert distributed.status == "succeeded", {k: v.error for k, v in distributed.nodes.items() if v.error}
    assert not [e for e in events if "no Spark implementation" in str(e.data.get("message", ""))]
    got = distributed.output("n", "table")
    assert len(got) > 100 and {"region_left", "region_right", "default_left", "default_right"} <= set(got.columns)
    local = pipelines.run(g, store_root=tmp_path / "local", data_root=credit_root)
    assert_same_rows(local.output("n", "table"), got)


def test_a_join_logs_the_same_unmatched_key_notes_on_both_engines(spark, tmp_path):
    """The local engine's note on keys that found no match (how many rows, the smallest few keys, how many match
    ignoring case and surrounding spaces) comes from Spark's counts too, word for word; text and numeric keys, a
    two-column key, missing keys left out."""
    from tests.spark.both import node_logs_of_both

    (tmp_path / "data").mkdir()
    customers = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(1, 13)] + [None],
                              "shop": [1, 2] * 6 + [2], "region": ["north"] * 13})
    support = pd.DataFrame({"Customer ID": [f"c{i:04d}" if i % 3 else f"C{i:04d}" for i in range(1, 13)],
                            "shop": [1, 2] * 6, "calls": range(12)})
    support.loc[0, "Customer ID"] = "C0O01 "  # a typo no normalising fixes
    support.loc[4, "Customer ID"] = " C0005\t"  # spaces around: alike once stripped
    support.loc[7, "Customer ID"] = "c0008\x1f"  # Python's str.strip() takes the unit separator too: so must Spark
    customers.to_parquet(tmp_path / "data" / "customers.parquet", index=False)
    support.to_parquet(tmp_path / "data" / "support.parquet", index=False)
    pd.DataFrame({"id": [1, 2, 3]}).to_parquet(tmp_path / "data" / "few.parquet", index=False)
    pd.DataFrame({"id": [1.0, 2.0, 3.0, 4.0, np.nan]}).to_parquet(tmp_path / "data" / "more.parquet", index=False)
    inputs = {"left": "data/customers.parquet", "right": "data/support.parquet"}
    cases = [({"left_on": ["customer_id"], "right_on": ["Customer ID"]}, inputs, 2),
             ({"left_on": ["customer_id", "shop"], "right_on": ["Customer ID", "shop"], "how": "left"}, inputs, 2),
             ({"left_on": ["id"], "how": "left"}, {"left": "data/few.parquet", "right": "data/more.parquet"}, 1)]
    seen = []
    for params, tables, expected in cases:
        _, logs = node_logs_of_both(one_operator("join", params, tables), tmp_path, tmp_path / params["left_on"][-1])
        notes = {engine: [line for line in lines if "not in the other table" in line] for engine, lines in logs.items()}
        assert len(notes["local"]) == expected, notes["local"]
        assert notes["spark"] == notes["local"], params
        seen.append(notes["spark"])
    assert seen[1][1] == (  # the tab and spaces around ' C0005\t' stripped on Spark as locally: 7 alike, not 6
        "8 of 12 right rows have a key that is not in the other table (e.g. (' C0005\\t', 1), ('C0O01 ', 1), "
        "('c0002', 2)); 7 of them match once case and surrounding spaces are ignored: make the keys alike first "
        "(derive_column with lower(...) or strip(...) on 'Customer ID')")
    assert seen[2] == ["1 of 4 right rows have a key that is not in the other table (e.g. 4)"]
