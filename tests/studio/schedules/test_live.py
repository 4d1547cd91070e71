"""Schedulers as real processes: two at once against PostgreSQL over 100 fire times (the clock moved by the test,
never slept), and one killed with SIGKILL between committing a fire and enqueueing its run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.conftest import REPO
from tests.studio.schedules.conftest import ECHO_GRAPH

# Each test fixes its own backend (PostgreSQL for the race, SQLite for the kill; the embedded queue for both), so
# the PostgreSQL pass of `make test` would only repeat them.
pytestmark = [pytest.mark.slow, pytest.mark.backend_independent]

SETUP = """
import json
from django.contrib.auth.models import User
from studio.projects.models import Membership, Project, Role
from studio.workflows.models import Pipeline
from studio.schedules import service
from studio.schedules.models import Schedule
import pipelines
from datetime import datetime

user = User.objects.create_user("owner", password="pw")
project = Project.objects.create(name="P", created_by=user)
Membership.objects.create(project=project, user=user, role=Role.OWNER)
pipeline = Pipeline.objects.create(project=project, name="echo", created_by=user)
pipeline.save_graph(pipelines.from_json(json.loads({graph!r})), user)
now = datetime.fromisoformat({now!r})
for name, cron in {schedules!r}:
    schedule = Schedule(project=project, pipeline=pipeline, name=name, cron=cron, **{fields})
    schedule.next_fire_at = service.next_fire_time(schedule, now)
    schedule.save()
"""


class Site:
    """A studio data dir (and a PostgreSQL database of its own when asked), migrated, with one pipeline."""

    def __init__(self, root: Path, postgres: bool):
        self.root, self.name = root, f"studio_schedules_{uuid.uuid4().hex[:10]}"
        self.env = {**os.environ, "STUDIO_DATA_DIR": str(root / "var"), "PYTHONPATH": str(REPO),
                    "STUDIO_OPERATOR_MODULES": "tests.pipelines.testing_operators,tests.studio.schedules.operators",
                    "STUDIO_QUEUE_NAME": self.name, "STUDIO_WORKER_THREADS": "1", "SECRET_KEY": "live-tests",
                    "DJANGO_SETTINGS_MODULE": "studio.settings", "PYTHONUNBUFFERED": "1", "REDIS_URL": ""}
        self.admin_url = ""
        if postgres:
            base = os.environ.get("DATABASE_URL", "")
            base = base if base.startswith("postgres") else "postgres://postgres@127.0.0.1:5432/postgres"
            parts = urlsplit(base)
            self.admin_url = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
            self._sql(f"CREATE DATABASE {self.name}")
            self.env["DATABASE_URL"] = urlunsplit((parts.scheme, parts.netloc, f"/{self.name}", "", ""))
        else:
            self.env.pop("DATABASE_URL", None)
        self.procs: list[subprocess.Popen] = []
        self.manage("migrate", "--noinput", "-v", "0")

    def _sql(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(statement)

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "-c", code)

    def query(self, code: str):
        """A JSON value computed in a Django shell of this site (`result = ...`)."""
        out = self.shell("import json\n" + code + "\nprint(json.dumps(result, default=str))")
        return json.loads(out.strip().splitlines()[-1])

    def spawn(self, args: list[str], log: str) -> subprocess.Popen:
        with open(self.root / log, "ab") as handle:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(args, cwd=REPO, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
        if self.admin_url:
            self._sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def setup_code(now: datetime, schedules: list[tuple[str, str]], **fields) -> str:
    """Django shell code making a user, a project, the echo pipeline and schedules, their cursors from `now`."""
    fields = ", ".join(f"{k!r}: {v}" for k, v in fields.items())
    return SETUP.format(graph=json.dumps(ECHO_GRAPH), now=now.isoformat(), schedules=schedules,
                        fields="{" + fields + "}")


def wait_for(predicate, what: str, procs=(), timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for proc in procs:
            assert proc.poll() is None, f"process {proc.args} exited while waiting for {what}"
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_schedulers_on_postgres_fire_every_time_exactly_once(tmp_path):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    site = Site(tmp_path, postgres=True)
    try:
        crons = [("quarter", "*/15 * * * *"), ("half", "*/30 * * * *"), ("hourly", "0 * * * *")]
        site.shell(setup_code(start, crons, concurrency="'cancel'"))  # every fire makes a run
        clock = tmp_path / "clock"
        acks = [tmp_path / "ack-a", tmp_path / "ack-b"]
        drivers = [site.spawn([sys.executable, "-m", "tests.studio.schedules.driver", str(clock), str(ack)],
                              f"{ack.name}.log") for ack in acks]
        ticks = [start + timedelta(minutes=15 * k) for k in range(1, 101)]  # 100 fire times of the first
        for now in ticks:
            clock.write_text(now.isoformat())  # both processes tick at this instant, at the same time
            wait_for(lambda now=now: all(a.exists() and a.read_text().split()[0] == now.isoformat() for a in acks),
                     f"both schedulers to tick at {now}", drivers)
        clock.write_text("stop")
        fired = [int(a.read_text().split()[1]) for a in acks]
        for proc in drivers:
            proc.wait(timeout=60)
        rows = site.query("""
