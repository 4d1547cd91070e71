"""Settings from the environment with embedded defaults; the demo set-up that `make run` repeats is idempotent."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from django.core.management import call_command

from tests.conftest import REPO

SHOW = ("import json; from django.conf import settings as s; "
        "print(json.dumps({'key': s.SECRET_KEY, 'debug': s.DEBUG, 'db': s.DATABASES['default']['ENGINE'], "
        "'name': str(s.DATABASES['default']['NAME']), 'queue': s.HUEY['huey_class']}))")


def settings_with(env: dict) -> dict:
    base = {k: v for k, v in os.environ.items()
            if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "STUDIO_DATA_DIR")}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + SHOW], cwd=REPO,
                          env={**base, "DJANGO_SETTINGS_MODULE": "studio.settings", "PYTHONPATH": str(REPO), **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.backend_independent  # its subprocesses are given their backend
def test_embedded_defaults_and_a_secret_key_generated_once(tmp_path):
    data = tmp_path / "data"
    first = settings_with({"STUDIO_DATA_DIR": str(data)})
    assert first["debug"] is False
    assert first["db"] == "django.db.backends.sqlite3" and first["name"].startswith(str(data))
    assert first["queue"] == "huey.SqliteHuey"
    key_file = data / "secret_key"
    assert key_file.read_text().strip() == first["key"] and len(first["key"]) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert settings_with({"STUDIO_DATA_DIR": str(data)})["key"] == first["key"]  # kept, not regenerated

    configured = settings_with({"STUDIO_DATA_DIR": str(data), "SECRET_KEY": "from-env", "DEBUG": "1",
                                "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
                                "REDIS_URL": "redis://127.0.0.1:6379/7"})
    assert configured["key"] == "from-env" and configured["debug"] is True
    assert configured["db"] == "django.db.backends.postgresql" and configured["name"] == "test"
    assert configured["queue"] == "huey.PriorityRedisHuey"


@pytest.mark.django_db
def test_demo_setup_twice_makes_one_admin_and_one_demo_project(settings, tmp_path, capsys):
    from django.contrib.auth.models import User

    from studio.projects.models import Project
    from studio.workflows.models import Pipeline

    settings.DATA_DIR = tmp_path
    call_command("studio_demo")
    password = (tmp_path / "demo_admin_password").read_text()
    call_command("studio_demo")
    assert (tmp_path / "demo_admin_password").read_text() == password
    assert User.objects.filter(is_superuser=True).count() == 1
    [project] = Project.objects.all()
    assert Pipeline.objects.filter(project=project).count() == 1
    assert "admin" in capsys.readouterr().out


@pytest.mark.django_db
def test_demo_setup_writes_the_demo_data_when_make_has_not(settings, tmp_path, monkeypatch):
    """Without `make run` before it (a bare `manage.py studio_demo`), the demo project still gets its data, so
    its pipeline's import finds the file instead of failing on the first run."""
    from studio.core.management.commands import studio_demo
    from studio.datasets.models import Upload

    missing = tmp_path / "examples" / "credit_default.csv"
    monkeypatch.setattr(studio_demo, "DEMO_CSV", missing)
    settings.DATA_DIR = tmp_path / "var"
    settings.DATA_DIR.mkdir()
    call_command("studio_demo")
    [upload] = Upload.objects.all()
    copied = upload.project.data_root / upload.path
    assert missing.read_bytes() == copied.read_bytes()
    assert copied.read_text().splitlines()[0].split(",")[:1] == ["customer_id"]
    assert len(copied.read_text().splitlines()) == 20_001
    # previewed as an upload is: the Data page lists its columns before anyone asks for a preview
    columns = {c["name"]: c["type"] for c in upload.preview["columns"]}
    assert columns["customer_id"] == "integer" and columns["default"] == "integer" and columns["region"] == "string"
    assert upload.preview["delimiter"] == "," and len(upload.preview["rows"]) == 20
