"""The artifact store over an object store (pipelines/objects.py) passes the filesystem store's tests: the same
round trips, the same verification, the same discard; against a folder of objects and a real S3 server (moto's
server mode on a free port). Another machine is another local cache folder over the same shared store."""
from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pipelines
from operators import FeatureMatrix, Fitted, PortType, Report
from pipelines.objects import LocalObjects, ObjectArtifactStore, S3Objects, artifact_key, open_artifact_store
from pipelines.store import ArtifactCorrupt, ArtifactMissing, FileSystemStore
from tests.conftest import DEMO_PIPELINE

KINDS = ["folder", "objects-in-a-folder", "s3"]


class Shared:
    """One shared store and a way to open it from as many machines (local cache folders) as a test wants."""

    def __init__(self, kind: str, tmp_path: Path, request):
        self.kind, self.tmp = kind, tmp_path
        if kind == "folder":
            self.location = tmp_path / "artifacts"
        elif kind == "objects-in-a-folder":
            self.location = tmp_path / "bucket"
        else:
            self.location = request.getfixturevalue("s3_url")
        self.machines = 0

    def machine(self) -> FileSystemStore:
        self.machines += 1
        cache = self.tmp / f"machine-{self.machines}"
        if self.kind == "folder":
            return FileSystemStore(self.location)
        if self.kind == "objects-in-a-folder":
            return ObjectArtifactStore(LocalObjects(self.location), cache)
        return open_artifact_store(self.location, cache)

    @contextmanager
    def shared_files(self, store, fingerprint: str):
        """The artifact's files as the shared store holds them, to edit in place (what an attacker with write
        access to the bucket, or a bit flip, does)."""
        if self.kind == "folder":
            yield store.path(fingerprint)
            return
        objects, folder = store.objects, self.tmp / "edit" / fingerprint
        shutil.rmtree(folder, ignore_errors=True)
        before = objects.keys(artifact_key(fingerprint))
        for key in before:
            objects.download(key, folder / key.removeprefix(artifact_key(fingerprint)))
        yield folder
        after = {artifact_key(fingerprint, str(p.relative_to(folder))) for p in folder.rglob("*") if p.is_file()}
        for key in set(before) - after:
            objects.delete(key)
        for key in after:
            objects.upload(folder / key.removeprefix(artifact_key(fingerprint)), key)


@pytest.fixture(params=KINDS)
def shared(request, tmp_path) -> Shared:
    return Shared(request.param, tmp_path, request)


