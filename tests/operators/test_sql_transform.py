"""sql_transform on the local engine (DuckDB): the same rows as pandas for a join and a GROUP BY; only one
SELECT runs; no file, URL, extension or setting is within reach; syntax errors point at line and column."""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from operators import Cancelled, OperatorError
from operators.library.sql import run_duckdb


@pytest.fixture
def orders():
    rng = np.random.default_rng(5)
    n = 5000
    return pd.DataFrame({"order_id": np.arange(n), "customer": rng.integers(0, 300, n),
                         "amount": np.where(rng.random(n) < 0.05, np.nan, rng.gamma(2.0, 40.0, n).round(2)),
                         "channel": rng.choice(["web", "shop", "phone"], n)})


@pytest.fixture
def customers():
    rng = np.random.default_rng(6)
    return pd.DataFrame({"customer": np.arange(0, 320, 2), "region": rng.choice(["north", "south", "east"], 160)})


def test_a_join_and_a_group_by_give_the_same_rows_as_pandas(run, orders, customers):
    out = run("sql_transform", {"t1": orders, "t2": customers}, sql="""
        SELECT c.region, o.channel, count(*) AS orders, sum(o.amount) AS total, avg(o.amount) AS mean
        FROM t1 AS o JOIN t2 AS c ON o.customer = c.customer
        GROUP BY c.region, o.channel
        ORDER BY c.region, o.channel""")["table"]
    joined = orders.merge(customers, on="customer")
    expected = (joined.groupby(["region", "channel"]).agg(orders=("order_id", "size"), total=("amount", "sum"),
                                                          mean=("amount", "mean")).reset_index())
    assert list(out.columns) == ["region", "channel", "orders", "total", "mean"]
    assert out[["region", "channel"]].values.tolist() == expected[["region", "channel"]].values.tolist()
    assert out["orders"].dtype == np.int64 and out["orders"].tolist() == expected["orders"].tolist()
    np.testing.assert_allclose(out["total"], expected["total"], rtol=1e-12)
    np.testing.assert_allclose(out["mean"], expected["mean"], rtol=1e-12)


def test_a_with_query_and_a_left_join_keep_the_missing_values(run, orders, customers):
    out = run("sql_transform", {"t1": orders.head(50), "t2": customers}, sql="""
        WITH big AS (SELECT * FROM t1 WHERE amount > 50)
        SELECT big.order_id, t2.region FROM big LEFT JOIN t2 USING (customer) ORDER BY big.order_id""")["table"]
    expected = orders.head(50).query("amount > 50").merge(customers, on="customer", how="left")
    assert out["order_id"].tolist() == expected["order_id"].tolist()
    assert out["region"].isna().tolist() == expected["region"].isna().tolist()
    assert run("sql_transform", {"t1": orders}, sql="SELECT sum(customer) AS s FROM t1")["table"]["s"].dtype \
        == np.int64  # DuckDB's HUGEINT sum arrives as int64


@pytest.mark.parametrize("sql, word", [
    ("DELETE FROM t1", "DELETE"),
    ("ATTACH '/tmp/studio.db' AS s", "ATTACH"),
    ("COPY t1 TO '/tmp/out.csv'", "COPY"),
    ("INSTALL httpfs", "INSTALL"),
    ("LOAD httpfs", "LOAD"),
    ("PRAGMA database_list", "PRAGMA"),
    ("SET threads = 64", "SET"),
    ("CREATE TABLE x AS SELECT * FROM t1", "CREATE"),
    ("EXPORT DATABASE '/tmp/x'", "EXPORT"),
    ("CALL pragma_version()", "CALL"),
])
def test_anything_but_a_query_is_refused(run, orders, sql, word):
    with pytest.raises(OperatorError) as err:
        run("sql_transform", {"t1": orders}, sql=sql)
    assert err.value.message == f"only SELECT (or WITH ... SELECT) statements run here, not {word}"
    assert err.value.field == "sql"


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/hostname'",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM 'https://example.com/data.csv'",
    "SELECT * FROM query('ATTACH ''/tmp/studio.db''')",
    "SELECT getenv('SECRET_KEY') AS k",
    "SELECT * FROM sqlite_scan('/tmp/studio.sqlite3', 'auth_user')",  # the studio's database by path
    "SELECT * FROM orders",  # a Python variable of the caller is not a table here
    # lambdas and macros reach no further than the statement around them
    "SELECT list_transform(['/etc/hostname'], lambda p: (SELECT count(*) FROM read_text(p))) AS n",
    "SELECT list_reduce(['SELECT 1', 'x'], lambda a, b: query(a)) AS n",
    "SELECT * FROM query_table(list_transform(['orders'], lambda x: x))",
    "SELECT list_transform([1], lambda x: getenv('SECRET_KEY')) AS k",
    "SELECT * FROM duckdb_secrets()",
    "CREATE MACRO leak(p) AS TABLE SELECT * FROM read_text(p)",
    "CREATE TEMP MACRO m(x) AS x + 1",
])
def test_no_file_url_environment_or_python_object_is_reachable(run, orders, sql, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "the-studio-secret")
    with pytest.raises(OperatorError) as err:
        run("sql_transform", {"t1": orders}, sql=sql)
    assert err.value.field == "sql" and "the-studio-secret" not in err.value.message


