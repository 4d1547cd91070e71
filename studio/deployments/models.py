"""A Deployment is a named online model (its serving URL is /v2/models/<name>); each publish adds an immutable
DeploymentVersion holding a verified bundle. One version at a time is live; rollback points the deployment at
an earlier one; unpublish takes it off the serving process. The serving process learns of all this from the
registry file that `services.sync_registry` writes."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.projects.models import Project


class Deployment(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="deployments")
    name = models.SlugField(max_length=100, unique=True,
                            help_text="The model name on the serving process: /v2/models/<name>/infer")
    description = models.TextField(blank=True, default="")
    live_version = models.ForeignKey("DeploymentVersion", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Endpoint keys: SHA-256 of each (the key itself is shown once), and its last characters to tell them apart.
    primary_key_hash = models.CharField(max_length=64, blank=True, default="")
    secondary_key_hash = models.CharField(max_length=64, blank=True, default="")
    primary_key_hint = models.CharField(max_length=8, blank=True, default="")
    secondary_key_hint = models.CharField(max_length=8, blank=True, default="")
    traffic = models.JSONField(default=dict, blank=True,
                               help_text="Live versions and their weights, {number: percent}; empty: the live "
                                         "version takes all")
    shadow_version = models.PositiveIntegerField(null=True, blank=True,
                                                 help_text="A version scoring a copy of every request, answering "
                                                           "none")
    rate_limit_rps = models.FloatField(null=True, blank=True, help_text="Requests per second per key (none: "
                                                                        "unlimited)")
    rate_limit_burst = models.PositiveIntegerField(null=True, blank=True)
    log_share = models.FloatField(default=1.0, help_text="Share of requests written to the prediction log")
    log_exclude = models.JSONField(default=list, blank=True, help_text="Inputs never written to the log")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    def weights(self) -> dict[str, int]:
        """The traffic split the serving process applies: the stored one, else the live version alone."""
        if self.traffic:
            return {str(k): int(v) for k, v in self.traffic.items()}
        return {str(self.live_version.number): 100} if self.live_version_id else {}

    @property
    def status(self) -> str:
        return "live" if self.live_version_id else ("unpublished" if self.versions.exists() else "empty")


class DeploymentVersion(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    bundle = models.CharField(max_length=1000, help_text="Directory of the verified bundle")
    manifest = models.JSONField(default=dict)
    source_run = models.ForeignKey("runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_node = models.CharField(max_length=200, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment_id", "number"]
        constraints = [models.UniqueConstraint(fields=["deployment", "number"],
                                               name="one_number_per_deployment_version")]

    def __str__(self) -> str:
        return f"{self.deployment.name} v{self.number}"


class DeploymentEvent(models.Model):
    """The history: who published, rolled back or unpublished what, when."""

    class Action(models.TextChoices):
        PUBLISHED = "published"
        ROLLED_BACK = "rolled_back"
        UNPUBLISHED = "unpublished"
        CANARY = "canary"
        PROMOTED = "promoted"
        TRAFFIC = "traffic"
        SHADOW = "shadow"
        KEY_REGENERATED = "key_regenerated"
        SETTINGS = "settings"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=16, choices=Action.choices)
    detail = models.CharField(max_length=200, blank=True, default="")
    version = models.PositiveIntegerField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class FeedbackLabel(models.Model):
    """The true outcome of one served row, posted after the fact (POST /api/deployments/<name>/feedback/).
    One row per (deployment, request id, row): a repeated label replaces the earlier one.

    `label` is 0 / 1 against the classes of `version`, the version that served the row (its bundle's classes,
    immutable): 1 is that version's positive class, as its logged probability is. So a later version whose
    positive class is the other value changes no stored label's meaning."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="labels")
    request_id = models.CharField(max_length=100)
    row = models.PositiveIntegerField()
    label = models.PositiveSmallIntegerField(help_text="1: the positive class of `version`, 0: its other class")
    version = models.PositiveIntegerField(null=True, blank=True,
                                          help_text="The version whose classes the label is read with: the one "
                                                    "that served the row (none: the deployment's live one)")
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["deployment", "request_id", "row"],
                                               name="one_label_per_served_row")]


class Decision(models.Model):
    """A champion/challenger decision of a publish_if_better node: both scores on the same held-out rows,
    whether the challenger went live, and why."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="decisions")
    run = models.ForeignKey("runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    node = models.CharField(max_length=200, blank=True, default="")
    metric = models.CharField(max_length=16)
    champion_version = models.PositiveIntegerField(null=True, blank=True)
    champion_score = models.FloatField(null=True, blank=True)
    challenger_score = models.FloatField()
    margin = models.FloatField()
    published = models.BooleanField()
    version = models.PositiveIntegerField(null=True, blank=True, help_text="The new version, when published")
    reason = models.TextField()
    rows = models.PositiveIntegerField(help_text="Held-out rows both models scored")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
