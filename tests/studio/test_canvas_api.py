"""The canvas's backend (issue 15): "Run selected" checks only the nodes the run needs, publish from a canvas
node (a training node, or an evaluate node's model) with the feature state and held-out rows the graph names,
and a save's version message."""
from __future__ import annotations

from datetime import datetime

import pytest

from .conftest import edge, fast_graph


@pytest.fixture
def broken_elsewhere(world):
    """The fast pipeline with an invalid node (`emit`, value not a number) on a branch `split` does not need."""
    from studio.workflows.models import Pipeline

    import pipelines

    graph = fast_graph()
    graph["nodes"][2]["params"]["value"] = "not a number"
    pipeline = Pipeline.objects.create(project=world.a, name="broken elsewhere", created_by=world.alice)
    pipeline.save_graph(pipelines.from_json(graph), world.alice)
    return pipeline


def test_run_selected_runs_a_valid_node_while_another_node_is_invalid(world, broken_elsewhere, run_now):
    response = run_now(world.as_alice, pipeline=broken_elsewhere.pk, mode="only", node="split")
    assert response.status_code == 201, response.json()
    run = world.as_alice.get(f"/api/runs/{response.json()['id']}/").json()
    assert run["status"] == "succeeded"
    assert {n["node"]: n["status"] for n in run["nodes"]} == {"import": "succeeded", "split": "succeeded"}
    # run from a node: the same rule (split and what is below it need nothing of emit)
    assert run_now(world.as_alice, pipeline=broken_elsewhere.pk, mode="from", node="split").status_code == 201


def test_run_all_and_a_run_that_needs_the_invalid_node_are_refused_naming_it(world, broken_elsewhere, run_now):
    for body in ({"mode": "all"}, {"mode": "only", "node": "add"}, {"mode": "from", "node": "emit"}):
        response = run_now(world.as_alice, pipeline=broken_elsewhere.pk, **body)
        assert response.status_code == 400, body
        errors = response.json()["errors"]
        assert {e["node"] for e in errors} == {"emit"} and any(e.get("field") == "value" for e in errors)


def test_the_executor_itself_checks_only_the_nodes_a_run_needs(tmp_path, data_root):
    import pipelines

    graph = fast_graph()
    graph["nodes"][2]["params"]["value"] = "not a number"
    result = pipelines.run(graph, only="split", store_root=tmp_path / "a", data_root=data_root)
    assert result.status == "succeeded" and set(result.nodes) == {"import", "split"}
    with pytest.raises(pipelines.PipelineInvalid, match="emit"):
        pipelines.run(graph, store_root=tmp_path / "b", data_root=data_root)


def test_a_graph_level_error_still_refuses_a_selected_run():
    import pipelines

    graph = fast_graph()
    graph["edges"].append(edge("split", "first", "nowhere", "table"))
    errors = pipelines.validate(pipelines.from_json(graph), only="split")
    assert not errors  # the dangling edge is below split: the run of split does not need it
    graph["edges"].append(edge("ghost", "table", "import", "path"))
    errors = pipelines.validate(pipelines.from_json(graph), only="split")
    assert any(e.node == "ghost" for e in errors)


@pytest.fixture
def demo_run(world, run_now, settings, tmp_path):
    settings.SERVING_DIR = tmp_path / "serving"
    run = run_now(world.as_alice, pipeline=world.pipeline.pk).json()
    assert world.as_alice.get(f"/api/runs/{run['id']}/").json()["status"] == "succeeded"
    return run["id"]


def publish(client, run_id, name, node_id):
    return client.post("/api/deployments/publish/", {"run": run_id, "name": name, "node": node_id}, format="json")


def test_publish_from_a_training_node_and_from_an_evaluate_node(world, demo_run):
    response = publish(world.as_alice, demo_run, "credit-lr", "train_lr")
    assert response.status_code == 201, response.json()
    [version] = response.json()["versions"]
    assert version["source_node"] == "train_lr" and version["live"]

    # evaluate: the model it evaluated (its `model` input, the GBDT), with the features node's state
    response = publish(world.as_alice, demo_run, "credit-gbdt", "evaluate")
    assert response.status_code == 201, response.json()
    [version] = response.json()["versions"]
    assert version["source_node"] == "train_gbdt" and response.json()["status"] == "live"
    assert {c["name"] for c in response.json()["input_spec"]} >= {"age", "region", "purpose"}


