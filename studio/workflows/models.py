"""Pipelines and their immutable versions. A version holds the graph JSON (pipelines.graph format) and the
result of validating it; saving an unchanged graph creates no version (equal digests)."""
from __future__ import annotations

from django.conf import settings
from django.db import models, transaction

import pipelines

from studio.projects.models import Project

ENGINES = ("local", "spark")  # where a run runs: pandas on this machine, or Apache Spark


class VersionedGraph(models.Model):
    """What a pipeline and a component share: a described, authored object whose graph lives in versions."""

    description = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    def latest_version(self):
        return self.versions.order_by("-number").first()


class Pipeline(VersionedGraph):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="pipelines")
    name = models.CharField(max_length=200)
    # The canvas's Engine picker: the engine its run buttons use, kept with the pipeline (not a version: the
    # same graph runs on either engine).
    engine = models.CharField(max_length=32, choices=[(e, e) for e in ENGINES], default="local",
                              help_text="The engine the canvas's run buttons use (local or spark)")

    class Meta:
        ordering = ["id"]

    def save_graph(self, graph: pipelines.Graph, user=None, message: str = "") -> tuple[PipelineVersion, bool]:
        """Store `graph` as the next version unless it equals the latest one. Returns (version, created)."""

        def create(number: int) -> PipelineVersion:
            from .components import resolver_for

            errors = [e.as_json() for e in pipelines.validate(graph, components=resolver_for(self.project_id))]
            return PipelineVersion.objects.create(
                pipeline=self, number=number, graph=graph.to_json(), digest=digest, errors=errors, valid=not errors,
                created_by=user if user and user.is_authenticated else None, message=message)

        digest = graph.digest()
        return next_version(self, digest, create)


def next_version(owner, digest: str, create) -> tuple:
    """The latest version of `owner` (a pipeline or a component) when its digest is `digest`, else
    create(next number) made the latest, in one transaction. Returns (version, created)."""
    with transaction.atomic():
        latest = owner.versions.select_for_update().order_by("-number").first()
        if latest is not None and latest.digest == digest:
            return latest, False
        version = create((latest.number + 1) if latest else 1)
        type(owner).objects.filter(pk=owner.pk).update(updated_at=version.created_at)
    return version, True


class PipelineVersion(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField()
    digest = models.CharField(max_length=64)
    valid = models.BooleanField()
    errors = models.JSONField(default=list, help_text="pipelines.validate() result when the version was saved")
    message = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pipeline", "number"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "number"], name="one_number_per_version")]

    def __str__(self) -> str:
        return f"{self.pipeline} v{self.number}"

    def as_graph(self) -> pipelines.Graph:
        return pipelines.from_json(self.graph)


class Component(VersionedGraph):
    """A reusable sub-pipeline of a project (pipelines.components): a versioned graph with typed ports. Pipelines
    use it through component nodes naming it, so its name never changes after creation."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="one_component_name_per_project")]

    def save_graph(self, data: dict, errors: list[dict], user=None, message: str = "") -> tuple[ComponentVersion,
                                                                                                 bool]:
        """Store a checked component graph as the next version unless it equals the latest (equal digests)."""
        digest = pipelines.from_json(data).digest()
        return next_version(self, digest, lambda number: ComponentVersion.objects.create(
            component=self, number=number, graph=data, digest=digest, errors=errors, valid=not errors,
            created_by=user if user and user.is_authenticated else None, message=message))


class ComponentVersion(models.Model):
    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    graph = models.JSONField(help_text="The component's graph: nodes, edges, exposed parameters and its ports")
    digest = models.CharField(max_length=64)
    valid = models.BooleanField()
    errors = models.JSONField(default=list)
    message = models.CharField(max_length=500, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["component", "number"]
        constraints = [models.UniqueConstraint(fields=["component", "number"], name="one_number_per_component")]

    def __str__(self) -> str:
        return f"{self.component} v{self.number}"
