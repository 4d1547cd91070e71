"""Components: expansion into plain nodes, nesting, cycles, caching, pinned vs following, named errors."""
from __future__ import annotations

import copy

import pytest

from pipelines import run, validate
from pipelines.components import library_resolver
from pipelines.graph import from_json

from . import testing_operators  # noqa: F401  (registers the test operators)
from .testing_operators import edge, node


def inc_component(sleep=0.0):
    """in -> a -> b -> out: two add-ones; `a`'s sleep is the inner parameter a test changes."""
    return {"nodes": [node("a", "test_add_one", sleep=sleep), node("b", "test_add_one")],
            "edges": [edge("a", "b")],
            "ports": {"inputs": [{"name": "x", "type": "metrics", "targets": [{"node": "a", "port": "in"}]}],
                      "outputs": [{"name": "y", "type": "metrics", "node": "b", "port": "out"}]}}


def source_component():
    """An emit whose value is an exposed parameter, then the `inc` component inside: nests one level."""
    return {"parameters": {"start": {"default": 10}},
            "nodes": [node("e", "test_emit", value={"$param": "start"}),
                      {"id": "inc", "operator": "component", "params": {"component": "inc"}}],
            "edges": [edge("e", "inc", target_port="x")],
            "ports": {"inputs": [], "outputs": [{"name": "out", "type": "metrics", "node": "inc", "port": "y"}]}}


def comp(node_id, name, version=None, **values):
    data = {"id": node_id, "operator": "component", "params": {"component": name, "params": values}}
    if version is not None:
        data["version"] = str(version)
    return data


class Library:
    """An in-memory component store with versions, like the studio's tables."""

    def __init__(self, **components):
        self.versions = {name: [copy.deepcopy(g)] for name, g in components.items()}

    def publish(self, name, graph):
        self.versions.setdefault(name, []).append(copy.deepcopy(graph))

    def __call__(self, name, version):
        found = self.versions.get(name)
        if not found:
            return None
        number = version or len(found)
        return (number, found[number - 1]) if 0 < number <= len(found) else None


def pipeline():
    """emit(1) -> component inc -> add_one"""
    return {"nodes": [node("e", "test_emit", value=1), comp("c1", "inc"), node("z", "test_add_one")],
            "edges": [edge("e", "c1", target_port="x"), edge("c1", "z", source_port="y")]}


def test_component_node_expands_with_prefixed_ids_and_events_name_both(store):
    events = []
    result = run(pipeline(), store=store, on_event=events.append, components=Library(inc=inc_component()))
    assert result.status == "succeeded"
    assert set(result.nodes) == {"e", "c1.a", "c1.b", "z"}
    assert result.output("z", "out") == {"value": 4}
    done = {e.node: e.data for e in events if e.type == "node_succeeded"}
    assert done["c1.a"]["component_node"] == "c1" and done["c1.a"]["inner_node"] == "a"
    assert "component_node" not in done["z"]
    started = next(e for e in events if e.type == "run_started")
    assert started.data["components"] == {"c1": {"component": "inc", "version": 1}}


def test_a_component_inside_a_component_runs_with_its_exposed_parameter(store):
    library = Library(inc=inc_component(), source=source_component())
    graph = {"nodes": [comp("s", "source", start=5), node("z", "test_add_one")],
             "edges": [edge("s", "z", source_port="out")]}
    events = []
    result = run(graph, store=store, components=library, on_event=events.append)
    assert result.status == "succeeded"
    assert result.output("z", "out") == {"value": 8}  # 5 + 1 + 1 + 1
    assert "s.inc.a" in result.nodes
    inner = next(e for e in events if e.type == "node_succeeded" and e.node == "s.inc.b")
    assert (inner.data["component_node"], inner.data["inner_node"]) == ("s", "inc.b")
    # the default of the exposed parameter when the node sets none
    graph["nodes"][0]["params"]["params"] = {}
    assert run(graph, store=store, components=library).output("z", "out") == {"value": 13}


