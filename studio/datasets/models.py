"""Data a project's pipelines read: uploaded files (below the project's data root) and database connections
(their URLs, with passwords, never leave the server through the API)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
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

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def file(self) -> Path:
        return self.project.data_root / self.path


class Connection(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="connections")
    name = models.SlugField(max_length=100, help_text="What a SQL import's `connection` parameter names")
    url = models.TextField(help_text="SQLAlchemy database URL; stored, never returned by the API")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="one_connection_name_per_project")]

    def __str__(self) -> str:
        return self.name

    @property
    def display_url(self) -> str:
        """The URL without its password: safe to show."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, f"{parts.username}:***@{host}", parts.path, "", ""))

    @property
    def kind(self) -> str:
        return urlsplit(self.url).scheme.split("+")[0]
