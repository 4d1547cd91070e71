"""Uploads in the shared store (STUDIO_ARTIFACTS=s3://..., a real S3 server): a file uploaded through one web
replica is read by a worker whose data root never saw it; a file changed in the bucket is not used."""
from __future__ import annotations

import shutil

import pytest

from pipelines.objects import S3Objects

from .conftest import node
from .test_api import csv_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(settings, s3_url):
    settings.ARTIFACTS_URL = s3_url
    return S3Objects.from_url(s3_url)


def pipeline_reading(world, path: str) -> int:
    graph = {"nodes": [node("import", "import_csv", path=path)], "edges": []}
    return world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": path[-12:], "graph": graph},
                               format="json").json()["id"]


def test_an_upload_is_read_by_a_worker_on_another_machine_and_deleted_everywhere(world, run_now, shared):
    upload = world.as_alice.post("/api/uploads/", {"project": world.a.pk, "file": csv_file()},
                                 format="multipart").json()
    key = f"data/projects/{world.a.pk}/{upload['path']}"
    assert shared.get(key) == b"id,age\n1,30\n2,41\n"
    shutil.rmtree(world.a.data_root / "uploads")  # the worker's machine: a data root of its own
    run = run_now(world.as_alice, pipeline=pipeline_reading(world, upload["path"])).json()
    run = world.as_alice.get(f"/api/runs/{run['id']}/").json()
    assert run["status"] == "succeeded", (run["error"], run["nodes"])
    assert world.as_alice.get(f"/api/runs/{run['id']}/outputs/import/table/").json()["rows"] == [[1, 30], [2, 41]]

    assert world.as_bob.delete(f"/api/uploads/{upload['id']}/").status_code == 404  # another project's owner
    assert shared.exists(key)
    assert world.as_alice.delete(f"/api/uploads/{upload['id']}/").status_code == 204
    assert not shared.exists(key)


def test_an_upload_changed_in_the_bucket_is_not_used(world, run_now, shared):
    upload = world.as_alice.post("/api/uploads/", {"project": world.a.pk, "file": csv_file()},
                                 format="multipart").json()
    shared.put(f"data/projects/{world.a.pk}/{upload['path']}", b"id,age\n1,99\n2,41\n")  # same size, other rows
    shutil.rmtree(world.a.data_root / "uploads")
    run = run_now(world.as_alice, pipeline=pipeline_reading(world, upload["path"])).json()
    run = world.as_alice.get(f"/api/runs/{run['id']}/").json()
    assert run["status"] == "failed"
    events = world.as_alice.get(f"/api/runs/{run['id']}/events/").json()
    [failed] = [e for e in events if e["type"] == "node_failed"]
    assert failed["node"] == "import" and "people.csv" in str(failed["data"]), failed
    assert not (world.a.data_root / upload["path"]).exists()
