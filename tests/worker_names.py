"""Per-worker names under pytest-xdist, loaded with `-p tests.worker_names` (pyproject.toml's addopts) so it runs
before pytest-django imports the settings (a conftest.py is imported after that, too late for settings read once).

`make test` runs each pytest pass in two processes (gw0, gw1). Both inherit the Makefile's environment, so a name
given there would be shared: the PostgreSQL pass's STUDIO_QUEUE_NAME and STUDIO_CHANNEL_PREFIX (its Redis queue,
cache keys and channel groups, where gw0's run 1 and gw1's run 1 would be the same `run-1` group). Each worker
appends its id to the ones that are set. pytest-django already gives each worker a test database of its own
(test_<name>_gw0); the live tests name their databases, queues and prefixes with a uuid of their own."""
from __future__ import annotations

import os

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # set by xdist in the worker before its config is made
PER_WORKER = ("STUDIO_QUEUE_NAME", "STUDIO_CHANNEL_PREFIX")

if WORKER:
    for name in PER_WORKER:
        if os.environ.get(name):
            os.environ[name] = f"{os.environ[name]}_{WORKER}"
