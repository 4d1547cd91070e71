"""Deleting a pipeline or project that has runs, schedules or deployments (issue 12, item 7): 409 naming what
blocks it, never a 500; ?force=true from the project's owner deletes them with it."""
from __future__ import annotations

import pytest


@pytest.fixture
def with_run(world, run_now):
    response = run_now(world.as_alice, pipeline=world.pipeline.pk, mode="until", node="import")
    assert response.status_code == 201, response.content
    from studio.runs.models import Run

    run = Run.objects.get(pk=response.json()["id"])
    assert run.status == "succeeded", run.error
    return run


def _schedule(world):
    from studio.schedules.models import Schedule

    return Schedule.objects.create(project=world.a, pipeline=world.pipeline, name="nightly", cron="@daily")


def test_pipeline_with_runs_is_409_naming_them(world, with_run):
    _schedule(world)
    response = world.as_alice.delete(f"/api/pipelines/{world.pipeline.pk}/")
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "in_use"
    assert {e["code"]: e["message"] for e in body["errors"]} == {"has_runs": "1 run", "has_schedules": "1 schedule"}
    assert "force=true" in body["message"]
    from studio.workflows.models import Pipeline

    assert Pipeline.objects.filter(pk=world.pipeline.pk).exists()


def test_owner_forces_the_pipeline_delete_with_its_runs(world, with_run):
    from studio.runs.models import Run
    from studio.schedules.models import Schedule
    from studio.workflows.models import Pipeline

    _schedule(world)
    response = world.as_alice.delete(f"/api/pipelines/{world.pipeline.pk}/?force=true")
    assert response.status_code == 204, response.content
    assert not Pipeline.objects.filter(pk=world.pipeline.pk).exists()
    assert not Run.objects.filter(pk=with_run.pk).exists()
    assert not Schedule.objects.filter(pipeline_id=world.pipeline.pk).exists()


def test_an_editor_cannot_force(world, with_run):
    from studio.projects.models import Membership, Role

    Membership.objects.filter(project=world.a, user=world.carol).update(role=Role.EDITOR)
    response = world.as_carol.delete(f"/api/pipelines/{world.pipeline.pk}/?force=true")
    assert response.status_code == 403, response.content
    plain = world.as_carol.delete(f"/api/pipelines/{world.pipeline.pk}/")
    assert plain.status_code == 409


def test_another_projects_owner_cannot_delete_or_learn_anything(world, with_run):
    for url in (f"/api/pipelines/{world.pipeline.pk}/?force=true", f"/api/projects/{world.a.pk}/?force=true"):
        response = world.as_bob.delete(url)
        assert response.status_code == 404, response.content
    from studio.runs.models import Run

    assert Run.objects.filter(pk=with_run.pk).exists()


def test_active_runs_block_even_a_forced_delete(world, with_run):
    from studio.runs.models import Run

    Run.objects.filter(pk=with_run.pk).update(status="running")
    response = world.as_alice.delete(f"/api/pipelines/{world.pipeline.pk}/?force=true")
    assert response.status_code == 409, response.content
    assert response.json()["errors"][0]["code"] == "active_runs"


def test_pipeline_without_runs_deletes(world):
    response = world.as_alice.delete(f"/api/pipelines/{world.pipeline.pk}/")
    assert response.status_code == 204, response.content


def test_bad_force_value_is_400(world):
    response = world.as_alice.delete(f"/api/pipelines/{world.pipeline.pk}/?force=maybe")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "force"


def test_project_with_runs_and_deployments_is_409_then_forced(world, with_run, settings, tmp_path,
                                                              django_capture_on_commit_callbacks):
    from studio.deployments.models import Deployment
    from studio.projects.models import Project

    settings.SERVING_DIR = tmp_path / "serving"
    Deployment.objects.create(project=world.a, name="credit", created_by=world.alice)
    response = world.as_alice.delete(f"/api/projects/{world.a.pk}/")
    assert response.status_code == 409, response.content
    codes = {e["code"]: e["message"] for e in response.json()["errors"]}
    assert codes == {"has_runs": "1 run", "has_deployments": "1 deployment"}

    assert world.as_carol.delete(f"/api/projects/{world.a.pk}/?force=true").status_code == 403  # a viewer
    data_root = world.a.data_root
    assert data_root.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = world.as_alice.delete(f"/api/projects/{world.a.pk}/?force=true")
    assert response.status_code == 204, response.content
    assert not data_root.exists()  # its files go with it
    assert not Project.objects.filter(pk=world.a.pk).exists()
    assert not Deployment.objects.filter(name="credit").exists()
    assert Project.objects.filter(pk=world.b.pk).exists()
