"""Data a project's pipelines read: uploaded files (below the project's data root) and database connections
(their URLs, with passwords, stored encrypted and never returned by the API; what they may reach is
decided in guard.py)."""
from __future__ import annotations

import base64
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

from studio.projects.models import Project


class Upload(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="uploads")
    name = models.CharField(max_length=255, help_text="The file name as uploaded")
    path = models.CharField(max_length=500, help_text="Where the file is, relative to the project's data root: "
                                                      "what a file import's `path` parameter takes")
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=32, help_text="Sniffed from the content: csv, tsv, json or parquet")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    preview = models.JSONField(default=dict, blank=True,
                               help_text="First rows, delimiter, column types, missing / distinct counts "
                                         "(studio/datasets/preview.py), made when the file is uploaded")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def file(self) -> Path:
        return self.project.data_root / self.path


class DeletedUpload(models.Model):
    """What the studio keeps of a deleted upload: its id and the name the person knew it by, so that a run whose
    import still names the id says which file went ('churn.csv'), not an id nobody saw. Looked up within the run's
    project only: another project's id finds nothing here, and its message stays that of an id never seen."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="deleted_uploads")
    upload_id = models.BigIntegerField()
    name = models.CharField(max_length=255)
    deleted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "upload_id"], name="one_tombstone_per_upload")]

    def __str__(self) -> str:
        return f"{self.name} (upload {self.upload_id}, deleted)"


def url_cipher():
    """Fernet over settings.CONNECTION_KEYS (the first key encrypts, every key decrypts), or over one key
    derived from SECRET_KEY (HKDF-SHA256) when none is set."""
    from cryptography.fernet import Fernet, MultiFernet
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    keys = list(settings.CONNECTION_KEYS)
    if not keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"studio.datasets.Connection.url").derive(settings.SECRET_KEY.encode())
        keys = [base64.urlsafe_b64encode(derived)]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"STUDIO_CONNECTION_KEY: {exc}") from None


def encrypt_url(url: str) -> str:
    return url_cipher().encrypt(url.encode()).decode()


def decrypt_url(token: str) -> str:
    return url_cipher().decrypt(token.encode()).decode()


class Connection(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="connections")
    name = models.SlugField(max_length=100, help_text="What a SQL import's `connection` parameter names")
    encrypted_url = models.TextField(help_text="The SQLAlchemy database URL, encrypted (Fernet, "
                                               "settings.CONNECTION_KEYS); never returned by the API")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The staff user who saved this URL: it may then reach what STUDIO_CONNECTION_ALLOW does not "
                  "open (never the studio's own database). Cleared when anyone else changes the URL")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="one_connection_name_per_project")]

    def __str__(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return decrypt_url(self.encrypted_url)

    @url.setter
    def url(self, value: str) -> None:
        self.encrypted_url = encrypt_url(value)

    def decrypted_url_or_none(self) -> str | None:
        """The URL, or None when it cannot be decrypted with the keys this process has."""
        from cryptography.fernet import InvalidToken

        try:
            return self.url
        except (InvalidToken, ValueError):
            return None

    @property
    def trusted(self) -> bool:
        """Saved by a staff user who still is one (see studio/datasets/guard.py)."""
        user = self.approved_by
        return user is not None and user.is_active and (user.is_staff or user.is_superuser)

    @property
    def display_url(self) -> str:
        """The URL with its password (and any parameter value not known to be harmless) masked: safe to show."""
        from .guard import display

        url = self.decrypted_url_or_none()
        return "(cannot be decrypted with this studio's keys)" if url is None else display(url)

    @property
    def kind(self) -> str:
        from .guard import kind_of

        return kind_of(self.decrypted_url_or_none() or "")
