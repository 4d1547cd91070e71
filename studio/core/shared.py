"""The object store this studio shares with its other machines (STUDIO_ARTIFACTS=s3://..., pipelines/objects.py),
or None when it runs on one machine. Artifacts go through the artifact store; what else the machines share is
kept here: uploaded files (written by a web replica, read by any worker) under the layout of the data root,
so a file fetched into any machine's data root lands at the path a file import names."""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import uuid
from pathlib import Path

from django.conf import settings

from pipelines.objects import ObjectStore, shared_objects

log = logging.getLogger(__name__)


def shared_store() -> ObjectStore | None:
    url = getattr(settings, "ARTIFACTS_URL", "")
    return _objects(url) if url else None


@functools.lru_cache(maxsize=4)
def _objects(url: str) -> ObjectStore | None:
    return shared_objects(url)  # one S3 client per URL (thread-safe; making one costs tens of milliseconds)


def upload_key(upload) -> str:
    return f"data/projects/{upload.project_id}/{upload.path}"


def share_upload(upload) -> None:
    """Put an uploaded file in the shared store (nothing on one machine)."""
    objects = shared_store()
    if objects is not None:
        objects.upload(upload.file, upload_key(upload))


def forget_upload(upload) -> None:
    objects = shared_store()
    if objects is not None:
        objects.delete(upload_key(upload))


def local_uploads(project) -> None:
    """Every upload of `project` present in this machine's data root: one another machine received is fetched
    from the shared store and checked against the sha256 recorded when it was uploaded."""
    objects = shared_store()
    if objects is None:
        return
    for upload in project.uploads.all():
        target = upload.file
        if target.is_file() and target.stat().st_size == upload.size:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            objects.download(upload_key(upload), tmp)
            if _sha256(tmp) == upload.sha256:
                os.replace(tmp, target)
            else:  # left out: a file import names the missing file
                log.error("upload %s of project %s in the shared store is not the file that was uploaded "
                          "(sha256 differs); not used", upload.path, upload.project_id)
        except FileNotFoundError:
            pass  # not shared (uploaded before the store was): a file import names the missing file plainly
        finally:
            tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