from studio.schedules.models import Fire
result = [[f.schedule.name, f.fire_time.isoformat(), f.attempt, f.status, f.run_id]
          for f in Fire.objects.select_related("schedule").order_by("schedule_id", "fire_time")]
""")
        runs = site.query("from studio.runs.models import Run\nresult = Run.objects.count()")
    finally:
        site.close()
    expected = {"quarter": ticks, "half": [t for t in ticks if t.minute in (0, 30)],
                "hourly": [t for t in ticks if t.minute == 0]}
    for name, times in expected.items():
        mine = [r for r in rows if r[0] == name]
        assert [datetime.fromisoformat(r[1]) for r in mine] == times, name  # each fire time once, none missing
        assert all(r[2] == 0 and r[3] == "started" and r[4] for r in mine), name
    assert len({r[4] for r in rows}) == len(rows) == runs == 175  # one run per fire
    assert sum(fired) == 175, fired  # what the two processes made adds up: no fire twice
    print(f"fires made by each scheduler: {fired}")


def test_scheduler_killed_between_commit_and_enqueue_loses_nothing(tmp_path):
    site = Site(tmp_path, postgres=False)
    try:
        now = datetime.now(UTC)
        # one fire time is due (a minute, half-open, holds exactly one), on time, and the last before its end
        site.shell(setup_code(now - timedelta(seconds=60), [("every minute", "* * * * *")],
                              end_at=f"datetime.fromisoformat({now.isoformat()!r})"))
        mark = tmp_path / "committed"
        # The real command, with the queue's enqueue replaced by "say so and hang": the fire and its run are
        # committed (the enqueue runs after the commit), then the process is killed.
        hang = (f"import django, pathlib, time; django.setup(); import studio.runs.tasks as tasks\n"
                f"def hang(*args, **kwargs):\n    pathlib.Path({str(mark)!r}).write_text(repr(args)); time.sleep(600)\n"
                f"tasks.enqueue_run = hang\n"
                f"from django.core.management import call_command; call_command('run_scheduler', '--once')")
        victim = site.spawn([sys.executable, "-c", hang], "victim.log")
        wait_for(mark.exists, "the fire's commit", [victim])
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        state = """
from huey.contrib.djhuey import HUEY
from studio.schedules.models import Fire
result = {"fires": [[f.run_id, f.run.status if f.run else f.status + ": " + f.message, f.enqueued]
                    for f in Fire.objects.select_related("run")],
          "queue": [t.args[0] for t in HUEY.pending()]}
"""
        before = site.query(state)
        assert len(before["fires"]) == 1 and before["fires"][0][1:] == ["queued", False], before
        assert before["queue"] == []  # committed, never enqueued
        run_id = before["fires"][0][0]
        site.manage("run_scheduler", "--once")  # the restart
        after = site.query(state)
        assert after == {"fires": [[run_id, "queued", True]], "queue": [run_id]}  # enqueued, once
        site.manage("run_scheduler", "--once")
        assert site.query(state)["queue"] == [run_id]  # and not again
        worker = site.spawn([sys.executable, "manage.py", "run_huey"], "worker.log")
        done = wait_for(lambda: site.query(
            f"from studio.runs.models import Run\nr = Run.objects.get(pk={run_id})\n"
            "result = [r.status, r.attempts] if r.status == 'succeeded' else None"), "the run", [worker], 180)
        assert done == ["succeeded", 1]
    finally:
        site.close()
