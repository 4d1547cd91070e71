"""Components through the API: make one from a selection, reuse it, publish a change (followers take it, pinned
nodes do not), where used, move pins, export / import with its components, the script, and a second account."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

from .conftest import edge, node


def chain_graph(value=3):
    import tests.pipelines.testing_operators  # noqa: F401  (registers test_emit, test_add_one)

    return {"name": "chain", "nodes": [node("emit", "test_emit", value=value), node("a1", "test_add_one"),
                                       node("a2", "test_add_one"), node("z", "test_add_one")],
            "edges": [edge("emit", "out", "a1", "in"), edge("a1", "out", "a2", "in"), edge("a2", "out", "z", "in")]}


@pytest.fixture
def made(world):
    """alice's pipeline 'chain' with emit, a1, a2 made into component 'source3' (emit 3, plus two)."""
    pipeline = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "chain",
                                                       "graph": chain_graph()}, format="json").json()
    response = world.as_alice.post("/api/components/make/", {"pipeline": pipeline["id"], "name": "source3",
                                                             "nodes": ["emit", "a1", "a2"],
                                                             "description": "three, plus two"}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def run_metrics(client, run_now, pipeline_id):
    run = run_now(client, pipeline=pipeline_id).json()
    run = client.get(f"/api/runs/{run['id']}/").json()
    assert run["status"] == "succeeded", (run["error"], run["nodes"])
    return run["metrics"]


def test_make_component_from_three_nodes_replaces_them_with_one_typed_component_node(world, made):
    component, pipeline = made["component"], made["pipeline"]
    graph = pipeline["latest"]["graph"]
    assert [n["id"] for n in graph["nodes"]] == ["z", "source3"]
    assert graph["edges"] == [edge("source3", "out", "z", "in")]
    ports = component["latest"]["graph"]["ports"]
    assert ports == {"inputs": [], "outputs": [{"name": "out", "type": "metrics", "node": "a2", "port": "out"}]}
    assert pipeline["latest"]["valid"] and component["latest"]["valid"]
    listed = world.as_alice.get(f"/api/components/?project={world.a.pk}").json()["results"]
    assert [(c["name"], c["description"]) for c in listed] == [("source3", "three, plus two")]


def test_a_published_change_reaches_followers_at_their_next_run_and_not_pinned_nodes(world, made, run_now):
    follower = made["pipeline"]["id"]
    pinned_graph = {"nodes": [{"id": "s", "operator": "component", "version": "1",
                               "params": {"component": "source3"}}, node("z", "test_add_one")],
                    "edges": [edge("s", "out", "z", "in")]}
    pinned = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "pinned",
                                                     "graph": pinned_graph}, format="json").json()["id"]
    assert run_metrics(world.as_alice, run_now, follower)["z"] == {"value": 6}
    component = made["component"]
    graph = component["latest"]["graph"]
    graph["nodes"][0]["params"]["value"] = 10
    changed = world.as_alice.patch(f"/api/components/{component['id']}/", {"graph": graph, "message": "ten"},
                                   format="json").json()
    assert changed["version_created"] and changed["latest"]["number"] == 2
    used = world.as_alice.get(f"/api/components/{component['id']}/where-used/").json()
    assert used["latest"] == 2
    assert {(p["name"], p["follows"]) for p in used["pipelines"]} == {("chain", True), ("pinned", False)}
    assert run_metrics(world.as_alice, run_now, follower)["z"] == {"value": 13}
    assert run_metrics(world.as_alice, run_now, pinned)["z"] == {"value": 6}
    moved = world.as_alice.post(f"/api/components/{component['id']}/move/", {"pipelines": [pinned]},
                                format="json").json()
    assert [m["id"] for m in moved["moved"]] == [pinned]
    assert run_metrics(world.as_alice, run_now, pinned)["z"] == {"value": 13}


def test_run_events_name_the_component_node_and_the_inner_node(world, made, run_now):
    run = run_now(world.as_alice, pipeline=made["pipeline"]["id"]).json()
    events = world.as_alice.get(f"/api/runs/{run['id']}/events/").json()
    events = events.get("results", events) if isinstance(events, dict) else events
    inner = [e for e in events if e["type"] == "node_succeeded" and e["node"] == "source3.a1"]
    assert inner and inner[0]["data"]["component_node"] == "source3" and inner[0]["data"]["inner_node"] == "a1"


