"""The Spark engine itself: one session reused across runs, Spark tables in the artifact store, the explicit
fallback for operators without a Spark half, and cancellation of a running Spark job."""
from __future__ import annotations

import shutil
import threading
import time

import pandas as pd
import pytest

import pipelines
from pipelines.engines import spark_session
from pipelines.store import ArtifactCorrupt


def _graph(nodes, edges=()):
    return {"format": "studio.pipeline/1", "name": "t",
            "nodes": [{"id": i, "operator": o, "params": p} for i, o, p in nodes],
            "edges": [{"source": s, "source_port": sp, "target": t, "target_port": tp} for s, sp, t, tp in edges]}


def test_one_session_is_reused_across_runs(spark, credit_root, tmp_path):
    graph = _graph([("import", "import_parquet", {"path": "data/credit.parquet"})])
    for i in range(2):
        result = pipelines.run(graph, store_root=tmp_path / f"s{i}", data_root=credit_root, engine="spark")
        assert result.status == "succeeded"
        assert spark_session() is spark
    assert spark.sparkContext.master == "local[2]"
    assert spark.conf.get("spark.driver.host") == "127.0.0.1"


def test_unknown_engine_is_refused(tmp_path):
    with pytest.raises(ValueError, match="engine must be one of local, spark"):
        pipelines.Executor(pipelines.FileSystemStore(tmp_path), engine="dask")


def test_spark_tables_are_parquet_under_the_same_fingerprint(spark, credit_root, tmp_path):
    # a row limit, so that Spark writes the table (a whole file imported as it is is kept as a byte copy: test_io)
    graph = _graph([("import", "import_parquet", {"path": "data/credit.parquet", "max_rows": 8_000})])
    local = pipelines.run(graph, store_root=tmp_path / "local", data_root=credit_root)
    store = pipelines.FileSystemStore(tmp_path / "spark")
    result = pipelines.run(graph, store=store, data_root=credit_root, engine="spark")
    fp = result.nodes["import"].outputs["table"]
    assert fp == local.nodes["import"].outputs["table"]
    assert store.meta(fp)["engine"] == "spark" and store.meta(fp)["rows"] == 8_000
    assert list((store.path(fp) / "data.parquet").glob("part-*.parquet")), "not written by Spark's executors"
    as_pandas = store.load(fp)
    as_spark = store.load(fp, engine="spark")
    assert isinstance(as_pandas, pd.DataFrame) and as_spark.count() == 8_000
    expected = local.output("import", "table")
    assert sorted(as_pandas.columns) == sorted(expected.columns)
    # a pandas-written table (nanosecond timestamps) read on Spark keeps its timestamps
    local_fp = local.nodes["import"].outputs["table"]
    dates = local.store.load(local_fp, engine="spark").select("application_date")
    assert dict(dates.dtypes)["application_date"] == "timestamp"
    got = sorted(pd.to_datetime(dates.toPandas()["application_date"]).dt.strftime("%Y-%m-%d"))
    assert got == sorted(expected["application_date"].dt.strftime("%Y-%m-%d"))


def test_a_spark_table_folder_is_verified_file_by_file(spark, credit_root, tmp_path):
    """Spark's executors write a table as a folder of part files; the driver hashes each once the write has
    finished, and a load checks every one, so a part changed or slipped in is a cache miss, not wrong rows."""
    graph = _graph([("import", "import_parquet", {"path": "data/credit.parquet", "max_rows": 8_000}),  # Spark writes it
                    ("split", "split_random", {"ratio": 0.5})], [("import", "table", "split", "table")])
    store = pipelines.FileSystemStore(tmp_path)
    first = pipelines.run(graph, store=store, data_root=credit_root, engine="spark")
    fp = first.nodes["import"].outputs["table"]
    folder = store.path(fp) / "data.parquet"
    parts = sorted(folder.glob("part-*.parquet"))
    assert parts and {f"data.parquet/{p.name}" for p in parts} <= set(store.meta(fp)["files"])
    slipped = folder / ("part-99999" + parts[0].name[len("part-00000"):])
    shutil.copy(parts[0], slipped)
    with pytest.raises(ArtifactCorrupt, match="was added"):
        store.load(fp, engine="spark")
    slipped.unlink()
    parts[0].write_bytes(parts[0].read_bytes()[:-100] + b"\0" * 100)
    events = []
    second = pipelines.run(graph, store=store, data_root=credit_root, engine="spark", only="split", force=True,
                           on_event=events.append)
    assert second.status == "succeeded" and second.nodes["import"].status == "succeeded"
    assert any("failed verification" in e.data["message"] for e in events if e.type == "node_log")
    halves = [store.meta(second.nodes["split"].outputs[port])["rows"] for port in ("first", "second")]
    assert sum(halves) == 8_000 and store.load(fp, engine="spark").count() == 8_000


