"""The connection attack as it was reproduced: against a running studio (uvicorn, its own SQLite file, or its
own PostgreSQL database in make test's second pass), a plain user makes a project of their own and names the
studio's own database as a connection. Even with the studio's data directory and loopback opened by the
administrator, every form is refused with a 400 on `url`, and the users table is unchanged."""
from __future__ import annotations

import sqlite3
from urllib.parse import urlsplit

import httpx
import pytest

from tests.studio.live import LiveStudio

pytestmark = pytest.mark.slow


def test_a_plain_user_cannot_reach_the_running_studios_database(tmp_path):
    opened = tmp_path / "opened"
    opened.mkdir()
    studio = LiveStudio(tmp_path / "studio", STUDIO_CONNECTION_ALLOW=f"{tmp_path / 'studio' / 'var'},{opened},"
                                                                     "127.0.0.0/8,localhost")
    try:
        headers = {"Authorization": f"Token {studio.bob_token}"}

        def post(path: str, body: dict) -> httpx.Response:
            return httpx.post(studio.url(path), json=body, headers=headers, timeout=30)

        def users() -> list[tuple]:
            query = "SELECT username, is_superuser, is_staff, password FROM auth_user ORDER BY id"
            if database is None:
                with sqlite3.connect(own_file) as conn:
                    return conn.execute(query).fetchall()
            import psycopg

            with psycopg.connect(studio.env["DATABASE_URL"].replace("postgres://", "postgresql://")) as conn:
                return conn.execute(query).fetchall()

        project = post("/api/projects/", {"name": "bob's own"})
        assert project.status_code == 201, project.text
        own_file = tmp_path / "studio" / "var" / "studio.sqlite3"
        database = urlsplit(studio.env["DATABASE_URL"]).path.lstrip("/") if "DATABASE_URL" in studio.env else None
        if database is None:
            (opened / "link.sqlite").symlink_to(own_file)
            attacks = [f"sqlite:///{own_file}", f"sqlite:///{opened}/link.sqlite",
                       f"sqlite:///{opened}/../studio/var/studio.sqlite3", f"sqlite:///file:{own_file}?mode=ro&uri=true"]
        else:
            attacks = [f"postgresql://postgres@{host}:5432/{database}" for host in ("127.0.0.1", "localhost")]
        before = users()
        assert [u[1] for u in before] == [True, False]  # the demo admin, and bob
        for url in attacks:
            response = post("/api/connections/", {"project": project.json()["id"], "name": "own", "url": url})
            assert response.status_code == 400, (url, response.text)
            assert [e["path"] for e in response.json()["errors"]] == ["url"], response.text
        listed = httpx.get(studio.url("/api/connections/"), headers=headers, timeout=30)
        assert listed.status_code == 200 and listed.json()["results"] == []
        assert users() == before  # bob is no superuser; no password hash changed
    finally:
        studio.close()