def test_a_cycle_of_components_is_refused_naming_both():
    a = {"nodes": [comp("inner_b", "B")], "edges": [], "ports": {"inputs": [], "outputs": []}}
    b = {"nodes": [comp("inner_a", "A")], "edges": [], "ports": {"inputs": [], "outputs": []}}
    errors = validate(from_json({"nodes": [comp("top", "A")], "edges": []}), components=Library(A=a, B=b))
    cycle = [e for e in errors if e.code == "component_cycle"]
    assert len(cycle) == 1
    assert "'A' contains 'B' contains 'A'" in cycle[0].message
    assert cycle[0].node == "top"


def test_unchanged_component_is_cached_as_a_whole_and_an_inner_change_reruns_only_its_dependants(store):
    library = Library(inc=inc_component())
    run(pipeline(), store=store, components=library)
    again = run(pipeline(), store=store, components=library)
    assert {r.status for r in again.nodes.values()} == {"cached"}
    library.publish("inc", inc_component(sleep=0.01))  # a new version; c1 follows the latest
    changed = run(pipeline(), store=store, components=library)
    assert {n: r.status for n, r in changed.nodes.items()} == {
        "e": "cached", "c1.a": "succeeded", "c1.b": "succeeded", "z": "succeeded"}


def test_a_pinned_node_keeps_its_version_and_a_follower_takes_the_new_one(store):
    library = Library(inc=inc_component())
    doubled = inc_component()
    doubled["nodes"].append(node("c", "test_add_one"))
    doubled["edges"].append(edge("b", "c"))
    doubled["ports"]["outputs"][0]["node"] = "c"
    library.publish("inc", doubled)
    follower, pinned = pipeline(), pipeline()
    pinned["nodes"][1]["version"] = "1"
    assert run(follower, store=store, components=library).output("z", "out") == {"value": 5}
    assert run(pinned, store=store, components=library).output("z", "out") == {"value": 4}


def test_validation_errors_inside_a_component_name_the_component_node_inner_node_and_field():
    bad = inc_component()
    bad["nodes"][0]["params"]["sleep"] = -1
    errors = validate(from_json(pipeline()), components=Library(inc=bad))
    assert len(errors) == 1
    error = errors[0].as_json()
    assert (error["node"], error["inner_node"], error["field"]) == ("c1", "a", "sleep")
    assert "component node 'c1'" in error["message"] and "inner node 'a'" in error["message"]


def test_errors_in_a_nested_component_name_the_outer_node_and_the_inner_path():
    bad = inc_component()
    bad["nodes"][1]["params"]["sleep"] = "slow"
    library = Library(inc=bad, source=source_component())
    errors = validate(from_json({"nodes": [comp("s", "source")], "edges": []}), components=library)
    assert [(e.node, e.inner_node, e.field) for e in errors] == [("s", "inc.b", "sleep")]


def test_unknown_component_port_and_parameter_are_named():
    graph = pipeline()
    graph["edges"][1]["source_port"] = "nope"
    graph["nodes"][1]["params"]["params"] = {"ghost": 1}
    graph["nodes"].append(comp("c2", "missing"))
    errors = validate(from_json(graph), components=Library(inc=inc_component()))
    found = {(e.code, e.node, e.field or e.port) for e in errors}
    assert ("unknown_port", "c1", "nope") in found
    assert ("invalid_params", "c1", "params.ghost") in found
    assert ("unknown_component", "c2", "component") in found


def test_an_inner_reference_to_an_undeclared_parameter_does_not_reach_the_pipelines_parameters():
    leaky = inc_component()
    leaky["nodes"][0]["params"]["sleep"] = {"$param": "secret"}
    graph = pipeline()
    graph["parameters"] = {"secret": {"default": 0.0}}
    errors = validate(from_json(graph), components=Library(inc=leaky))
    assert [(e.code, e.node, e.inner_node) for e in errors] == [("unknown_parameter", "c1", "a")]


def test_an_exported_pipeline_carries_its_components_and_runs_without_a_resolver(store):
    graph = pipeline()
    graph["components"] = {"inc": {"latest": 1, "versions": {"1": inc_component()}}}
    assert run(graph, store=store).output("z", "out") == {"value": 4}
    assert library_resolver(graph["components"])("inc", 2) is None