def test_a_cycle_between_components_is_refused_naming_both(world, made):
    outer = {"nodes": [{"id": "in3", "operator": "component", "params": {"component": "source3"}}],
             "edges": [], "ports": {"inputs": [], "outputs": [{"name": "out", "node": "in3", "port": "out"}]}}
    created = world.as_alice.post("/api/components/", {"project": world.a.pk, "name": "wrapper", "graph": outer},
                                  format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["latest"]["graph"]["ports"]["outputs"][0]["type"] == "metrics"  # through the nesting
    inner = made["component"]["latest"]["graph"]
    inner["nodes"].append({"id": "loop", "operator": "component", "params": {"component": "wrapper"}})
    refused = world.as_alice.patch(f"/api/components/{made['component']['id']}/", {"graph": inner}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "component_cycle"
    assert "'source3' contains 'wrapper' contains 'source3'" in refused.json()["message"]


def test_validation_errors_inside_a_component_name_the_component_node_inner_node_and_field(world, made, run_now):
    graph = made["component"]["latest"]["graph"]
    graph["nodes"][0]["params"]["value"] = "many"
    world.as_alice.patch(f"/api/components/{made['component']['id']}/", {"graph": graph}, format="json")
    # the component's own version names its inner node in its own terms (not the node it was checked in)
    [own] = world.as_alice.get(f"/api/components/{made['component']['id']}/").json()["latest"]["errors"]
    assert (own["node"], own["field"]) == ("emit", "value")
    assert own["message"].startswith("node 'emit': parameter 'value': "), own["message"]
    refused = run_now(world.as_alice, pipeline=made["pipeline"]["id"])
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert (error["node"], error["inner_node"], error["field"]) == ("source3", "emit", "value")
    assert error["path"] == "graph.nodes[1].component.emit.params.value"


def test_export_import_into_an_empty_project_and_the_script_expands_components(world, made, tmp_path):
    from studio.projects.models import Membership, Project, Role

    empty = Project.objects.create(name="empty", created_by=world.alice)
    Membership.objects.create(project=empty, user=world.alice, role=Role.OWNER)
    url = f"/api/pipelines/{made['pipeline']['id']}/"
    exported = world.as_alice.get(url + "export/").json()
    assert exported["components"]["source3"]["versions"]["1"]["ports"]["outputs"][0]["name"] == "out"
    imported = world.as_alice.post("/api/pipelines/import/", {"project": empty.pk, "graph": exported},
                                   format="json")
    assert imported.status_code == 201, imported.json()
    assert imported.json()["latest"]["valid"], imported.json()["latest"]["errors"]
    assert imported.json()["latest"]["digest"] == made["pipeline"]["latest"]["digest"]
    copies = world.as_alice.get(f"/api/components/?project={empty.pk}").json()["results"]
    assert [(c["name"], c["latest"]["digest"]) for c in copies] == [("source3", made["component"]["latest"]["digest"])]
    script = tmp_path / "chain.py"
    script.write_bytes(world.as_alice.get(url + "script/").content)
    assert '"component"' not in script.read_text()  # expanded: plain operator nodes only
    wrapper = tmp_path / "run.py"
    wrapper.write_text("import sys, runpy\nimport tests.pipelines.testing_operators\n"
                       f"sys.argv = [{str(script)!r}] + sys.argv[1:]\n"
                       f"runpy.run_path({str(script)!r}, run_name='__main__')\n")
    done = subprocess.run([sys.executable, str(wrapper), "--store", str(tmp_path / "store")], capture_output=True,
                          text=True, cwd=tmp_path, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["metrics"]["z"] == {"value": 6}


def test_a_second_account_cannot_read_change_use_or_reach_beyond_its_projects(world, made):
    component = made["component"]
    url = f"/api/components/{component['id']}/"
    bob = world.as_bob
    assert bob.get(url).status_code == 404
    assert bob.get(url + "where-used/").status_code == 404
    assert bob.get(url + "versions/").status_code == 404
    assert bob.patch(url, {"description": "mine"}, format="json").status_code == 404
    assert bob.delete(url).status_code == 404
    assert bob.post(url + "move/", {"pipelines": [made["pipeline"]["id"]]}, format="json").status_code == 404
    assert bob.get(f"/api/components/?project={world.a.pk}").json()["results"] == []
    # bob's own pipeline naming alice's component: it resolves in his project only, so it is unknown
    mine = bob.post("/api/pipelines/", {"project": world.b.pk, "name": "steal", "graph": {
        "nodes": [{"id": "s", "operator": "component", "params": {"component": "source3"}}], "edges": []}},
        format="json").json()
    assert [e["code"] for e in mine["latest"]["errors"]] == ["unknown_component"]
    assert bob.post("/api/components/make/", {"pipeline": made["pipeline"]["id"], "name": "x", "nodes": ["z"]},
                    format="json").status_code == 404
    assert bob.post("/api/components/", {"project": world.a.pk, "name": "x", "graph": {"nodes": [], "edges": []}},
                    format="json").status_code == 400  # another project's id is "does not exist"
    # a pipeline of bob's cannot be moved by alice's component, nor the name or project of hers changed
    assert world.as_alice.patch(url, {"name": "renamed"}, format="json").status_code == 400
    assert world.as_alice.patch(url, {"project": world.b.pk}, format="json").status_code == 400
    # carol only views project A: she reads, never writes
    assert world.as_carol.get(url).status_code == 200
    assert world.as_carol.patch(url, {"description": "x"}, format="json").status_code == 403


def test_a_component_in_use_is_not_deleted_and_bad_input_is_a_clear_400(world, made):
    url = f"/api/components/{made['component']['id']}/"
    refused = world.as_alice.delete(url)
    assert refused.status_code == 409 and "chain" in refused.json()["message"]
    bad = world.as_alice.patch(url, {"graph": {"nodes": [], "edges": [], "ports": {"inputs": [{"name": 1}]}}},
                               format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_ports"
    huge = {"nodes": [node(f"n{i}", "test_emit") for i in range(600)], "edges": []}
    assert world.as_alice.patch(url, {"graph": huge}, format="json").status_code == 400
    assert world.as_alice.post("/api/components/make/", {"pipeline": made["pipeline"]["id"], "name": "y",
                                                         "nodes": ["ghost"]}, format="json").status_code == 400


def test_the_demo_with_a_component_exports_imports_and_its_script_gives_the_same_auc(world, run_now, tmp_path):
    from studio.projects.models import Membership, Project, Role

    made = world.as_alice.post("/api/components/make/", {"pipeline": world.pipeline.pk, "name": "lr branch",
                                                         "nodes": ["train_lr", "predict_lr"]}, format="json")
    assert made.status_code == 201, made.json()
    ports = made.json()["component"]["latest"]["graph"]["ports"]
    assert {p["name"]: p["type"] for p in ports["inputs"] + ports["outputs"]} == {
        "features": "features", "feature_state": "feature_state", "table": "table", "model": "model",
        "table_2": "table"}
    auc = run_metrics(world.as_alice, run_now, world.pipeline.pk)["evaluate"]["auc"]
    empty = Project.objects.create(name="empty", created_by=world.alice)
    Membership.objects.create(project=empty, user=world.alice, role=Role.OWNER)
    url = f"/api/pipelines/{world.pipeline.pk}/"
    imported = world.as_alice.post("/api/pipelines/import/", {"project": empty.pk,
                                                              "graph": world.as_alice.get(url + "export/").json()},
                                   format="json").json()
    assert imported["latest"]["valid"] and imported["latest"]["digest"] == made.json()["pipeline"]["latest"]["digest"]
    script = tmp_path / "demo.py"
    script.write_bytes(world.as_alice.get(url + "script/").content)
    done = subprocess.run([sys.executable, str(script), "--data-root", str(world.a.data_root), "--store",
                           str(tmp_path / "store")], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["metrics"]["evaluate"]["auc"] == pytest.approx(auc)


def test_a_runs_node_rows_name_the_operators_of_the_inner_nodes(world, made, run_now):
    from studio.runs.models import NodeRun

    run = run_now(world.as_alice, pipeline=made["pipeline"]["id"]).json()
    rows = dict(NodeRun.objects.filter(run_id=run["id"]).values_list("node", "operator"))
    assert rows["source3.emit"] == "test_emit" and rows["source3.a2"] == "test_add_one"


def test_validating_a_graph_resolves_components_in_a_project_the_user_can_see_only(world, made):
    graph = made["pipeline"]["latest"]["graph"]
    mine = world.as_alice.post("/api/pipelines/validate/", {"graph": graph, "project": world.a.pk}, format="json")
    assert mine.json() == {"valid": True, "errors": []}
    assert world.as_bob.post("/api/pipelines/validate/", {"graph": graph, "project": world.a.pk},
                             format="json").status_code == 404
    unresolved = world.as_bob.post("/api/pipelines/validate/", {"graph": graph, "project": world.b.pk},
                                   format="json").json()
    assert [e["code"] for e in unresolved["errors"]] == ["unknown_component"]


def test_an_inner_nodes_output_is_read_by_its_prefixed_id(world, made, run_now):
    run = run_now(world.as_alice, pipeline=made["pipeline"]["id"]).json()
    page = world.as_alice.get(f"/api/runs/{run['id']}/outputs/source3.a1/out/")
    assert page.status_code == 200 and page.json()["metrics"] == {"value": 4}


def test_a_component_nodes_output_is_its_inner_nodes(world, made, run_now):
    """The canvas shows a component node's outputs as any node's: its port `out` is inner node a2's (emit 3, plus
    two). Before, a component node had no output ("run has no node"), and its panel said it had not finished."""
    run = run_now(world.as_alice, pipeline=made["pipeline"]["id"]).json()
    page = world.as_alice.get(f"/api/runs/{run['id']}/outputs/source3/out/")
    assert page.status_code == 200 and page.json()["metrics"] == {"value": 5}
    missing = world.as_alice.get(f"/api/runs/{run['id']}/outputs/source3/nope/")
    assert missing.status_code == 404
    assert missing.json()["message"] == f"node 'source3' has no output 'nope' in run {run['id']}"
    assert world.as_bob.get(f"/api/runs/{run['id']}/outputs/source3/out/").status_code == 404


def test_an_import_carrying_too_many_or_malformed_components_is_a_clear_400(world):
    graph = {"nodes": [], "edges": [], "components": {f"c{i}": {"versions": {"1": {"nodes": [], "edges": []},
                                                                             "2": {"nodes": [], "edges": []}}}
                                                      for i in range(101)}}
    refused = world.as_alice.post("/api/pipelines/import/", {"project": world.a.pk, "graph": graph}, format="json")
    assert refused.status_code == 400 and "at most 200" in refused.json()["message"]
    graph["components"] = {"bad": {"versions": "nope"}}
    refused = world.as_alice.post("/api/pipelines/import/", {"project": world.a.pk, "graph": graph}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["path"] == "graph.components"
    from studio.workflows.models import Component

    assert not Component.objects.filter(project=world.a).exists()  # nothing half-imported


def test_make_component_names_its_ports_as_asked_and_refuses_a_clash(world):
    pipeline = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "chain",
                                                       "graph": chain_graph()}, format="json").json()
    body = {"pipeline": pipeline["id"], "name": "middle", "nodes": ["a1", "a2"],
            "port_names": {"in": "value", "out": "value"}}
    clash = world.as_alice.post("/api/components/make/", body, format="json")
    assert clash.status_code == 400 and clash.json()["errors"][0]["path"] == "port_names"
    body["port_names"] = {"in": "value", "out": "plus_two"}
    made = world.as_alice.post("/api/components/make/", body, format="json").json()
    ports = made["component"]["latest"]["graph"]["ports"]
    assert [p["name"] for p in ports["inputs"]] == ["value"] and [p["name"] for p in ports["outputs"]] == ["plus_two"]
    graph = made["pipeline"]["latest"]["graph"]
    assert edge("emit", "out", "middle", "value") in graph["edges"]
    assert edge("middle", "plus_two", "z", "in") in graph["edges"]
    assert made["pipeline"]["latest"]["valid"]


def test_importing_an_older_export_reuses_the_version_it_carries_and_moves_no_follower(world, made, run_now):
    """An export carries the component versions it uses; a version equal to one the project has is reused. It
    was compared with the latest only, so importing last week's export made its old v1 the new latest (v3) and
    every pipeline following the component ran the old contents at its next run, unasked."""
    exported = world.as_alice.get(f"/api/pipelines/{made['pipeline']['id']}/export/").json()
    component = f"/api/components/{made['component']['id']}/"
    graph = made["component"]["latest"]["graph"]
    graph["nodes"][0]["params"]["value"] = 10  # v2: emit 10, plus two
    assert world.as_alice.patch(component, {"graph": graph}, format="json").json()["latest"]["number"] == 2

    imported = world.as_alice.post("/api/pipelines/import/", {"project": world.a.pk, "name": "last week's",
                                                              "graph": exported}, format="json")
    assert imported.status_code == 201, imported.json()
    assert [v["number"] for v in world.as_alice.get(component + "versions/").json()] == [2, 1]
    assert run_metrics(world.as_alice, run_now, made["pipeline"]["id"])["z"] == {"value": 13}  # still v2
