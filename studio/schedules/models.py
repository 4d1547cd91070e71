"""Schedules (a pipeline on a cron expression in a time zone), their fires, and a project's failure webhook.

A Fire is the lock and the record of one firing: the row (schedule, fire time, attempt) is unique in the
database and is inserted in the same transaction as its Run, so any number of schedulers fire each time once.
A retry of a failed run is the next attempt of the same fire time. A scheduled run is an ordinary Run.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.projects.models import Project
from studio.runs.models import Run
from studio.workflows.models import Pipeline, PipelineVersion


class CatchUp(models.TextChoices):
    SKIP = "skip", "Skip fire times missed while no scheduler ran"
    LATEST = "latest", "Run the latest missed fire time once"
    EACH = "each", "Run each missed fire time, up to the catch-up limit"


class Concurrency(models.TextChoices):
    SKIP = "skip", "Skip this fire while the previous scheduled run is still going"
    QUEUE = "queue", "Start it when the previous scheduled run has finished"
    CANCEL = "cancel", "Cancel the previous scheduled run and start this one"


class Schedule(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="schedules")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=200)
    cron = models.CharField(max_length=100, help_text="Five cron fields, or a preset such as @daily")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA time zone of the cron expression")
    enabled = models.BooleanField(default=True)
    engine = models.CharField(max_length=32, default="local")
    version = models.ForeignKey(PipelineVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="A pinned version; empty: the latest saved version at fire time")
    params = models.JSONField(default=dict, blank=True, help_text="Run parameters (declared by the pipeline)")
    catchup = models.CharField(max_length=8, choices=CatchUp.choices, default=CatchUp.LATEST)
    catchup_limit = models.PositiveIntegerField(default=10, help_text="At most this many missed fires run (each)")
    concurrency = models.CharField(max_length=8, choices=Concurrency.choices, default=Concurrency.SKIP)
    retries = models.PositiveIntegerField(default=0, help_text="Runs again after a failure, this many times")
    retry_delay = models.PositiveIntegerField(default=60, help_text="Seconds before the first retry; doubles")
    retry_delay_max = models.PositiveIntegerField(default=3600, help_text="Cap on the delay between retries")
    start_at = models.DateTimeField(null=True, blank=True, help_text="No fire before this instant")
    end_at = models.DateTimeField(null=True, blank=True, help_text="No fire after this instant")
    notify = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                    help_text="Members e-mailed when a run fails after its last retry")
    next_fire_at = models.DateTimeField(null=True, blank=True, db_index=True,
                                        help_text="The first fire time not handled yet (UTC)")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["enabled", "next_fire_at"], name="schedule_due")]

    def __str__(self) -> str:
        return self.name


class FireKind(models.TextChoices):
    SCHEDULED = "scheduled"
    CATCH_UP = "catch_up", "A fire time missed while no scheduler ran"
    BACKFILL = "backfill"
    MANUAL = "manual", "Run now"


class FireStatus(models.TextChoices):
    STARTED = "started", "A run was created"
    WAITING = "waiting", "Waits for the previous scheduled run to finish (concurrency: queue)"
    SKIPPED = "skipped", "Not run: the previous scheduled run was still going (concurrency: skip)"
    ERROR = "error", "The run could not be started (see message)"


class Fire(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="fires")
    fire_time = models.DateTimeField(help_text="The scheduled instant (UTC)")
    attempt = models.PositiveIntegerField(default=0, help_text="0 for the first run; 1, 2, ... for retries")
    kind = models.CharField(max_length=16, choices=FireKind.choices, default=FireKind.SCHEDULED)
    status = models.CharField(max_length=16, choices=FireStatus.choices, default=FireStatus.STARTED)
    run = models.OneToOneField(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="fire")
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(help_text="When the scheduler made it (its clock)")
    enqueued = models.BooleanField(default=False, help_text="Its run was put on the queue after the commit")
    retry_at = models.DateTimeField(null=True, blank=True, help_text="When the next attempt starts")
    settled = models.BooleanField(default=False, db_index=True,
                                  help_text="What follows the run's end (retry or notification) was done")
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-fire_time", "-attempt"]
        constraints = [models.UniqueConstraint(fields=["schedule", "fire_time", "attempt"],
                                               name="one_fire_per_schedule_time_attempt")]

    def __str__(self) -> str:
        return f"{self.schedule} at {self.fire_time:%Y-%m-%d %H:%M} (attempt {self.attempt})"


class ProjectWebhook(models.Model):
    """Where a project's failed scheduled runs are announced (a JSON POST)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="webhook")
    url = models.CharField(max_length=2000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook of {self.project}"
