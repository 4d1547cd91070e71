"""Artifacts changed on disk, seen through the API: the outputs endpoint says which output is damaged (JSON,
never a 500 or the damaged value), and a rerun recomputes what was changed."""
from __future__ import annotations

import json


def stored(run_id: int, node: str, port: str):
    from studio.runs.models import NodeRun
    from studio.runs.worker import artifact_store

    store = artifact_store()
    return store.path(NodeRun.objects.get(run_id=run_id, node=node).outputs[port])


def test_a_corrupted_parquet_answers_a_json_409_naming_node_and_port(world, fast_pipeline, run_now):
    run = run_now(world.as_alice, pipeline=fast_pipeline.pk).json()
    url = f"/api/runs/{run['id']}/outputs/split/first/"
    assert world.as_alice.get(url).status_code == 200
    parquet = stored(run["id"], "split", "first") / "data.parquet"
    parquet.write_bytes(parquet.read_bytes()[:100])

    response = world.as_alice.get(url)
    assert response.status_code == 409 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "artifact_corrupt" and "split.first" in body["message"]
    [entry] = body["errors"]
    assert entry["node"] == "split" and entry["port"] == "first" and "data.parquet" in entry["message"]
    assert world.as_alice.get(f"/api/runs/{run['id']}/outputs/split/second/").status_code == 200
    # another project's owner learns nothing of it
    assert world.as_bob.get(url).status_code == 404


def test_a_metrics_value_edited_on_disk_is_recomputed_by_the_next_run(world, fast_pipeline, run_now):
    first = run_now(world.as_alice, pipeline=fast_pipeline.pk).json()
    value = stored(first["id"], "add", "out") / "value.json"
    value.write_text(json.dumps({"value": 99}))
    assert world.as_alice.get(f"/api/runs/{first['id']}/outputs/add/out/").status_code == 409

    again = run_now(world.as_alice, pipeline=fast_pipeline.pk).json()
    again = world.as_alice.get(f"/api/runs/{again['id']}/").json()
    assert again["status"] == "succeeded" and again["metrics"]["add"] == {"value": 4}
    statuses = {n["node"]: n["status"] for n in again["nodes"]}
    assert statuses == {"import": "cached", "split": "cached", "emit": "cached", "add": "succeeded"}
    events = world.as_alice.get(f"/api/runs/{again['id']}/events/").json()
    assert any(e["type"] == "node_log" and e["node"] == "add" and "failed verification" in e["data"]["message"]
               for e in events)
    assert world.as_alice.get(f"/api/runs/{first['id']}/outputs/add/out/").json()["metrics"] == {"value": 4}


def test_publishing_a_model_changed_on_disk_is_refused_naming_the_output(world, run_now):
    run = run_now(world.as_alice, pipeline=world.pipeline.pk).json()
    assert world.as_alice.get(f"/api/runs/{run['id']}/").json()["status"] == "succeeded"
    model = stored(run["id"], "train_lr", "model")
    changed = next(p for p in sorted(model.iterdir()) if p.name != "meta.json")
    changed.write_bytes(changed.read_bytes() + b"\0")

    response = world.as_alice.post("/api/deployments/publish/", {"run": run["id"], "name": "credit",
                                                                  "model_node": "train_lr"}, format="json")
    assert response.status_code == 409, response.json()
    assert "train_lr.model" in response.json()["message"] and "failed verification" in response.json()["message"]