def test_two_statements_and_an_oversized_text_are_refused(run, orders):
    with pytest.raises(OperatorError, match="give one SELECT statement, not 2"):
        run("sql_transform", {"t1": orders}, sql="SELECT 1; SELECT 2")
    with pytest.raises(Exception, match="at most 20000 characters"):
        run("sql_transform", {"t1": orders}, sql="SELECT 1 " + " " * 20_000)


LONG_LINE = "SELECT " + ", ".join(f"amount + {i} AS c{i}" for i in range(40)) + " FORM t1"  # DuckDB cuts it


@pytest.mark.parametrize("sql, line, token, words", [
    ("SELECT *\n  FORM t1", 2, "t1", 'syntax error at or near "t1"'),
    ("SELECT order_id,\n       amout\nFROM t1", 2, "amout", 'column "amout" not found'),
    (LONG_LINE, 1, "FORM", 'syntax error at or near "FORM"'),
    ("SELECT CAST(channel AS INTEGER) AS c FROM t1", 1, "CAST", "to INT32 when casting from source column channel"),
])
def test_errors_point_at_line_and_column(run, orders, sql, line, token, words):
    """The column is where the token DuckDB points at starts on that line of the user's text."""
    column = sql.splitlines()[line - 1].index(token) + 1
    with pytest.raises(OperatorError) as err:
        run("sql_transform", {"t1": orders}, sql=sql)
    assert f"SQL error at line {line}, column {column}:" in err.value.message, err.value.message
    assert words in err.value.message and err.value.field == "sql"


def test_a_runaway_query_is_stopped_at_its_time_limit_and_by_a_cancel():
    endless = "SELECT count(*) FROM range(100000000000) a, range(1000000) b"
    with pytest.raises(OperatorError, match="stopped after its time limit of 1 s") as err:
        run_duckdb(endless, {}, timeout=1)
    assert err.value.field == "timeout_seconds"
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(Cancelled):
        run_duckdb(endless, {}, timeout=600, cancelled=cancel.is_set)


def test_a_cross_join_is_interrupted_and_leaves_its_connection_usable():
    """Unlike Spark's cancel, DuckDB's interrupt stops a cross join (four copies of a 300-row table, 8.1e9 rows and
    minutes of work): the watcher interrupts it once it is seen running (a function of one side marks that), the
    statement ends without a result and the same locked connection answers the next one. So the local engine
    needs no bound on cross joins; at the time limit run_duckdb reports timeout_seconds."""
    import duckdb
    import pyarrow as pa

    from operators.library.sql import _Watch, locked_connection

    table = pd.DataFrame({"id": np.arange(300)})
    cross = "SELECT sum(hash(a.id, b.id, c.id, d.id)) AS h FROM {a} a, t1 b, t1 c, t1 d"
    con = locked_connection()
    try:
        con.register("t1", pa.Table.from_pandas(table))
        running = threading.Event()
        con.create_function("running", lambda x: running.set() or x, ["BIGINT"], "BIGINT")
        con.execute("SET lock_configuration = true")
        with _Watch(con, 3600, running.is_set) as watch, pytest.raises(duckdb.InterruptException):
            con.execute(cross.format(a="(SELECT running(id) AS id FROM t1)")).fetchall()
        assert watch.reason == "cancelled"
        assert con.execute("SELECT count(*) FROM t1").fetchall() == [(300,)]
    finally:
        con.close()
    with pytest.raises(OperatorError) as err:
        run_duckdb(cross.format(a="t1"), {"t1": table}, timeout=1)
    assert err.value.field == "timeout_seconds"