def test_publish_from_a_node_without_a_model_names_the_node(world, demo_run):
    for node_id, text in (("split", "neither trains a model nor evaluates one"), ("nope", "has no node 'nope'")):
        response = publish(world.as_alice, demo_run, "credit", node_id)
        assert response.status_code == 400, response.json()
        assert text in response.json()["message"] and response.json()["errors"][0]["path"] == "node"
    response = publish(world.as_alice, demo_run, "credit", "x" * 201)
    assert response.status_code == 400 and "node" in response.json()["errors"][0]["path"]


def test_publish_from_a_node_of_another_project_or_as_a_viewer_is_refused(world, demo_run):
    from studio.deployments.models import Deployment

    assert publish(world.as_bob, demo_run, "stolen", "train_gbdt").status_code == 404
    assert publish(world.as_carol, demo_run, "viewer", "train_gbdt").status_code == 403
    assert not Deployment.objects.exists()


def test_a_save_message_is_kept_on_the_version_and_bounded(world):
    url = f"/api/pipelines/{world.pipeline.pk}/"
    graph = world.as_alice.get(url).json()["latest"]["graph"]
    graph["nodes"][0]["position"] = {"x": 5, "y": 5}
    response = world.as_alice.patch(url, {"graph": graph, "message": "moved the import"}, format="json")
    assert response.status_code == 200 and response.json()["latest"]["message"] == "moved the import"
    versions = world.as_alice.get(f"{url}versions/").json()
    listed = versions["results"] if isinstance(versions, dict) else versions
    assert any(v["message"] == "moved the import" for v in listed)
    graph["nodes"][0]["position"] = {"x": 9, "y": 9}
    too_long = world.as_alice.patch(url, {"graph": graph, "message": "m" * 501}, format="json")
    assert too_long.status_code == 400 and too_long.json()["errors"][0]["path"] == "message"
    # another project's owner can neither read the message nor save over it
    assert world.as_bob.get(f"{url}versions/").status_code == 404
    assert world.as_bob.patch(url, {"graph": graph, "message": "mine"}, format="json").status_code == 404


def test_a_model_output_carries_a_readable_summary(world, demo_run):
    gbdt = world.as_alice.get(f"/api/runs/{demo_run}/outputs/train_gbdt/model/").json()
    summary = gbdt["summary"]
    assert summary["trees"] == 200 and summary["features"] == len(gbdt["state"]["feature_names"])
    top = summary["top_features"]
    assert len(top) == 10 and top[0]["weight"] >= top[-1]["weight"] > 0
    assert {t["name"] for t in top} <= set(gbdt["state"]["feature_names"])
    lr = world.as_alice.get(f"/api/runs/{demo_run}/outputs/train_lr/model/").json()["summary"]
    assert lr["coefficients"] == lr["features"] > 0 and "intercept" in lr and len(lr["top_features"]) == 10
    assert world.as_bob.get(f"/api/runs/{demo_run}/outputs/train_gbdt/model/").status_code == 404


def test_a_fitted_feature_state_is_not_summarised_as_a_model(world, demo_run):
    # The canvas reads a body with a summary as a trained model; a feature state has no trees nor coefficients,
    # and is shown whole so its inputs (an unnamed index column, say) are named.
    state = world.as_alice.get(f"/api/runs/{demo_run}/outputs/features/feature_state/").json()
    assert state["kind"] == "model" and state["model_kind"] == "features" and "summary" not in state
    assert state["state"]["inputs"]


