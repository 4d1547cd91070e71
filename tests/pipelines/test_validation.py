"""Each validation error kind names its node and its field or port; all errors come back at once."""
from __future__ import annotations

import json

import jsonschema
import pytest

from pipelines import GraphFormatError, PipelineInvalid, from_json, run, validate
from pipelines.graph import FORMAT

from .testing_operators import edge, node

from tests.conftest import DEMO_PIPELINE, REPO


def errors_of(graph: dict):
    return validate(from_json(graph))


def only(errors, code):
    found = [e for e in errors if e.code == code]
    assert found, f"no {code} error in {[e.as_json() for e in errors]}"
    return found


def test_unknown_operator_names_node_and_field():
    [err] = only(errors_of({"nodes": [node("a", "no_such_op")], "edges": []}), "unknown_operator")
    assert err.node == "a" and err.field == "operator"
    assert "'a'" in err.message and "no_such_op" in err.message


def test_a_pinned_operator_version_validates_only_when_current_or_accepted():
    """predict 3 (labels in their own values) accepts nodes saved as predict 2; other versions are refused."""
    def pinned(version):
        return {**node("p", "predict"), "version": version}

    assert not [e for e in errors_of({"nodes": [pinned("3")], "edges": []}) if e.code == "operator_version"]
    assert not [e for e in errors_of({"nodes": [pinned("2")], "edges": []}) if e.code == "operator_version"]
    [err] = only(errors_of({"nodes": [pinned("1")], "edges": []}), "operator_version")
    assert err.node == "p" and err.field == "version" and "this studio has version '3'" in err.message


def test_invalid_params_map_to_node_and_field_path():
    graph = {"nodes": [node("s", "split_random", ratio=1.5, seed="x", bogus=1), node("e", "test_emit")],
             "edges": []}
    errors = only(errors_of(graph), "invalid_params")
    fields = {e.field for e in errors}
    assert {"ratio", "seed", "bogus"} <= fields
    assert all(e.node == "s" for e in errors)
    assert any("'ratio'" in e.message and "'s'" in e.message for e in errors)


def test_required_input_not_connected():
    [err] = only(errors_of({"nodes": [node("a", "test_add_one")], "edges": []}), "missing_input")
    assert err.node == "a" and err.port == "in"
    assert "'a'" in err.message and "'in'" in err.message


def test_optional_input_may_stay_unconnected():
    graph = {"nodes": [node("e", "test_emit"), node("a", "test_add_one")], "edges": [edge("e", "a")]}
    assert errors_of(graph) == []


def test_port_type_mismatch():
    graph = {"nodes": [node("e", "test_emit"), node("t", "test_needs_table")],
             "edges": [edge("e", "t", target_port="table")]}
    [err] = only(errors_of(graph), "type_mismatch")
    assert err.node == "t" and err.port == "table"
    assert "'t'" in err.message and "'table'" in err.message
    assert "takes table" in err.message and "gives metrics" in err.message


def test_cycle():
    graph = {"nodes": [node("e", "test_emit"), node("a", "test_add_one"), node("b", "test_add_one")],
             "edges": [edge("a", "b"), edge("b", "a", target_port="in"), edge("e", "a", target_port="extra")]}
    [err] = only(errors_of(graph), "cycle")
    assert err.node in ("a", "b") and "a" in err.message and "b" in err.message


def test_two_edges_into_one_input_port():
    graph = {"nodes": [node("e1", "test_emit"), node("e2", "test_emit"), node("a", "test_add_one")],
             "edges": [edge("e1", "a"), edge("e2", "a")]}
    [err] = only(errors_of(graph), "duplicate_input")
    assert err.node == "a" and err.port == "in"
    assert "'a'" in err.message and "'in'" in err.message and "more than one" in err.message


def test_unknown_port_and_unknown_node():
    graph = {"nodes": [node("e", "test_emit"), node("a", "test_add_one")],
             "edges": [edge("e", "a", source_port="nope"), edge("ghost", "a", target_port="extra")]}
    errors = errors_of(graph)
    [port_err] = only(errors, "unknown_port")
    assert port_err.node == "e" and port_err.port == "nope"
    [node_err] = only(errors, "unknown_node")
    assert node_err.node == "ghost"


def test_all_errors_come_back_at_once():
    graph = {"nodes": [node("x", "no_such_op"), node("s", "split_random", ratio=7), node("a", "test_add_one")],
             "edges": []}
    codes = {e.code for e in errors_of(graph)}
    assert {"unknown_operator", "invalid_params", "missing_input"} <= codes


def test_pipeline_parameter_references_resolve_and_are_checked():
    graph = {"parameters": {"v": {"default": 1}},
             "nodes": [node("e", "test_emit", value={"$param": "v"}, sleep={"$param": "nope"})], "edges": []}
    [err] = only(errors_of(graph), "unknown_parameter")
    assert err.node == "e"
    graph["nodes"][0]["params"]["sleep"] = 0
    assert errors_of(graph) == []
    bad = validate(from_json(graph), {"v": "not a number"})
    assert only(bad, "invalid_params")[0].field == "value"


def test_run_refuses_an_invalid_graph_with_every_error(store):
    graph = {"nodes": [node("x", "no_such_op"), node("a", "test_add_one")], "edges": []}
    with pytest.raises(PipelineInvalid) as info:
        run(graph, store=store)
    assert {e.node for e in info.value.errors} == {"x", "a"}


def test_malformed_json_shapes_are_reported_with_paths():
    with pytest.raises(GraphFormatError) as info:
        from_json({"nodes": [{"id": "", "operator": "x"}, {"id": "b"}], "edges": [{"source": "a"}]})
    paths = [p for p, _ in info.value.errors]
    assert paths == ["nodes[0].id", "nodes[1].operator", "edges[0]"]


def test_json_schema_refuses_what_the_loader_refuses():
    """The schema file in the repo is not decoration: graphs that from_json refuses fail it too."""
    schema = json.loads((REPO / "pipelines" / "schema" / "pipeline.schema.json").read_text())
    good = json.loads(DEMO_PIPELINE.read_text())
    bad_graphs = [
        {**good, "nodes": [{**good["nodes"][0], "id": ""}] + good["nodes"][1:]},
        {**good, "nodes": [{k: v for k, v in good["nodes"][0].items() if k != "operator"}] + good["nodes"][1:]},
        {**good, "edges": [{"source": good["nodes"][0]["id"]}]},
    ]
    for bad in bad_graphs:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        with pytest.raises(GraphFormatError):
            from_json(bad)


def test_examples_match_the_json_schema_and_round_trip():
    schema = json.loads((REPO / "pipelines" / "schema" / "pipeline.schema.json").read_text())
    data = json.loads(DEMO_PIPELINE.read_text())
    jsonschema.validate(data, schema)
    graph = from_json(data)
    assert graph.to_json()["format"] == FORMAT
    assert from_json(graph.to_json()).digest() == graph.digest()
    assert validate(graph) == []
