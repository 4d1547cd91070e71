"""Labels are kept against the version that served their row (FeedbackLabel.version), no longer against whatever
version is live. Stored labels were 0 / 1 against the deployment's live classes when they were posted (publish
refused a flipped positive class while labels were stored); each is given the version the prediction log says
served its row, and turned where that version calls the other of the same two values positive, so every label
reads back as the value it was read as before. A label whose row the log no longer holds (retention) is pinned to
the version live now, the classes it was stored against. Backwards: the same turn, undone, and the versions
dropped."""
from django.db import migrations, models

CHUNK = 2_000


def _classes(deployment) -> tuple[dict, str | None]:
    versions = {str(v.number): v.manifest.get("classes") for v in deployment.versions.all()}
    live = deployment.live_version or deployment.versions.order_by("-number").first()
    return versions, (str(live.number) if live is not None else None)


def _served(deployment, request_ids: list[str]) -> dict:
    from operators.prediction_log import read_log
    from studio.deployments.feedback import prediction_log_dir

    served = {}
    for start in range(0, len(request_ids), CHUNK):
        table = read_log(prediction_log_dir(), deployment.name, request_ids=request_ids[start:start + CHUNK],
                         columns=["request_id", "row", "version"])
        if table.num_rows:
            served.update(zip(zip(table["request_id"].to_pylist(), table["row"].to_pylist(), strict=True),
                              (str(v) for v in table["version"].to_pylist()), strict=True))
    return served


def pin_labels(apps, schema_editor):
    from operators.labels import flipped

    Deployment = apps.get_model("deployments", "Deployment")
    FeedbackLabel = apps.get_model("deployments", "FeedbackLabel")
    for deployment in Deployment.objects.filter(labels__isnull=False).distinct():
        versions, live = _classes(deployment)
        labels = list(FeedbackLabel.objects.filter(deployment=deployment, version__isnull=True))
        served = _served(deployment, sorted({label.request_id for label in labels}))
        for label in labels:
            version = served.get((label.request_id, label.row), live)
            if version is None or not version.isdigit():
                continue
            if flipped(versions.get(version), versions.get(live)):
                label.label = 1 - label.label
            label.version = int(version)
        FeedbackLabel.objects.bulk_update(labels, ["label", "version"], batch_size=1_000)


def unpin_labels(apps, schema_editor):
    from operators.labels import flipped

    Deployment = apps.get_model("deployments", "Deployment")
    FeedbackLabel = apps.get_model("deployments", "FeedbackLabel")
    for deployment in Deployment.objects.filter(labels__isnull=False).distinct():
        versions, live = _classes(deployment)
        labels = list(FeedbackLabel.objects.filter(deployment=deployment, version__isnull=False))
        for label in labels:
            if flipped(versions.get(str(label.version)), versions.get(live)):
                label.label = 1 - label.label
        FeedbackLabel.objects.bulk_update(labels, ["label"], batch_size=1_000)


class Migration(migrations.Migration):

    dependencies = [
        ('deployments', '0003_keys_traffic_limits'),
    ]

    operations = [
        migrations.AddField(
            model_name='feedbacklabel',
            name='version',
            field=models.PositiveIntegerField(blank=True, help_text="The version whose classes the label is read with: the one that served the row (none: the deployment's live one)", null=True),
        ),
        migrations.AlterField(
            model_name='feedbacklabel',
            name='label',
            field=models.PositiveSmallIntegerField(help_text='1: the positive class of `version`, 0: its other class'),
        ),
        migrations.RunPython(pin_labels, unpin_labels),
    ]
