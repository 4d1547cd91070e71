"""Every endpoint of the studio API, in-process (pytest-django), with the queue executing runs at commit."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import operators
import pytest
from rest_framework.test import APIClient

from tests.conftest import REPO
from tests.studio.conftest import fast_graph, node

pytestmark = pytest.mark.django_db


def paths(response) -> list[str]:
    body = response.json()
    assert set(body) == {"code", "message", "errors"}, body  # the one error shape
    return [e["path"] for e in body["errors"]]


# ----------------------------------------------------------------------------------------------- auth
def test_health_is_public_and_everything_else_needs_a_user(world):
    anonymous = APIClient()
    assert anonymous.get("/api/health").status_code == 200
    for url in ("/api/projects/", "/api/pipelines/", "/api/runs/", "/api/uploads/", "/api/connections/",
                "/api/operators/", f"/api/pipelines/{world.pipeline.pk}/"):
        response = anonymous.get(url)
        assert response.status_code == 401, url
        assert response.json()["code"] == "not_authenticated"
    assert anonymous.get("/api/schema/").status_code == 401 and anonymous.get("/api/docs/").status_code == 401


def test_token_login(world):
    client = APIClient()
    bad = client.post("/api/auth/token/", {"username": "alice", "password": "nope"}, format="json")
    assert bad.status_code == 400 and paths(bad) == ["password"]
    missing = client.post("/api/auth/token/", {"username": "alice"}, format="json")
    assert missing.status_code == 400 and paths(missing) == ["password"]
    token = client.post("/api/auth/token/", {"username": "alice", "password": "pw-alice"}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")
    assert [p["name"] for p in client.get("/api/projects/").json()["results"]] == ["A"]


def test_session_login_with_csrf(world):
    client = APIClient(enforce_csrf_checks=True)
    assert client.get("/api/auth/session/").json() == {"user": None}
    csrf = client.cookies["csrftoken"].value
    refused = client.post("/api/auth/login/", {"username": "alice", "password": "pw-alice"}, format="json")
    assert refused.status_code == 403
    ok = client.post("/api/auth/login/", {"username": "alice", "password": "pw-alice"}, format="json",
                     HTTP_X_CSRFTOKEN=csrf)
    assert ok.status_code == 200 and ok.json()["user"]["username"] == "alice"
    csrf = client.cookies["csrftoken"].value  # rotated at login
    assert client.post("/api/projects/", {"name": "X"}, format="json").status_code == 403  # no CSRF header
    assert client.post("/api/projects/", {"name": "X"}, format="json", HTTP_X_CSRFTOKEN=csrf).status_code == 201
    client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=csrf)
    assert client.get("/api/projects/").status_code in (401, 403)


# ----------------------------------------------------------------------------------------- catalogue
def test_operator_catalogue_is_the_operators_declaration(world):
    response = world.as_alice.get("/api/operators/")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(operators.catalogue()))
    one = world.as_alice.get("/api/operators/import_csv/").json()
    assert one == next(c for c in operators.catalogue() if c["name"] == "import_csv")
    missing = world.as_alice.get("/api/operators/no_such_thing/")
    assert missing.status_code == 404 and "no_such_thing" in missing.json()["message"]


# ------------------------------------------------------------------------------------------ projects
def test_projects_and_members(world):
    created = world.as_bob.post("/api/projects/", {"name": "C", "description": "x"}, format="json")
    assert created.status_code == 201 and created.json()["role"] == "owner"
    pid = created.json()["id"]
    members = f"/api/projects/{pid}/members/"
    added = world.as_bob.post(members, {"username": "carol", "role": "viewer"}, format="json")
    assert added.status_code == 201
    assert world.as_carol.get(members).status_code == 200
    assert world.as_carol.post(members, {"username": "alice", "role": "owner"}, format="json").status_code == 403
    assert world.as_carol.patch(f"/api/projects/{pid}/", {"name": "mine"}, format="json").status_code == 403
    again = world.as_bob.post(members, {"username": "carol", "role": "editor"}, format="json")
    assert again.status_code == 400 and paths(again) == ["username"]
    nobody = world.as_bob.post(members, {"username": "nobody", "role": "editor"}, format="json")
    assert nobody.status_code == 400 and paths(nobody) == ["username"]
    own = world.as_bob.get(members).json()["results"]
    bob_membership = next(m for m in own if m["username"] == "bob")
    last_owner = world.as_bob.patch(f"{members}{bob_membership['id']}/", {"role": "viewer"}, format="json")
    assert last_owner.status_code == 400 and paths(last_owner) == ["role"]
    carol_membership = next(m for m in own if m["username"] == "carol")
    assert world.as_bob.patch(f"{members}{carol_membership['id']}/", {"role": "editor"},
                              format="json").json()["role"] == "editor"
    assert world.as_bob.delete(f"{members}{carol_membership['id']}/").status_code == 204
    assert world.as_carol.get(f"/api/projects/{pid}/").status_code == 404


# ----------------------------------------------------------------------------------------- pipelines
def test_pipeline_versions_save_only_changes(world):
    graph = fast_graph()
    created = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "p", "graph": graph},
                                  format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["latest"]["number"] == 1 and body["latest"]["valid"] and body["version_created"]
    url = f"/api/pipelines/{body['id']}/"
    same = world.as_alice.patch(url, {"graph": graph}, format="json").json()
    assert same["latest"]["number"] == 1 and not same["version_created"]
    graph["nodes"][1]["params"]["ratio"] = 0.8
    changed = world.as_alice.patch(url, {"graph": graph, "message": "bigger train"}, format="json").json()
    assert changed["latest"]["number"] == 2 and changed["version_created"]
    versions = world.as_alice.get(url + "versions/").json()
    assert [v["number"] for v in versions] == [2, 1] and versions[0]["message"] == "bigger train"
    assert world.as_alice.get(url + "versions/1/").json()["graph"]["nodes"][1]["params"]["ratio"] == 0.5
    assert world.as_alice.get(url + "versions/9/").status_code == 404
    diff = world.as_alice.get(url + "diff/?a=1&b=2").json()
    assert diff["nodes"]["changed"] == [{"id": "split", "changes": {"params": {"ratio": {"old": 0.5, "new": 0.8}}},
                                         "moved": False}]
    assert diff["nodes"]["added"] == [] and diff["edges"] == {"added": [], "removed": []}
    assert paths(world.as_alice.get(url + "diff/?a=1")) == ["b"]
    restored = world.as_alice.post(url + "versions/1/restore/").json()
    assert restored["latest"]["number"] == 3
    assert restored["latest"]["graph"]["nodes"][1]["params"]["ratio"] == 0.5
    assert world.as_alice.delete(url).status_code == 204


def test_validate_returns_every_error_with_paths(world):
    graph = fast_graph()
    graph["nodes"][1]["params"]["ratio"] = 7
    graph["edges"].append({"source": "import", "source_port": "table", "target": "add", "target_port": "in"})
    response = world.as_alice.post("/api/pipelines/validate/", {"graph": graph}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert not body["valid"]
    by_code = {e["code"]: e for e in body["errors"]}
    assert by_code["invalid_params"]["path"] == "graph.nodes[1].params.ratio"
    assert by_code["invalid_params"]["node"] == "split" and by_code["invalid_params"]["field"] == "ratio"
    assert by_code["type_mismatch"]["path"] == "graph.nodes[3].ports.in"
    shape = world.as_alice.post("/api/pipelines/validate/", {"graph": {"nodes": "x"}}, format="json").json()
    assert shape == {"valid": False, "errors": [{"path": "graph.nodes", "message": "must be a list",
                                                "code": "invalid_graph"}]}


def test_bad_graphs_are_refused_with_field_paths(world):
    post = lambda graph: world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "bad",  # noqa: E731
                                                                 "graph": graph}, format="json")
    malformed = post({"nodes": [{"operator": "import_csv"}, "x"], "edges": {}})
    assert malformed.status_code == 400
    assert paths(malformed) == ["graph.nodes[0].id", "graph.nodes[1]", "graph.edges"]
    unknown = post({"nodes": [node("a", "import_csv", path="x.csv"), node("b", "no_such_operator")]})
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_operator"
    assert unknown.json()["errors"][0] | {"message": ""} == {"path": "graph.nodes[1].operator", "node": "b",
                                                            "field": "operator", "code": "unknown_operator",
                                                            "message": ""}
    not_json = world.as_alice.post("/api/pipelines/", data="{not json", content_type="application/json")
    assert not_json.status_code == 400 and not_json.json()["code"] == "parse_error"
    not_object = post([1, 2])
    assert not_object.status_code == 400 and paths(not_object) == ["graph"]
    no_name = world.as_alice.post("/api/pipelines/", {"project": world.a.pk}, format="json")
    assert no_name.status_code == 400 and paths(no_name) == ["name"]


def test_graph_size_is_bounded_naming_the_field(world):
    """Nodes, edges and one node's params (size and depth) are bounded far past a real graph; past a bound the
    save is a 400 naming the field, and no version is stored. A graph of 1,500 nodes still saves."""
    from studio.workflows.api.serializers import MAX_GRAPH_EDGES, MAX_GRAPH_NODES, MAX_NODE_PARAMS_DEPTH
    from studio.workflows.models import PipelineVersion

    created = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "p", "graph": fast_graph()},
                                  format="json")
    url = f"/api/pipelines/{created.json()['id']}/"
    many = [node(f"n{i}", "split_random", ratio=0.5) for i in range(MAX_GRAPH_NODES + 1)]
    link = {"source": "n0", "source_port": "first", "target": "n1", "target_port": "table"}
    nested = {"v": 1}
    for _ in range(MAX_NODE_PARAMS_DEPTH):
        nested = {"v": [nested]}
    before = PipelineVersion.objects.count()
    for graph, path in (({"nodes": many, "edges": []}, "graph.nodes"),
                        ({"nodes": many[:2], "edges": [link] * (MAX_GRAPH_EDGES + 1)}, "graph.edges"),
                        ({"nodes": [node("a", "split_random", ratio=nested)], "edges": []}, "graph.nodes[0].params"),
                        ({"nodes": [node("a", "split_random", ratio="x" * 300_000)], "edges": []},
                         "graph.nodes[0].params")):
        response = world.as_alice.patch(url, {"graph": graph}, format="json")
        assert response.status_code == 400 and paths(response) == [path], response.json()
        assert response.json()["code"] == "invalid"
    assert PipelineVersion.objects.count() == before
    big = {"nodes": many[:1500], "edges": []}
    assert world.as_alice.patch(url, {"graph": big}, format="json").json()["latest"]["number"] == 2


def test_invalid_params_are_saved_but_cannot_run(world, run_now):
    graph = fast_graph()
    graph["nodes"][1]["params"]["ratio"] = "half"
    created = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "wip", "graph": graph},
                                  format="json").json()
    assert created["latest"]["valid"] is False
    assert created["latest"]["errors"][0]["node"] == "split"
    refused = run_now(world.as_alice, pipeline=created["id"])
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_pipeline"
    assert paths(refused) == ["graph.nodes[1].params.ratio"]


def test_export_import_and_python_script(world, fast_pipeline, tmp_path):
    url = f"/api/pipelines/{fast_pipeline.pk}/"
    exported = world.as_alice.get(url + "export/")
    assert exported.status_code == 200 and "attachment" in exported["Content-Disposition"]
    graph = exported.json()
    imported = world.as_alice.post("/api/pipelines/import/", {"project": world.a.pk, "graph": graph}, format="json")
    assert imported.status_code == 201 and imported.json()["name"] == "fast"
    assert imported.json()["latest"]["digest"] == fast_pipeline.latest_version().digest
    script = world.as_alice.get(url + "script/")
    assert script.status_code == 200 and script["Content-Type"].startswith("text/x-python")
    path = tmp_path / "fast.py"
    path.write_bytes(script.content)
    # The script runs on its own; the test operators it uses are registered by a tiny wrapper.
    wrapper = tmp_path / "run.py"
    wrapper.write_text("import sys, runpy\nimport tests.pipelines.testing_operators\n"
                       f"sys.argv = [{str(path)!r}] + sys.argv[1:]\n"
                       f"runpy.run_path({str(path)!r}, run_name='__main__')\n")
    done = subprocess.run([sys.executable, str(wrapper), "--data-root", str(world.a.data_root), "--store",
                           str(tmp_path / "store")], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["status"] == "succeeded" and summary["metrics"]["add"] == {"value": 4}


# ------------------------------------------------------------------------------------------- uploads
def csv_file(name="people.csv", body=b"id,age\n1,30\n2,41\n"):
    handle = io.BytesIO(body)
    handle.name = name
    return handle


def test_upload_and_use_it_in_a_run(world, run_now):
    response = world.as_alice.post("/api/uploads/", {"project": world.a.pk, "file": csv_file()}, format="multipart")
    assert response.status_code == 201, response.json()
    upload = response.json()
    assert upload["content_type"] == "csv" and upload["size"] == 17 and len(upload["sha256"]) == 64
    assert upload["path"].startswith("uploads/") and upload["path"].endswith("/people.csv")
    graph = {"nodes": [node("import", "import_csv", path=upload["path"])], "edges": []}
    pipeline = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "u", "graph": graph},
                                   format="json").json()
    run = run_now(world.as_alice, pipeline=pipeline["id"]).json()
    run = world.as_alice.get(f"/api/runs/{run['id']}/").json()
    assert run["status"] == "succeeded", (run["error"], run["nodes"])
    page = world.as_alice.get(f"/api/runs/{run['id']}/outputs/import/table/").json()
    assert page["rows"] == [[1, 30], [2, 41]]
    by_id = {"nodes": [node("import", "import_csv", upload=str(upload["id"]))], "edges": []}  # ctx.upload_path
    pipeline = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "u2", "graph": by_id},
                                   format="json").json()
    run = world.as_alice.get(f"/api/runs/{run_now(world.as_alice, pipeline=pipeline['id']).json()['id']}/").json()
    assert run["status"] == "succeeded", (run["error"], run["nodes"])
    assert world.as_alice.get(f"/api/runs/{run['id']}/outputs/import/table/").json()["rows"] == [[1, 30], [2, 41]]
    assert [u["id"] for u in world.as_alice.get("/api/uploads/").json()["results"]] == [upload["id"]]
    assert world.as_alice.delete(f"/api/uploads/{upload['id']}/?force=true").status_code == 204
    assert not (world.a.data_root / upload["path"]).exists()


def test_bad_uploads(world, settings):
    post = lambda f, **extra: world.as_alice.post("/api/uploads/", {"project": world.a.pk, "file": f, **extra},  # noqa
                                                  format="multipart")
    # Django's test client strips folders from file names itself, so this body is written by hand.
    boundary = "XyZ"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="project"\r\n\r\n{world.a.pk}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="../../evil.csv"\r\n'
            f'Content-Type: text/csv\r\n\r\nid,age\n1,30\r\n--{boundary}--\r\n')
    escape = world.as_alice.generic("POST", "/api/uploads/", body.encode(),
                                    content_type=f"multipart/form-data; boundary={boundary}")
    assert escape.status_code == 400 and set(paths(escape)) == {"file"} and "evil.csv" in escape.json()["message"]
    assert post(csv_file(), name="../x.csv").status_code == 400
    assert post(csv_file(".hidden.csv")).status_code == 400
    png = post(csv_file("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)))
    assert png.status_code == 415 and paths(png) == ["file"]
    mismatch = post(csv_file("table.parquet"))
    assert mismatch.status_code == 415 and "extension" in mismatch.json()["message"]
    settings.UPLOAD_MAX_BYTES = 10
    big = post(csv_file())
    assert big.status_code == 413 and paths(big) == ["file"] and "limit" in big.json()["message"]
    missing = world.as_alice.post("/api/uploads/", {"project": world.a.pk}, format="multipart")
    assert missing.status_code == 400 and paths(missing) == ["file"]
    as_json = world.as_alice.post("/api/uploads/", {"project": world.a.pk}, format="json")
    assert as_json.status_code == 415
    assert not list(world.a.data_root.glob("uploads/*/*"))  # nothing refused was stored


# --------------------------------------------------------------------------------------- connections
def test_connections_never_return_the_secret(world):
    url = "postgresql://scott:tiger-secret@db.example:5432/sales"
    created = world.as_alice.post("/api/connections/", {"project": world.a.pk, "name": "sales", "url": url},
                                  format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["display_url"] == "postgresql://scott:***@db.example:5432/sales"
    for response in (created, world.as_alice.get("/api/connections/"),
                     world.as_alice.get(f"/api/connections/{created.json()['id']}/")):
        assert "tiger-secret" not in response.content.decode()
    dup = world.as_alice.post("/api/connections/", {"project": world.a.pk, "name": "sales", "url": url},
                              format="json")
    assert dup.status_code == 400 and paths(dup) == ["name"]
    bad = world.as_alice.post("/api/connections/", {"project": world.a.pk, "name": "x", "url": "not a url"},
                              format="json")
    assert bad.status_code == 400 and paths(bad) == ["url"]
    renamed = world.as_alice.patch(f"/api/connections/{created.json()['id']}/", {"name": "sales2"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "sales2"


# ---------------------------------------------------------------------------------------------- runs
def test_run_events_nodes_and_outputs(world, fast_pipeline, run_now):
    response = run_now(world.as_alice, pipeline=fast_pipeline.pk)
    assert response.status_code == 201, response.json()
    run = world.as_alice.get(f"/api/runs/{response.json()['id']}/").json()
    assert run["status"] == "succeeded" and run["metrics"] == {"emit": {"value": 3}, "add": {"value": 4}}
    assert {n["node"]: n["status"] for n in run["nodes"]} == {n: "succeeded" for n in ("import", "split", "emit",
                                                                                       "add")}
    events = world.as_alice.get(f"/api/runs/{run['id']}/events/").json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)) == list(range(1, run["last_seq"] + 1))
    assert events[0]["type"] == "run_queued" and events[1]["type"] == "run_started"
    assert events[-1]["type"] == "run_finished" and events[-1]["data"]["status"] == "succeeded"
    after = world.as_alice.get(f"/api/runs/{run['id']}/events/?after=5").json()
    assert after == events[5:]
    base = f"/api/runs/{run['id']}/outputs/"
    page = world.as_alice.get(base + "split/first/?offset=10&limit=5").json()
    assert page["kind"] == "table" and page["offset"] == 10 and len(page["rows"]) == 5
    assert page["rows_total"] > 1000 and {"name": "age", "dtype": page["columns"][1]["dtype"]} in page["columns"]
    profile = world.as_alice.get(base + "import/table/?view=profile").json()
    age = next(c for c in profile["columns"] if c["name"] == "age")
    assert profile["kind"] == "profile" and age["min"] <= age["median"] <= age["max"] and age["histogram"]
    assert world.as_alice.get(base + "add/out/").json()["metrics"] == {"value": 4}
    assert world.as_alice.get(base + "add/nope/").status_code == 404
    assert world.as_alice.get(base + "nope/out/").status_code == 404
    assert paths(world.as_alice.get(base + "split/first/?limit=0")) == ["limit"]
    again = run_now(world.as_alice, pipeline=fast_pipeline.pk).json()
    again = world.as_alice.get(f"/api/runs/{again['id']}/").json()
    assert {n["status"] for n in again["nodes"]} == {"cached"} and again["status"] == "succeeded"
    listed = world.as_alice.get(f"/api/runs/?pipeline={fast_pipeline.pk}&status=succeeded").json()
    assert [r["id"] for r in listed["results"]] == [again["id"], run["id"]]


def test_run_modes_and_priorities(world, fast_pipeline, run_now):
    one = run_now(world.as_alice, pipeline=fast_pipeline.pk, mode="only", node="emit").json()
    assert one["priority"] > 0
    one = world.as_alice.get(f"/api/runs/{one['id']}/").json()
    assert [n["node"] for n in one["nodes"]] == ["emit"] and one["status"] == "succeeded"
    until = run_now(world.as_alice, pipeline=fast_pipeline.pk, mode="until", node="split").json()
    assert {n["node"] for n in world.as_alice.get(f"/api/runs/{until['id']}/").json()["nodes"]} == {"import",
                                                                                                  "split"}
    full = run_now(world.as_alice, pipeline=fast_pipeline.pk, force=True).json()
    assert full["priority"] < one["priority"]
    no_node = run_now(world.as_alice, pipeline=fast_pipeline.pk, mode="from")
    assert no_node.status_code == 400 and paths(no_node) == ["node"]
    bad_node = run_now(world.as_alice, pipeline=fast_pipeline.pk, mode="only", node="ghost")
    assert bad_node.status_code == 400 and paths(bad_node) == ["node"]
    bad_version = run_now(world.as_alice, pipeline=fast_pipeline.pk, version=7)
    assert bad_version.status_code == 400 and paths(bad_version) == ["version"]
    bad_param = run_now(world.as_alice, pipeline=fast_pipeline.pk, params={"nope": 1})
    assert bad_param.status_code == 400 and paths(bad_param) == ["graph.parameters.nope"]
    bad_engine = run_now(world.as_alice, pipeline=fast_pipeline.pk, engine="abacus")
    assert bad_engine.status_code == 400 and paths(bad_engine) == ["engine"]


def test_failed_node_fails_the_run_with_its_name(world, run_now):
    graph = fast_graph(path="data/missing.csv")
    pipeline = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "f", "graph": graph},
                                   format="json").json()
    run = world.as_alice.get(f"/api/runs/{run_now(world.as_alice, pipeline=pipeline['id']).json()['id']}/").json()
    assert run["status"] == "failed" and "import" in run["error"]
    nodes = {n["node"]: n for n in run["nodes"]}
    assert nodes["import"]["status"] == "failed" and nodes["import"]["error"]["field"] == "path"
    assert nodes["split"]["status"] == "skipped" and nodes["add"]["status"] == "succeeded"


def test_cancel_a_queued_run(world, fast_pipeline):
    response = world.as_alice.post("/api/runs/", {"pipeline": fast_pipeline.pk}, format="json")  # not committed:
    run_id = response.json()["id"]  # the in-process queue never sees it, so it stays queued
    assert world.as_carol.post(f"/api/runs/{run_id}/cancel/").status_code == 403
    cancelled = world.as_alice.post(f"/api/runs/{run_id}/cancel/").json()
    assert cancelled["status"] == "cancelled"
    events = world.as_alice.get(f"/api/runs/{run_id}/events/").json()
    assert events[-1]["type"] == "run_finished" and events[-1]["data"]["status"] == "cancelled"
    from studio.runs.worker import execute

    assert execute(run_id) is None  # a late queue delivery does not run it
    assert world.as_alice.post(f"/api/runs/{run_id}/cancel/").json()["status"] == "cancelled"


def test_recovery_requeues_then_fails_runs_of_dead_workers(world, fast_pipeline, settings):
    from studio.runs.models import Run
    from studio.runs.worker import recover
    import socket

    settings.RUN_MAX_ATTEMPTS = 2
    dead = f"{socket.gethostname()}:999999999"
    response = world.as_alice.post("/api/runs/", {"pipeline": fast_pipeline.pk}, format="json")
    Run.objects.filter(pk=response.json()["id"]).update(status="running", worker=dead, attempts=1)
    assert recover() == [response.json()["id"]]
    run = Run.objects.get(pk=response.json()["id"])  # re-queued, and the in-process queue ran it at once
    assert run.status == "succeeded" and run.attempts == 2
    assert [e.type for e in run.events.all()][:2] == ["run_queued", "run_requeued"]
    Run.objects.filter(pk=run.pk).update(status="running", worker=dead, attempts=2)
    assert recover() == []
    run.refresh_from_db()
    assert run.status == "failed" and "stopped while running" in run.error and "no attempts left" in run.error
    assert run.events.last().type == "run_finished"


def test_unknown_api_paths_are_json_404s(world):
    for method, url in (("get", "/api/nope/"), ("delete", "/api/uploads/abc/"), ("get", "/api/pipelines/1x/"),
                        ("get", f"/api/projects/{'9' * 30}/members/")):
        response = getattr(world.as_alice, method)(url)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", url
        assert response.json()["code"] == "not_found"
    huge = world.as_alice.get("/api/projects/?limit=999999999999999999999&offset=999999999999999999999")
    assert huge.status_code == 400 and [e["path"] for e in huge.json()["errors"]] == ["limit", "offset"]  # no 500


def test_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    text = (tmp_path / "schema.yaml").read_text()
    assert "/api/runs/{id}/outputs/{node}/{port}/" in text and "ErrorEntry" in text


def test_swagger_ui_is_served_without_a_cdn(world):
    page = world.as_alice.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html and "cdn." not in html and "unpkg" not in html


def test_full_runs_go_to_the_training_queue_when_configured(world, fast_pipeline, settings, tmp_path, run_now):
    import uuid

    from studio.runs.tasks import training_task

    settings.TRAINING_QUEUE_NAME = f"training_{uuid.uuid4().hex[:8]}"
    if "filename" in settings.HUEY:  # SqliteHuey: a queue file of this test's own
        settings.HUEY = {**settings.HUEY, "filename": str(tmp_path / "queue.sqlite3")}
    training = training_task().huey
    try:
        preview = run_now(world.as_alice, pipeline=fast_pipeline.pk, mode="only", node="emit").json()
        assert world.as_alice.get(f"/api/runs/{preview['id']}/").json()["status"] == "succeeded"  # main queue
        full = run_now(world.as_alice, pipeline=fast_pipeline.pk).json()
        assert world.as_alice.get(f"/api/runs/{full['id']}/").json()["status"] == "queued"
        assert training.pending_count() == 1
        training.execute(training.dequeue())  # what a worker started with STUDIO_QUEUE_NAME=<training> does
        assert world.as_alice.get(f"/api/runs/{full['id']}/").json()["status"] == "succeeded"
    finally:
        training.flush()
