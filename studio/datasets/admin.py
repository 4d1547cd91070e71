from django.contrib import admin

from .models import Connection, Upload


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "project", "size", "content_type", "created_at")


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "project", "approved_by", "created_at")
    exclude = ("encrypted_url",)  # the secret stays out of the admin's pages too
