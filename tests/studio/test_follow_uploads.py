"""An import node that follows the newest upload of its file's name: resolved by the studio when the run starts,
within the run's project only, recorded with the run (its details and the node's log), and the cache keyed on
the file read; a pinned node (the default, and every pipeline saved before) keeps reading its upload."""
from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from tests.studio.conftest import node

pytestmark = pytest.mark.django_db

V1 = b"age,churn\n30,1\n41,0\n"
V2 = b"age,churn\n30,1\n41,0\n25,1\n"


def upload(client, project, body: bytes, name: str = "people.csv") -> int:
    handle = io.BytesIO(body)
    handle.name = name
    response = client.post("/api/uploads/", {"project": project.pk, "file": handle}, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def pipeline_reading(world, upload_id: int, **params) -> int:
    graph = {"nodes": [node("import", "import_csv", upload=str(upload_id), **params)], "edges": []}
    response = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "retrain", "graph": graph},
                                   format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def finished(world, run_now, pipeline: int) -> dict:
    started = run_now(world.as_alice, pipeline=pipeline)
    assert started.status_code == 201, started.json()
    run = world.as_alice.get(f"/api/runs/{started.json()['id']}/").json()
    assert run["status"] == "succeeded", (run["error"], run["nodes"])
    return run


def logs(world, run: dict) -> list[str]:
    events = world.as_alice.get(f"/api/runs/{run['id']}/events/").json()
    return [e["data"]["message"] for e in events if e["type"] == "node_log" and e["node"] == "import"]


def rows(world, run: dict) -> int:
    return world.as_alice.get(f"/api/runs/{run['id']}/outputs/import/table/").json()["rows_total"]


def test_a_following_node_reads_the_newest_upload_and_the_run_records_it(world, run_now):
    first = upload(world.as_alice, world.a, V1)
    pipeline = pipeline_reading(world, first, upload_version="newest")
    run = finished(world, run_now, pipeline)
    assert run["uploads"]["import"] | {"sha256": ""} == {"upload": first, "name": "people.csv", "version": 1,
                                                          "of": 1, "sha256": "", "follows": "newest"}
    second = upload(world.as_alice, world.a, V2)  # the corrected file, uploaded again under its name
    run = finished(world, run_now, pipeline)
    assert {k: run["uploads"]["import"][k] for k in ("upload", "version", "of")} == {"upload": second, "version": 2,
                                                                                     "of": 2}
    assert rows(world, run) == 3
    imported = next(n for n in run["nodes"] if n["node"] == "import")
    assert imported["cached"] is False  # the cache keys on the file read, not on the node's params
    assert logs(world, run)[0].startswith(f"reads upload {second}: people.csv, version 2 of 2 (the newest of its "
                                          "name, followed)")
    again = finished(world, run_now, pipeline)  # the same newest file: the node's output is reused
    assert next(n for n in again["nodes"] if n["node"] == "import")["cached"] is True


def test_a_pinned_node_keeps_its_upload(world, run_now):
    first = upload(world.as_alice, world.a, V1)
    pipeline = pipeline_reading(world, first)  # no upload_version: pinned, as every pipeline saved before
    upload(world.as_alice, world.a, V2)
    run = finished(world, run_now, pipeline)
    assert {k: run["uploads"]["import"][k] for k in ("upload", "version", "of", "follows")} == {
        "upload": first, "version": 1, "of": 2, "follows": "pinned"}
    assert rows(world, run) == 2
    assert "version 1 of 2 (pinned by the node)" in logs(world, run)[0]