def test_operator_without_spark_half_runs_on_the_driver_only_when_small(spark, credit_root, tmp_path, monkeypatch):
    """Every operator of the library has a Spark half; the fallback serves operators added from outside it,
    like the executor tests' `test_needs_table`."""
    import operators
    from pipelines.engines import SparkEngine
    from tests.pipelines.testing_operators import NeedsTable

    library = [cls for cls in operators.all_operators() if cls.__module__.startswith("operators.library.")]
    assert [cls.name for cls in library if not callable(SparkEngine.spark_half(cls))] == [], \
        "operators of the library without a Spark half"
    assert SparkEngine.spark_half(NeedsTable) is None
    graph = _graph([("import", "import_parquet", {"path": "data/credit.parquet"}),
                    ("rows", NeedsTable.name, {})],
                   [("import", "table", "rows", "table")])
    events = []
    result = pipelines.run(graph, store_root=tmp_path / "a", data_root=credit_root, engine="spark",
                           on_event=events.append)
    assert result.status == "succeeded"
    assert any("no Spark implementation" in e.data.get("message", "") for e in events if e.node == "rows")
    assert result.output("rows", "out") == {"rows": 8_000}

    monkeypatch.setenv("STUDIO_SPARK_LOCAL_FALLBACK_ROWS", "1000")
    result = pipelines.run(graph, store_root=tmp_path / "b", data_root=credit_root, engine="spark")
    error = result.nodes["rows"].error
    assert result.nodes["rows"].status == "failed"
    assert "node 'rows'" in error["message"] and f"'{NeedsTable.name}'" in error["message"]
    assert "8,000 rows" in error["message"] and error["port"] == "table"


def test_cancel_stops_the_spark_job_within_5_seconds(spark, credit_root, tmp_path):
    graph = _graph([("import", "import_parquet", {"path": "data/credit.parquet"}),
                    ("features", "feature_extraction", {"label": "default", "exclude": ["customer_id",
                                                                                        "application_date"]}),
                    ("train", "train_gbdt", {"n_estimators": 100_000, "learning_rate": 0.01,
                                             "record_train_metrics": False})],
                   [("import", "table", "features", "table"), ("features", "features", "train", "features")])
    token = pipelines.CancelToken()
    training = threading.Event()
    events = []

    def on_event(event):
        events.append(event)
        if event.node == "train" and event.type == "node_progress" and event.data.get("spark", {}).get(
                "tasks_running"):
            training.set()  # tasks of the node's Spark job are running

    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(result=pipelines.run(
        graph, store_root=tmp_path, data_root=credit_root, engine="spark", on_event=on_event, cancel=token)))
    runner.start()
    assert training.wait(240), "the training job never started"
    tracker = spark.sparkContext.statusTracker()
    deadline = time.monotonic() + 60
    while not tracker.getActiveJobsIds() and time.monotonic() < deadline:  # between two short jobs
        time.sleep(0.05)
    assert tracker.getActiveJobsIds(), "no Spark job is running"
    token.cancel()
    cancelled_at = time.monotonic()
    while tracker.getActiveJobsIds() and time.monotonic() - cancelled_at < 30:
        time.sleep(0.05)
    stopped_after = time.monotonic() - cancelled_at
    runner.join(60)
    print(f"Spark job stopped {stopped_after:.2f} s after cancel")
    assert not tracker.getActiveJobsIds(), "the Spark job was left running"
    assert stopped_after < 5.0
    assert outcome["result"].status == "cancelled"
    assert outcome["result"].nodes["train"].status == "cancelled"
    # the job stopped by itself within the executor's grace period, not abandoned when that ran out
    [cancelled] = [e for e in events if e.type == "node_cancelled" and e.node == "train"]
    assert cancelled.data["reason"] == "cancelled while running"
    # the session is still usable afterwards
    assert spark.range(10).count() == 10
