"""Uploads stream to disk: each chunk of the request body goes straight into a file in the data dir's staging
folder while its sha256 is computed, so a file of hundreds of MB never sits in memory and is written once. The
view then moves it (a rename on the same file system) to its project's folder."""
from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

HEAD_BYTES = 64 * 1024  # what sniff() and the preview's delimiter guess read


def staging_dir() -> Path:
    return Path(settings.DATA_ROOT) / "staging"


class StagedFile(UploadedFile):
    """A received file in the staging folder, with its size, sha256 and first bytes. Closing it deletes the
    staged copy unless move_to() took it (Django closes a request's files when the request ends, so a refused
    upload leaves nothing behind)."""

    def __init__(self, path: Path, name: str, size: int, sha256: str, head: bytes):
        super().__init__(open(path, "rb"), name=name, size=size)  # noqa: SIM115 - closed by close()
        self.path, self.sha256, self.head = path, sha256, head

    def temporary_file_path(self) -> str:
        return str(self.path)

    def move_to(self, target: Path) -> None:
        self.file.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, target)

    def close(self):
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class TooLarge(Exception):
    def __init__(self, size: int):
        super().__init__(size)
        self.size = size


class StagingUploadHandler(FileUploadHandler):
    """Django upload handler: writes the file part to the staging folder chunk by chunk and stops with TooLarge
    as soon as it passes settings.UPLOAD_MAX_BYTES (whatever Content-Length said)."""

    chunk_size = 1024 * 1024

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        staging_dir().mkdir(parents=True, exist_ok=True)
        self.path = staging_dir() / uuid.uuid4().hex
        self.out = open(self.path, "wb")  # noqa: SIM115 - closed in file_complete / _discard
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""

    def receive_data_chunk(self, raw_data, start):
        self.size += len(raw_data)
        if self.size > settings.UPLOAD_MAX_BYTES:
            self._discard()
            raise TooLarge(self.size)
        if len(self.head) < HEAD_BYTES:
            self.head += raw_data[:HEAD_BYTES - len(self.head)]
        self.digest.update(raw_data)
        self.out.write(raw_data)
        return None  # the chunk is consumed: no other handler sees it

    def file_complete(self, file_size):
        self.out.close()
        return StagedFile(self.path, self.file_name, self.size, self.digest.hexdigest(), self.head)

    def upload_interrupted(self):
        self._discard()

    def _discard(self) -> None:
        with contextlib.suppress(OSError):
            self.out.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
