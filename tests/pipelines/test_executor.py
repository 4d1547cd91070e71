"""The executor: caching, selection, concurrency, failure isolation, cancellation."""
from __future__ import annotations

import threading
import uuid

import pytest

import operators
from operators import Operator, OperatorContext, Port, PortType
from pipelines import CancelToken, Event, Executor, run

from . import testing_operators
from .testing_operators import edge, node


def events_of(graph, store, **kwargs):
    events = []
    result = run(graph, store=store, on_event=events.append, **kwargs)
    return result, events


def chain():
    return {"nodes": [node("e", "test_emit", value=1), node("a", "test_add_one"), node("b", "test_add_one")],
            "edges": [edge("e", "a"), edge("a", "b")]}


def test_chain_runs_and_rerun_is_cached(store):
    result, events = events_of(chain(), store)
    assert result.status == "succeeded"
    assert result.output("b", "out") == {"value": 3}
    assert [e.node for e in events if e.type == "node_succeeded"] == ["e", "a", "b"]
    result2, events2 = events_of(chain(), store)
    assert {r.status for r in result2.nodes.values()} == {"cached"}
    assert not [e for e in events2 if e.type == "node_running"]
    assert result2.output("b", "out") == {"value": 3}


def test_changed_param_reruns_that_node_and_downstream_only(store):
    run(chain(), store=store)
    graph = chain()
    graph["nodes"][1]["params"]["sleep"] = 0.01
    result = run(graph, store=store)
    assert {n: r.status for n, r in result.nodes.items()} == {"e": "cached", "a": "succeeded", "b": "succeeded"}


def test_force_reruns_despite_cache(store):
    run(chain(), store=store)
    result = run(chain(), store=store, force=True)
    assert {r.status for r in result.nodes.values()} == {"succeeded"}


def test_run_until_a_node_and_only_a_node(store):
    result = run(chain(), store=store, until="a")
    assert set(result.nodes) == {"e", "a"}
    before = dict(testing_operators.CALLS)
    only = run(chain(), store=store, only="b")
    assert only.nodes["b"].status == "succeeded"
    assert only.nodes["a"].status == "cached" and only.nodes["e"].status == "cached"
    assert testing_operators.CALLS["test_add_one"] == before["test_add_one"] + 1


def test_run_from_a_node_reruns_it_and_downstream(store):
    run(chain(), store=store)
    result = run(chain(), store=store, from_node="a", force=True)
    assert {n: r.status for n, r in result.nodes.items()} == {"e": "cached", "a": "succeeded", "b": "succeeded"}


def test_unknown_selection_node_is_an_error(store):
    with pytest.raises(ValueError, match="'zz'"):
        run(chain(), store=store, only="zz")


def test_independent_branches_run_concurrently(store):
    # each branch waits for the other to have started: run one after the other, the first would time out
    meet = uuid.uuid4().hex
    graph = {"nodes": [node("left", "test_rendezvous", sets=f"{meet}-left", waits_for=f"{meet}-right"),
                       node("right", "test_rendezvous", sets=f"{meet}-right", waits_for=f"{meet}-left")],
             "edges": []}
    result, events = events_of(graph, store, max_parallel=4)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items()}
    kinds = [(e.type, e.node) for e in events]
    last_start = max(kinds.index(("node_running", n)) for n in ("left", "right"))
    first_end = min(kinds.index(("node_succeeded", n)) for n in ("left", "right"))
    assert last_start < first_end, kinds


def test_a_node_starts_when_its_last_input_finishes_not_when_a_slow_branch_does(store):
    # the slow branch runs until the test sees b succeed: b must not wait for it
    b_done = uuid.uuid4().hex
    graph = {"nodes": [node("slow", "test_rendezvous", waits_for=b_done), node("a", "test_emit", value=1),
                       node("b", "test_add_one")],
             "edges": [edge("a", "b")]}
    events = []

    def on_event(event):
        events.append(event)
        if event.type == "node_succeeded" and event.node == "b":
            testing_operators.signal(b_done).set()

    result = run(graph, store=store, on_event=on_event, max_parallel=4)
    assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items()}
    order = [(e.type, e.node) for e in events if e.type in ("node_running", "node_succeeded")]
    assert order.index(("node_succeeded", "b")) < order.index(("node_succeeded", "slow")), order


