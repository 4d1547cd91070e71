"""Verified, not trusted (DESIGN principle 9): an artifact changed on disk is a cache miss that reruns the node
that made it, never a wrong answer."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import pipelines
from operators import Fitted, PortType
from pipelines.store import ArtifactCorrupt, ArtifactMissing
from tests.conftest import DEMO_PIPELINE

from .testing_operators import edge, node


def edit_json(path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def verification_logs(events, node_id):
    return [e.data["message"] for e in events
            if e.type == "node_log" and e.node == node_id and "failed verification" in e.data["message"]]


def test_metrics_edited_on_disk_are_recomputed_and_the_right_auc_reported(store, data_root):
    first = pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root)
    auc = first.metrics["evaluate"]["auc"]
    metrics = store.path(first.nodes["evaluate"].outputs["metrics"]) / "value.json"
    edit_json(metrics, lambda m: m.update(auc=0.999))

    events = []
    second = pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root, on_event=events.append)
    assert second.status == "succeeded"
    assert second.metrics["evaluate"]["auc"] == auc != 0.999
    assert second.nodes["evaluate"].status == "succeeded"
    assert {n for n, r in second.nodes.items() if r.status == "cached"} == set(second.nodes) - {"evaluate"}
    [message] = verification_logs(events, "evaluate")
    assert "'metrics'" in message and "value.json" in message
    third = pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root)  # the rewritten artifact verifies
    assert {r.status for r in third.nodes.values()} == {"cached"} and third.metrics["evaluate"]["auc"] == auc


def test_a_corrupted_parquet_reruns_the_node_that_made_it_when_it_is_read(store, data_root):
    first = pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root)
    held_out = store.path(first.nodes["split"].outputs["second"]) / "data.parquet"
    held_out.write_bytes(held_out.read_bytes()[:-200] + b"\0" * 200)

    events = []
    second = pipelines.run(DEMO_PIPELINE, store=store, data_root=data_root, from_node="predict_lr", force=True,
                           on_event=events.append)
    assert second.status == "succeeded"
    assert second.metrics["evaluate"]["auc"] == first.metrics["evaluate"]["auc"]
    assert second.metrics["evaluate"]["b_auc"] == first.metrics["evaluate"]["b_auc"]
    assert second.nodes["split"].status == "succeeded"  # run again: predict_lr could not read its output
    assert second.nodes["import"].status == "cached"
    [message] = verification_logs(events, "split")
    assert "'second'" in message and "data.parquet" in message
    order = [(e.type, e.node) for e in events]
    assert order.index(("node_cached", "split")) < order.index(("node_log", "split")) \
        < order.index(("node_running", "split")) < order.index(("node_running", "predict_lr"))
    pd.testing.assert_frame_equal(store.load(first.nodes["split"].outputs["second"]),
                                  first.output("split", "second"))


def test_an_unreadable_input_of_a_forced_node_reruns_its_producer_once(store):
    graph = {"nodes": [node("t", "test_make_table"), node("s", "test_sum_x")],
             "edges": [edge("t", "s", source_port="table", target_port="table")]}
    first = pipelines.run(graph, store=store)
    (store.path(first.nodes["t"].outputs["table"]) / "data.parquet").unlink()
    events = []
    second = pipelines.run(graph, store=store, only="s", force=True, on_event=events.append)
    assert second.status == "succeeded" and second.output("s", "out") == {"sum": 6.0}
    assert [e.type for e in events if e.node == "t"] == ["node_queued", "node_cached", "node_log", "node_running",
                                                         "node_succeeded"]
    assert "cannot be read" in verification_logs(events, "t")[0]


def test_an_input_discarded_after_it_was_found_cached_is_made_again(store):
    """Another run may discard an artifact (a forced rerun) between this run's cache look and its read."""
    graph = {"nodes": [node("t", "test_make_table"), node("s", "test_sum_x")],
             "edges": [edge("t", "s", source_port="table", target_port="table")]}
    first = pipelines.run(graph, store=store)
    events = []

    def on_event(event):
        events.append(event)
        if event.type == "node_cached" and event.node == "t":
            store.discard(first.nodes["t"].outputs["table"])

    second = pipelines.run(graph, store=store, only="s", force=True, on_event=on_event)
    assert second.status == "succeeded" and second.output("s", "out") == {"sum": 6.0}
    assert second.nodes["t"].status == "succeeded"
    assert any("is gone" in e.data["message"] for e in events if e.type == "node_log" and e.node == "t")


