"""Identity fields never change after creation (issue 12, item 2): a deployment's project and name, a pipeline's
project, a connection's project, an upload's project, a run's pipeline. The refusal reads the same whether the
other project exists or not, so it cannot be used to enumerate project ids."""
from __future__ import annotations

import pytest

from studio.core.serializers import IdentityFieldsMixin


@pytest.fixture
def deployment(world):
    from studio.deployments.models import Deployment

    return Deployment.objects.create(project=world.a, name="credit", created_by=world.alice)


def _refused(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert [e["path"] for e in body["errors"]] == [field], body
    return body


def test_deployment_cannot_move_to_another_project(world, deployment):
    to_bob = _refused(world.as_alice.patch(f"/api/deployments/{deployment.pk}/", {"project": world.b.pk},
                                           format="json"), "project")
    to_nowhere = _refused(world.as_alice.patch(f"/api/deployments/{deployment.pk}/", {"project": 987654},
                                               format="json"), "project")
    assert to_bob == to_nowhere  # the same words for a project that exists and one that does not
    deployment.refresh_from_db()
    assert deployment.project_id == world.a.pk


def test_deployment_cannot_be_renamed(world, deployment):
    _refused(world.as_alice.patch(f"/api/deployments/{deployment.pk}/", {"name": "other"}, format="json"), "name")
    deployment.refresh_from_db()
    assert deployment.name == "credit"


def test_deployment_description_still_changes_and_same_identity_passes(world, deployment):
    response = world.as_alice.patch(f"/api/deployments/{deployment.pk}/", {
        "description": "new words", "project": world.a.pk, "name": "credit"}, format="json")
    assert response.status_code == 200, response.content
    deployment.refresh_from_db()
    assert deployment.description == "new words"


def test_pipeline_cannot_move_to_another_project(world):
    url = f"/api/pipelines/{world.pipeline.pk}/"
    to_bob = _refused(world.as_alice.patch(url, {"project": world.b.pk}, format="json"), "project")
    to_nowhere = _refused(world.as_alice.patch(url, {"project": 987654}, format="json"), "project")
    assert to_bob == to_nowhere
    world.pipeline.refresh_from_db()
    assert world.pipeline.project_id == world.a.pk
    # A client that sends the whole pipeline back (the canvas does) keeps working.
    response = world.as_alice.patch(url, {"project": world.a.pk, "name": "renamed"}, format="json")
    assert response.status_code == 200, response.content


def test_bob_cannot_pull_alices_pipeline_into_his_project(world):
    """The attacker's own project as the target, on an object he cannot see: 404, nothing moves."""
    response = world.as_bob.patch(f"/api/pipelines/{world.pipeline.pk}/", {"project": world.b.pk}, format="json")
    assert response.status_code == 404
    world.pipeline.refresh_from_db()
    assert world.pipeline.project_id == world.a.pk


def test_upload_project_cannot_change(world):
    """An upload has no PUT; PATCH renames it, and a project sent with it (alone or with a name) is a 400 that
    changes nothing and reads the same whether the other project exists or not."""
    from studio.datasets.models import Upload

    upload = Upload.objects.create(project=world.a, name="x.csv", path="uploads/x/x.csv", size=1, sha256="0" * 64,
                                   content_type="csv")
    url = f"/api/uploads/{upload.pk}/"
    response = world.as_alice.put(url, {"project": world.b.pk}, format="json")
    assert response.status_code == 405, response.content
    assert response.json()["code"] == "method_not_allowed"
    bodies = []
    for project in (world.b.pk, 999_999):
        for body in ({"project": project}, {"project": project, "name": "y.csv"}):
            response = world.as_alice.patch(url, body, format="json")
            assert response.status_code == 400, response.content
            if "name" in body:  # alone, the missing name is the first error; with one, the project is refused
                assert [e["path"] for e in response.json()["errors"]] == ["project"], response.content
                bodies.append(response.json())
    assert bodies[0] == bodies[1]  # another project and a missing one are refused alike
    upload.refresh_from_db()
    assert (upload.project_id, upload.name) == (world.a.pk, "x.csv")
    response = world.as_alice.patch(url, {"project": world.a.pk, "name": "y.csv"}, format="json")
    assert response.status_code == 200, response.content  # the same project sent back is no change
    upload.refresh_from_db()
    assert (upload.project_id, upload.name) == (world.a.pk, "y.csv")


def test_run_pipeline_cannot_change(world, fast_pipeline, run_now):
    run = run_now(world.as_alice, pipeline=world.pipeline.pk, mode="until", node="import")
    assert run.status_code == 201, run.content
    for method in ("put", "patch"):
        response = getattr(world.as_alice, method)(f"/api/runs/{run.json()['id']}/", {"pipeline": fast_pipeline.pk},
                                                   format="json")
        assert response.status_code == 405, response.content
    from studio.runs.models import Run

    assert Run.objects.get(pk=run.json()["id"]).pipeline_id == world.pipeline.pk


def test_connection_project_cannot_change(world):
    from studio.datasets.models import Connection

    connection = Connection(project=world.a, name="warehouse")
    connection.url = "postgresql://u@db.example.invalid/x"
    connection.save()
    to_bob = _refused(world.as_alice.patch(f"/api/connections/{connection.pk}/", {"project": world.b.pk},
                                           format="json"), "project")
    to_nowhere = _refused(world.as_alice.patch(f"/api/connections/{connection.pk}/", {"project": 987654},
                                               format="json"), "project")
    assert to_bob == to_nowhere


def test_every_project_scoped_serializer_with_a_writable_project_guards_it():
    """A new serializer that lets `project` be written must list it as an identity field."""
    from studio.datasets.api.serializers import ConnectionSerializer
    from studio.deployments.api.serializers import DeploymentSerializer
    from studio.workflows.api.serializers import ComponentSerializer, PipelineSerializer

    for serializer in (ConnectionSerializer, DeploymentSerializer, PipelineSerializer, ComponentSerializer):
        assert issubclass(serializer, IdentityFieldsMixin)
        assert "project" in serializer.identity_fields