def test_another_projects_newer_upload_of_the_name_never_counts(world, run_now):
    first = upload(world.as_alice, world.a, V1)
    pipeline = pipeline_reading(world, first, upload_version="newest")
    theirs = upload(world.as_bob, world.b, V2)  # bob's project: same name, a later upload
    assert theirs > first
    run = finished(world, run_now, pipeline)
    assert {k: run["uploads"]["import"][k] for k in ("upload", "version", "of")} == {"upload": first, "version": 1,
                                                                                     "of": 1}
    assert rows(world, run) == 2
    # bob's pipeline following alice's upload by its id: refused, naming his node and not her file
    graph = {"nodes": [node("mine", "import_csv", upload=str(first), upload_version="newest")], "edges": []}
    his = world.as_bob.post("/api/pipelines/", {"project": world.b.pk, "name": "steal", "graph": graph}, format="json")
    refused = run_now(world.as_bob, pipeline=his.json()["id"])
    assert refused.status_code == 400 and "node 'mine'" in refused.json()["message"]
    assert "people.csv" not in refused.json()["message"]


def test_a_deleted_newest_gives_the_next_newest_then_an_error_naming_the_node(world, run_now):
    first = upload(world.as_alice, world.a, V1)
    second = upload(world.as_alice, world.a, V2)
    # the node names the newest, which is then deleted: it still knows the name it follows
    pipeline = pipeline_reading(world, second, upload_version="newest", upload_name="people.csv")
    assert world.as_alice.delete(f"/api/uploads/{second}/?force=true").status_code == 204
    run = finished(world, run_now, pipeline)
    assert run["uploads"]["import"]["upload"] == first and rows(world, run) == 2
    assert world.as_alice.delete(f"/api/uploads/{first}/?force=true").status_code == 204
    refused = run_now(world.as_alice, pipeline=pipeline)
    assert refused.status_code == 400, refused.json()
    body = refused.json()
    assert body["errors"][0]["path"] == "graph.nodes[0].params.upload"
    assert "node 'import' follows the newest version of 'people.csv'" in body["errors"][0]["message"]


def test_an_upload_bound_to_a_pipeline_parameter_is_followed_with_the_runs_value(world, run_now):
    first = upload(world.as_alice, world.a, V1)
    graph = {"nodes": [node("import", "import_csv", upload={"$param": "source"}, upload_version="newest")],
             "edges": [], "parameters": {"source": {"default": str(first)}}}
    pipeline = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "bound", "graph": graph},
                                   format="json").json()["id"]
    second = upload(world.as_alice, world.a, V2)
    run = finished(world, run_now, pipeline)  # the default names the first upload: its name's newest is read
    assert run["uploads"]["import"]["upload"] == second and rows(world, run) == 3
    other = upload(world.as_alice, world.a, V1, name="other.csv")
    started = run_now(world.as_alice, pipeline=pipeline, params={"source": str(other)})
    run = world.as_alice.get(f"/api/runs/{started.json()['id']}/").json()
    assert run["status"] == "succeeded" and run["uploads"]["import"]["name"] == "other.csv"
    assert rows(world, run) == 2
    # bob's run may not reach alice's file through a parameter value either
    bobs = {"nodes": [node("mine", "import_csv", upload={"$param": "source"}, upload_version="newest")],
            "edges": [], "parameters": {"source": {"default": ""}}}
    theirs = world.as_bob.post("/api/pipelines/", {"project": world.b.pk, "name": "probe", "graph": bobs},
                               format="json").json()["id"]
    refused = run_now(world.as_bob, pipeline=theirs, params={"source": str(second)})
    assert refused.status_code == 400 and "node 'mine'" in refused.json()["message"]
    assert "people.csv" not in refused.json()["message"]


def test_a_node_the_run_does_not_need_is_not_resolved(world, run_now):
    import tests.pipelines.testing_operators  # noqa: F401  (test_emit)

    first = upload(world.as_alice, world.a, V1)
    graph = {"nodes": [node("import", "import_csv", upload=str(first), upload_version="newest"),
                       node("emit", "test_emit", value=4)], "edges": []}
    pipeline = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "two", "graph": graph},
                                   format="json").json()["id"]
    assert world.as_alice.delete(f"/api/uploads/{first}/?force=true").status_code == 204
    assert run_now(world.as_alice, pipeline=pipeline).status_code == 400
    preview = run_now(world.as_alice, pipeline=pipeline, mode="until", node="emit")
    assert preview.status_code == 201, preview.json()
    run = world.as_alice.get(f"/api/runs/{preview.json()['id']}/").json()
    assert run["status"] == "succeeded" and run["uploads"] == {}


