"""A throw-away studio for a benchmark that drives Django itself: a temp data dir, SQLite or a fresh PostgreSQL
database (127.0.0.1:5432), migrated; dropped again by `studio_db`'s exit."""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def studio_db(prefix: str, postgres: bool) -> Iterator[Path]:
    """Django set up on a new data dir (yielded) and database; the PostgreSQL database is dropped on exit."""
    data = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    os.environ.update({"STUDIO_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "studio.settings", "REDIS_URL": "",
                       "LOG_LEVEL": "WARNING"})
    name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}" if postgres else ""
    if postgres:
        import psycopg

        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        yield data
    finally:
        if name:
            import psycopg
            from django.db import connections

            connections.close_all()
            with psycopg.connect(SERVER, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
