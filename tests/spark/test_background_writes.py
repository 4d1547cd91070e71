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

    result = pipelines.run(credit_pipeline(trees=5), store=store, data_root=credit_root, engine="spark",
                           on_event=on_event)
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
