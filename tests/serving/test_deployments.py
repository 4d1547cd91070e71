"""Deployments through the studio API, against a real serving process: publish a trained run and it answers
within 5 s; hot swap under load (publish, then roll back) with no failed request; unpublish; permissions."""
from __future__ import annotations

import http.client
import json
import threading
import time

import numpy as np
import pytest

from pipelines.bundle import load_bundle, table_to_columns

from .conftest import serving_process, v2_json
from .test_publish_operator import GRAPH


def _user(name):
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = get_user_model().objects.create_user(name, f"{name}@example.invalid", "pw")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return user, client


@pytest.fixture
def studio(db, settings, tmp_path):
    """alice owns project A, carol views it, bob owns B; SERVING_DIR is the data dir's serving/ folder that the
    serving process of `serving_process(tmp_path)` watches."""
    from studio.projects.models import Membership, Project, Role

    settings.DATA_ROOT = tmp_path / "data"
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    settings.SERVING_DIR = tmp_path / "var" / "serving"
    alice, as_alice = _user("alice")
    bob, as_bob = _user("bob")
    carol, as_carol = _user("carol")
    a = Project.objects.create(name="A", created_by=alice)
    b = Project.objects.create(name="B", created_by=bob)
    Membership.objects.create(project=a, user=alice, role=Role.OWNER)
    Membership.objects.create(project=a, user=carol, role=Role.VIEWER)
    Membership.objects.create(project=b, user=bob, role=Role.OWNER)

    class Studio:
        pass

    s = Studio()
    s.alice, s.a, s.b, s.as_alice, s.as_bob, s.as_carol = alice, a, b, as_alice, as_bob, as_carol
    s.tmp = tmp_path
    return s


def finished_run(studio, seed: int, store=None):
    """A run of the publish-test graph (without its publish node) executed into the studio's artifact store and
    recorded as the worker records it: a Run with one NodeRun per node and its output fingerprints."""
    from django.conf import settings

    import pipelines
    from studio.runs.models import NodeRun, Run
    from studio.workflows.models import Pipeline

    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "publish"]
    graph["edges"] = [e for e in graph["edges"] if e["target"] != "publish"]
    graph["nodes"][0]["params"]["seed"] = seed
    pipeline = Pipeline.objects.create(project=studio.a, name=f"p{seed}", created_by=studio.alice)
    version, _ = pipeline.save_graph(pipelines.from_json(graph), studio.alice)
    result = pipelines.run(graph, store=store, store_root=settings.ARTIFACT_DIR, data_root=studio.tmp)
    assert result.status == "succeeded"
    run = Run.objects.create(project=studio.a, pipeline=pipeline, version=version, status="succeeded",
                             requested_by=studio.alice)
    for node, node_result in result.nodes.items():
        NodeRun.objects.create(run=run, node=node, status="succeeded", outputs=node_result.outputs)
    return run, result


def _row(result, bundle_path):
    bundle = load_bundle(bundle_path)
    rows = result.output("split", "second").head(1)
    return bundle, table_to_columns(rows, bundle.input_spec)


def _publish_first(studio, server, run):
    """Publish run's model as "credit": version 1 is live and the serving process answers for it within 5 s."""
    started = time.monotonic()
    answer = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["status"] == "live" and body["live_version"] == 1 and body["project"] == studio.a.pk
    assert {s["name"] for s in body["input_spec"]} >= {"age", "region"}
    server.wait_for(lambda: server.get("/v2/models/credit")[0] == 200, timeout=5,
                    what="version 1 answering within 5 s of publish")
    print(f"published -> serving in {time.monotonic() - started:.2f} s")
    v1 = body["versions"][0]
    assert v1["number"] == 1 and v1["live"] is True and v1["manifest"]["version"] == "1"
    return body