def test_a_schedule_retrains_on_the_file_uploaded_again(world, django_capture_on_commit_callbacks):
    from studio.schedules.scheduler import Scheduler
    from studio.workflows.models import Pipeline
    from tests.studio.schedules.conftest import Clock, make_schedule

    first = upload(world.as_alice, world.a, V1)
    pipeline = Pipeline.objects.get(pk=pipeline_reading(world, first, upload_version="newest"))
    schedule = make_schedule(pipeline, world.alice, datetime(2024, 6, 1, tzinfo=UTC), cron="0 2 * * *")
    clock = Clock(datetime(2024, 6, 1, 2, tzinfo=UTC))  # the scheduler's clock: the test moves it
    with django_capture_on_commit_callbacks(execute=True):  # the fire's run is enqueued (and run) at commit
        Scheduler(clock).tick()
    second = upload(world.as_alice, world.a, V2)  # the analyst uploads the corrected file between two fires
    clock.set(datetime(2024, 6, 2, 2, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        Scheduler(clock).tick()
    fires = list(schedule.fires.order_by("fire_time"))
    runs = [fire.run for fire in fires]
    assert [r.status for r in runs] == ["succeeded", "succeeded"], [r.error for r in runs]
    assert [(r.uploads["import"]["upload"], r.uploads["import"]["version"]) for r in runs] == [(first, 1), (second, 2)]
    assert runs[1].nodes.get(node="import").cached is False


def _component_pipeline(world, upload_id: int, **params) -> int:
    """A pipeline of one component node "src" whose component "source" is an import node "read"."""
    inner = {"nodes": [node("read", "import_csv", upload=str(upload_id), **params)], "edges": [],
             "ports": {"inputs": [], "outputs": [{"name": "table", "node": "read", "port": "table"}]}}
    made = world.as_alice.post("/api/components/", {"project": world.a.pk, "name": "source", "graph": inner},
                               format="json")
    assert made.status_code == 201, made.json()
    graph = {"nodes": [node("src", "component", component="source")], "edges": []}
    return world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "wrapped", "graph": graph},
                               format="json").json()["id"]


def test_an_import_inside_a_component_follows_the_newest_upload_and_the_run_records_it(world, run_now):
    """A component's graph is shared by every pipeline using it, so what its import reads is fixed per run, by the
    inner node's expanded id (src.read): the newest of the name when the run starts, as for a top-level node."""
    first = upload(world.as_alice, world.a, V1)
    pipeline = _component_pipeline(world, first, upload_version="newest")
    run = finished(world, run_now, pipeline)
    assert {k: run["uploads"]["src.read"][k] for k in ("upload", "version", "of", "follows")} == {
        "upload": first, "version": 1, "of": 1, "follows": "newest"}
    second = upload(world.as_alice, world.a, V2)
    run = finished(world, run_now, pipeline)
    assert {k: run["uploads"]["src.read"][k] for k in ("upload", "version", "of")} == {"upload": second,
                                                                                       "version": 2, "of": 2}
    assert world.as_alice.get(f"/api/runs/{run['id']}/outputs/src.read/table/").json()["rows_total"] == 3
    read = next(n for n in run["nodes"] if n["node"] == "src.read")
    assert read["cached"] is False  # the file read changed: the inner node ran again