def test_failed_node_skips_downstream_and_sibling_branch_finishes(store):
    graph = {"nodes": [node("e", "test_emit", value=1), node("bad", "test_fail", message="column 'x' is gone"),
                       node("after", "test_add_one"), node("good", "test_add_one")],
             "edges": [edge("e", "bad"), edge("bad", "after"), edge("e", "good")]}
    result, events = events_of(graph, store)
    assert result.status == "failed"
    assert result.nodes["bad"].status == "failed"
    assert result.nodes["bad"].error == {"message": "column 'x' is gone", "field": "message"}
    assert result.nodes["after"].status == "skipped"
    assert result.nodes["good"].status == "succeeded"
    finished = [e for e in events if e.type == "run_finished"][0]
    assert finished.data["failed_nodes"] == ["bad"]
    skipped = [e for e in events if e.type == "node_skipped"][0]
    assert skipped.node == "after" and "bad" in skipped.data["reason"]


def test_unexpected_exception_keeps_traceback(store):
    graph = {"nodes": [node("e", "test_emit"), node("c", "test_crash")], "edges": [edge("e", "c")]}
    result, events = events_of(graph, store)
    assert result.status == "failed"
    failed = [e for e in events if e.type == "node_failed"][0]
    assert "ZeroDivisionError" in failed.data["error"]["message"]
    assert "Traceback" in failed.data["error"]["traceback"]
    assert "traceback" not in result.summary()["nodes"]["c"]["error"]


def cancel_when(token, node_id, event_type):
    """An event sink that records events and cancels the run as soon as `node_id` reports `event_type`."""
    events = []

    def on_event(event):
        events.append(event)
        if event.node == node_id and event.type == event_type and not token.cancelled:
            events.append(Event("test_cancel", node_id))  # where the cancel falls among the run's events
            token.cancel()

    return events, on_event


def test_cancel_stops_a_long_node_that_checks_for_it(store):
    graph = {"nodes": [node("e", "test_emit", value=1), node("long", "test_add_one", sleep=60.0),
                       node("after", "test_add_one")],
             "edges": [edge("e", "long"), edge("long", "after")]}
    token = CancelToken()
    events, on_event = cancel_when(token, "long", "node_progress")
    result = run(graph, store=store, cancel=token, on_event=on_event)
    assert result.status == "cancelled"
    assert result.nodes["long"].status == "cancelled"
    assert result.nodes["after"].status == "cancelled"
    [stopped] = [e for e in events if e.type == "node_cancelled" and e.node == "long"]
    assert stopped.data["reason"] == "cancelled while running"  # it stopped itself, nothing was abandoned
    [not_started] = [e for e in events if e.type == "node_cancelled" and e.node == "after"]
    assert "before the node started" in not_started.data["reason"]
    assert not [e for e in events if e.type == "node_running" and e.node == "after"]
    assert events[-1].type == "run_finished"


def test_cancel_gives_up_on_an_operator_that_ignores_it_after_the_grace_period(store):
    assert Executor(store).cancel_grace < 2.0  # a cancel answers within two seconds
    wake = uuid.uuid4().hex
    graph = {"nodes": [node("e", "test_emit", value=1), node("deaf", "test_deaf", sleep=120.0, wake=wake),
                       node("after", "test_add_one")],
             "edges": [edge("e", "deaf"), edge("deaf", "after")]}
    token = CancelToken()
    events, on_event = cancel_when(token, "deaf", "node_log")  # logged as it falls asleep
    result = run(graph, store=store, cancel=token, on_event=on_event)
    deaf_threads = [t for t in threading.enumerate() if t.name.startswith("node")]
    assert not testing_operators.signal(wake).is_set()  # the run ended while the operator still slept
    assert result.status == "cancelled"
    assert result.nodes["deaf"].status == "cancelled"
    assert result.nodes["after"].status == "cancelled"
    [cancelled_at] = [e.time for e in events if e.type == "test_cancel"]
    [abandoned] = [e for e in events if e.type == "node_cancelled" and e.node == "deaf"]
    assert "grace period" in abandoned.data["reason"]
    assert abandoned.time - cancelled_at >= Executor(store).cancel_grace * 0.9  # it was given the grace period
    assert events[-1].type == "run_finished"
    stored = sorted((store.root / "objects").glob("*/*"))
    testing_operators.signal(wake).set()  # the operator wakes up: it may neither report nor store anything
    for thread in deaf_threads:
        thread.join(timeout=60)
    assert events[-1].type == "run_finished"
    assert sorted((store.root / "objects").glob("*/*")) == stored