def test_the_engine_picker_choice_is_kept_with_the_pipeline_and_makes_no_version(world):
    url = f"/api/pipelines/{world.pipeline.pk}/"
    before = world.as_alice.get(url).json()
    assert before["engine"] == "local"
    response = world.as_alice.patch(url, {"engine": "spark"}, format="json")
    assert response.status_code == 200 and response.json()["engine"] == "spark"
    after = world.as_alice.get(url).json()
    assert after["engine"] == "spark" and after["latest"]["number"] == before["latest"]["number"]
    bad = world.as_alice.patch(url, {"engine": "dask"}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "engine"
    # a viewer cannot change it, another project's owner cannot see it
    assert world.as_carol.patch(url, {"engine": "local"}, format="json").status_code == 403
    assert world.as_bob.patch(url, {"engine": "local"}, format="json").status_code == 404
    assert world.as_alice.get(url).json()["engine"] == "spark"


def test_choosing_the_engine_leaves_the_pipelines_changed_time(world):
    """The Engine picker is a run setting: the pipelines list's "Changed" (updated_at) stays where the last edit put
    it, while a rename or a new graph version still moves it."""
    url = f"/api/pipelines/{world.pipeline.pk}/"
    before = world.as_alice.get(url).json()["updated_at"]
    for engine in ("spark", "local", "spark"):
        chosen = world.as_alice.patch(url, {"engine": engine}, format="json")
        assert chosen.status_code == 200 and chosen.json()["engine"] == engine
        assert chosen.json()["updated_at"] == before
    assert world.as_alice.get(url).json()["updated_at"] == before
    renamed = world.as_alice.patch(url, {"name": "renamed", "engine": "local"}, format="json").json()
    assert datetime.fromisoformat(renamed["updated_at"]) > datetime.fromisoformat(before)
    assert (renamed["name"], renamed["engine"]) == ("renamed", "local")


def test_publish_from_a_component_node_and_from_an_evaluate_node_it_feeds(world, run_now, settings, tmp_path):
    """A model trained inside a component publishes from the canvas as any other: from the component node (its one
    model output) and from the evaluate node that takes it. Before, the component node "neither trains a model nor
    evaluates one", the evaluate node had "no model connected", and the inner node's run id was "no node"."""
    settings.SERVING_DIR = tmp_path / "serving"
    for name, nodes in (("gbdt", ["train_gbdt"]), ("cut", ["split"])):
        made = world.as_alice.post("/api/components/make/", {"pipeline": world.pipeline.pk, "name": name,
                                                             "nodes": nodes}, format="json")
        assert made.status_code == 201, made.json()
    run = run_now(world.as_alice, pipeline=world.pipeline.pk).json()
    assert world.as_alice.get(f"/api/runs/{run['id']}/").json()["status"] == "succeeded"
    # a newer version of the component (its inner node renamed) does not change what the run made
    component = world.as_alice.get(f"/api/components/?project={world.a.pk}").json()["results"]
    gbdt = next(c for c in component if c["name"] == "gbdt")
    renamed = gbdt["latest"]["graph"]
    renamed["nodes"][0]["id"] = renamed["ports"]["outputs"][0]["node"] = "trees"
    for port in renamed["ports"]["inputs"]:
        port["targets"] = [{**t, "node": "trees"} for t in port["targets"]]
    changed = world.as_alice.patch(f"/api/components/{gbdt['id']}/", {"graph": renamed}, format="json")
    assert changed.status_code == 200 and changed.json()["latest"]["number"] == 2, changed.json()

    for name, node_id in (("from-component", "gbdt"), ("from-evaluate", "evaluate"), ("from-inner", "gbdt.train_gbdt")):
        response = publish(world.as_alice, run["id"], name, node_id)
        assert response.status_code == 201, (node_id, response.json())
        [version] = response.json()["versions"]
        assert version["source_node"] == "gbdt.train_gbdt", node_id
        assert {c["name"] for c in response.json()["input_spec"]} >= {"age", "region", "purpose"}
    # a component node without a model output is named, as a plain node is
    response = publish(world.as_alice, run["id"], "nothing", "cut")
    assert response.status_code == 400, response.json()
    assert "node 'cut'" in response.json()["message"] and response.json()["errors"][0]["path"] == "node"