def test_an_import_inside_a_component_following_a_name_with_no_file_left_is_refused_naming_both_nodes(world,
                                                                                                     run_now):
    first = upload(world.as_alice, world.a, V1)
    pipeline = _component_pipeline(world, first, upload_version="newest")
    assert world.as_alice.delete(f"/api/uploads/{first}/?force=true").status_code == 204
    refused = run_now(world.as_alice, pipeline=pipeline)
    assert refused.status_code == 400 and refused.json()["code"] == "upload_gone", refused.json()
    entry = refused.json()["errors"][0]
    assert (entry["path"], entry["node"]) == ("graph.nodes[0].component.read.params.upload", "src")
    # (named by the file's name, which the studio keeps of a deleted upload; before, by the upload's id)
    assert "'src.read'" in entry["message"] and "follows the newest version of 'people.csv'" in entry["message"]


def _bobs_run(world, run_now, **params):
    graph = {"nodes": [node("mine", "import_csv", **params)], "edges": []}
    made = world.as_bob.post("/api/pipelines/", {"project": world.b.pk, "name": "probe", "graph": graph},
                             format="json")
    assert made.status_code == 201, made.json()
    return run_now(world.as_bob, pipeline=made.json()["id"])


def test_bobs_following_node_never_resolves_to_alices_upload(world, run_now):
    """A second account's probes, each already refused: bob follows alice's file by its name (as she spells it, in
    another case, by her upload's id, as a path, with a look-alike letter), or pins her upload by id. Nothing of hers
    is read, recorded on his run or named in his errors."""
    mine = upload(world.as_bob, world.b, V1)
    hers = upload(world.as_alice, world.a, V2, name="alice-secret.csv")
    upload(world.as_alice, world.a, V2, name="people.csv")  # newer than bob's, same name
    run = _bobs_run(world, run_now, upload=str(mine), upload_version="newest")
    assert run.status_code == 201, run.json()
    recorded = world.as_bob.get(f"/api/runs/{run.json()['id']}/").json()["uploads"]["mine"]
    assert (recorded["upload"], recorded["of"]) == (mine, 1)  # his own, the only one of its name in B
    for followed in ("alice-secret.csv", "ALICE-SECRET.csv", str(hers), f"../{world.a.pk}/alice-secret.csv",
                     "alice-s\u0435cret.csv"):  # (a Cyrillic e)
        refused = _bobs_run(world, run_now, upload=str(mine), upload_version="newest", upload_name=followed)
        assert refused.status_code == 400 and refused.json()["code"] == "upload_gone", (followed, refused.json())
        assert "no file of that name is left in the project" in refused.json()["message"]
    pinned = _bobs_run(world, run_now, upload=str(hers))
    run = world.as_bob.get(f"/api/runs/{pinned.json()['id']}/").json()
    assert run["status"] == "failed" and run["uploads"] == {}
    failed = next(n for n in run["nodes"] if n["node"] == "mine")
    # The same words as for his own deleted upload: what to do, and nothing about whose id it is.
    assert failed["error"] == {"message": f"no uploaded file with id '{hers}': it was deleted, or is not in this "
                                          "project; pick a file for this node again", "field": "upload"}


@pytest.mark.parametrize("params, field", [
    ({"upload_version": {"newest": True}}, "upload_version"), ({"upload_version": ["newest"]}, "upload_version"),
    ({"upload_version": "NEWEST"}, "upload_version"),
    ({"upload_version": "newest", "upload_name": ["x"]}, "upload_name"),
    ({"upload_version": "newest", "upload_name": "x" * 256}, "upload_name"), ({"upload": {"id": 1}}, "upload"),
])
def test_a_which_version_field_of_the_wrong_type_or_size_is_refused_naming_it(world, run_now, params, field):
    """Already refused when the run starts (the draft is kept), naming the node's field."""
    mine = upload(world.as_bob, world.b, V1)
    refused = _bobs_run(world, run_now, **{"upload": str(mine), **params})
    assert refused.status_code == 400, refused.json()
    assert refused.json()["errors"][0]["path"] == f"graph.nodes[0].params.{field}"