def _send_until_stopped(port, payload, seen, failures, stop):
    """One client's loop: POST payload again and again; each answer is (time, model_version, first probability)
    in seen, each non-200 or dropped connection in failures."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        try:
            connection.request("POST", "/v2/models/credit/infer", payload, {"Content-Type": "application/json"})
            response = connection.getresponse()
            data = response.read()
            if response.status != 200:
                failures.append((response.status, data[:200]))
                continue
            parsed = json.loads(data)
            probability = next(o for o in parsed["outputs"] if o["name"] == "probability")["data"][0]
            seen.append((time.monotonic(), parsed["model_version"], probability))
        except Exception as exc:  # a dropped connection is a failed request too
            failures.append(("exception", repr(exc)))
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.close()


def _swap_and_roll_back_under_load(studio, server, deployment_id, run2, payloads):
    """While clients send payloads: publish run2 as version 2, wait for load on it, roll back to version 1.
    Returns the answers seen and the failures."""
    seen, failures, stop = [], [], threading.Event()
    threads = [threading.Thread(target=_send_until_stopped, args=(server.port, p, seen, failures, stop))
               for p in payloads]
    for t in threads:
        t.start()
    try:
        server.wait_for(lambda: len(seen) > 20, what="load flowing")
        answer = studio.as_alice.post("/api/deployments/publish/", {"run": run2.pk, "name": "credit"}, format="json")
        assert answer.status_code == 201 and answer.json()["live_version"] == 2
        server.wait_for(lambda: any(v == "2" for _, v, _ in seen), timeout=5, what="version 2 live under load")
        swapped = time.monotonic()
        server.wait_for(lambda: sum(1 for t, _, _ in seen if t > swapped) > 20, what="load on version 2")
        answer = studio.as_alice.post(f"/api/deployments/{deployment_id}/rollback/", {"version": 1}, format="json")
        assert answer.status_code == 200 and answer.json()["live_version"] == 1
        rolled = time.monotonic()
        server.wait_for(lambda: any(v == "1" and t > rolled for t, v, _ in seen), timeout=5,
                        what="version 1 live again")
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    return seen, failures


def _assert_unpublished_with_history(studio, server, deployment_id, request):
    """Unpublish: the name stays known with a clear reason; the serving page and the history tell what happened."""
    answer = studio.as_alice.post(f"/api/deployments/{deployment_id}/unpublish/", format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "unpublished"
    server.wait_for(lambda: server.get("/v2/models/credit")[0] == 404, timeout=5, what="unpublished")
    status, error = server.post_json("/v2/models/credit/infer", json.loads(request))
    assert status == 404 and "unpublished" in error["error"]

    # the Deployments page's view of the serving process: live version, metrics per version, a curl line
    answer = studio.as_alice.get(f"/api/deployments/{deployment_id}/serving/")
    assert answer.status_code == 200
    page = answer.json()
    assert page["reachable"] is True and page["metrics"]["2"]["requests"] > 0
    assert page["curl"].startswith("curl -s -X POST") and "/v1/models/credit:predict" in page["curl"]

    history = studio.as_alice.get(f"/api/deployments/{deployment_id}/").json()["history"]
    assert [(h["action"], h["version"]) for h in history] == [
        ("published", 1), ("published", 2), ("rolled_back", 1), ("unpublished", None)]


def test_publish_hot_swap_and_rollback_under_load(studio, settings):
    run1, result1 = finished_run(studio, seed=1)
    run2, _ = finished_run(studio, seed=2)
    with serving_process(studio.tmp) as server:
        settings.SERVING_URL = server.url
        body = _publish_first(studio, server, run1)
        bundle1, columns = _row(result1, studio_bundle(studio, 1))
        request = json.dumps(v2_json(columns, bundle1.input_spec)).encode()
        big = json.dumps(v2_json({k: np.repeat(v, 500) for k, v in columns.items()}, bundle1.input_spec)).encode()

        payloads = (request, request, request, big)
        seen, failures = _swap_and_roll_back_under_load(studio, server, body["id"], run2, payloads)
        assert failures == []
        bundle2 = load_bundle(studio_bundle(studio, 2))
        expected = {"1": bundle1.predict(columns, 1)["probability"][0],
                    "2": bundle2.predict(columns, 1)["probability"][0]}
        assert expected["1"] != expected["2"]
        for _, version, probability in seen:  # each answer says truthfully which version computed it
            assert abs(probability - expected[version]) <= 1e-9
        assert {v for _, v, _ in seen} == {"1", "2"}
        print(f"{len(seen)} requests, 0 failed")

        _assert_unpublished_with_history(studio, server, body["id"], request)


def studio_bundle(studio, number):
    from studio.deployments.models import DeploymentVersion

    return DeploymentVersion.objects.get(deployment__name="credit", number=number).bundle


def test_publish_records_its_source_and_answers_within_5_s_of_the_api_call(studio, settings):
    """The manifest names the run and the pipeline version it came from; each publish, bundle build and
    verification included, answers on the serving process within 5 s of the API call's start."""
    from pathlib import Path

    runs = [finished_run(studio, seed=seed) for seed in (1, 2)]
    rows = runs[0][1].output("split", "second").head(2)
    inputs = [c for c in rows.columns if c not in ("default", "customer_id", "application_date")]
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items() if k in inputs}
               for r in rows.to_dict("records")]
    with serving_process(studio.tmp) as server:
        settings.SERVING_URL = server.url

        def answers(version: str) -> bool:
            status, answer = server.post_json("/v1/models/credit:predict", {"instances": records})
            return status == 200 and answer["model_version"] == version

        for number, (run, _) in enumerate(runs, start=1):
            started = time.monotonic()
            answer = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"},
                                          format="json")
            assert answer.status_code == 201, answer.json()
            left = max(0.0, 5 - (time.monotonic() - started))
            server.wait_for(lambda number=number: answers(str(number)), timeout=left,
                            what=f"version {number} answering within 5 s of the publish call")
            elapsed = time.monotonic() - started
            assert elapsed <= 5, elapsed
            print(f"publish -> version {number} answering in {elapsed:.2f} s")

            version = next(v for v in answer.json()["versions"] if v["number"] == number)
            expected = {"project": studio.a.pk, "run": run.pk, "node": "gbdt", "pipeline": run.pipeline_id,
                        "pipeline_version": run.version_id, "pipeline_version_number": run.version.number}
            assert version["manifest"]["source"] == expected
            on_disk = json.loads((Path(studio_bundle(studio, number)) / "manifest.json").read_text())
            assert on_disk["source"] == expected and on_disk["version"] == str(number)


