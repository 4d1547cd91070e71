"""On the Spark engine a node's tables and feature matrices are cached DataFrames that downstream nodes start from
while the writer thread stores them (issue 19 item 4): the run ends with every output in the store and nothing
left cached, and each node's lineage runs in the node itself (its job group), not again in the writer."""
from __future__ import annotations

import pipelines
from pipelines import FileSystemStore

from .graphs import credit_pipeline


def test_a_spark_run_hands_cached_frames_downstream_and_releases_them_when_stored(spark, credit_root, tmp_path):
    store = FileSystemStore(tmp_path / "store")
    events, cached_during_run, stored_at_finish = [], [], {}

    def on_event(event):
        events.append(event)
        if event.type == "node_running":
            cached_during_run.append(len(spark.sparkContext._jsc.getPersistentRDDs()))
        if event.type == "run_finished":
            outputs = [fp for e in events if e.type == "node_succeeded" for fp in e.data["outputs"].values()]
            stored_at_finish.update({fp: store.exists(fp) for fp in outputs})

    # a CSV import: its table is cached (a Parquet file imported whole, and what reads it cheaply, is read again)
    result = pipelines.run(credit_pipeline("data/credit.csv", importer="import_csv", trees=5), store=store,
                           data_root=credit_root, engine="spark", on_event=on_event)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    # downstream nodes started while upstream outputs were held in Spark's cache
    assert max(cached_during_run) > 0, cached_during_run
    # reported finished only once every output is in the store; then nothing of the run stays cached
    assert stored_at_finish and all(stored_at_finish.values()), stored_at_finish
    assert len(stored_at_finish) == sum(len(r.outputs) for r in result.nodes.values())
    assert spark.sparkContext._jsc.getPersistentRDDs().isEmpty()
    written = {e.node: e.data for e in events if e.type == "node_succeeded" and "write_seconds" in e.data}
    assert {"import", "split", "features", "predict_gbdt", "predict_lr"} <= set(written), sorted(written)
    # and what was stored from the cache reads back as what the nodes computed
    table = store.load(result.nodes["predict_gbdt"].outputs["table"])
    assert len(table) == store.meta(result.nodes["predict_gbdt"].outputs["table"])["rows"] > 0


def _pools_of_jobs(spark, after_job: int) -> dict[str, set[str]]:
    """The scheduler pools of the stages of the jobs after `after_job`: of nodes' jobs (a studio- job group) and of
    the others (the writer thread's), from Spark's status store."""
    status = spark.sparkContext._jsc.sc().statusStore()
    jobs, pools = status.jobsList(None), {}
    for i in range(jobs.size()):
        job = jobs.apply(i)
        if job.jobId() <= after_job:
            continue
        kind = "node" if job.jobGroup().isDefined() and job.jobGroup().get().startswith("studio-") else "writer"
        ids = job.stageIds()
        for j in range(ids.size()):
            try:
                stage = status.lastStageAttempt(ids.apply(j))
            except Exception:  # a skipped stage (its shuffle output reused) has no attempt
                continue
            if stage.status().toString() == "COMPLETE":  # a stage skipped under adaptive execution never ran
                pools.setdefault(kind, set()).add(stage.schedulingPool())
    return pools


def test_the_writer_jobs_run_in_a_pool_that_yields_every_slot_to_the_nodes(spark, credit_root, tmp_path):
    from pipelines.engines import WRITES_POOL, last_job_id

    sc = spark.sparkContext._jsc.sc()
    assert sc.getSchedulingMode().toString() == "FAIR"
    nodes, writes = sc.getPoolForName("default").get(), sc.getPoolForName(WRITES_POOL).get()
    assert (writes.weight(), writes.minShare()) == (1, 0)
    assert nodes.minShare() >= 1000 and nodes.weight() >= 1000  # always below its share: first to every slot
    graph = {"format": "studio.pipeline/1", "name": "pools", "nodes": [
        {"id": "import", "operator": "import_parquet", "params": {"path": "data/credit.parquet"}},
        {"id": "adults", "operator": "filter_rows", "params": {"expression": "age >= 30"}}],
        "edges": [{"source": "import", "source_port": "table", "target": "adults", "target_port": "table"}]}
    before = last_job_id(spark)
    result = pipelines.run(graph, store=FileSystemStore(tmp_path / "store"), data_root=credit_root, engine="spark")
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    assert _pools_of_jobs(spark, before) == {"node": {"default"}, "writer": {WRITES_POOL}}


def test_a_failed_compact_features_write_fails_the_run_naming_the_node(spark, credit_root, tmp_path, monkeypatch):
    """The compact features artifact (pipelines.store.FeaturesCodec) fails after its Spark Parquet write (a full
    disk, say): the run ends failed naming the feature node and its port, with no half artifact anywhere."""
    from pipelines.store import FeaturesCodec

    real = FeaturesCodec._save_compact

    def full_disk(value, directory):
        real(value, directory)  # the compact frame's Parquet and the state are written, then the disk is full
        assert (directory / "compact.parquet").is_dir() and not (directory / "features.parquet").exists()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FeaturesCodec, "_save_compact", staticmethod(full_disk))
    graph = credit_pipeline(trees=5)
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] in ("import", "split", "features")]
    graph["edges"] = [e for e in graph["edges"] if e["target"] in ("split", "features")]
    store = FileSystemStore(tmp_path / "store")
    events = []
    result = pipelines.run(graph, store=store, data_root=credit_root, engine="spark", on_event=events.append)
    assert result.status == "failed"
    bad = result.nodes["features"]
    assert bad.status == "failed" and bad.outputs == {}
    assert "'features'" in bad.error["message"] and "could not be written" in bad.error["message"]
    assert bad.error["port"] == "features" and "No space left" in bad.error["message"]
    assert [e.node for e in events if e.type == "node_failed"] == ["features"]
    assert result.nodes["split"].status == "succeeded"
    assert list((store.root / "tmp").iterdir()) == []  # the half-written artifact is gone
    assert spark.sparkContext._jsc.getPersistentRDDs().isEmpty()
