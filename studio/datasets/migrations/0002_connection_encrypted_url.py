"""Connection URLs encrypted at rest (existing rows encrypted in place), and who approved a URL that the
allow-list does not open."""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def encrypt_existing(apps, schema_editor):
    from studio.datasets.models import encrypt_url

    Connection = apps.get_model("datasets", "Connection")
    for connection in Connection.objects.all():
        connection.encrypted_url = encrypt_url(connection.encrypted_url)
        connection.save(update_fields=["encrypted_url"])


def decrypt_existing(apps, schema_editor):
    from studio.datasets.models import decrypt_url

    Connection = apps.get_model("datasets", "Connection")
    for connection in Connection.objects.all():
        connection.encrypted_url = decrypt_url(connection.encrypted_url)
        connection.save(update_fields=["encrypted_url"])


class Migration(migrations.Migration):

    dependencies = [
        ('datasets', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name='connection', old_name='url', new_name='encrypted_url'),
        migrations.AlterField(
            model_name='connection',
            name='encrypted_url',
            field=models.TextField(help_text='The SQLAlchemy database URL, encrypted (Fernet, settings.CONNECTION_KEYS); never returned by the API'),
        ),
        migrations.AddField(
            model_name='connection',
            name='approved_by',
            field=models.ForeignKey(blank=True, help_text="The staff user who saved this URL: it may then reach what STUDIO_CONNECTION_ALLOW does not open (never the studio's own database). Cleared when anyone else changes the URL", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing),
    ]
