"""Object stores: where artifacts, bundles and the serving registry live when several machines share them.

`STUDIO_ARTIFACTS=s3://bucket/prefix` selects an S3-compatible store (AWS S3, MinIO, Ceph, moto's server in the
tests; the endpoint from `STUDIO_S3_ENDPOINT`, credentials from the usual `AWS_*` variables); anything else is a
folder, the embedded default. Under the URL's prefix:

    objects/ab/<fingerprint>/...     artifacts (pipelines.store layout, meta.json written last)
    bundles/<name>/<id>/...          published model bundles
    serving/registry.json            the table of live deployments every serving replica follows

`ObjectArtifactStore` is the artifact store over an object store: every machine keeps a local copy of what it
read or wrote (its cache folder), checked against the shared meta.json on every load, so a machine never uses
a stale or edited copy. The store's truth is the object store; a local copy is only a cache.

Spark's executors write and read a table artifact at the driver's local path of it: with a Spark cluster that
path must be on a folder every Spark worker mounts at the same place (STUDIO_DATA_DIR on a shared volume). Reading
s3a:// URLs directly needs the hadoop-aws and AWS SDK jars on Spark's class path, which a machine with no network
at run time cannot download; docker/README.md says how to add them to a cluster's image.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from .store import META, ArtifactCorrupt, ArtifactMissing, FileSystemStore, PortType

log = logging.getLogger("pipelines.objects")


class ObjectStore(Protocol):
    """Keys are '/'-separated paths under the store's root (or prefix)."""

    def url(self, key: str = "") -> str: ...

    def exists(self, key: str) -> bool: ...

    def get(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError if there is none."""

    def put(self, key: str, data: bytes) -> None: ...

    def upload(self, path: Path, key: str) -> None: ...

    def download(self, key: str, path: Path) -> None: ...

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix` (a folder: ends with '/'), as full keys, sorted."""

    def delete(self, prefix: str) -> None:
        """Remove every object under `prefix`."""

    def version(self, key: str) -> str | None:
        """A cheap token that changes when the object changes (S3's ETag); None if there is no object."""


class LocalObjects:
    """An object store that is a folder (the embedded default, and a shared volume mounted on every machine)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"object key {key!r} leaves the store")
        return self.root.joinpath(*parts)

    def url(self, key: str = "") -> str:
        return str(self._path(key))

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, path)  # whole or not at all, like an S3 PUT

    def upload(self, path: Path, key: str) -> None:
        self.put(key, Path(path).read_bytes())

    def download(self, key: str, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._path(key), path)

    def keys(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.is_dir():
            return []
        start = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        return sorted(start + str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())

    def delete(self, prefix: str) -> None:
        path = self._path(prefix)
        if path.is_file():
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)

    def version(self, key: str) -> str | None:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            return None
        return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


class S3Objects:
    """An S3-compatible bucket (boto3). `STUDIO_S3_ENDPOINT` points at MinIO or any other S3 server."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint: str | None = None, client: Any = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3", endpoint_url=endpoint or os.environ.get("STUDIO_S3_ENDPOINT") or None,
                region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                config=Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 5, "mode": "standard"},
                              max_pool_connections=32))
        self.client = client

    @classmethod
    def from_url(cls, url: str, **kwargs) -> S3Objects:
        rest = url.removeprefix("s3://")
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"{url!r} names no bucket (expected s3://bucket/prefix)")
        return cls(bucket, prefix, **kwargs)

    def _key(self, key: str) -> str:
        key = key.lstrip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(self.url(key)) from None

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def upload(self, path: Path, key: str) -> None:
        self.client.upload_file(str(path), self.bucket, self._key(key))

    def download(self, key: str, path: Path) -> None:
        from botocore.exceptions import ClientError

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, self._key(key), str(path))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(self.url(key)) from None
            raise

    def keys(self, prefix: str) -> list[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            found += [item["Key"][strip:] for item in page.get("Contents", [])]
        return sorted(found)

    def delete(self, prefix: str) -> None:
        keys = self.keys(prefix)
        for start in range(0, len(keys), 1000):  # S3 deletes at most 1000 keys a request
            self.client.delete_objects(Bucket=self.bucket, Delete={
                "Objects": [{"Key": self._key(k)} for k in keys[start:start + 1000]], "Quiet": True})

    def version(self, key: str) -> str | None:
        head = self._head(key)
        return None if head is None else head["ETag"]


def is_object_url(location: str | Path | None) -> bool:
    return str(location or "").startswith("s3://")


def open_objects(location: str | Path) -> ObjectStore:
    return S3Objects.from_url(str(location)) if is_object_url(location) else LocalObjects(location)


def shared_objects(location: str | Path | None = None) -> ObjectStore | None:
    """The object store every machine shares, when `location` (default $STUDIO_ARTIFACTS) is an s3:// URL;
    None on one machine (artifacts, bundles and registry in local folders)."""
    location = location if location is not None else os.environ.get("STUDIO_ARTIFACTS", "")
    return open_objects(location) if is_object_url(location) else None


def artifact_key(fingerprint: str, relative: str = "") -> str:
    return f"objects/{fingerprint[:2]}/{fingerprint}/{relative}"


class ObjectArtifactStore(FileSystemStore):
    """The artifact store over an object store, with a local copy of each artifact used under `cache_root`.

    The shared meta.json decides: an artifact exists when its meta.json object does (written last, after every
    other file), and a local copy is used only if its meta.json is that one and its files verify against it."""

    def __init__(self, objects: ObjectStore, cache_root: str | Path):
        super().__init__(cache_root)
        self.objects = objects

    def exists(self, fingerprint: str) -> bool:
        return self.objects.exists(artifact_key(fingerprint, META))

    def meta(self, fingerprint: str) -> dict:
        try:
            raw = self.objects.get(artifact_key(fingerprint, META))
        except FileNotFoundError:
            raise ArtifactMissing(fingerprint) from None
        try:
            meta = json.loads(raw)
        except ValueError as exc:
            raise ArtifactCorrupt(fingerprint, f"{META} cannot be read ({exc})") from None
        if not isinstance(meta, dict) or "type" not in meta:
            raise ArtifactCorrupt(fingerprint, f"{META} is not an artifact's meta")
        return meta

    def save(self, fingerprint: str, port_type: PortType, value: Any) -> dict:
        if self.exists(fingerprint):
            return self.meta(fingerprint)
        FileSystemStore.discard(self, fingerprint)  # a local copy of an artifact no longer shared is stale
        meta = super().save(fingerprint, port_type, value)
        directory = self.path(fingerprint)
        for relative in meta["files"]:
            self.objects.upload(directory / relative, artifact_key(fingerprint, relative))
        self.objects.put(artifact_key(fingerprint, META), (directory / META).read_bytes())
        return meta

    def _local_copy(self, fingerprint: str, meta: dict) -> None:
        """Fetch the artifact's files unless the local copy carries the same meta.json."""
        local = self.path(fingerprint) / META
        try:
            if json.loads(local.read_text()).get("sha256") == meta.get("sha256"):
                return
        except (OSError, ValueError):
            pass
        tmp = self.root / "tmp" / uuid.uuid4().hex
        try:
            for relative in meta.get("files") or {}:
                if Path(relative).is_absolute() or ".." in Path(relative).parts:
                    raise ArtifactCorrupt(fingerprint, f"file {relative} would be written outside the artifact")
                try:
                    self.objects.download(artifact_key(fingerprint, relative), tmp / relative)
                except FileNotFoundError:
                    raise ArtifactCorrupt(fingerprint, f"file {relative} cannot be read (not in the store)") \
                        from None
            tmp.mkdir(parents=True, exist_ok=True)
            (tmp / META).write_text(json.dumps(meta))
            FileSystemStore.discard(self, fingerprint)
            self.path(fingerprint).parent.mkdir(parents=True, exist_ok=True)
            os.rename(tmp, self.path(fingerprint))
        except OSError as exc:
            if self.path(fingerprint).is_dir():  # another thread fetched it first
                return
            raise ArtifactCorrupt(fingerprint, f"it cannot be fetched ({exc})") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def load(self, fingerprint: str, engine: Any = None) -> Any:
        self._local_copy(fingerprint, self.meta(fingerprint))
        return super().load(fingerprint, engine)

    def profile(self, fingerprint: str) -> dict | None:
        self._local_copy(fingerprint, self.meta(fingerprint))
        return super().profile(fingerprint)

    def discard(self, fingerprint: str) -> None:
        self.objects.delete(artifact_key(fingerprint))  # meta.json goes with the rest: the artifact is gone
        FileSystemStore.discard(self, fingerprint)


def open_artifact_store(location: str | Path, cache_root: str | Path | None = None) -> FileSystemStore:
    """The artifact store at `location`: an s3:// URL (with local copies under `cache_root`) or a folder."""
    if is_object_url(location):
        if cache_root is None:
            raise ValueError("an artifact store in an object store needs a local folder for its copies")
        return ObjectArtifactStore(open_objects(location), cache_root)
    return FileSystemStore(location)


# ------------------------------------------------------------------------------ bundles and the serving registry
SHARED_REGISTRY = "serving/registry.json"
BUNDLE_KEY = re.compile(r"^bundles/[a-z0-9][a-z0-9_-]{0,99}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def bundle_key(folder: str | Path) -> str:
    """A bundle's key in the shared store: bundles/<deployment>/<its folder's name>, the layout it has under
    the studio's serving folder, so a bundle fetched into any machine's serving folder lands where it was made."""
    folder = Path(folder)
    return f"bundles/{folder.parent.name}/{folder.name}"


def share_bundle(objects: ObjectStore, folder: str | Path) -> str:
    """Upload a written, verified bundle (manifest.json last: a reader that finds it finds every file)."""
    folder, key = Path(folder), bundle_key(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in sorted(files, key=lambda p: p.name == "manifest.json"):
        objects.upload(path, f"{key}/{path.relative_to(folder)}")
    return key


def fetch_bundle(objects: ObjectStore, key: str, serving_dir: str | Path) -> Path:
    """The bundle `key` as a local folder under `serving_dir`, downloaded once (bundles are immutable; load_bundle
    checks every file against its manifest)."""
    if not BUNDLE_KEY.match(key):
        raise ValueError(f"{key!r} is not a bundle's key in the shared store")
    local = Path(serving_dir) / key
    if (local / "manifest.json").is_file():
        return local
    keys = objects.keys(key + "/")
    if f"{key}/manifest.json" not in keys:
        raise FileNotFoundError(f"bundle {objects.url(key)} is not in the shared store")
    tmp = local.parent / f".{local.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        for name in keys:
            relative = name.removeprefix(key + "/")
            if ".." in Path(relative).parts:
                raise ValueError(f"bundle file {relative!r} would be written outside the bundle")
            objects.download(name, tmp / relative)
        os.rename(tmp, local)
    except OSError:
        if not (local / "manifest.json").is_file():  # not another process's rename that won
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return local


def share_registry(objects: ObjectStore, models: dict, control: list | None = None) -> None:
    """Put the table of live deployments (pipelines.bundle.write_registry's `models`, bundles as local folders)
    in the shared store, each bundle named by its key; a deployment's other settings (key hashes, traffic,
    limits) and the `control` token hashes as they are."""
    shared = {name: {**entry, "live": entry.get("live"),
                     "versions": {v: {"bundle": bundle_key(info["bundle"])} for v, info in entry["versions"].items()}}
              for name, entry in models.items()}
    objects.put(SHARED_REGISTRY, json.dumps({"format": "studio-registry/1", "written": time.time(),
                                             "models": shared, "control": control or []}, sort_keys=True).encode())


class RegistryMirror:
    """A serving replica's view of the shared registry: polls it (one HEAD a poll), fetches every bundle it names
    into `serving_dir`, then writes a local registry file naming the local folders, which the serving
    Repository watches as it watches the studio's. A version goes live on a replica only once its files are
    there; one that cannot be fetched is named at its expected folder, so the Repository refuses it with the
    reason and keeps the version that was live."""

    def __init__(self, objects: ObjectStore, serving_dir: str | Path, poll_interval: float = 0.5):
        self.objects, self.serving_dir, self.poll_interval = objects, Path(serving_dir), poll_interval
        self.registry_path = self.serving_dir / "registry.shared.json"
        self._version: str | None = ""  # "" = never read; None = no shared registry yet
        self._stop = threading.Event()

    def refresh(self) -> bool:
        from .bundle import write_registry

        version = self.objects.version(SHARED_REGISTRY)
        if version == self._version:
            return False
        models, complete = {}, True
        registry = json.loads(self.objects.get(SHARED_REGISTRY)) if version is not None else {"models": {}}
        for name, entry in (registry.get("models") or {}).items():
            versions = {}
            for number, info in (entry.get("versions") or {}).items():
                key = str(info.get("bundle", ""))
                try:
                    versions[number] = {"bundle": str(fetch_bundle(self.objects, key, self.serving_dir))}
                except (OSError, ValueError) as exc:
                    log.error("model %s version %s: bundle %s cannot be fetched: %s", name, number, key, exc)
                    complete = False  # try again at the next poll
                    versions[number] = {"bundle": str(self.serving_dir / "unfetched" / name / str(number))}
            models[name] = {**entry, "live": entry.get("live"), "versions": versions}
        write_registry(self.registry_path, models, control=registry.get("control"))
        if complete:
            self._version = version
        return True

    def start(self) -> RegistryMirror:
        self.refresh()
        threading.Thread(target=self._watch, name="registry-mirror", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.refresh()
            except Exception:  # the store unreachable for a while: keep serving what we have, try again
                log.exception("cannot mirror the shared registry %s", self.objects.url(SHARED_REGISTRY))