def test_memory_is_capped(monkeypatch):
    monkeypatch.setenv("STUDIO_SQL_MEMORY_LIMIT", "64m")
    with pytest.raises(OperatorError, match="memory limit of 64 MiB|larger than 64 MiB"):
        run_duckdb("SELECT list(range) AS l FROM range(50000000) GROUP BY range % 3", {}, timeout=120)


# 1,000 rows of 1,000 characters, each concatenated 8 x 8 x 8 x 4 times through CTEs: 2 GB of strings, which
# DuckDB's memory limit did not count (it covers its buffer manager): the worker's memory grew past 7 GB.
CONCATENATED = ("WITH a AS (SELECT s||s||s||s||s||s||s||s AS s FROM t1), b AS (SELECT s||s||s||s||s||s||s||s AS s "
                "FROM a), c AS (SELECT s||s||s||s||s||s||s||s AS s FROM b) SELECT length(s||s||s||s) AS n FROM c")


def test_a_statement_that_outgrows_its_memory_fails_alone_in_its_own_process(monkeypatch):
    """The statement runs in a child process under a ceiling (twice the SQL memory limit and 1 GiB): it fails
    there, naming sql, while this process (the worker, with other runs in it) grows by nothing like it; the
    next statement runs."""
    import resource

    monkeypatch.setenv("STUDIO_SQL_MEMORY_LIMIT", "256m")
    strings = pd.DataFrame({"s": ["x" * 1000] * 1000})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(OperatorError, match="memory limit") as err:
        run_duckdb(CONCATENATED, {"t1": strings}, timeout=120)
    assert err.value.field == "sql"
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 < 200 * 1024 ** 2
    assert run_duckdb("SELECT count(*) AS n FROM t1", {"t1": strings}, timeout=60)["n"].tolist() == [1000]


def test_statements_reuse_a_warm_child_and_a_cancel_kills_it(orders):
    from operators.library import sql_engine

    sql_engine.close_idle()
    run_duckdb("SELECT 1 AS one", {}, timeout=60)
    [child] = sql_engine._idle
    assert run_duckdb("SELECT count(*) AS n FROM t1", {"t1": orders}, timeout=60)["n"].tolist() == [len(orders)]
    assert sql_engine._idle == [child] and child.alive()  # the same process answered: no second start
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(Cancelled):
        run_duckdb("SELECT count(*) FROM range(100000000000) a, range(1000000) b", {}, timeout=600,
                   cancelled=cancel.is_set)
    assert not child.alive() and sql_engine._idle == []  # killed, not kept
    assert run_duckdb("SELECT 2 AS two", {}, timeout=60)["two"].tolist() == [2]
    assert sql_engine._idle[0] is not child


@pytest.mark.parametrize("sql", [
    "SELECT len(range(20000000)) AS n",
    "SELECT len(range(1000000000)) AS n",  # held 20 GB for minutes, past a 3 s time limit
    "SELECT len(generate_series(1, 100000000000, 2)) AS n FROM t1",
    "SELECT length(repeat('xy', 5 * 200000000)) AS n",
    "SELECT len(list_resize([1], 1e9::INT)) AS n",
    "SELECT length(lpad('x', 100000000, 'y')) AS n FROM t1",
])
def test_a_constant_value_too_big_to_build_is_refused(orders, sql):
    """DuckDB builds a list or string of a constant size while planning, and any one in a single call, without
    looking at the interrupt or its memory limit: refused by its size in DuckDB's parse tree, naming sql."""
    with pytest.raises(OperatorError, match="at most 10,000,000 are allowed") as err:
        run_duckdb(sql, {"t1": orders}, timeout=3)
    assert err.value.field == "sql"


