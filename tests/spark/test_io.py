"""Imports on Spark: CSV with the local engine's type inference, and JDBC from the real PostgreSQL and MariaDB
on this machine, read in parallel range partitions."""
from __future__ import annotations

import uuid

import numpy as np
import pytest

import pipelines

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"


def _graph(operator, params):
    return {"format": "studio.pipeline/1", "name": "import", "edges": [],
            "nodes": [{"id": "import", "operator": operator, "params": params}]}


def test_csv_import_infers_the_local_engines_types(spark, credit_root, tmp_path):
    graph = _graph("import_csv", {"path": "data/credit.csv"})
    local = pipelines.run(graph, store_root=tmp_path / "l", data_root=credit_root).output("import", "table")
    store = pipelines.FileSystemStore(tmp_path / "s")
    result = pipelines.run(graph, store=store, data_root=credit_root, engine="spark")
    assert result.status == "succeeded", result.nodes["import"].error
    table = store.load(result.nodes["import"].outputs["table"], engine="spark")
    types = dict(table.dtypes)
    assert types["age"] == "bigint" and types["income"] == "double" and types["education"] == "string"
    assert types["application_date"] == "timestamp"
    got = table.toPandas().sort_values("customer_id").reset_index(drop=True)
    assert len(got) == len(local)
    np.testing.assert_allclose(got["income"].to_numpy(dtype=float), local["income"].to_numpy(dtype=float))
    assert got["education"].isna().sum() == local["education"].isna().sum()


def test_parquet_import_keeps_the_nanosecond_timestamps_pandas_wrote(spark, credit_root, tmp_path):
    """Spark reads pandas' nanosecond timestamps as longs (spark.sql.legacy.parquet.nanosAsLong); the import
    turns them back into the times the local engine reads."""
    import pandas as pd

    graph = _graph("import_parquet", {"path": "data/credit.parquet"})
    local = pipelines.run(graph, store_root=tmp_path / "l", data_root=credit_root).output("import", "table")
    store = pipelines.FileSystemStore(tmp_path / "s")
    result = pipelines.run(graph, store=store, data_root=credit_root, engine="spark")
    table = store.load(result.nodes["import"].outputs["table"], engine="spark")
    assert dict(table.dtypes)["application_date"] == "timestamp"
    got = table.select("customer_id", "application_date").toPandas().sort_values("customer_id")
    assert list(pd.to_datetime(got["application_date"]).astype("datetime64[ns]")) == \
        list(local.sort_values("customer_id")["application_date"])


def test_a_parquet_file_imported_whole_is_stored_as_its_bytes_and_not_cached(spark, credit_root, tmp_path):
    """No Spark job writes or profiles the import (the store copies the file), and the engine hands the read of the
    file downstream uncached; a chosen set of columns is Spark's own table, written by Spark."""
    from operators.library.io_files import file_sha256
    from pipelines.engines import jobs_per_node, last_job_id

    source = credit_root / "data" / "credit.parquet"
    graph = {"format": "studio.pipeline/1", "name": "import", "nodes": [
        {"id": "import", "operator": "import_parquet", "params": {"path": "data/credit.parquet"}},
        {"id": "some", "operator": "import_parquet", "params": {"path": "data/credit.parquet",
                                                                "columns": ["customer_id", "age"]}},
        {"id": "adults", "operator": "filter_rows", "params": {"expression": "age >= 30"}}],
        "edges": [{"source": "import", "source_port": "table", "target": "adults", "target_port": "table"}]}
    store = pipelines.FileSystemStore(tmp_path / "s")
    before = last_job_id(spark)
    result = pipelines.run(graph, store=store, data_root=credit_root, engine="spark")
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    whole, some = (store.path(result.nodes[n].outputs["table"]) for n in ("import", "some"))
    assert (whole / "data.parquet").is_file() and file_sha256(whole / "data.parquet") == file_sha256(source)
    assert (some / "data.parquet").is_dir() and (some / "profile.json").is_file()  # Spark's parts, its profile
    jobs = jobs_per_node(spark, before)
    # Spark's read of the file's schema in both; the columns chosen are cached (one more job), the whole file is not
    assert (jobs["import"]["jobs"], jobs["some"]["jobs"]) == (1, 2), jobs
    # both engines read the copy as the file: the local table, and on Spark the times pandas wrote
    local = pipelines.run(graph, store_root=tmp_path / "l", data_root=credit_root)
    assert store.load(result.nodes["import"].outputs["table"]).equals(local.output("import", "table"))
    table = store.load(result.nodes["import"].outputs["table"], engine="spark")
    assert dict(table.dtypes)["application_date"] == "timestamp" and table.count() == len(local.output("import",
                                                                                                       "table"))


