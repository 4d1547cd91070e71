"""Outputs written off the critical path (issue 19): a node's downstream starts from its table in memory while
the writer thread stores it; the node is reported succeeded, and the run finished, only once every write is in
the store; a write that fails fails the run naming the node; an artifact is in place whole or not at all, even
when the process is killed in the middle of writing it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from pipelines import FileSystemStore, run
from pipelines.store import ArtifactMissing

from . import testing_operators  # noqa: F401  (registers the test operators)
from .testing_operators import edge, node

REPO = Path(__file__).resolve().parents[2]


class GatedStore(FileSystemStore):
    """The real file-system store, whose table writes wait for `gate` (set by the test from an event)."""

    def __init__(self, root, gate: threading.Event):
        super().__init__(root)
        self.gate = gate

    def save(self, fingerprint, port_type, value):
        if str(getattr(port_type, "value", port_type)) == "table":
            assert self.gate.wait(30), "the test never opened the gate"
        return super().save(fingerprint, port_type, value)


def output_fingerprints(graph: dict) -> dict[str, dict[str, str]]:
    """node -> port -> the fingerprint its output is stored under, as the executor plans them."""
    from pipelines import cache
    from pipelines.graph import from_json, with_builtins

    plan = cache.plan(from_json(graph), params=with_builtins(None))
    cache.assign_fingerprints(plan, lambda nid: None)
    return plan.outputs


def table_then_sum(producer: str = "test_make_table") -> dict:
    return {"nodes": [node("make", producer), node("sum", "test_sum_x")],
            "edges": [edge("make", "sum", source_port="table", target_port="table")]}


def test_downstream_starts_from_memory_and_the_run_finishes_only_when_the_write_is_stored(tmp_path):
    gate = threading.Event()
    store = GatedStore(tmp_path / "artifacts", gate)
    events, stored_at_finish = [], {}
    graph = table_then_sum()
    fingerprints = [fp for ports in output_fingerprints(graph).values() for fp in ports.values()]

    def on_event(event):
        events.append(event)
        if event.type == "node_succeeded" and event.node == "sum":
            gate.set()  # the table's write may go on only after its consumer has finished
        if event.type == "run_finished":
            stored_at_finish.update({fp: store.exists(fp) for fp in fingerprints})

    result = run(graph, store=store, on_event=on_event)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items()}
    kinds = [(e.type, e.node) for e in events]
    # the consumer ran and finished while its input was still being written
    assert kinds.index(("node_succeeded", "sum")) < kinds.index(("node_succeeded", "make")), kinds
    assert kinds.index(("node_succeeded", "make")) < kinds.index(("run_finished", None)), kinds
    assert stored_at_finish and all(stored_at_finish.values()), stored_at_finish
    written = [e for e in events if e.type == "node_succeeded" and e.node == "make"][0]
    assert written.data["outputs"] == result.nodes["make"].outputs and "write_seconds" in written.data
    assert result.output("make", "table")["x"].tolist() == [1.0, 2.0, 3.0]


def test_a_failed_background_write_fails_the_run_naming_the_node_and_leaves_nothing_to_read(store):
    events = []
    result = run(table_then_sum("test_unwritable_table"), store=store, on_event=events.append)
    assert result.status == "failed"
    bad = result.nodes["make"]
    assert bad.status == "failed" and bad.outputs == {}
    assert "'make'" in bad.error["message"] and "could not be written" in bad.error["message"]
    assert bad.error["port"] == "table" and "mixed" in bad.error["message"]  # the column Parquet refused
    finished = [e for e in events if e.type == "run_finished"][0]
    assert finished.data["status"] == "failed" and finished.data["failed_nodes"] == ["make"]
    assert events.index(finished) == len(events) - 1
    failed = [e for e in events if e.type == "node_failed"]
    assert [e.node for e in failed] == ["make"] and not [e for e in events if e.type == "node_succeeded"
                                                          and e.node == "make"]
    # nothing half-written anywhere: not in place, not left in the store's temporary folder
    fp = output_fingerprints(table_then_sum("test_unwritable_table"))["make"]["table"]
    assert not store.exists(fp) and not store.path(fp).exists()
    with pytest.raises(ArtifactMissing):
        store.load(fp)
    assert list((store.root / "tmp").iterdir()) == []
    # and the next run computes it again rather than trusting anything
    again = run(table_then_sum("test_unwritable_table"), store=store)
    assert again.nodes["make"].status == "failed" and not again.nodes["make"].cached


CHILD = """
import os, sys, time
sys.path.insert(0, {repo!r})
import pipelines
import pipelines.store
from tests.pipelines import testing_operators
from tests.pipelines.testing_operators import edge, node

