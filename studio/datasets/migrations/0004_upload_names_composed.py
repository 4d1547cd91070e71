"""Uploads stored before names were composed on upload (NFC) may hold a decomposed name ("café.csv" as e + a
combining accent, as a Mac's browser may send it): compose them, so that such a file and the same name uploaded
again since are versions of one name, which a following import reads. Only the name changes: the file's path on
disk stays."""
import unicodedata

from django.db import migrations


def compose_names(apps, schema_editor):
    Upload = apps.get_model("datasets", "Upload")
    for upload in Upload.objects.only("id", "name").iterator():
        composed = unicodedata.normalize("NFC", upload.name)
        if composed != upload.name:
            Upload.objects.filter(pk=upload.pk).update(name=composed)


class Migration(migrations.Migration):

    dependencies = [
        ('datasets', '0003_upload_preview'),
    ]

    operations = [
        migrations.RunPython(compose_names, migrations.RunPython.noop),
    ]
