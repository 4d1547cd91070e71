"""A component node on the Spark engine: expansion happens before the engine, so inner nodes run as Spark nodes
and give the local engine's numbers."""
from __future__ import annotations

import pipelines


def test_a_component_runs_on_spark_with_the_local_engines_result(spark, credit_root, tmp_path):
    prep = {"nodes": [{"id": "import", "operator": "import_parquet", "params": {"path": "data/credit.parquet"}},
                      {"id": "split", "operator": "split_random", "params": {"ratio": {"$param": "ratio"}, "seed": 3}}],
            "edges": [{"source": "import", "source_port": "table", "target": "split", "target_port": "table"}],
            "parameters": {"ratio": {"default": 0.5}},
            "ports": {"inputs": [], "outputs": [{"name": "train", "type": "table", "node": "split", "port": "first"}]}}
    graph = {"nodes": [{"id": "prep", "operator": "component", "params": {"component": "prep",
                                                                          "params": {"ratio": 0.6}}}],
             "edges": [], "components": {"prep": {"latest": 1, "versions": {"1": prep}}}}
    events = []
    on_spark = pipelines.run(graph, store_root=tmp_path / "spark", data_root=credit_root, engine="spark",
                             on_event=events.append)
    assert on_spark.status == "succeeded"
    local = pipelines.run(graph, store_root=tmp_path / "local", data_root=credit_root)
    assert on_spark.nodes["prep.split"].outputs == local.nodes["prep.split"].outputs  # one fingerprint
    assert len(on_spark.output("prep.split", "first")) == len(local.output("prep.split", "first"))
    finished = [e for e in events if e.node == "prep.split" and e.type == "node_succeeded"]
    assert finished[0].data["component_node"] == "prep"