def edit_json(path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_every_port_type_round_trips_and_another_machine_reads_it(shared):
    writer = shared.machine()
    table = pd.DataFrame({"x": [1.5, 2.5, None], "s": ["a", None, "c"]})
    fitted = Fitted("lr", {"intercept": 0.25}, {"coef": np.array([1.0, -2.0])}, {"model": "tree text"})
    features = FeatureMatrix(np.array([[1.0, 0.0], [0.0, 1.0]]), ["a", "b"], np.array([0, 1]), "y", [])
    values = {PortType.TABLE: table, PortType.MODEL: fitted, PortType.FEATURES: features,
              PortType.METRICS: {"auc": 0.75}, PortType.REPORT: Report({"f": {"data": []}}, {}, "text")}
    for port_type, value in values.items():
        assert not writer.exists(f"fp-{port_type.value}")
        meta = writer.save(f"fp-{port_type.value}", port_type, value)
        assert meta["type"] == port_type.value and writer.exists(f"fp-{port_type.value}")

    reader = shared.machine()
    pd.testing.assert_frame_equal(reader.load("fp-table"), table)
    assert reader.profile("fp-table")["rows"] == 3
    model = reader.load("fp-model")
    assert (model.kind, model.meta, model.texts) == ("lr", {"intercept": 0.25}, {"model": "tree text"})
    np.testing.assert_array_equal(model.arrays["coef"], [1.0, -2.0])
    np.testing.assert_array_equal(reader.load("fp-features").X, features.X)
    assert reader.load("fp-metrics") == {"auc": 0.75}
    assert reader.load("fp-report").text == "text"
    with pytest.raises(ArtifactMissing):
        reader.load("fp-never-written")


@pytest.mark.parametrize("tamper, reason", [
    (lambda d: edit_json(d / "value.json", lambda v: v.update(auc=0.999)), "file value.json was changed"),
    (lambda d: (d / "value.json").unlink(), "file value.json cannot be read"),
    (lambda d: edit_json(d / "meta.json", lambda m: m.update(keys=["auc", "x"])), "meta.json was changed"),
    (lambda d: edit_json(d / "meta.json", lambda m: [m.pop("files"), m.pop("sha256")]), "carries no hashes"),
    (lambda d: (d / "meta.json").write_text("{not json"), "meta.json cannot be read"),
])
def test_an_artifact_changed_in_the_shared_store_is_refused(shared, tamper, reason):
    writer = shared.machine()
    writer.save("fp-metrics", PortType.METRICS, {"auc": 0.75})
    with shared.shared_files(writer, "fp-metrics") as folder:
        tamper(folder)
    with pytest.raises(ArtifactCorrupt, match=reason):
        shared.machine().load("fp-metrics")


def test_a_local_copy_changed_on_disk_is_refused_like_the_shared_one(shared):
    store = shared.machine()
    store.save("fp-metrics", PortType.METRICS, {"auc": 0.75})
    assert store.load("fp-metrics") == {"auc": 0.75}
    edit_json(store.path("fp-metrics") / "value.json", lambda v: v.update(auc=0.999))
    with pytest.raises(ArtifactCorrupt, match="file value.json was changed"):
        store.load("fp-metrics")


def test_discard_removes_an_artifact_for_every_machine_so_it_can_be_written_again(shared):
    first, second = shared.machine(), shared.machine()
    first.save("fp", PortType.METRICS, {"v": 1})
    assert second.load("fp") == {"v": 1}  # second now holds a local copy
    first.discard("fp")
    assert not first.exists("fp") and not second.exists("fp")
    with pytest.raises(ArtifactMissing):
        second.load("fp")
    first.discard("fp")  # nothing there: no error
    first.save("fp", PortType.METRICS, {"v": 2})
    assert second.load("fp") == {"v": 2}  # not the stale local copy of version 1


def test_the_demo_pipeline_runs_on_one_machine_and_is_cached_on_another(shared, data_root):
    first = pipelines.run(DEMO_PIPELINE, store=shared.machine(), data_root=data_root)
    assert first.status == "succeeded"
    second = pipelines.run(DEMO_PIPELINE, store=shared.machine(), data_root=data_root)
    assert {r.status for r in second.nodes.values()} == {"cached"}
    assert second.metrics["evaluate"]["auc"] == first.metrics["evaluate"]["auc"]


def test_studio_artifacts_selects_the_s3_store_for_a_script_run(s3_url, data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("STUDIO_ARTIFACTS", s3_url)
    monkeypatch.setenv("STUDIO_ARTIFACT_CACHE", str(tmp_path / "cache"))
    result = pipelines.run(DEMO_PIPELINE, data_root=data_root)
    assert result.status == "succeeded"
    fingerprint = result.nodes["evaluate"].outputs["metrics"]
    objects = S3Objects.from_url(s3_url)
    assert objects.exists(artifact_key(fingerprint, "meta.json"))
    assert json.loads(objects.get(artifact_key(fingerprint, "value.json")))["auc"] == result.metrics["evaluate"]["auc"]


def test_object_keys_cannot_leave_a_folder_store(tmp_path):
    objects = LocalObjects(tmp_path / "bucket")
    (tmp_path / "secret").write_text("x")
    for key in ("../secret", "a/../../secret"):
        with pytest.raises(ValueError, match="leaves the store"):
            objects.get(key)


def test_a_meta_json_in_the_bucket_cannot_write_outside_the_local_copy(s3_url, tmp_path):
    store = open_artifact_store(s3_url, tmp_path / "machine")
    store.save("fp", PortType.METRICS, {"v": 1})
    meta = json.loads(store.objects.get(artifact_key("fp", "meta.json")))
    meta["files"]["../../../escaped.json"] = meta["files"]["value.json"]
    store.objects.put(artifact_key("fp", "meta.json"), json.dumps(meta).encode())
    with pytest.raises(ArtifactCorrupt, match="outside the artifact"):
        open_artifact_store(s3_url, tmp_path / "other").load("fp")
    assert not list(tmp_path.rglob("escaped.json"))
