from django.db import migrations, models


def from_latest_run(apps, schema_editor):
    """A pipeline opened on its latest run's engine before the choice was kept: keep that choice."""
    Pipeline = apps.get_model("workflows", "Pipeline")
    Run = apps.get_model("runs", "Run")
    for pipeline in Pipeline.objects.filter(runs__engine="spark").distinct().iterator():
        latest = Run.objects.filter(pipeline=pipeline).order_by("-id").values_list("engine", flat=True).first()
        if latest == "spark":
            Pipeline.objects.filter(pk=pipeline.pk).update(engine="spark")


class Migration(migrations.Migration):

    dependencies = [
        ("workflows", "0002_components"),
        ("runs", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="pipeline",
            name="engine",
            field=models.CharField(choices=[("local", "local"), ("spark", "spark")], default="local",
                                   help_text="The engine the canvas's run buttons use (local or spark)", max_length=32),
        ),
        migrations.RunPython(from_latest_run, migrations.RunPython.noop),
    ]
