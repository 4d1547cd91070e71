from django.contrib import admin

from .models import Component, ComponentVersion, Pipeline, PipelineVersion


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "project", "updated_at")


@admin.register(PipelineVersion)
class PipelineVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "pipeline", "number", "valid", "created_at")
    readonly_fields = ("graph", "digest", "errors")


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "project", "updated_at")


@admin.register(ComponentVersion)
class ComponentVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "component", "number", "valid", "created_at")
    readonly_fields = ("graph", "digest", "errors")