def test_cancel_never_starts_a_node_still_waiting_for_a_thread_of_the_pool(store):
    wake = uuid.uuid4().hex
    graph = {"nodes": [node("e", "test_emit", value=1), node("deaf1", "test_deaf", sleep=120.0, wake=wake),
                       node("deaf2", "test_deaf", sleep=120.0, wake=wake)],
             "edges": [edge("e", "deaf1"), edge("e", "deaf2")]}
    token = CancelToken()
    events = []

    def on_event(event):  # the first deaf node to fall asleep holds the only thread; the other waits for it
        events.append(event)
        if event.type == "node_log" and not token.cancelled:
            token.cancel()

    result = run(graph, store=store, cancel=token, on_event=on_event, max_parallel=1)
    threads = [t for t in threading.enumerate() if t.name.startswith("node")]
    testing_operators.signal(wake).set()
    for thread in threads:
        thread.join(timeout=60)
    [asleep] = [e.node for e in events if e.type == "node_log"]
    [waiting] = {"deaf1", "deaf2"} - {asleep}
    assert result.status == "cancelled" and result.nodes[waiting].status == "cancelled"
    reasons = {e.node: e.data["reason"] for e in events if e.type == "node_cancelled"}
    assert reasons == {asleep: "did not stop within the grace period",
                       waiting: "run cancelled before the node started"}
    assert not [e for e in events if e.type == "node_running" and e.node == waiting]


def test_event_sequence_for_one_node(store):
    graph = {"nodes": [node("e", "test_emit", value=5)], "edges": []}
    _, events = events_of(graph, store)
    assert [e.type for e in events] == ["run_started", "node_queued", "node_running", "node_succeeded",
                                        "run_finished"]
    succeeded = events[3]
    assert succeeded.data["duration"] >= 0 and set(succeeded.data["outputs"]) == {"out"}


def test_the_context_gives_logs_progress_and_the_store(store):
    seen = {}

    class Probe(Operator):
        name = "test_probe_context"
        category = "Testing"
        description = "Logs a line and looks at its context."
        outputs = (Port("out", PortType.METRICS),)

        def run(self, ctx, inputs, params):
            seen["is_context"] = isinstance(ctx, OperatorContext)
            seen["store"] = ctx.store
            ctx.log("reading 3 rows")
            ctx.progress(1.0, "done")
            return {"out": {"value": 3}}

    operators.register(Probe)
    result, events = events_of({"nodes": [node("p", "test_probe_context")], "edges": []}, store)
    assert result.status == "succeeded"
    assert seen == {"is_context": True, "store": store}
    assert [(e.node, e.data) for e in events if e.type == "node_log"] == [("p", {"message": "reading 3 rows"})]
    assert [e.data for e in events if e.type == "node_progress"] == [{"progress": 1.0, "message": "done"}]


def test_rerun_reports_cached_events_and_a_new_operator_version_runs_again(store):
    graph = {"nodes": [node("e", "test_emit", value=2), node("a", "test_add_one")], "edges": [edge("e", "a")]}
    run(graph, store=store)
    result, events = events_of(graph, store)
    cached = [e for e in events if e.type == "node_cached"]
    assert [e.node for e in cached] == ["e", "a"]
    assert cached[1].data["outputs"] == result.nodes["a"].outputs
    calls = dict(testing_operators.CALLS)
    testing_operators.AddOne.version = "2"
    try:
        result = run(graph, store=store)
    finally:
        testing_operators.AddOne.version = "1"
    assert result.nodes["e"].status == "cached" and result.nodes["a"].status == "succeeded"
    assert testing_operators.CALLS["test_add_one"] == calls.get("test_add_one", 0) + 1


def test_an_operator_changing_its_input_in_place_cannot_change_what_a_sibling_sees(store):
    graph = {"nodes": [node("t", "test_make_table"), node("s", "test_scribble"), node("n", "test_sum_x")],
             "edges": [edge("t", "s", source_port="table", target_port="table"),
                       edge("t", "n", source_port="table", target_port="table")]}
    result = run(graph, store=store, max_parallel=1)  # one at a time: s runs first, then n
    assert result.status == "succeeded"
    assert result.output("s", "table")["x"].tolist() == [-1.0, -1.0, -1.0]
    assert result.output("n", "out") == {"sum": 6.0}
    assert result.output("t", "table")["x"].tolist() == [1.0, 2.0, 3.0]


def test_pipeline_parameters_override_per_run(store):
    graph = {"parameters": {"v": {"default": 1}}, "nodes": [node("e", "test_emit", value={"$param": "v"})],
             "edges": []}
    assert run(graph, store=store).output("e", "out") == {"value": 1}
    assert run(graph, store=store, params={"v": 7}).output("e", "out") == {"value": 7}