def test_an_upload_deleted_after_its_run_started_fails_that_node_naming_the_upload(
        world, django_capture_on_commit_callbacks):
    """The run resolved the newest when it started; deleting that upload before the worker reads it fails the node
    with an error naming `upload` (already so), not another file and not a 500."""
    first = upload(world.as_alice, world.a, V1)
    second = upload(world.as_alice, world.a, V2)
    pipeline = pipeline_reading(world, first, upload_version="newest", upload_name="people.csv")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = world.as_alice.post("/api/runs/", {"pipeline": pipeline}, format="json")
    assert started.status_code == 201 and started.json()["uploads"]["import"]["upload"] == second
    assert world.as_alice.delete(f"/api/uploads/{second}/?force=true").status_code == 204
    for callback in queued:
        callback()  # the worker takes the run now
    run = world.as_alice.get(f"/api/runs/{started.json()['id']}/").json()
    assert run["status"] == "failed"
    imported = next(n for n in run["nodes"] if n["node"] == "import")
    assert imported["error"]["field"] == "upload" and "'people.csv' was deleted" in imported["error"]["message"]


def test_a_name_sent_decomposed_is_the_same_name_and_its_upload_a_new_version(world, run_now):
    """A Mac's browser may send "café.csv" decomposed (e + U+0301): it was another name, so the file uploaded again
    from a Mac was "version 1 of 1" of a name that looks the same, and a following import kept reading the old one."""
    composed, decomposed = "caf\u00e9.csv", "cafe\u0301.csv"
    first = upload(world.as_alice, world.a, V1, name=composed)
    second = upload(world.as_alice, world.a, V2, name=decomposed)
    assert world.as_alice.get(f"/api/uploads/{second}/").json()["name"] == composed
    run = finished(world, run_now, pipeline_reading(world, first, upload_version="newest"))
    assert {k: run["uploads"]["import"][k] for k in ("upload", "version", "of")} == {"upload": second, "version": 2,
                                                                                     "of": 2}
    renamed = world.as_alice.patch(f"/api/uploads/{first}/", {"name": "nin\u0303o.csv"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "ni\u00f1o.csv"


def test_a_graph_following_a_decomposed_name_finds_the_composed_uploads(world, run_now):
    first = upload(world.as_alice, world.a, V1, name="caf\u00e9.csv")
    second = upload(world.as_alice, world.a, V2, name="caf\u00e9.csv")
    assert world.as_alice.delete(f"/api/uploads/{second}/").status_code == 204
    # saved before names were composed: the node keeps the decomposed name it follows
    pipeline = pipeline_reading(world, second, upload_version="newest", upload_name="cafe\u0301.csv")
    run = finished(world, run_now, pipeline)
    assert run["uploads"]["import"]["upload"] == first and rows(world, run) == 2


@pytest.mark.django_db(transaction=True)
def test_the_migration_composes_the_names_of_uploads_stored_decomposed(tmp_path):
    from django.db import connection as studio_db
    from django.db.migrations.executor import MigrationExecutor

    from studio.datasets.models import Upload

    executor = MigrationExecutor(studio_db)
    executor.migrate([("datasets", "0003_upload_preview")])
    old = executor.loader.project_state([("datasets", "0003_upload_preview")]).apps
    project = old.get_model("projects", "Project").objects.create(name="old")
    for name in ("cafe\u0301.csv", "plain.csv"):
        old.get_model("datasets", "Upload").objects.create(project=project, name=name, path=f"uploads/{name}",
                                                           size=1, sha256="0" * 64)
    executor = MigrationExecutor(studio_db)
    executor.migrate(executor.loader.graph.leaf_nodes())
    names = {u.name: u.path for u in Upload.objects.filter(project_id=project.pk)}
    assert names == {"caf\u00e9.csv": "uploads/cafe\u0301.csv", "plain.csv": "uploads/plain.csv"}
