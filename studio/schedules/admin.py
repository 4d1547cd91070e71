from django.contrib import admin

from .models import Fire, ProjectWebhook, Schedule


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "project", "pipeline", "cron", "timezone", "enabled", "next_fire_at")
    list_filter = ("enabled",)


@admin.register(Fire)
class FireAdmin(admin.ModelAdmin):
    list_display = ("schedule", "fire_time", "attempt", "kind", "status", "run", "enqueued", "settled")
    list_filter = ("status", "kind")
    raw_id_fields = ("run",)


@admin.register(ProjectWebhook)
class ProjectWebhookAdmin(admin.ModelAdmin):
    list_display = ("project", "url", "created_at")
