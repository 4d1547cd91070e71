"""Smaller hardening (issue 12, item 9): uploads in another text encoding, the SQLite files private to their
user, HTTPS settings switchable from the environment."""
from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.studio.conftest import node

LATIN1_CSV = "name,city,amount\nJosé,Málaga,1\nFrançois,Besançon,2\nZoë,Düsseldorf,3\n".encode("latin-1")


def _file(body: bytes, name: str = "people.csv"):
    handle = io.BytesIO(body)
    handle.name = name
    return handle


def _upload(client, project, body, **extra):
    return client.post("/api/uploads/", {"project": project.pk, "file": _file(body), **extra}, format="multipart")


def test_a_latin1_csv_is_accepted_and_imports_with_its_encoding(world, run_now):
    with pytest.raises(UnicodeDecodeError):
        LATIN1_CSV.decode("utf-8")
    response = _upload(world.as_alice, world.a, LATIN1_CSV)
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "csv"
    graph = {"nodes": [node("import", "import_csv", path=response.json()["path"], encoding="latin-1")], "edges": []}
    saved = world.as_alice.patch(f"/api/pipelines/{world.pipeline.pk}/", {"graph": graph}, format="json")
    assert saved.status_code == 200, saved.content
    run = run_now(world.as_alice, pipeline=world.pipeline.pk)
    assert run.status_code == 201
    detail = world.as_alice.get(f"/api/runs/{run.json()['id']}/").json()
    assert detail["status"] == "succeeded", detail["error"]
    rows = world.as_alice.get(f"/api/runs/{run.json()['id']}/outputs/import/table/").json()
    assert "Besançon" in json.dumps(rows, ensure_ascii=False)


def test_the_users_encoding_is_used(world):
    response = _upload(world.as_alice, world.a, LATIN1_CSV, encoding="latin-1")
    assert response.status_code == 201, response.content
    utf16 = "id,name\n1,Ünal\n2,Øyvind\n".encode("utf-16")
    assert _upload(world.as_alice, world.a, utf16, encoding="utf-16").status_code == 201


def test_an_unknown_encoding_is_400(world):
    for name in ("klingon", "rot13", "x" * 41):
        response = _upload(world.as_alice, world.a, LATIN1_CSV, encoding=name)
        assert response.status_code == 400, (name, response.content)
        assert response.json()["errors"][0]["path"] == "encoding"


def test_binary_is_still_refused(world):
    for body in (bytes(range(256)) * 20, b"\x89PNG\r\n\x1a\n" + os.urandom(2000)):
        response = _upload(world.as_alice, world.a, body)
        assert response.status_code == 415, response.content


def _python(env: dict, code: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "DATABASE_URL", "REDIS_URL"))}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code], cwd=REPO,
                          env={**base, "DJANGO_SETTINGS_MODULE": "studio.settings", "PYTHONPATH": str(REPO), **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.backend_independent  # its subprocess is given its backend
def test_the_sqlite_files_are_readable_by_their_owner_only(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    old = data / "studio.sqlite3"
    old.touch(mode=0o644)
    os.chmod(old, 0o644)  # a file from before: tightened at start
    _python({"STUDIO_DATA_DIR": str(data)}, "from django.db import connection; c = connection.cursor(); "
                                            "c.execute('create table t (x)'); c.execute('insert into t values (1)'); "
                                            "print('ok')")
    for name in ("studio.sqlite3", "studio.sqlite3-wal", "studio.sqlite3-shm", "queue.sqlite3"):
        path = data / name
        if path.exists() or not name.endswith(("-wal", "-shm")):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


SECURITY = ("from django.conf import settings as s; import json; print(json.dumps([s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS]))")


@pytest.mark.backend_independent  # its subprocesses are given their backend
def test_https_settings_are_off_by_default_and_switch_on_from_the_environment(tmp_path):
    env = {"STUDIO_DATA_DIR": str(tmp_path)}
    assert json.loads(_python(env, SECURITY)) == [False, False, False, 0]
    assert json.loads(_python({**env, "STUDIO_HTTPS": "1"}, SECURITY)) == [True, True, True, 31_536_000]
    one = {**env, "STUDIO_SECURE_COOKIES": "1", "STUDIO_HSTS_SECONDS": "60"}
    assert json.loads(_python(one, SECURITY)) == [True, True, False, 60]
    check = ("from django.core.management import call_command; import io, re; out = io.StringIO(); "
             "call_command('check', deploy=True, stdout=out, stderr=out); "
             "print(sorted(set(re.findall(r'security[.]W0(?:04|08|12|16)', out.getvalue()))))")
    warned = ["security.W004", "security.W008", "security.W012", "security.W016"]
    assert _python(env, check) == repr(warned)  # HSTS, SSL redirect, session and CSRF cookies
    assert _python({**env, "STUDIO_HTTPS": "1"}, check) == "[]"


def test_an_upload_of_json_nested_too_deep_is_400_naming_the_file_not_500(world):
    """Telling what the file is once decoded it whole: 50,000 levels recursed until Python gave up (a 500)."""
    deep = '{"a":' * 50_000 + "1" + "}" * 50_000
    for name, body in (("deep.json", deep), ("lines.json", '{"x": 1}\n' + deep), ("list.json", "[" * 100_000)):
        response = _upload(world.as_bob, world.b, body.encode(), name=name)
        assert response.status_code == 400, (name, response.content[:300])
        error = response.json()["errors"][0]
        assert error["path"] == "file" and error["code"] == "too_deep" and name in error["message"], error


def test_json_lines_with_objects_in_cells_have_a_preview_not_a_500(world):
    """Counting a column's distinct values hashed its cells, and a dict cannot be hashed."""
    body = '{"id": 1, "a": {"b": [1, 2]}, "t": [1]}\n{"id": 2, "a": {"b": [3]}, "t": [1]}\n'
    response = _upload(world.as_bob, world.b, body.encode(), name="nested.json")
    assert response.status_code == 201, response.content[:300]
    preview = response.json()["preview"]
    assert {c["name"]: c["distinct"] for c in preview["columns"]} == {"id": 2, "a": 2, "t": 1}
    assert preview["rows"] == [[1, '{"b": [1, 2]}', "[1]"], [2, '{"b": [3]}', "[1]"]]


def test_a_run_whose_metrics_hold_nan_finishes_with_them_as_null(world, run_now):
    """A metric JSON has no word for (an AUC over one class is NaN) made the run's final event invalid JSON for the
    database's JSON column: the insert failed in the worker and the run stayed "running" for good (found with
    automl_lr on 30 rows and 10 folds). Now NaN and the infinities are stored as null and the run finishes."""
    import tests.pipelines.testing_operators  # noqa: F401  (registers test_not_a_number)

    graph = {"name": "nan", "nodes": [node("odd", "test_not_a_number")], "edges": []}
    pipeline = world.as_alice.post("/api/pipelines/", {"project": world.a.pk, "name": "nan", "graph": graph},
                                   format="json").json()
    assert "id" in pipeline, pipeline
    run = run_now(world.as_alice, pipeline=pipeline["id"]).json()
    run = world.as_alice.get(f"/api/runs/{run['id']}/").json()
    assert run["status"] == "succeeded", run
    assert run["metrics"]["odd"] == {"auc": None, "high": None, "low": None, "rows": 3}
    events = world.as_alice.get(f"/api/runs/{run['id']}/events/").json()
    assert events[-1]["type"] == "run_finished" and events[-1]["data"]["status"] == "succeeded"
