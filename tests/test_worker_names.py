"""tests/worker_names.py: under pytest-xdist each worker's studio settings carry its own queue name, channel prefix
and cache key prefix (the PostgreSQL pass's Makefile gives both workers the same ones), and outside xdist they are
left as given. Checked in a fresh interpreter, where the module runs before the settings are read, as `-p` loads it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

SHOW = ("import json, tests.worker_names; from django.conf import settings; print(json.dumps([settings.HUEY['name'], "
        "settings.CHANNEL_LAYERS['default']['CONFIG']['prefix'], settings.CACHES['default']['KEY_PREFIX']]))")


def names_seen(worker: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "STUDIO_", "DATABASE_URL"))}
    env.update(DJANGO_SETTINGS_MODULE="studio.settings", PYTHONPATH=str(REPO), REDIS_URL="redis://127.0.0.1:6379/10",
               STUDIO_QUEUE_NAME="studio_backend_42", STUDIO_CHANNEL_PREFIX="studio_backend_42")
    if worker:
        env["PYTEST_XDIST_WORKER"] = worker
    done = subprocess.run([sys.executable, "-c", SHOW], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("worker", ["gw0", "gw1"])
def test_each_xdist_worker_has_its_own_queue_channel_and_cache_names(worker):
    assert names_seen(worker) == [f"studio_backend_42_{worker}", f"studio_backend_42_{worker}",
                                  f"studio_backend_42_{worker}:cache"]


def test_without_xdist_the_names_are_the_ones_given():
    assert names_seen(None) == ["studio_backend_42", "studio_backend_42", "studio_backend_42:cache"]