def test_values_under_the_size_bound_and_rows_from_range_still_run(orders):
    sql = ("SELECT len(range(10)) AS a, len(generate_series(1, 10, 3)) AS b, length(repeat('xy', 3)) AS c, "
           "len(range(amount::INT, amount::INT + 2)) AS d, (SELECT count(*) FROM range(20000000)) AS e FROM t1 LIMIT 1")
    assert run_duckdb(sql, {"t1": orders}, timeout=60).iloc[0].tolist() == [10, 4, 6, 2, 20_000_000]


@pytest.mark.parametrize("sql, function", [
    ("SELECT unnest(range(order_id * 100000000)) AS n FROM t1", "range"),
    ("SELECT len(generate_series(1, customer * 100000000)) AS n FROM t1", "generate_series"),
    ("SELECT length(repeat('x', order_id * 1e9)) AS n FROM t1", "repeat"),
    ("SELECT length(lpad('x', customer * 100000000, 'y')) AS n FROM t1", "lpad"),
    ("SELECT length(rpad('x', (SELECT max(customer) FROM t1) * 100000000, 'y')) AS n FROM t1", "rpad"),
    ("SELECT len(list_resize([1], customer * 1000000000)) AS n FROM t1", "list_resize"),
    ("SELECT len(repeat([1, 2], customer * 1000000000)) AS n FROM t1", "repeat"),
    ("SELECT len(range(TIMESTAMP '2020-01-01', TIMESTAMP '2020-01-01' + to_days(order_id * 1000000), "
     "INTERVAL 1 SECOND)) AS n FROM t1", "range"),
])
def test_a_size_from_row_values_with_no_bound_is_refused(run, orders, sql, function):
    """DuckDB's memory limit does not count the lists and strings a function returns: repeat('x', id * 1000000)
    over 4,000 rows went past 2.4 GB under a 1 GB limit (and len(range(i)) over 4,000 rows of 5M past 1.2 GB),
    while these ran with no check of their size. Refused before they run, naming the function and sql."""
    with pytest.raises(OperatorError, match=rf"{function}\(\.\.\.\) makes a value whose size depends on row "
                                            "values with no bound") as err:
        run("sql_transform", {"t1": orders}, sql=sql)
    assert err.value.field == "sql" and "least(" in err.value.message


@pytest.mark.parametrize("sql, words", [
    ("SELECT len(range(order_id, order_id + 20000)) AS n FROM t1", "would make 20,000 elements; at most 10,000"),
    ("SELECT length(repeat(name, 10000000)) AS n FROM (SELECT 'x' || order_id AS name FROM t1)",
     "would make 10,000,000 elements; at most 10,000"),
    ("SELECT length(repeat(repeat('x', 9000000), 9000000)) AS n", "would make 81,000,000,000,000 elements"),
    ("SELECT len(range(TIMESTAMP '0001-01-01', TIMESTAMP '9999-01-01', INTERVAL 1 SECOND)) AS n",
     "would make 315,506,361,600 elements"),
    ("SELECT list_transform([1, 2], lambda x: range(x * 3)) AS l FROM t1", "range(...) inside a lambda"),
    ("SELECT [repeat('x', 3) for x in range(5)] AS l", "repeat(...) inside a lambda"),
    ("SELECT list_reduce(range(1000), lambda a, b: list_resize(a, 2)) AS l", "list_resize(...) inside a lambda"),
    ("SELECT printf('%*d', customer * 300000000, 1) AS p FROM t1", "width from an argument"),
    ("SELECT format('{:>{}}', 'x', customer * 30000000) AS p FROM t1", "width from an argument"),
    ("SELECT printf('%0300000000d', 1) AS p", "pads to a width of 300,000,000"),
    ("SELECT printf('%.300000000f', 1.0) AS p", "pads to a width of 300,000,000"),
    ("SELECT format('{:>300000000}', 'x') AS p", "pads to a width of 300,000,000"),
    ("SELECT printf(name, 1) AS p FROM (SELECT '%0300000000d' AS name)", "format as a constant string"),
])
def test_a_value_over_its_bound_a_generator_in_a_lambda_and_a_wide_format_are_refused(orders, sql, words):
    """A size from row values is capped lower than a constant one (DuckDB builds 2,048 rows' values at once);
    a generator in a lambda runs per list element; printf('%0300000000d', 1) made a 300 MB string and
    printf('%*d', n, 1) one as wide as a row says: all ran before."""
    with pytest.raises(OperatorError) as err:
        run_duckdb(sql, {"t1": orders}, timeout=30)
    assert words in err.value.message and err.value.field == "sql", err.value.message


