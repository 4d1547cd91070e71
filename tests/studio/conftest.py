"""Fixtures of the studio suite: users in two projects, token-authenticated API clients, the demo pipeline,
and a queue that executes a run in-process at commit (huey immediate mode) for the API tests. The live
tests (test_live.py) start real daphne and worker processes instead."""
from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import DEMO_PIPELINE


@pytest.fixture(autouse=True)
def studio_dirs(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users for tests
    settings.DATA_ROOT = tmp_path / "data"
    settings.ARTIFACT_DIR = tmp_path / "artifacts"
    # A cache of its own per test (login failure counts); never clear() a shared Redis.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": str(tmp_path)}}
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield tmp_path
    HUEY.immediate = False


@pytest.fixture
def demo_graph() -> dict:
    return json.loads(DEMO_PIPELINE.read_text())


def make_user(name: str, *, superuser: bool = False):
    from django.contrib.auth import get_user_model

    model = get_user_model()
    if superuser:
        return model.objects.create_superuser(name, f"{name}@example.invalid", "pw-" + name)
    return model.objects.create_user(name, f"{name}@example.invalid", "pw-" + name)


def client_for(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def world(db, demo_csv, demo_graph):
    """alice owns project A (with the demo pipeline and its data), bob owns project B; carol views A."""
    from studio.projects.models import Membership, Project, Role
    from studio.workflows.models import Pipeline

    import pipelines

    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    a = Project.objects.create(name="A", created_by=alice)
    b = Project.objects.create(name="B", created_by=bob)
    Membership.objects.create(project=a, user=alice, role=Role.OWNER)
    Membership.objects.create(project=a, user=carol, role=Role.VIEWER)
    Membership.objects.create(project=b, user=bob, role=Role.OWNER)
    (a.data_root / "data").mkdir(parents=True)
    shutil.copy(demo_csv, a.data_root / "data" / "credit_default.csv")
    pipeline = Pipeline.objects.create(project=a, name="demo", created_by=alice)
    pipeline.save_graph(pipelines.from_json(demo_graph), alice)

    class World:
        pass

    w = World()
    w.alice, w.bob, w.carol, w.a, w.b, w.pipeline = alice, bob, carol, a, b, pipeline
    w.as_alice, w.as_bob, w.as_carol = client_for(alice), client_for(bob), client_for(carol)
    return w


@pytest.fixture
def run_now(django_capture_on_commit_callbacks):
    """POST a run and let the in-process queue execute it when the request's transaction commits."""

    def start(client, **body):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/runs/", body, format="json")
        return response

    return start


def node(node_id, operator, **params):
    return {"id": node_id, "operator": operator, "params": params, "position": {"x": 0, "y": 0}}


def edge(source, source_port, target, target_port):
    return {"source": source, "source_port": source_port, "target": target, "target_port": target_port}


def fast_graph(path: str = "data/credit_default.csv", value: int = 3) -> dict:
    """Two quick branches: a CSV import and split (tables), and test operators (metrics)."""
    import tests.pipelines.testing_operators  # noqa: F401  (registers test_emit, test_add_one)

    return {"name": "fast", "nodes": [node("import", "import_csv", path=path), node("split", "split_random", ratio=0.5),
                                      node("emit", "test_emit", value=value), node("add", "test_add_one")],
            "edges": [edge("import", "table", "split", "table"), edge("emit", "out", "add", "in")]}


@pytest.fixture
def fast_pipeline(world):
    from studio.workflows.models import Pipeline

    import pipelines

    pipeline = Pipeline.objects.create(project=world.a, name="fast", created_by=world.alice)
    pipeline.save_graph(pipelines.from_json(fast_graph()), world.alice)
    return pipeline
