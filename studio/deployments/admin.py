from django.contrib import admin

from .models import Deployment, DeploymentEvent, DeploymentVersion


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "live_version", "updated_at")


@admin.register(DeploymentVersion)
class DeploymentVersionAdmin(admin.ModelAdmin):
    list_display = ("deployment", "number", "bundle", "created_at")


@admin.register(DeploymentEvent)
class DeploymentEventAdmin(admin.ModelAdmin):
    list_display = ("deployment", "action", "version", "user", "at")