def test_bounded_sizes_from_row_values_still_run(orders):
    sql = ("SELECT len(range(order_id, order_id + 3)) AS a, len(range(least(customer, 100))) AS b, "
           "repeat(x, least(customer % 4, 3)) AS c, len(range(customer, least(customer + 20, 1000), 2)) AS d, "
           "length(lpad(x, least(customer, 5)::INT, '.')) AS e, len(range(TIMESTAMP '2020-01-01', "
           "TIMESTAMP '2021-01-01', INTERVAL 1 DAY)) AS f, printf('order 123456: %5d', customer) AS g, "
           "format('{:>4}', x) AS h, length(repeat(repeat('ab', 3), 4)) AS i, "
           "(SELECT count(*) FROM t1 AS o, range(o.customer)) > 0 AS j "
           "FROM (SELECT *, 'x' AS x FROM t1) WHERE customer = 7 LIMIT 1")
    assert run_duckdb(sql, {"t1": orders}, timeout=60).iloc[0].tolist() == [
        3, 7, "xxx", 10, 5, 366, "order 123456:     7", "   x", 24, True]


def test_the_locked_connection_sees_no_python_variable_and_no_setting_can_be_changed(orders):
    import duckdb

    from operators.library.sql import locked_connection

    con = locked_connection()
    secret_frame = orders  # noqa: F841 - what DuckDB's replacement scan would find in this frame
    with pytest.raises(duckdb.CatalogException):
        con.sql("SELECT * FROM secret_frame").fetchall()
    con.execute("SET lock_configuration = true")
    for setting in ("SET enable_external_access = true", "SET memory_limit = '64GB'", "SET threads = 64",
                    "SET python_enable_replacements = true"):
        with pytest.raises(duckdb.Error, match="locked"):
            con.execute(setting)
    con.close()


def test_an_equi_join_that_multiplies_rows_is_stopped_and_the_child_answers_the_next_statement():
    """A 0/1 flag joined three times over 100,000 rows (5e14 rows; on Spark its hash join did not stop for minutes
    after a cancel, so Spark refuses it before it runs): DuckDB's interrupt stops the count at the time limit and
    the same warm child answers the next statement; materialised, the rows meet the memory ceiling and the node
    fails on field sql, its child replaced."""
    from operators.library import sql_engine

    flags = pd.DataFrame({"id": np.arange(100_000), "flag": np.arange(100_000) % 2})
    joined = "FROM t1 a JOIN t1 b ON a.flag = b.flag JOIN t1 c ON b.flag = c.flag"
    sql_engine.close_idle()
    run_duckdb("SELECT 1 AS one", {}, timeout=60)
    [child] = sql_engine._idle
    with pytest.raises(OperatorError) as err:
        run_duckdb(f"SELECT count(*) AS n {joined}", {"t1": flags}, timeout=2)
    assert err.value.field == "timeout_seconds"
    assert sql_engine._idle == [child] and child.alive()
    assert run_duckdb("SELECT count(*) AS n FROM t1", {"t1": flags}, timeout=60)["n"].tolist() == [100_000]
    with pytest.raises(OperatorError) as err:
        run_duckdb(f"SELECT a.id AS x, b.id AS y, c.id AS z {joined}", {"t1": flags}, timeout=60)
    assert err.value.field in ("sql", "timeout_seconds"), err.value
    assert run_duckdb("SELECT count(*) AS n FROM t1", {"t1": flags}, timeout=60)["n"].tolist() == [100_000]