def test_csv_import_names_a_missing_file(spark, credit_root, tmp_path):
    result = pipelines.run(_graph("import_csv", {"path": "data/nope.csv"}), store_root=tmp_path,
                           data_root=credit_root, engine="spark")
    assert result.nodes["import"].error == {"message": "file 'data/nope.csv' does not exist under the data root",
                                            "field": "path"}


def test_csv_typed_columns_read_and_refuse_values_as_the_local_engine_does(spark, tmp_path):
    """A column given a type: what it can read is read alike on both engines (' Y ' and 'no' as booleans, '2.0' as
    the integer 2); a value it cannot read fails the node naming the column and its field on both, where Spark
    made a mistyped boolean null (data lost without a word) and a bad number failed with Spark's own message."""
    (tmp_path / "t.csv").write_text("id,flag,amount,when\n1,yes,1.5,2024-01-02\n2,no,2,2024-01-03\n3, Y ,3,\n")
    (tmp_path / "typo.csv").write_text("id,flag,amount,when\n1,yes,1.5,2024-01-02\n2,yse,abc,not a day\n")

    def run(engine, path, types):
        return pipelines.run(_graph("import_csv", {"path": path, "column_types": types}),
                             store_root=tmp_path / engine / path / "-".join(types), data_root=tmp_path, engine=engine)

    types = {"flag": "boolean", "amount": "number", "id": "integer", "when": "datetime"}
    local, spark_ = (run(engine, "t.csv", types).output("import", "table") for engine in ("local", "spark"))
    assert list(spark_.sort_values("id")["flag"]) == list(local["flag"]) == [True, False, True]
    assert list(spark_.sort_values("id")["id"]) == list(local["id"]) == [1, 2, 3]
    for column, kind, reason in (("flag", "boolean", "'yse' is not true/false"), ("amount", "number", "'abc'"),
                                 ("amount", "integer", "'1.5' is not a whole number"),
                                 ("when", "datetime", "'not a day'")):
        error = run("spark", "typo.csv", {column: kind}).nodes["import"].error
        assert error["field"] == f"column_types.{column}" and error["column"] == column, error
        assert error["message"].startswith(f"column {column!r} cannot be read as {kind}: "), error
        assert reason in error["message"], error
        local_error = run("local", "typo.csv", {column: kind}).nodes["import"].error
        assert local_error == error if kind == "boolean" else local_error["field"] == error["field"], local_error


@pytest.fixture
def pg_table(credit_root):
    """A table of ours in PostgreSQL's `test` database, dropped afterwards."""
    import pandas as pd
    import sqlalchemy as sa

    name = f"spark_jdbc_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    frame = pd.read_parquet(credit_root / "data" / "credit.parquet").drop(columns=["application_date"])
    frame.to_sql(name, engine, index=False)
    yield name, frame
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))
    engine.dispose()


def test_jdbc_import_from_postgresql_reads_partitions_in_parallel(spark, pg_table, tmp_path):
    from operators.spark.io import read_jdbc

    name, frame = pg_table
    table = read_jdbc(spark, PG_URL, table=name)
    assert table.rdd.getNumPartitions() == 2  # one range query per task slot of local[2]
    assert table.count() == len(frame)
    assert table.agg({"customer_id": "sum"}).collect()[0][0] == frame["customer_id"].sum()

    store = pipelines.FileSystemStore(tmp_path)
    graph = _graph("import_sql", {"connection": "warehouse", "table": name})
    result = pipelines.run(graph, store=store, engine="spark", connections={"warehouse": PG_URL})
    assert result.status == "succeeded", result.nodes["import"].error
    loaded = result.output("import", "table").sort_values("customer_id").reset_index(drop=True)
    assert len(loaded) == len(frame)
    np.testing.assert_allclose(loaded["debt_ratio"].to_numpy(dtype=float), frame["debt_ratio"].to_numpy(dtype=float))

    graph = _graph("import_sql", {"connection": "warehouse", "table": name, "max_rows": 100})
    result = pipelines.run(graph, store_root=tmp_path / "b", engine="spark", connections={"warehouse": PG_URL})
    assert result.nodes["import"].error["field"] == "max_rows"


