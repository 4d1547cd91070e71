"""The shared registry's writers on several machines (web replicas and workers, which all publish) are ordered by
a PostgreSQL advisory lock: a writer on another machine that holds it keeps this one from reading and writing
the registry until it is done, so the bucket's registry never goes back in time. PostgreSQL only: this runs in
`make test-studio-postgres` (on SQLite the studio is one machine and the file lock orders the writers)."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from pipelines.objects import SHARED_REGISTRY, S3Objects

pytestmark = pytest.mark.django_db(transaction=True)


def waiting_for_the_lock(other) -> bool:
    from studio.deployments.services import SHARED_REGISTRY_LOCK

    key = (SHARED_REGISTRY_LOCK >> 32, SHARED_REGISTRY_LOCK & 0xFFFFFFFF)
    # this database's waiters only: advisory locks are per database, and other test databases of the server (the
    # other xdist worker's, another run's) may have a writer waiting on the same key
    rows = other.execute("SELECT classid, objid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                         " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").fetchall()
    return key in {(int(c), int(o)) for c, o in rows}


def test_a_writer_on_another_machine_holding_the_lock_delays_this_one(settings, s3_url, tmp_path):
    assert connection.vendor == "postgresql", "PostgreSQL's advisory lock: make test-studio-postgres runs this file"
    import psycopg

    from studio.deployments.services import SHARED_REGISTRY_LOCK, sync_registry

    settings.ARTIFACTS_URL, settings.SERVING_DIR = s3_url, tmp_path / "serving"
    objects = S3Objects.from_url(s3_url)
    db = connection.settings_dict
    conninfo = dict(dbname=db["NAME"], user=db["USER"], host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432,
                    password=db["PASSWORD"] or None)
    events: list[str] = []
    with psycopg.connect(**conninfo) as other_machine, psycopg.connect(**conninfo, autocommit=True) as observer:
        other_machine.execute("SELECT pg_advisory_xact_lock(%s)", [SHARED_REGISTRY_LOCK])

        def write():
            try:
                sync_registry()
                events.append("written")
            finally:
                connection.close()

        writer = threading.Thread(target=write)
        writer.start()
        deadline = time.monotonic() + 30
        while not waiting_for_the_lock(observer):
            assert time.monotonic() < deadline and writer.is_alive(), "the writer never waited for the lock"
            time.sleep(0.02)
        assert not objects.exists(SHARED_REGISTRY)  # blocked before it read the database
        events.append("released")
        other_machine.commit()
        writer.join(timeout=30)
    assert events == ["released", "written"] and objects.exists(SHARED_REGISTRY)