@pytest.mark.parametrize("tamper, reason", [
    (lambda d: edit_json(d / "value.json", lambda v: v.update(auc=0.999)), "file value.json was changed"),
    (lambda d: (d / "value.json").unlink(), "file value.json cannot be read"),
    (lambda d: (d / "extra.json").write_text("{}"), "file extra.json was added"),
    (lambda d: edit_json(d / "meta.json", lambda m: m.update(keys=["auc", "x"])), "meta.json was changed"),
    (lambda d: edit_json(d / "meta.json", lambda m: [m.pop("files"), m.pop("sha256")]), "carries no hashes"),
    (lambda d: (d / "meta.json").write_text("{not json"), "meta.json cannot be read"),
])
def test_load_refuses_an_artifact_changed_after_it_was_written(store, tamper, reason):
    store.save("fp-metrics", PortType.METRICS, {"auc": 0.75})
    assert store.load("fp-metrics") == {"auc": 0.75}
    tamper(store.path("fp-metrics"))
    with pytest.raises(ArtifactCorrupt, match=reason):
        store.load("fp-metrics")


def test_a_fitted_state_kept_in_meta_is_covered_by_its_hash(store):
    store.save("fp-model", PortType.MODEL, Fitted("lr", {"intercept": 0.5}, {}, {}))
    edit_json(store.path("fp-model") / "meta.json", lambda m: m["state"].update(intercept=9.0))
    with pytest.raises(ArtifactCorrupt, match="meta.json was changed"):
        store.load("fp-model")


def test_discard_removes_an_artifact_so_it_can_be_written_again(store):
    store.save("fp", PortType.METRICS, {"v": 1})
    store.discard("fp")
    assert not store.exists("fp")
    store.discard("fp")  # nothing there: no error
    store.save("fp", PortType.METRICS, {"v": 2})
    assert store.load("fp") == {"v": 2}


def test_a_table_profile_is_made_on_request_from_the_verified_table(store):
    table = pd.DataFrame({"n": [1.0, 2.0, None, 4.0], "c": ["a", "a", "b", None]})
    meta = store.save("fp-table", PortType.TABLE, table)
    assert set(meta["files"]) == {"data.parquet"}  # nothing profiled on the run's path
    parquet = store.path("fp-table") / "data.parquet"
    good = parquet.read_bytes()
    parquet.write_bytes(good[:-100] + b"\0" * 100)
    with pytest.raises(ArtifactCorrupt, match="data.parquet"):  # never a profile of a table that fails its hash
        store.profile("fp-table")
    parquet.write_bytes(good)

    profile = store.profile("fp-table")
    n, c = profile["columns"]
    assert profile["rows"] == 4 and (n["nulls"], n["min"], n["max"]) == (1, 1.0, 4.0)
    assert c["top"][0] == {"value": "a", "count": 2}
    assert store.load("fp-table").equals(table)  # the artifact itself is as written: its hashes still check
    parquet.unlink()  # a second request is served from the kept profile, without reading the table again
    assert store.profile("fp-table") == profile
    parquet.write_bytes(good)

    kept = store.root / "profiles" / "fp" / "fp-table.json"
    edit_json(kept, lambda entry: entry["profile"].update(rows=99))  # a kept profile that fails its hash is remade
    assert store.profile("fp-table") == profile
    store.discard("fp-table")
    assert not kept.exists()
    with pytest.raises(ArtifactMissing):
        store.profile("fp-table")
    store.save("fp-metrics", PortType.METRICS, {"auc": 0.75})
    assert store.profile("fp-metrics") is None