def test_expansion_is_bounded_in_depth():
    deep = {f"d{i}": {"nodes": [comp("n", f"d{i + 1}")], "edges": [], "ports": {"inputs": [], "outputs": []}}
            for i in range(20)}
    errors = validate(from_json({"nodes": [comp("top", "d0")], "edges": []}), components=Library(**deep))
    assert [e.code for e in errors] == ["component_depth"]


def test_make_component_from_a_selection_keeps_what_the_pipeline_computes(store):
    from pipelines.components import extract

    graph = {"parameters": {"step": {"default": 0.0}},
             "nodes": [node("e", "test_emit", value=1), node("a", "test_add_one", sleep={"$param": "step"}),
                       node("b", "test_add_one"), node("z", "test_add_one")],
             "edges": [edge("e", "a"), edge("a", "b"), edge("b", "z"), edge("e", "b", target_port="extra")]}
    component, replaced = extract(from_json(graph), ["a", "b"], "Inc twice")
    assert component["ports"]["inputs"] == [
        {"name": "in", "type": "metrics", "targets": [{"node": "a", "port": "in"}, {"node": "b", "port": "extra"}]}]
    assert component["ports"]["outputs"] == [{"name": "out", "type": "metrics", "node": "b", "port": "out"}]
    assert component["parameters"] == {"step": {"default": 0.0}}  # the pipeline parameter it used, exposed
    [cnode] = [n for n in replaced.nodes if n.operator == "component"]
    assert cnode.params == {"component": "Inc twice", "params": {"step": {"$param": "step"}}}
    library = Library(**{"Inc twice": component})
    assert validate(replaced, components=library) == []
    assert run(replaced.to_json(), store=store, components=library).output("z", "out") == \
        run(graph, store=store).output("z", "out")


def test_cancel_stops_a_node_inside_a_component(store):
    from pipelines import CancelToken

    slow = inc_component()
    slow["nodes"][0]["params"]["sleep"] = 30.0
    token = CancelToken()

    def watch(event):
        if event.type == "node_running" and event.node == "c1.a":
            token.cancel()

    result = run(pipeline(), store=store, components=Library(inc=slow), on_event=watch, cancel=token)
    assert result.status == "cancelled"
    assert result.nodes["c1.a"].status == "cancelled"
    assert result.nodes["z"].status != "succeeded"


def test_components_multiplying_each_other_stop_at_the_node_bound_instead_of_expanding_all():
    # ten uses of w1 in w0, ten of w2 in w1, ... : a million leaves if expanded in full
    layers = {f"w{i}": {"nodes": [comp(f"n{j}", f"w{i + 1}") for j in range(10)], "edges": [],
                        "ports": {"inputs": [], "outputs": []}} for i in range(6)}
    layers["w6"] = {"nodes": [node("e", "test_emit")], "edges": [], "ports": {"inputs": [], "outputs": []}}
    resolver = Library(**layers)
    calls = []

    def counting(name, version):
        calls.append(name)
        return resolver(name, version)

    errors = validate(from_json({"nodes": [comp("top", "w0")], "edges": []}), components=counting)
    assert errors and {e.code for e in errors} == {"too_large"}
    assert len(calls) < 20_000  # far from the 1,111,111 component nodes a full expansion would resolve


def test_params_fixed_for_a_run_reach_an_inner_node_by_its_expanded_id_and_one_naming_no_node_is_refused(store):
    """The studio fixes what an import node reads when a run starts, a component's inner node included (by its
    expanded id); a fixed param for a node the run does not have fails the run instead of being dropped."""
    from pipelines import Executor
    from pipelines.validation import PipelineInvalid

    executor = Executor(store, components=Library(inc=inc_component(), source=source_component()))
    graph = from_json({"nodes": [comp("s", "source", start=5), node("z", "test_add_one")],
                       "edges": [edge("s", "z", source_port="out")]})
    assert executor.run(graph).output("z", "out") == {"value": 8}
    fixed = executor.run(graph, node_params={"s.e": {"value": 100}})
    assert fixed.output("z", "out") == {"value": 103}  # set after the component's parameter was bound
    with pytest.raises(PipelineInvalid) as refused:
        executor.run(graph, node_params={"s.gone": {"value": 1}})
    assert [(e.code, e.node) for e in refused.value.errors] == [("unknown_node", "s.gone")]
