from django.contrib import admin

from .models import Pipeline, PipelineVersion


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "project", "updated_at")


@admin.register(PipelineVersion)
class PipelineVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "pipeline", "number", "valid", "created_at")
    readonly_fields = ("graph", "digest", "errors")
