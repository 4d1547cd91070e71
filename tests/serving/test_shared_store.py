"""Bundles and the serving registry in the shared store (STUDIO_ARTIFACTS=s3://..., a real S3 server): a model
trained and published on one machine is served by a serving process on another machine, which shares nothing
with the first but the bucket; a new version reaches it the same way; a rollback on a web replica that never
saw the bundle fetches it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelines.bundle import load_bundle, table_to_columns
from pipelines.objects import SHARED_REGISTRY, RegistryMirror, S3Objects, fetch_bundle, share_bundle, share_registry

from .conftest import serving_process, v2_json
from .test_deployments import finished_run, studio, studio_bundle  # noqa: F401 (the fixture)


@pytest.fixture
def shared_studio(studio, settings, s3_url, monkeypatch):  # noqa: F811
    settings.ARTIFACTS_URL = s3_url
    studio.s3_url = s3_url
    studio.objects = S3Objects.from_url(s3_url)
    return studio


def probability(server, columns, spec):
    status, answer = server.post_json("/v2/models/credit/infer", v2_json(columns, spec))
    assert status == 200, answer
    return answer["model_version"], next(o for o in answer["outputs"] if o["name"] == "probability")["data"][0]


def test_a_model_published_on_one_machine_is_served_by_a_replica_on_another(shared_studio, tmp_path):
    from studio.runs.worker import artifact_store

    studio = shared_studio  # noqa: F811
    run1, result1 = finished_run(studio, seed=1, store=artifact_store())
    run2, _ = finished_run(studio, seed=2, store=artifact_store())
    replica = tmp_path / "replica"  # another machine: its own data dir, nothing but the bucket in common
    replica.mkdir()
    with serving_process(replica, {"STUDIO_ARTIFACTS": studio.s3_url}) as server:
        answer = studio.as_alice.post("/api/deployments/publish/", {"run": run1.pk, "name": "credit"}, format="json")
        assert answer.status_code == 201, answer.json()
        assert studio.objects.exists(SHARED_REGISTRY)
        server.wait_for(lambda: server.get("/v2/models/credit")[0] == 200, what="version 1 on the replica")
        bundle1 = load_bundle(studio_bundle(studio, 1))
        columns = table_to_columns(result1.output("split", "second").head(1), bundle1.input_spec)
        version, served = probability(server, columns, bundle1.input_spec)
        assert version == "1" and served == pytest.approx(bundle1.predict(columns, 1)["probability"][0], abs=1e-12)
        fetched = replica / "var" / "serving" / "bundles" / "credit" / Path(studio_bundle(studio, 1)).name
        assert (fetched / "manifest.json").is_file()  # the replica's own copy, fetched from the bucket

        answer = studio.as_alice.post("/api/deployments/publish/", {"run": run2.pk, "name": "credit"}, format="json")
        assert answer.status_code == 201
        server.wait_for(lambda: probability(server, columns, bundle1.input_spec)[0] == "2", what="version 2 live")
        bundle2 = load_bundle(studio_bundle(studio, 2))
        assert probability(server, columns, bundle1.input_spec)[1] == pytest.approx(
            bundle2.predict(columns, 1)["probability"][0], abs=1e-12)

        # a web replica that never saw version 1's bundle rolls back to it: fetched from the bucket, verified
        shutil.rmtree(studio_bundle(studio, 1))
        deployment = answer.json()["id"]
        answer = studio.as_alice.post(f"/api/deployments/{deployment}/rollback/", {"version": 1}, format="json")
        assert answer.status_code == 200, answer.json()
        assert (Path(studio_bundle(studio, 1)) / "manifest.json").is_file()
        server.wait_for(lambda: probability(server, columns, bundle1.input_spec)[0] == "1", what="rollback live")


def test_a_bundle_edited_in_the_bucket_is_refused_by_the_replica_which_keeps_the_live_version(
        s3_url, bundles, tmp_path):
    objects = S3Objects.from_url(s3_url)
    studio_dir = tmp_path / "studio" / "bundles" / "credit"
    local = {v: shutil.copytree(path, studio_dir / f"{v}-x") for v, path in bundles.items()}
    for folder in local.values():
        share_bundle(objects, folder)
    registry = {"credit": {"live": "1", "versions": {"1": {"bundle": str(local["1"])}}}}
    share_registry(objects, registry)
    mirror = RegistryMirror(objects, tmp_path / "replica")
    assert mirror.refresh()
    mirrored = json.loads(mirror.registry_path.read_text())["models"]["credit"]
    assert load_bundle(mirrored["versions"]["1"]["bundle"]).version == "1"
    assert not mirror.refresh()  # unchanged registry: one HEAD, nothing fetched

    key = "bundles/credit/2-x/model/" + next(p.name for p in (local["2"] / "model").iterdir())
    objects.put(key, objects.get(key) + b"\n")  # tampered in the bucket before it goes live
    share_registry(objects, {"credit": {"live": "2", "versions": {v: {"bundle": str(p)} for v, p in local.items()}}})
    assert mirror.refresh()
    mirrored = json.loads(mirror.registry_path.read_text())["models"]["credit"]
    from pipelines.bundle import BundleRefused

    with pytest.raises(BundleRefused, match="was changed after the bundle was written"):
        load_bundle(mirrored["versions"]["2"]["bundle"])


@pytest.mark.parametrize("key", ["bundles/credit/../../../etc", "objects/ab/abc", "bundles/credit", "/etc/passwd"])
def test_a_registry_cannot_point_a_replica_outside_its_bundles(s3_url, tmp_path, key):
    with pytest.raises(ValueError, match="is not a bundle's key"):
        fetch_bundle(S3Objects.from_url(s3_url), key, tmp_path)


def test_a_second_account_reaches_nothing_in_the_bucket_through_the_api(shared_studio):
    """bob owns project B: he cannot publish alice's run, roll back her deployment or choose where a bundle goes
    in the bucket; what he tried leaves no object; the shared registry carries no setting of the studio."""
    from studio.runs.worker import artifact_store

    studio = shared_studio  # noqa: F811
    run, _ = finished_run(studio, seed=1, store=artifact_store())
    body = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": "credit"}, format="json").json()
    before = studio.objects.keys("bundles/") + studio.objects.keys("serving/")
    assert studio.as_bob.post("/api/deployments/publish/", {"run": run.pk, "name": "bobs"},
                              format="json").status_code == 404
    assert studio.as_bob.post(f"/api/deployments/{body['id']}/rollback/", {"version": 1},
                              format="json").status_code == 404
    for name in ("../objects", "credit/../../x", "CREDIT"):
        answer = studio.as_alice.post("/api/deployments/publish/", {"run": run.pk, "name": name}, format="json")
        assert answer.status_code == 400 and answer.json()["errors"][0]["path"] == "name"
    assert studio.objects.keys("bundles/") + studio.objects.keys("serving/") == before
    registry = studio.objects.get(SHARED_REGISTRY).decode()
    from django.conf import settings

    assert settings.SECRET_KEY not in registry and "postgres" not in registry and "AWS" not in registry
    assert all(key.startswith("bundles/credit/") for key in studio.objects.keys("bundles/"))
