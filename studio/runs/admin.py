from django.contrib import admin

from .models import NodeRun, Run, RunEvent


class NodeRunInline(admin.TabularInline):
    model = NodeRun
    extra = 0


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "pipeline", "status", "mode", "engine", "priority", "created_at", "worker")
    list_filter = ("status",)
    inlines = [NodeRunInline]


@admin.register(RunEvent)
class RunEventAdmin(admin.ModelAdmin):
    list_display = ("run", "seq", "type", "node")