def test_jdbc_errors_name_the_table_and_hide_the_password(spark, tmp_path):
    graph = _graph("import_sql", {"connection": "warehouse", "table": "no_such_table_here"})
    url = "postgresql://postgres:s3cret@127.0.0.1:5432/test"
    result = pipelines.run(graph, store_root=tmp_path, engine="spark", connections={"warehouse": url})
    error = result.nodes["import"].error
    assert error["field"] == "table" and "no_such_table_here" in error["message"]
    assert "s3cret" not in error["message"]


def test_jdbc_import_from_mariadb(spark):
    import pandas as pd
    import sqlalchemy as sa

    from operators.spark.io import read_jdbc

    name = f"spark_jdbc_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(MARIADB_URL)
    pd.DataFrame({"id": np.arange(1, 501), "x": np.linspace(0, 1, 500)}).to_sql(name, engine, index=False)
    try:
        table = read_jdbc(spark, MARIADB_URL, table=name)
        assert table.rdd.getNumPartitions() == 2
        assert table.count() == 500
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS `{name}`"))
        engine.dispose()


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_jdbc_reads_are_read_only_in_the_database(spark, tmp_path, kind):
    """A query that passes the statement check and writes through a function (a sequence and a MyISAM table:
    writes no rollback undoes) is refused by the database: every connection Spark opens is read-only."""
    from tests.operators.test_sql_read_only import drop_target, server_target

    suffix = uuid.uuid4().hex[:10]
    target = server_target("mysql" if kind == "mariadb" else kind, suffix)
    try:
        before = target.state()
        graph = _graph("import_sql", {"connection": "app", "query": target.attack})
        result = pipelines.run(graph, store_root=tmp_path, engine="spark", connections={"app": target.url})
        assert result.status == "failed"
        error = result.nodes["import"].error
        assert error["field"] == "query" and "read only" in error["message"].lower().replace("-", " "), error
        assert target.state() == before
        graph = _graph("import_sql", {"connection": "app", "table": target.users})
        result = pipelines.run(graph, store_root=tmp_path / "ok", engine="spark", connections={"app": target.url})
        assert result.output("import", "table")["name"].tolist() == ["alice"]  # reading still works
    finally:
        drop_target(target, suffix)


# A header is user input: pasted into Spark SQL unquoted, this name ran reflect and raised the secret as an error.
INJECTED = "x` AS BIGINT) + raise_error(reflect('java.lang.System', 'getenv', 'SECRET_KEY')) + try_cast(`x"


def test_csv_import_keeps_any_header_as_a_name_never_as_sql(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "studio-secret")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text('x,"' + INJECTED.replace('"', '""') + '",we`ird\n1,2,3\n4,5,x\n')
    store = pipelines.FileSystemStore(tmp_path / "s")
    result = pipelines.run(_graph("import_csv", {"path": "data/t.csv"}), store=store, data_root=tmp_path,
                           engine="spark")
    assert result.status == "succeeded", result.nodes["import"].error
    table = store.load(result.nodes["import"].outputs["table"], engine="spark")
    assert dict(table.dtypes) == {"x": "bigint", INJECTED: "bigint", "we`ird": "string"}


def test_a_stored_time_column_of_any_name_loads_on_spark(spark, tmp_path, monkeypatch):
    """pandas' nanosecond times are turned back into times by a SQL expression over the column's name."""
    import pandas as pd

    from operators import PortType

    monkeypatch.setenv("SECRET_KEY", "studio-secret")
    name = "t` div 1000) + raise_error(reflect('java.lang.System', 'getenv', 'SECRET_KEY')) + (`t"
    store = pipelines.FileSystemStore(tmp_path / "s")
    times = pd.DataFrame({"t": ["2024-01-02"], name: ["2024-03-04 05:06:07"]}).astype("datetime64[ns]")
    store.save("c" * 40, PortType.TABLE, times)
    got = store.load("c" * 40, engine="spark").toPandas()
    assert list(got.columns) == ["t", name]
    assert str(got[name][0]) == "2024-03-04 05:06:07"