def test_try_it_goes_through_the_studio(studio, settings):
    run, result = finished_run(studio, seed=1)
    with serving_process(studio.tmp) as server:
        settings.SERVING_URL = server.url
        body = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"},
                                    format="json").json()
        server.wait_for(lambda: server.get("/v2/models/credit")[0] == 200, timeout=5, what="live")
        row = result.output("split", "second").head(1)
        record = {s["name"]: (None if row[s["name"]].isna().iloc[0] else row[s["name"]].iloc[0].item()
                              if hasattr(row[s["name"]].iloc[0], "item") else row[s["name"]].iloc[0])
                  for s in body["input_spec"]}
        answer = studio.as_alice.post(f"/api/deployments/{body['id']}/try/", {"instances": [record]}, format="json")
        assert answer.status_code == 200, answer.json()
        assert answer.json()["model_version"] == "1" and 0 <= answer.json()["predictions"][0]["probability"] <= 1
        record["age"] = "old"
        answer = studio.as_alice.post(f"/api/deployments/{body['id']}/try/", {"instances": [record]}, format="json")
        assert answer.status_code == 400 and "'age'" in answer.json()["message"]


def test_the_try_it_form_learns_which_columns_of_the_training_rows_the_model_leaves_out(studio):
    """Auto mode makes no feature of application_date (a date) nor of customer_id (a row identifier): the bundle's
    manifest keeps them with the reason and the deployment's API hands them to the Try it form, which asks only for
    the inputs the model uses."""
    import pipelines
    from studio.deployments.services import publish

    graph = json.loads(json.dumps(GRAPH))
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "publish"]
    graph["edges"] = [e for e in graph["edges"] if e["target"] != "publish"]
    graph["nodes"][2]["params"] = {"label": "default"}  # auto mode, nothing excluded
    result = pipelines.run(graph, store_root=studio.tmp / "store", data_root=studio.tmp)
    assert result.status == "succeeded", result.summary()
    publish(project=studio.a, name="dated", model=result.output("gbdt", "model"),
            feature_state=result.output("features", "feature_state"), holdout=result.output("split", "second"),
            user=studio.alice)
    listed = studio.as_alice.get("/api/deployments/").json()
    found = next(d for d in (listed["results"] if isinstance(listed, dict) else listed) if d["name"] == "dated")
    body = studio.as_alice.get(f"/api/deployments/{found['id']}/").json()
    left_out = body["left_out_inputs"]
    assert [c["name"] for c in left_out] == ["application_date", "customer_id"], left_out
    assert left_out[0]["reason"] == "a date/time: auto mode makes no feature of it"
    assert left_out[1]["reason"].startswith("a row identifier: ")
    assert not {"application_date", "customer_id"} & {s["name"] for s in body["input_spec"]}


def test_permissions_and_bad_publish_requests(studio):
    run, _ = finished_run(studio, seed=1)
    body = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json").json()
    detail = f"/api/deployments/{body['id']}/"
    assert studio.as_bob.get(detail).status_code == 404
    assert studio.as_bob.get("/api/deployments/").json()["results"] == []
    publish = studio.as_bob.post("/api/deployments/publish/", {"run": run.pk, "name": "x"}, format="json")
    assert publish.status_code == 404
    assert studio.as_carol.get(detail).status_code == 200
    assert studio.as_carol.post(detail + "rollback/", {"version": 1}, format="json").status_code == 403

    from studio.deployments.services import bundle_resolver_for

    resolve = bundle_resolver_for(run)  # what batch scoring in a run of project A finds
    assert resolve("credit", None) == studio_bundle(studio, 1) == resolve("credit", "1")
    assert resolve("credit", "2") is None and resolve("elsewhere", None) is None

    answer = studio.as_alice.post(detail + "rollback/", {"version": 9}, format="json")
    assert answer.status_code == 404 and "no version 9" in answer.json()["message"]
    answer = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "Bad Name!"}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["path"] == "name"
    answer = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "c2", "model_node": "split"},
                                  format="json")
    assert answer.status_code == 400 and "node 'split' of run" in answer.json()["message"]
    assert answer.json()["errors"][0]["path"] == "model_node"


def test_rollback_to_a_tampered_version_is_refused_with_the_reason(studio):
    run, _ = finished_run(studio, seed=1)
    body = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json").json()
    studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json")
    from pathlib import Path

    model = Path(studio_bundle(studio, 1)) / "model" / "model.txt"
    model.write_text(model.read_text() + "\n")
    answer = studio.as_alice.post(f"/api/deployments/{body['id']}/rollback/", {"version": 1}, format="json")
    assert answer.status_code == 400
    assert "file model/model.txt was changed" in answer.json()["message"]
    assert studio.as_alice.get(f"/api/deployments/{body['id']}/").json()["live_version"] == 2