real_rename = os.rename

def rename(src, dst, *args, **kwargs):
    if "objects" in str(dst) and os.path.isfile(os.path.join(src, "meta.json")):
        print("WRITTEN-NOT-RENAMED", src, flush=True)  # every file of the artifact is written, meta.json too
        time.sleep(120)
    return real_rename(src, dst, *args, **kwargs)

os.rename = rename
graph = {{"nodes": [node("make", "test_make_table")], "edges": []}}
pipelines.run(graph, store=pipelines.FileSystemStore({store!r}))
print("FINISHED", flush=True)
"""


def test_a_worker_killed_mid_write_leaves_nothing_the_cache_takes_as_complete(tmp_path):
    root = tmp_path / "artifacts"
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD.format(repo=str(REPO), store=str(root))))
    child = subprocess.Popen([sys.executable, str(script)], cwd=REPO, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        line = child.stdout.readline()
        assert line.startswith("WRITTEN-NOT-RENAMED"), line
        half = Path(line.split(maxsplit=1)[1].strip())
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert (half / "meta.json").is_file() and (half / "data.parquet").is_file()  # it was killed mid-write
    store = FileSystemStore(root)
    graph = {"nodes": [node("make", "test_make_table")], "edges": []}
    events = []
    result = run(graph, store=store, on_event=events.append)
    assert result.nodes["make"].status == "succeeded" and not result.nodes["make"].cached, result.nodes
    assert [e.node for e in events if e.type == "node_running"] == ["make"]
    assert result.output("make", "table")["x"].tolist() == [1.0, 2.0, 3.0]
    assert run(graph, store=store).nodes["make"].status == "cached"


def test_a_cancel_while_a_write_is_in_flight_ends_the_run_without_events_after_it(tmp_path):
    gate = threading.Event()
    store = GatedStore(tmp_path / "artifacts", gate)
    from pipelines import CancelToken

    token = CancelToken()
    events = []

    def on_event(event):
        events.append(event)
        if event.type == "node_succeeded" and event.node == "sum":
            token.cancel()

    from pipelines import Executor
    from pipelines.graph import from_json

    executor = Executor(store, on_event=on_event, cancel_grace=0.2)
    result = executor.run(from_json(table_then_sum()), cancel=token)
    gate.set()
    assert result.status == "cancelled"
    assert result.nodes["make"].status == "cancelled"
    assert events[-1].type == "run_finished"
    reason = [e for e in events if e.type == "node_cancelled" and e.node == "make"][0].data["reason"]
    assert "written" in reason


class PriorityRecordingStore(FileSystemStore):
    """The real file-system store, noting the nice value of the thread that writes each table."""

    def __init__(self, root):
        super().__init__(root)
        self.niceness: list[int] = []

    def save(self, fingerprint, port_type, value):
        if str(getattr(port_type, "value", port_type)) == "table":
            self.niceness.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return super().save(fingerprint, port_type, value)


def test_background_writes_run_nicer_than_the_nodes_and_leave_the_node_threads_as_they_were(tmp_path):
    from pipelines.schedule import WRITER_NICENESS

    store = PriorityRecordingStore(tmp_path / "artifacts")
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    result = run(table_then_sum(), store=store)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items()}
    assert store.niceness == [min(before + WRITER_NICENESS, 19)], store.niceness
    # the run's caller (and with it the process's other threads) keeps its priority
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
    assert result.output("make", "table")["x"].tolist() == [1.0, 2.0, 3.0]
