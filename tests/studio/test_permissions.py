"""Object permissions by project membership: a member of project B gets 404 on everything of project A
(pipelines, versions, runs, events, artifacts, uploads, connections, members), sees none of it in lists,
and cannot use it as a reference; a viewer of A reads but cannot change."""
from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def a_objects(world, fast_pipeline, run_now):
    """One of everything in project A, made by its owner."""
    handle = io.BytesIO(b"x,y\n1,2\n")
    handle.name = "t.csv"
    upload = world.as_alice.post("/api/uploads/", {"project": world.a.pk, "file": handle}, format="multipart").json()
    connection = world.as_alice.post("/api/connections/", {"project": world.a.pk, "name": "db",
                                                           "url": "postgresql://db.example/x"}, format="json").json()
    run = run_now(world.as_alice, pipeline=fast_pipeline.pk).json()
    member = world.as_alice.get(f"/api/projects/{world.a.pk}/members/").json()["results"][0]
    p = fast_pipeline.pk
    reads = [f"/api/projects/{world.a.pk}/", f"/api/projects/{world.a.pk}/members/",
             f"/api/projects/{world.a.pk}/members/{member['id']}/",
             f"/api/pipelines/{p}/", f"/api/pipelines/{p}/versions/", f"/api/pipelines/{p}/versions/1/",
             f"/api/pipelines/{p}/export/", f"/api/pipelines/{p}/script/", f"/api/pipelines/{p}/diff/?a=1&b=1",
             f"/api/runs/{run['id']}/", f"/api/runs/{run['id']}/events/",
             f"/api/runs/{run['id']}/outputs/split/first/", f"/api/runs/{run['id']}/outputs/add/out/",
             f"/api/uploads/{upload['id']}/", f"/api/connections/{connection['id']}/"]
    writes = [("patch", f"/api/projects/{world.a.pk}/", {"name": "x"}),
              ("delete", f"/api/projects/{world.a.pk}/", None),
              ("post", f"/api/projects/{world.a.pk}/members/", {"username": "bob", "role": "owner"}),
              ("patch", f"/api/pipelines/{p}/", {"name": "x"}), ("delete", f"/api/pipelines/{p}/", None),
              ("post", f"/api/pipelines/{p}/versions/1/restore/", None),
              ("post", f"/api/runs/{run['id']}/cancel/", None),
              ("delete", f"/api/uploads/{upload['id']}/", None),
              ("patch", f"/api/connections/{connection['id']}/", {"name": "y"}),
              ("delete", f"/api/connections/{connection['id']}/", None)]
    return reads, writes


def test_other_projects_objects_are_404(world, a_objects):
    reads, writes = a_objects
    for url in reads:
        assert world.as_alice.get(url).status_code == 200, url  # they exist...
        response = world.as_bob.get(url)
        assert response.status_code == 404, url  # ...but not for a member of B
        assert response.json()["code"] == "not_found"
    for method, url, body in writes:
        assert getattr(world.as_bob, method)(url, body, format="json").status_code == 404, (method, url)
    assert world.as_alice.get(reads[3]).status_code == 200  # nothing was changed or deleted


def test_lists_show_only_your_projects(world, a_objects):
    for url in ("/api/pipelines/", "/api/runs/", "/api/uploads/", "/api/connections/"):
        assert world.as_bob.get(url).json()["results"] == [], url
        assert world.as_bob.get(f"{url}?project={world.a.pk}").json()["results"] == [], url
    assert [p["name"] for p in world.as_bob.get("/api/projects/").json()["results"]] == ["B"]


def test_other_projects_cannot_be_referenced(world, fast_pipeline):
    handle = io.BytesIO(b"x\n1\n")
    handle.name = "t.csv"
    attempts = [("/api/pipelines/", {"project": world.a.pk, "name": "x", "graph": {"nodes": [], "edges": []}}, "json"),
                ("/api/pipelines/import/", {"project": world.a.pk, "graph": {"nodes": [], "edges": []}}, "json"),
                ("/api/connections/", {"project": world.a.pk, "name": "x", "url": "postgresql://db.example/x"}, "json"),
                ("/api/uploads/", {"project": world.a.pk, "file": handle}, "multipart"),
                ("/api/runs/", {"pipeline": fast_pipeline.pk}, "json")]
    for url, body, fmt in attempts:
        response = world.as_bob.post(url, body, format=fmt)
        assert response.status_code == 400, url
        assert {e["path"] for e in response.json()["errors"]} <= {"project", "pipeline"}, url
        assert "does not exist" in response.json()["message"], url


def test_viewer_reads_but_does_not_change(world, a_objects, fast_pipeline):
    reads, writes = a_objects
    for url in reads:
        assert world.as_carol.get(url).status_code == 200, url
    for method, url, body in writes:
        assert getattr(world.as_carol, method)(url, body, format="json").status_code == 403, (method, url)
    run = world.as_carol.post("/api/runs/", {"pipeline": fast_pipeline.pk}, format="json")
    assert run.status_code == 403
