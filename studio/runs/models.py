"""Runs of a pipeline version, their per-node state, and their ordered, durable event log."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.projects.models import Project
from studio.workflows.models import Pipeline, PipelineVersion


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}


class RunMode(models.TextChoices):
    ALL = "all", "Run every node"
    FROM = "from", "Run a node and everything downstream of it"
    ONLY = "only", "Run one node from its cached inputs"
    UNTIL = "until", "Run a node and what it needs (a preview)"


# Queue priorities: bigger goes first. Previews and single-node runs before full training runs.
PRIORITY_INTERACTIVE = 10
PRIORITY_FULL = 0


class Run(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(PipelineVersion, on_delete=models.PROTECT, related_name="runs")
    engine = models.CharField(max_length=32, default="local")
    mode = models.CharField(max_length=8, choices=RunMode.choices, default=RunMode.ALL)
    node = models.CharField(max_length=200, blank=True, default="", help_text="The node of from / only / until")
    force = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)
    priority = models.IntegerField(default=PRIORITY_FULL)
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED, db_index=True)
    error = models.TextField(blank=True, default="")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    worker = models.CharField(max_length=200, blank=True, default="", help_text="host:pid of the running worker")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_seq = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    uploads = models.JSONField(default=dict, blank=True, help_text=(
        "Node id -> the uploaded file that import node reads: upload id, name, version (of), sha256 and whether "
        "the node pins it or follows the newest of its name; chosen when the run starts (studio/datasets/follow.py)"))

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.pipeline} v{self.version.number}"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class NodeRun(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="nodes")
    node = models.CharField(max_length=200)
    operator = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=16, default="queued")
    progress = models.FloatField(default=0.0)
    message = models.TextField(blank=True, default="")
    cached = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    outputs = models.JSONField(default=dict, blank=True, help_text="output port -> artifact fingerprint")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "node"], name="one_node_run_per_node")]


class RunEvent(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=32)
    node = models.CharField(max_length=200, blank=True, default="")
    data = models.JSONField(default=dict)
    time = models.FloatField(help_text="Unix time the event happened (the executor's clock)")

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="one_event_per_seq")]

    def as_json(self) -> dict:
        return {"seq": self.seq, "type": self.type, "node": self.node or None, "data": self.data, "time": self.time}
