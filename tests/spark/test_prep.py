"""The data-preparation operators and sql_transform on Spark local[2] against the local engine, on a generated
table with gaps, codes, numbers as text and dates as text: the same rows, and for bad input the same error
(field, column, and the value in the message)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from operators.contract import OperatorError

from tests.spark.both import assert_same_rows, error_of, one_operator, outputs_of, run_both

RAW = {"table": "data/raw.parquet"}
ROWS = 300


@pytest.fixture(scope="module")
def raw_root(tmp_path_factory):
    """data/raw.parquet: integers with and without gaps, floats with NaN, text codes with gaps, numbers and dates
    as text (some that do not cast), yes/no labels, repeated rows; data/more.parquet: the same columns in
    another order (ints as doubles); data/other.parquet: a column renamed."""
    rng = np.random.default_rng(12)
    age_text = rng.integers(18, 80, ROWS).astype(str).astype(object)
    age_text[rng.random(ROWS) < 0.05] = "n/a"
    day = (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, ROWS), unit="D")).strftime("%Y-%m-%d")
    day = day.to_numpy(dtype=object)
    day[rng.random(ROWS) < 0.04] = "2024-02-30"
    raw = pd.DataFrame({
        "id": np.arange(ROWS) % 250,  # 50 repeated ids
        "n": rng.integers(0, 5, ROWS),
        "income": np.where(rng.random(ROWS) < 0.1, np.nan, rng.normal(4000, 900, ROWS).round(1)),
        "score": np.where(rng.random(ROWS) < 0.2, np.nan, rng.integers(0, 10, ROWS)),
        "city": pd.array([c for c in rng.choice(["Berlin", " paris", "Rome", None], ROWS)], dtype=object),
        "age_text": age_text,
        "day": day,
        "churned": rng.choice(["yes", "no", "maybe"], ROWS, p=[0.3, 0.65, 0.05]),
        "flag": pd.array([None if r < 0.1 else r < 0.5 for r in rng.random(ROWS)], dtype=object),
    })
    root = tmp_path_factory.mktemp("raw")
    (root / "data").mkdir()
    raw.to_parquet(root / "data" / "raw.parquet", index=False)
    more = raw.sample(40, random_state=1)[list(reversed(raw.columns))].assign(n=lambda d: d["n"].astype(float))
    more.to_parquet(root / "data" / "more.parquet", index=False)
    raw.rename(columns={"city": "town"}).head(20).to_parquet(root / "data" / "other.parquet", index=False)
    return root


CASES = [
    ("derive_column", {"column": "ratio", "expression": "round(income / (n + 1), 2)"}),
    ("derive_column", {"column": "band", "expression": 'if(income >= 4000, "high", if(isnull(income), "?", "low"))'}),
    ("derive_column", {"column": "city", "expression": "upper(strip(coalesce(city, 'none')))"}),
    ("derive_column", {"column": "month", "expression": "month(if(day == '2024-02-30', None, day))"}),
    ("derive_column", {"column": "short", "expression": "substring(churned, 1, 2) + '-' + lower(city)"}),
    ("derive_column", {"column": "rich", "expression": "income > 4500 and not isnull(score)"}),
    ("derive_column", {"column": "lg", "expression": "clip(log(income), 8, 8.4) + abs(score - 5)"}),
    ("recode_values", {"column": "churned", "mapping": {"yes": 1, "no": 0}, "others": "missing"}),
    ("recode_values", {"column": "churned", "mapping": {"yes": True, "no": False}, "others": "value",
                       "other_value": False, "output": "label"}),
    ("recode_values", {"column": "n", "mapping": {"0": "none", "1": "one"}}),
    ("recode_values", {"column": "score", "mapping": {"3": 30, "4": 40}}),
    ("cast_columns", {"types": {"age_text": "integer", "day": "datetime", "n": "string", "score": "string"}}),
    ("cast_columns", {"types": {"age_text": "number", "churned": "boolean", "flag": "boolean"}}),
    ("drop_duplicates", {}),
    ("drop_duplicates", {"columns": ["id"]}),
    ("drop_duplicates", {"columns": ["city", "n"], "keep": "last"}),
    ("clean_missing", {"mode": "median", "indicator": True}),
    ("clean_missing", {"columns": ["income", "score", "city"], "mode": "mean", "modes": {"city": "mode"}}),
    ("clean_missing", {"columns": ["city", "income"], "mode": "constant", "value": 0}),
    ("clean_missing", {"columns": ["score"], "mode": "drop_rows", "indicator": True}),
    ("clean_missing", {"mode": "drop_column", "min_missing_ratio": 0.15}),
    ("sql_transform", {"sql": "SELECT city, count(*) AS n, sum(income) AS total, avg(score) AS score "
                              "FROM t1 GROUP BY city"}),
    ("sql_transform", {"sql": "WITH c AS (SELECT id, income FROM t1 WHERE income > 4000)\n"
                              "SELECT a.id, a.income, b.churned FROM c AS a JOIN t1 AS b ON a.id = b.id"}),
]


@pytest.mark.parametrize("operator,params", CASES, ids=lambda v: v if isinstance(v, str) else None)
def test_spark_half_gives_the_local_rows(spark, raw_root, tmp_path, operator, params):
    inputs = {"t1": RAW["table"]} if operator == "sql_transform" else RAW
    local, distributed = run_both(one_operator(operator, params, inputs), raw_root, tmp_path)
    expected, got = outputs_of(local), outputs_of(distributed)
    assert sorted(got) == sorted(expected)
    assert_same_rows(expected["table"], got["table"])
    if "metrics" in expected:
        assert got["metrics"] == expected["metrics"]


@pytest.mark.parametrize("params", [{"columns": ["income", "id"], "descending": [True, False]},
                                    {"columns": ["city", "id"], "missing": "first"}])
def test_sort_rows_gives_the_local_order(spark, raw_root, tmp_path, params):
    """Unique keys (the last one is id ... repeated ids differ in income or city), so the order is one order."""
    table = pd.read_parquet(raw_root / "data" / "raw.parquet").drop_duplicates(["id"])
    table.to_parquet(raw_root / "data" / "unique.parquet", index=False)
    local, distributed = run_both(one_operator("sort_rows", params, {"table": "data/unique.parquet"}), raw_root,
                                  tmp_path)
    expected, got = outputs_of(local)["table"], outputs_of(distributed)["table"]
    assert got["id"].tolist() == expected["id"].tolist()


def test_union_tables_gives_the_local_rows(spark, raw_root, tmp_path):
    from tests.spark.both import graph

    for distinct in (False, True):
        g = graph([("a", "import_parquet", {"path": "data/raw.parquet"}),
                   ("b", "import_parquet", {"path": "data/more.parquet"}),
                   ("n", "union_tables", {"distinct": distinct})],
                  [("a", "table", "n", "first"), ("b", "table", "n", "second")])
        local, distributed = run_both(g, raw_root, tmp_path / str(distinct))
        assert_same_rows(outputs_of(local)["table"], outputs_of(distributed)["table"])


ERRORS = [
    ("derive_column", {"column": "x", "expression": "year(day)"}, RAW, {"field": "expression", "column": "day"},
     "'2024-02-30'"),
    ("derive_column", {"column": "x", "expression": "age_text * 2 + income"}, RAW,
     {"field": "expression", "column": "age_text"}, "column 'age_text' holds text, not numbers"),
    ("derive_column", {"column": "x", "expression": "salary + 1"}, RAW, {"field": "expression", "column": "salary"},
     "salary"),
    ("recode_values", {"column": "town", "mapping": {"a": 1}}, RAW, {"field": "column", "column": "town"}, "town"),
    ("cast_columns", {"types": {"age_text": "integer"}, "on_error": "fail"}, RAW,
     {"field": "types.age_text", "column": "age_text"}, "'n/a'"),
    ("cast_columns", {"types": {"height": "number"}}, RAW, {"field": "types", "column": "height"}, "height"),
    ("drop_duplicates", {"columns": ["key"]}, RAW, {"field": "columns", "column": "key"}, "key"),
    ("clean_missing", {"columns": ["city"], "mode": "median"}, RAW, {"field": "columns", "column": "city"},
     "not numeric"),
    ("clean_missing", {"columns": ["income"], "mode": "constant", "value": "lots"}, RAW,
     {"field": "value", "column": "income"}, "'lots'"),
    ("sort_rows", {"columns": ["nope"]}, RAW, {"field": "columns", "column": "nope"}, "nope"),
    ("union_tables", {}, {"first": "data/raw.parquet", "second": "data/other.parquet"},
     {"port": "second", "column": "city"}, "'city'"),
]


@pytest.mark.parametrize("operator,params,inputs,fields,words", ERRORS, ids=lambda v: v if isinstance(v, str) else None)
def test_bad_input_fails_with_the_local_error(spark, raw_root, tmp_path, operator, params, inputs, fields, words):
    local, distributed = run_both(one_operator(operator, params, inputs), raw_root, tmp_path)
    expected, got = error_of(local), error_of(distributed)
    for key, value in fields.items():
        assert expected.get(key) == value and got.get(key) == value, (key, expected, got)
    assert words in expected["message"] and words in got["message"], (expected, got)


SQL_ERRORS = [
    ("DELETE FROM t1", "only SELECT (or WITH ... SELECT) statements run here, not DELETE"),
    ("INSERT INTO t1 SELECT * FROM t1", "not INSERT"),
    ("SELECT reflect('java.lang.System', 'getenv', 'SECRET_KEY') AS k FROM t1", "calls of Java methods"),
    ("SELECT TRANSFORM(city) USING 'cat /etc/passwd' AS (x) FROM t1", "running a program"),
    ("SELECT * FROM parquet.`/etc`", "reading files"),
    # a comment marker inside a string once hid the rest of the line from the checks, and Spark ran it
    ("SELECT '--' AS a, reflect('java.lang.System', 'getenv', 'SECRET_KEY') AS k FROM t1", "calls of Java methods"),
    ("SELECT '/*' AS a, java_method('java.lang.System', 'getenv', 'SECRET_KEY') AS k, '*/' AS b FROM t1",
     "calls of Java methods"),
    ("SELECT TRANSFORM(city, '--') USING 'cat' AS (x, y) FROM t1", "running a program"),
    ("SELECT `reflect`('java.lang.System', 'getenv', 'SECRET_KEY') AS k FROM t1", "calls of Java methods"),
    ("SELECT r'\\' AS a, reflect('java.lang.System', 'getenv', 'SECRET_KEY') AS k, '' AS b FROM t1",
     "calls of Java methods"),
    ("SELECT * FROM `parquet`.`/etc`", "reading files"),
    # a name no text check can see: the analysed plan is checked too
    ("SELECT IDENTIFIER('ref' || 'lect')('java.lang.System', 'getenv', 'SECRET_KEY') AS k FROM t1",
     "calls of Java methods"),
    ("SELECT id FROM t1 WHERE 'x' IN (SELECT IDENTIFIER('java_' || 'method')('java.lang.System', 'getenv', "
     "'SECRET_KEY'))", "calls of Java methods"),
    ("WITH c AS (SELECT transform(array(1), v -> IDENTIFIER('try_' || 'reflect')('java.lang.System', 'getenv', "
     "'SECRET_KEY')) AS k) SELECT * FROM c", "calls of Java methods"),
    ("SELECT 1; SELECT 2", "SQL error"),
    # Spark's parser recursed into a StackOverflowError of the driver thread (no parse error, no field)
    ("SELECT " + "(" * 1000 + "id" + ")" * 1000 + " AS v FROM t1", "nests parentheses more than 100 levels"),
    # twenty CTEs each reading the one before twice: the optimizer copies each CTE where it is read (2^20 copies)
    ("WITH c0 AS (SELECT id FROM t1), " + ", ".join(f"c{i} AS (SELECT * FROM c{i - 1} UNION ALL SELECT * FROM "
                                                   f"c{i - 1})" for i in range(1, 21)) + " SELECT count(*) FROM c20",
     "has more than 100,000 plan nodes"),
    ("SELECT id,\n  incme FROM t1", "SQL error at line 2, column 3"),
    ("SELECT id\nFORM t1", "SQL error at line 2"),
]


@pytest.mark.parametrize("sql,words", SQL_ERRORS)
def test_sql_transform_on_spark_refuses_what_is_not_a_query(spark, raw_root, tmp_path, sql, words, monkeypatch):
    from pipelines import run

    monkeypatch.setenv("SECRET_KEY", "studio-secret")
    result = run(one_operator("sql_transform", {"sql": sql}, {"t1": RAW["table"]}), store_root=tmp_path,
                 data_root=raw_root, engine="spark")
    error = error_of(result)
    assert error["field"] == "sql" and words in error["message"], error
    assert "studio-secret" not in error["message"]


def test_sql_transform_on_spark_reads_no_relation_but_its_inputs(spark, raw_root, tmp_path):
    """Every leaf of the analysed plan must be one of the node's own input views: another run's temporary view
    in the shared session (here one over a file of raw_root, one over rows) is refused, in a subquery too,
    however the statement names it; rows the statement writes itself (VALUES, range, explode) still run."""
    from pipelines import run

    spark.read.parquet(str(raw_root / RAW["table"])).createOrReplaceTempView("studio_another_run_t1")
    spark.range(3).createOrReplaceTempView("studio_another_run_t2")
    try:
        for sql in ("SELECT * FROM studio_another_run_t1", "SELECT * FROM IDENTIFIER('studio_' || 'another_run_t2')",
                    "SELECT id FROM t1 WHERE id IN (SELECT id FROM studio_another_run_t2)",
                    "WITH c AS (SELECT * FROM studio_another_run_t1) SELECT count(*) AS n FROM c"):
            result = run(one_operator("sql_transform", {"sql": sql}, {"t1": RAW["table"]}), store_root=tmp_path,
                         data_root=raw_root, engine="spark")
            error = error_of(result)
            assert error["field"] == "sql" and "reads only its inputs" in error["message"], (sql, error)
    finally:
        spark.catalog.dropTempView("studio_another_run_t1")
        spark.catalog.dropTempView("studio_another_run_t2")
    sql = ("WITH c AS (SELECT count(*) AS n FROM t1) SELECT n, v, r.id, e FROM c, VALUES (1) AS x(v), range(2) r "
           "LATERAL VIEW explode(array(1, 2)) ex AS e WHERE n IN (SELECT count(*) FROM t1)")
    result = run(one_operator("sql_transform", {"sql": sql}, {"t1": RAW["table"]}), store_root=tmp_path,
                 data_root=raw_root, engine="spark")
    assert len(outputs_of(result)["table"]) == 4


@pytest.mark.parametrize("sql", ["SELECT size(sequence(1, 1000000000)) AS n FROM t1",
                                 "SELECT size(array_repeat('a', 5 * 200000000)) AS n",
                                 "SELECT length(repeat('xy', 1000000000L)) AS n FROM t1 WHERE id < 2"])
def test_sql_transform_on_spark_refuses_a_constant_value_too_big_to_build(spark, raw_root, tmp_path, sql):
    """Spark folds a constant sequence / array_repeat / repeat on the driver while planning, before any job the
    time limit could cancel: sequence(1, 1000000000) filled the driver's heap (OutOfMemoryError) that every
    run shares. Refused by its size in the analysed plan; the session then runs the next statement, and sizes
    under the bound run."""
    from pipelines import run

    result = run(one_operator("sql_transform", {"sql": sql}, {"t1": RAW["table"]}), store_root=tmp_path,
                 data_root=raw_root, engine="spark")
    error = error_of(result)
    assert error["field"] == "sql" and "at most 10,000,000 are allowed" in error["message"], error
    small = ("SELECT size(sequence(1, 1000)) AS a, size(sequence(10, 1, -3)) AS b, size(array_repeat(id, 3)) AS c, "
             "length(repeat('xy', 5)) AS d FROM t1 WHERE id = 1")
    result = run(one_operator("sql_transform", {"sql": small}, {"t1": RAW["table"]}), store_root=tmp_path,
                 data_root=raw_root, engine="spark")
    assert outputs_of(result)["table"].iloc[0].tolist() == [1000, 4, 3, 10]


SPARK_UNBOUNDED = [
    ("SELECT explode(sequence(1, id * 100000000)) AS v FROM t1", "sequence(...) makes a value whose size depends"),
    ("SELECT size(array_repeat(n, cast(id AS INT) * 100000000)) AS v FROM t1", "array_repeat(...) makes a value"),
    ("SELECT length(repeat('x', id * 1000000000)) AS v FROM t1", "repeat(...) makes a value whose size depends"),
    ("SELECT length(lpad(city, cast(id AS INT) * 100000000, 'y')) AS v FROM t1", "lpad(...) makes a value whose"),
    ("SELECT length(rpad(city, 1000000000, 'y')) AS v FROM t1", "rpad(...) would make 1,000,000,000 elements"),
    ("SELECT length(space(cast(id AS INT) * 100000000)) AS v FROM t1", "space(...) makes a value whose size"),
    ("SELECT size(sequence(id, id + 20000000)) AS v FROM t1", "sequence(...) would make 20,000,001 elements"),
    ("SELECT size(sequence(timestamp'2020-01-01 00:00:00', timestamp'2020-01-01 00:00:00' + make_interval(0, 0, "
     "0, cast(id AS INT) * 10000), interval 1 second)) AS v FROM t1", "sequence(...) makes a value whose size"),
    ("SELECT size(array_repeat(sequence(1, 5000000), 5000000)) AS v", "would make 25,000,000,000,000 elements"),
    ("SELECT transform(array(1, 2), x -> sequence(1, x * 3)) AS v FROM t1", "sequence(...) inside a lambda"),
    ("SELECT format_string('%0300000000d', id) AS v FROM t1", "pads to a width of 300,000,000"),
    ("SELECT printf(city, id) AS v FROM t1", "format as a constant string"),
]


def test_sql_transform_on_spark_refuses_sizes_from_row_values_with_no_bound(spark, raw_root, tmp_path):
    """sequence(1, id * 100000000), repeat / lpad / space to a row's width, or a sequence in a lambda (once per
    array element) ran with no check of their size: in local mode a task builds them in the driver's JVM, whose
    OutOfMemoryError ends the session every run shares. Refused from the analysed plan, naming the function and
    the field sql; sizes the statement caps itself still run, on the same session."""
    from pipelines import run

    for sql, words in SPARK_UNBOUNDED:
        result = run(one_operator("sql_transform", {"sql": sql}, {"t1": RAW["table"]}), store_root=tmp_path,
                     data_root=raw_root, engine="spark")
        error = error_of(result)
        assert error["field"] == "sql" and words in error["message"], (sql, error)
    capped = ("SELECT size(sequence(id, id + 3)) AS a, size(sequence(1, least(n + 1, 100))) AS b, "
              "repeat(city, least(n, 2)) AS c, length(lpad(city, least(cast(n AS INT), 3), '.')) AS d, "
              "size(sequence(to_date('2024-01-01'), date_add(to_date('2024-01-01'), cast(n AS INT)))) AS e, "
              "format_string('%5d', n) AS f, size(transform(array(1, 2), x -> x * n)) AS g "
              "FROM t1 WHERE city = 'Rome' AND n = 2 LIMIT 1")
    result = run(one_operator("sql_transform", {"sql": capped}, {"t1": RAW["table"]}), store_root=tmp_path,
                 data_root=raw_root, engine="spark")
    assert outputs_of(result)["table"].iloc[0].tolist() == [4, 3, "RomeRome", 2, 3, "    2", 2]


def test_python_script_on_spark_gives_the_local_rows(spark, raw_root, tmp_path, monkeypatch):
    from operators.sandbox import landlock_abi

    if landlock_abi() < 6:
        pytest.skip("needs Linux Landlock ABI 6")
    monkeypatch.setenv("STUDIO_ALLOW_SCRIPTS", "1")
    code = "def run(tables, params):\n    df = tables['t1']\n    return {'table': df[df.n > 2].assign(m=df.n * 2)}\n"
    local, distributed = run_both(one_operator("python_script", {"code": code}, {"t1": RAW["table"]}), raw_root,
                                  tmp_path)
    assert_same_rows(outputs_of(local)["table"], outputs_of(distributed)["table"])


def test_sql_transform_on_spark_is_stopped_at_its_time_limit(spark, raw_root, tmp_path):
    """A query that outlasts its limit many times over (t1 joined on a key with 3e9 rows of range(), which stream and
    look for a kill between rows) ends the node with an error naming timeout_seconds, its Spark jobs cancelled,
    instead of holding the run and the cluster. (It was four cross joins of t1 until those were refused before they
    run: a cancelled nested loop's tasks ran on for minutes after the job had FAILED.)"""
    from pipelines import run

    sql = "SELECT sum(hash(a.id, r.id)) AS h FROM t1 a JOIN range(3000000000) r ON a.id = r.id % 250"
    store = spark.sparkContext._jsc.sc().statusStore()
    before = max([-1] + [store.jobsList(None).apply(i).jobId() for i in range(store.jobsList(None).size())])
    result = run(one_operator("sql_transform", {"sql": sql, "timeout_seconds": 1}, {"t1": RAW["table"]}),
                 store_root=tmp_path, data_root=raw_root, engine="spark")
    error = error_of(result)
    assert error["field"] == "timeout_seconds" and "time limit of 1 s" in error["message"], error
    tracker = spark.sparkContext.statusTracker()
    running = [tracker.getJobInfo(job) for job in tracker.getActiveJobsIds()]
    assert not [job for job in running if job is not None and job.status == "RUNNING"], running
    # by state, not by time: by the time the node's error came back, its job group's query job had ended FAILED
    # (cancelled) and none of its jobs was running; the shared session then runs the next statement
    jobs = store.jobsList(None)
    ours = [jobs.apply(i) for i in range(jobs.size())]
    ours = [job for job in ours if job.jobGroup().isDefined() and job.jobGroup().get().startswith("studio-n-")
            and job.jobId() > before]
    statuses = [str(job.status()) for job in ours]
    assert "FAILED" in statuses and "RUNNING" not in statuses, statuses
    again = run(one_operator("sql_transform", {"sql": "SELECT count(*) AS n FROM t1", "timeout_seconds": 60},
                             {"t1": RAW["table"]}), store_root=tmp_path, data_root=raw_root, engine="spark")
    assert int(outputs_of(again)["table"]["n"][0]) == ROWS


def _last_job(spark) -> int:
    jobs = spark.sparkContext._jsc.sc().statusStore().jobsList(None)
    return max([-1] + [jobs.apply(i).jobId() for i in range(jobs.size())])


def _node_jobs(spark, after: int) -> list:
    """The jobs of node n's job group since job `after`."""
    jobs = spark.sparkContext._jsc.sc().statusStore().jobsList(None)
    jobs = [jobs.apply(i) for i in range(jobs.size())]
    return [job.jobId() for job in jobs if job.jobId() > after and job.jobGroup().isDefined()
            and job.jobGroup().get().startswith("studio-n-")]


def test_sql_transform_on_spark_refuses_a_cross_join_too_big_to_stop_before_it_runs(spark, raw_root, tmp_path):
    """Four copies of the 300-row t1 cross joined (8.1e9 pairs) ran as nested loops that a cancel does not stop: the
    node is refused on field sql, naming the join's sides, before any Spark job of the node is submitted (t1's rows
    from its Parquet footers)."""
    from pipelines import run

    before = _last_job(spark)
    result = run(one_operator("sql_transform", {"sql": "SELECT count(*) AS n FROM t1 a, t1 b, t1 c, t1 d",
                                                "timeout_seconds": 600}, {"t1": RAW["table"]}),
                 store_root=tmp_path, data_root=raw_root, engine="spark")
    error = error_of(result)
    assert error["field"] == "sql", error
    assert "cross join of 27,000,000 rows (from a join of 90,000 by 300 rows) by 300 rows" in error["message"], error
    assert "8,100,000,000 pairs" in error["message"] and "ON a.k = b.k" in error["message"], error
    assert _node_jobs(spark, before) == []


@pytest.mark.parametrize("sql,words", [
    ("SELECT count(*) AS n FROM t1 a JOIN range(1000000) r ON a.id < r.id",
     "join on (a.id < r.id) of 300 rows by 1,000,000 rows would compare 300,000,000 pairs"),
    ("SELECT count(*) AS n FROM range(20000) a, range(20000) b", "cross join of 20,000 rows by 20,000 rows"),
    ("SELECT (SELECT count(*) FROM range(20000) a, range(20000) b) AS n", "cross join of 20,000 rows by 20,000 rows"),
    ("SELECT count(*) AS n FROM t1 a JOIN t1 b ON a.id < b.id JOIN range(5000) r ON b.n < r.id",
     "of 44,800 rows (from a join of 300 by 300 rows) by 5,000 rows would compare 224,000,000 pairs"),
    ("WITH c AS (SELECT id, rand() AS x FROM range(20000)) SELECT count(*) AS n FROM c a, c b",
     "cross join of 20,000 rows by 20,000 rows"),
    ("SELECT count(*) AS n FROM (SELECT id FROM range(1000000) WHERE id % 2 = 0) a, range(1000) b",
     "cross join of 500,000 rows by 1,000 rows"),
], ids=["theta", "range", "subquery", "nested", "cte", "counted"])
def test_sql_transform_on_spark_refuses_a_nested_loop_over_big_inputs(spark, raw_root, tmp_path, sql, words):
    """A non-equi join of big inputs, range() self-cross joins (in a subquery, a CTE read twice), a join of a join
    (bounded by 90,000 x 5,000, then its 44,800 rows counted) and a filtered side (counted: 500,000 of its 1M rows),
    each over 100M pairs, are refused naming their sizes."""
    from pipelines import run

    result = run(one_operator("sql_transform", {"sql": sql, "timeout_seconds": 120}, {"t1": RAW["table"]}),
                 store_root=tmp_path, data_root=raw_root, engine="spark")
    error = error_of(result)
    assert error["field"] == "sql" and words in error["message"], error


def test_sql_transform_on_spark_runs_small_cross_joins_and_equi_joins_of_big_inputs(spark, raw_root, tmp_path):
    """Under the bound a cross join runs and gives DuckDB's rows; a 10-row lookup by 1M rows runs; an equi-join of
    300 by 1M rows (a hash join, 3e8 as a product) runs; a side whose bound is over but whose rows are few (a
    filter keeping 50 of 1M rows, an equi-join of 300 rows bounded by 3e8) is counted and its cross join runs."""
    from pipelines import run

    sql = ("SELECT a.id, a.city, l.k, l.name FROM t1 a CROSS JOIN (VALUES (1, 'one'), (2, 'two'), (3, 'three')) "
           "AS l(k, name) WHERE a.n < 2")
    local, distributed = run_both(one_operator("sql_transform", {"sql": sql}, {"t1": RAW["table"]}), raw_root,
                                  tmp_path)
    assert_same_rows(outputs_of(local)["table"], outputs_of(distributed)["table"])
    for sql, n in [("SELECT count(*) AS n FROM range(1000000) a CROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), "
                    "(7), (8), (9), (10)) AS l(k)", 10_000_000),
                   ("SELECT count(*) AS n FROM t1 a JOIN range(1000000) r ON a.id = r.id", ROWS),
                   ("SELECT count(*) AS n FROM (SELECT id FROM range(1000000) WHERE id < 50) a, range(1000000) b",
                    50_000_000),
                   ("SELECT count(*) AS n FROM (SELECT r.id FROM t1 a JOIN range(1000000) r ON a.id = r.id) x "
                    "CROSS JOIN range(1000) c", ROWS * 1000)]:
        result = run(one_operator("sql_transform", {"sql": sql, "timeout_seconds": 300}, {"t1": RAW["table"]}),
                     store_root=tmp_path / "more", data_root=raw_root, engine="spark")
        assert int(outputs_of(result)["table"]["n"][0]) == n, sql


@pytest.fixture(scope="module")
def lookup_root(raw_root):
    """raw_root with data/big.parquet: 1,000,000 rows whose k (r % 250) is one of t1's 250 ids (ids 0-49 twice)."""
    big = pd.DataFrame({"k": np.arange(1_000_000) % 250, "v": np.arange(1_000_000) % 7})
    big.to_parquet(raw_root / "data" / "big.parquet", index=False)
    return raw_root


def _n_counts(raw_root) -> np.ndarray:
    return pd.read_parquet(raw_root / "data" / "raw.parquet")["n"].value_counts().to_numpy().astype(object)


def test_sql_transform_on_spark_refuses_an_equi_join_that_multiplies_rows_before_it_runs(spark, raw_root, tmp_path):
    """t1 joined five times on n (5 values, about 60 rows each: sum of count(n)^5, about 3.9e9 rows). Spark's join
    code looks for a cancel only between the rows it reads, and a chain of such joins did not stop for minutes
    after its cancel, so the join is counted (each side's rows per key) and refused on field sql, naming the
    join, its key and the rows it would make; the inner joins' counts are the outer ones' side rows. No job of the
    node but the counting ones ran: none was cancelled."""
    from pipelines import run

    counts = _n_counts(raw_root)
    sql = ("SELECT count(*) AS n FROM t1 a JOIN t1 b ON a.n = b.n JOIN t1 c ON b.n = c.n JOIN t1 d ON c.n = d.n "
           "JOIN t1 e ON d.n = e.n")
    before = _last_job(spark)
    result = run(one_operator("sql_transform", {"sql": sql, "timeout_seconds": 20}, {"t1": RAW["table"]}),
                 store_root=tmp_path, data_root=raw_root, engine="spark")
    error = error_of(result)
    assert error["field"] == "sql", error
    assert f"of {sum(counts ** 4):,} rows by 300 rows would make {sum(counts ** 5):,} rows" in error["message"], error
    assert "join on (t1.n = t1.n)" in error["message"] and "its key t1.n = t1.n" in error["message"], error
    jobs = spark.sparkContext._jsc.sc().statusStore().jobsList(None)
    ours = [jobs.apply(i) for i in range(jobs.size())]
    ours = [str(job.status()) for job in ours if job.jobId() > before and job.jobGroup().isDefined()
            and job.jobGroup().get().startswith("studio-n-")]
    assert ours and set(ours) == {"SUCCEEDED"}, ours


@pytest.mark.parametrize("sql,words", [
    ("SELECT count(*) AS n FROM range(100000) a JOIN range(100000) b ON a.id % 2 = b.id % 2",
     "of 100,000 rows by 100,000 rows would make 5,000,000,000 rows"),
    ("SELECT a.id, b.id FROM range(100000) a LEFT JOIN range(100000) b ON a.id % 2 = b.id % 2 AND a.id > b.id",
     "would make 5,000,000,000 rows (its key (a.id % 2L) = (b.id % 2L)"),
    ("SELECT count(*) AS n FROM range(1000) a JOIN range(1000) b ON a.id % 2 = b.id % 2 "
     "JOIN range(1000) c ON b.id % 2 = c.id % 2", "of 500,000 rows by 1,000 rows would make 250,000,000 rows"),
    ("SELECT count(*) AS n FROM (SELECT explode(array_repeat(id % 2, 2)) AS k FROM range(10000)) a "
     "JOIN range(20000) b ON a.k = b.id % 2", "of 20,000 rows by 20,000 rows would make 200,000,000 rows"),
], ids=["two-way", "outer-expression", "chained", "exploded"])
def test_sql_transform_on_spark_refuses_equi_joins_of_many_rows_per_key(spark, raw_root, tmp_path, sql, words):
    """Over 100M output rows: a 0/1 key of 100,000 rows a side, a left join whose extra condition does not narrow
    the key, a chain of 1,000-row joins (the inner join's 500,000 rows counted per key of the outer one), a side of
    exploded rows (which has no bound before it is counted)."""
    from pipelines import run

    result = run(one_operator("sql_transform", {"sql": sql, "timeout_seconds": 20}, {"t1": RAW["table"]}),
                 store_root=tmp_path, data_root=raw_root, engine="spark")
    error = error_of(result)
    assert error["field"] == "sql" and words in error["message"], error


def test_sql_transform_on_spark_runs_lookups_and_many_to_one_equi_joins_of_big_inputs(spark, lookup_root, tmp_path):
    """A lookup of t1's 300 rows by 1M rows (a bound of 3e8; at most 2 of t1's rows per key: 1.2M rows), a chain of
    two such lookups (1.6M rows, the inner join's bound a side's rows), a left join that keeps unmatched rows and a
    many-to-one join of an aggregate run on Spark and give the local engine's rows."""
    for sql in ["SELECT a.city, count(*) AS n, sum(b.v) AS s FROM t2 b JOIN t1 a ON b.k = a.id GROUP BY a.city",
                "SELECT a.churned, count(*) AS n, sum(c.n) AS s FROM t2 b JOIN t1 a ON b.k = a.id "
                "JOIN t1 c ON a.id = c.id GROUP BY a.churned",
                "SELECT a.churned, count(*) AS n, count(b.k) AS s FROM t1 a LEFT JOIN t2 b ON a.id = b.k + 200 "
                "GROUP BY a.churned",
                "SELECT b.v, count(*) AS n, sum(m.n) AS s FROM t2 b "
                "JOIN (SELECT id, max(n) AS n FROM t1 GROUP BY id) m ON b.k = m.id GROUP BY b.v"]:
        g = one_operator("sql_transform", {"sql": sql, "timeout_seconds": 300},
                         {"t1": RAW["table"], "t2": "data/big.parquet"})
        local, distributed = run_both(g, lookup_root, tmp_path / f"q{len(sql)}")
        assert_same_rows(outputs_of(local)["table"], outputs_of(distributed)["table"])
    assert int(outputs_of(distributed)["table"]["n"].sum()) == 1_000_000


def test_a_self_join_of_a_cached_input_on_a_key_is_an_equi_join(spark):
    """A cached input (a node's persisted output) read twice: each side's plan holds the cached plan's columns,
    which the check took for columns of both sides, so the equality of the two sides was not seen and the join,
    bounded as a nested loop at 4e8 pairs, was refused. It passes, and the same self-join on a 0/1 key is refused
    as an equi-join that would make too many rows."""
    from operators.spark.sql import check_joins

    cached = spark.range(20_000).selectExpr("id AS k", "id % 2 AS flag").persist()
    try:
        cached.count()
        cached.createOrReplaceTempView("studio_cached_self_join")
        check_joins(spark.sql("SELECT count(*) FROM studio_cached_self_join a JOIN studio_cached_self_join b "
                              "ON a.k = b.k"), 60)
        with pytest.raises(OperatorError) as refused:
            check_joins(spark.sql("SELECT count(*) FROM studio_cached_self_join a JOIN studio_cached_self_join b "
                                  "ON a.flag = b.flag"), 60)
        assert refused.value.field == "sql" and "would make 200,000,000 rows" in str(refused.value), refused.value
    finally:
        spark.catalog.dropTempView("studio_cached_self_join")
        cached.unpersist()


def test_a_job_submitted_after_the_time_limit_is_cancelled_too(spark):
    """The limit passes before the query's first job is submitted (a limit of 0 s; on a busy driver planning
    can outlast 1 s): the job group was cancelled once, with nothing in it, and the job then ran to its end
    (4 min 50 s once). Now the group is cancelled until the query returns. The job (2e9 rows, a minute or more
    uncancelled) streams a range that checks for its kill every batch, so once cancelled its tasks end at once
    and free the session's cores; a cross join's tasks ran on for minutes after the cancel."""
    from operators.spark.sql import materialised_within

    frame = spark.range(0, 2_000_000_000, numPartitions=2).selectExpr("sum(hash(id)) AS h")
    sc = spark.sparkContext
    sc.setJobGroup("studio-limit-test", "limit test", interruptOnCancel=True)
    try:
        with pytest.raises(OperatorError) as refused:
            materialised_within(frame, 0)
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    assert refused.value.field == "timeout_seconds"
    assert spark.range(5).count() == 5  # the session runs the next job


def test_sql_transform_on_spark_within_its_time_limit_gives_its_rows(spark, raw_root, tmp_path):
    from pipelines import run

    sql = "SELECT city, count(*) AS n FROM t1 GROUP BY city"
    result = run(one_operator("sql_transform", {"sql": sql, "timeout_seconds": 60}, {"t1": RAW["table"]}),
                 store_root=tmp_path, data_root=raw_root, engine="spark")
    table = outputs_of(result)["table"]
    assert int(table["n"].sum()) == ROWS
