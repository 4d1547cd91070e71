"""Database connections as an attacker with a plain account sees them: bob, a plain user who owns his own
project B, tries to reach the studio's own database, this machine's database servers and unix sockets, and
to write through a SQL import; he gets a 400 naming `url` (or a failed node naming the connection / query),
and nothing changes in the studio's users table nor in the attacked database. What an administrator opens
(STUDIO_CONNECTION_ALLOW) and what a staff user saves still imports. Real PostgreSQL (database `test`),
MariaDB (database `test`) and SQLite files."""
from __future__ import annotations

import os
import socket
import sqlite3
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from django.db import connection as studio_db

from tests.studio.conftest import client_for, make_user, node

pytestmark = pytest.mark.django_db

PG_TEST = "postgresql://postgres@127.0.0.1:5432/test"
MARIADB_TEST = "mysql://root@127.0.0.1:3306/test"


def url_errors(response) -> list[str]:
    assert response.status_code == 400, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"code", "message", "errors"}, body
    return [e["message"] for e in body["errors"] if e["path"] == "url"]


def create(client, project, url: str, name: str = "db"):
    return client.post("/api/connections/", {"project": project.pk, "name": name, "url": url}, format="json")


def users_table() -> list[tuple]:
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.order_by("pk").values_list("username", "is_superuser", "is_staff",
                                                                       "password"))


def sql_pipeline(client, project, connection: str, name: str = "sql", **params) -> int:
    graph = {"nodes": [node("import", "import_sql", connection=connection, **params)], "edges": []}
    response = client.post("/api/pipelines/", {"project": project.pk, "name": name, "graph": graph}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def run_pipeline(client, run_now, pipeline: int) -> dict:
    run = run_now(client, pipeline=pipeline).json()
    return client.get(f"/api/runs/{run['id']}/").json()


def node_error(run: dict) -> dict:
    assert run["status"] == "failed", run
    return {n["node"]: n for n in run["nodes"]}["import"]["error"]


@pytest.fixture
def sqlite_dir(tmp_path, settings):
    """A directory the administrator opened for SQLite files, holding app.sqlite with a users table."""
    folder = tmp_path / "opened"
    folder.mkdir()
    with sqlite3.connect(folder / "app.sqlite") as conn:
        conn.execute("CREATE TABLE users (name TEXT, is_superuser INTEGER)")
        conn.execute("INSERT INTO users VALUES ('alice', 0), ('bob', 0)")
    settings.CONNECTION_ALLOW = [str(folder)]
    return folder


# ------------------------------------------------------------------------------ the studio's own database
def test_the_studios_own_database_is_refused_whatever_the_allow_list(world, settings):
    """In-process the studio's database is PostgreSQL (make test's second pass) or a SQLite file in the data
    directory (the first pass); either way bob cannot name it, even with every address and directory
    allowed: by its path it is refused as the studio's own, in the other SQLite forms for not being one."""
    before = users_table()
    own = settings.DATABASES["default"]
    settings.CONNECTION_ALLOW = ["0.0.0.0/0", "::/0", "/", "localhost"]
    if own["ENGINE"].endswith("postgresql"):
        attacks = {f"postgresql://postgres@{host}:{own.get('PORT') or 5432}/{own['NAME']}": "studio's own database"
                   for host in ("127.0.0.1", "localhost", socket.gethostname(), "[::ffff:127.0.0.1]")}
    else:
        own_path = str(own["NAME"])
        attacks = {f"sqlite:///{own_path}": "studio's own database" if os.path.isabs(own_path) else "absolute path",
                   f"sqlite:///file:{own_path}": "absolute path", "sqlite://": "absolute path"}
    for url, expected in attacks.items():
        messages = url_errors(create(world.as_bob, world.b, url))
        assert messages and expected in messages[0], (url, messages)
    assert users_table() == before


def test_the_studios_files_are_refused_by_any_path(world, settings, tmp_path):
    """The studio's SQLite files (here its queue and a database file in its data dir) by a symlink, a hard
    link, /proc, '..', a relative path and URI forms, with their directories allowed."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    own = data_dir / "studio.sqlite3"
    queue = tmp_path / "queue.sqlite3"
    for path in (own, queue):
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE auth_user (password TEXT)")
    opened = tmp_path / "opened"
    opened.mkdir()
    (opened / "link.sqlite").symlink_to(own)
    os.link(queue, opened / "hard.sqlite")
    settings.DATA_DIR = data_dir
    settings.HUEY = {**settings.HUEY, "filename": str(queue)}
    settings.CONNECTION_ALLOW = [str(tmp_path), str(opened), "/"]
    attacks = {f"sqlite:///{own}": "studio's own", f"sqlite:///{opened}/link.sqlite": "studio's own",
               f"sqlite:///{opened}/hard.sqlite": "studio's own", f"sqlite:///{queue}": "studio's own",
               f"sqlite:///{opened}/../var/studio.sqlite3": "studio's own",
               f"sqlite:////proc/self/root{own}": "studio's own",
               f"sqlite:///{quote(str(opened))}/%2e%2e/var/studio.sqlite3": "studio's own",
               "sqlite:///var/studio.sqlite3": "absolute path",
               f"sqlite:///file:{own}?mode=ro&uri=true": "URI", f"sqlite:///{own}?uri=true": "no host",
               f"sqlite://localhost/{own}": "no host"}
    for url, expected in attacks.items():
        messages = url_errors(create(world.as_bob, world.b, url))
        assert messages and expected in messages[0], (url, messages)
    assert not world.b.connections.exists()


def test_the_studios_database_server_elsewhere(world, monkeypatch, settings):
    """With the studio's database on another machine (docker compose, a managed PostgreSQL): its database is
    refused by address + port + name, and the server's other databases need an allow-list entry."""
    from django.conf import settings as django_settings

    monkeypatch.setattr(django_settings, "DATABASES", {"default": {
        "ENGINE": "django.db.backends.postgresql", "HOST": "10.1.2.3", "PORT": "5432", "NAME": "studio"}})
    assert "studio's own database" in url_errors(create(world.as_bob, world.b, "postgresql://u@10.1.2.3/STUDIO"))[0]
    assert "studio's database server" in url_errors(create(world.as_bob, world.b, "postgresql://u@10.1.2.3/x"))[0]
    assert create(world.as_bob, world.b, "postgresql://u@10.1.2.3:5433/studio", name="other-port").status_code == 201
    assert create(world.as_bob, world.b, "postgresql://u@10.9.9.9/studio", name="other-host").status_code == 201
    settings.CONNECTION_ALLOW = ["postgresql://10.1.2.3:5432/x", "10.1.2.0/24"]
    assert create(world.as_bob, world.b, "postgresql://u@10.1.2.3/x", name="allowed").status_code == 201
    assert "studio's own database" in url_errors(create(world.as_bob, world.b, "postgresql://u@10.1.2.3/studio"))[0]


# --------------------------------------------------------------------------- this machine's servers
def test_this_machines_databases_and_sockets_are_refused_by_default(world):
    before = users_table()
    attacks = [
        "postgresql://postgres@127.0.0.1/postgres",  # PostgreSQL superuser: pg_read_file('/etc/passwd')
        "postgresql://postgres@localhost:5432/postgres", f"postgresql://postgres@{socket.gethostname()}/postgres",
        "postgresql://postgres@127.1/postgres", "postgresql://postgres@[::1]/postgres",
        "postgresql://postgres@[::ffff:127.0.0.1]/postgres", "postgresql://postgres@0.0.0.0/postgres",
        "postgresql://u@169.254.169.254/x",  # link-local: a cloud's metadata service
        "postgresql://postgres@/postgres?host=/var/run/postgresql",  # a unix socket, peer / trust login
        "postgresql://postgres@%2Fvar%2Frun%2Fpostgresql/postgres",
        "postgresql://postgres@db.example/postgres?hostaddr=127.0.0.1",
        "postgresql://postgres@db.example/postgres?options=-c%20default_transaction_read_only%3Doff",
        "mysql://root@127.0.0.1:3306/mysql",  # MariaDB root: LOAD_FILE('/etc/passwd')
        "mysql://root@localhost/test?unix_socket=/run/mysqld/mysqld.sock",
        "mariadb://root@127.0.0.1/test", "mysql://root@db.example/test?local_infile=1",
    ]
    for url in attacks:
        assert url_errors(create(world.as_bob, world.b, url)), url
    assert not world.b.connections.exists()
    assert users_table() == before


def test_an_allow_listed_database_imports_and_a_writing_query_changes_nothing(world, settings, run_now):
    settings.CONNECTION_ALLOW = ["postgresql://127.0.0.1:5432/test", "mysql://127.0.0.1:3306/test"]
    # the administrator opened two databases, not the servers: their other databases stay refused
    assert url_errors(create(world.as_bob, world.b, "postgresql://postgres@127.0.0.1/postgres"))
    assert url_errors(create(world.as_bob, world.b, "mysql://root@127.0.0.1/mysql"))
    for kind, url in (("pg", PG_TEST), ("maria", MARIADB_TEST)):
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://")
                                  .replace("mysql://", "mysql+pymysql://"))
        table, promote = f"users_{kind}_{os.getpid()}", f"promote_{kind}_{os.getpid()}"
        with engine.begin() as conn:  # a table, and a function that writes to it (MyISAM: no rollback)
            conn.execute(sa.text(f"CREATE TABLE {table} (name VARCHAR(20), is_superuser INT)"
                                 + (" ENGINE=MyISAM" if kind == "maria" else "")))
            conn.execute(sa.text(f"INSERT INTO {table} VALUES ('alice', 0), ('bob', 0)"))
            conn.execute(sa.text(
                f"CREATE FUNCTION {promote}() RETURNS INT LANGUAGE plpgsql AS $$ BEGIN UPDATE {table} SET "
                "is_superuser = 1; RETURN 1; END $$" if kind == "pg" else
                f"CREATE FUNCTION {promote}() RETURNS INT MODIFIES SQL DATA BEGIN UPDATE {table} SET "
                "is_superuser = 1; RETURN 1; END"))
        try:
            assert create(world.as_bob, world.b, url, name=kind).status_code == 201
            ok = run_pipeline(world.as_bob, run_now, sql_pipeline(world.as_bob, world.b, kind, name=f"{kind}-ok",
                                                                  table=table))
            assert ok["status"] == "succeeded", ok
            rows = world.as_bob.get(f"/api/runs/{ok['id']}/outputs/import/table/").json()["rows"]
            assert sorted(rows) == [["alice", 0], ["bob", 0]]
            bad = run_pipeline(world.as_bob, run_now, sql_pipeline(world.as_bob, world.b, kind, name=f"{kind}-bad",
                                                                   query=f"SELECT {promote}() AS promoted"))
            error = node_error(bad)
            assert error["field"] == "query" and "read" in error["message"].lower(), error
            with engine.connect() as conn:
                assert conn.execute(sa.text(f"SELECT SUM(is_superuser) FROM {table}")).scalar() == 0
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP FUNCTION {promote}" + ("()" if kind == "pg" else "")))
                conn.execute(sa.text(f"DROP TABLE {table}"))
            engine.dispose()


def test_with_update_returning_on_sqlite_is_refused_by_the_driver(world, sqlite_dir, run_now):
    """The original attack's query, against a SQLite file the administrator opened: without the read-only
    driver settings it commits at once (Python's sqlite3 opens no transaction for a WITH statement)."""
    path = sqlite_dir / "app.sqlite"
    assert create(world.as_bob, world.b, f"sqlite:///{path}").status_code == 201
    run = run_pipeline(world.as_bob, run_now, sql_pipeline(
        world.as_bob, world.b, "db", query="WITH a AS (SELECT 1) UPDATE users SET is_superuser = 1 RETURNING name"))
    error = node_error(run)
    assert error["field"] == "query" and "readonly" in error["message"], error
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name, is_superuser FROM users ORDER BY name").fetchall() == [("alice", 0),
                                                                                                ("bob", 0)]
    outside = sqlite_dir.parent / "outside.sqlite"  # not below the opened directory
    sqlite3.connect(outside).close()
    assert "STUDIO_CONNECTION_ALLOW" in url_errors(create(world.as_bob, world.b, f"sqlite:///{outside}", "o"))[0]


# ------------------------------------------------------------------------------------------ at run time
def test_the_check_runs_again_when_the_import_runs(world, settings, run_now, sqlite_dir):
    """A connection saved before the allow-list changed, and a host name that resolves to this machine only
    at run time (a row written as if the name resolved elsewhere when it was saved), fail their node."""
    from studio.datasets.models import Connection

    settings.CONNECTION_ALLOW = [str(sqlite_dir), "postgresql://127.0.0.1:5432/test"]
    assert create(world.as_bob, world.b, PG_TEST, name="pg").status_code == 201
    assert create(world.as_bob, world.b, f"sqlite:///{sqlite_dir / 'app.sqlite'}", name="file").status_code == 201
    Connection.objects.create(project=world.b, name="renamed", url="postgresql://postgres@localhost:5432/postgres")
    settings.CONNECTION_ALLOW = []
    for name, table, expected in (("pg", "pg_class", "loopback"), ("file", "users", "STUDIO_CONNECTION_ALLOW"),
                                  ("renamed", "pg_class", "localhost (127.0.0.1) is a loopback address")):
        error = node_error(run_pipeline(world.as_bob, run_now, sql_pipeline(world.as_bob, world.b, name,
                                                                            name=name, table=table)))
        assert error["field"] == "connection" and expected in error["message"], error


# ------------------------------------------------------------------------------------------- URLs
def test_a_bad_port_is_a_400_and_the_list_still_answers(world):
    from studio.datasets.models import Connection

    for url in ("postgresql://u:pw@db.example:99999/x", "postgresql://u:pw@db.example:0/x",
                "postgresql://u:pw@db.example:abc/x", "mysql://u@db.example:-1/x", "postgresql://u:pw@db example/x",
                "postgresql://u@db.example/", "nonsense://x", "postgresql+pg8000://u@db.example/x", "x" * 3000,
                "sqlite:////tmp/x%00.db"):
        response = create(world.as_alice, world.a, url)
        assert response.status_code == 400 and [e["path"] for e in response.json()["errors"]] == ["url"], url
        assert "pw" not in response.content.decode().replace("pw@", "")
    # a row saved before URLs were checked (the old code stored these) must not break the list
    Connection.objects.create(project=world.a, name="legacy", url="postgresql://u:pw@db.example:99999/x")
    Connection.objects.create(project=world.a, name="garbage", url="::not a url at all::")
    listed = world.as_carol.get("/api/connections/")
    assert listed.status_code == 200
    shown = {c["name"]: c["display_url"] for c in listed.json()["results"]}
    assert shown == {"legacy": "postgresql://u:***@db.example:99999/x", "garbage": "(not a valid database URL)"}


def test_a_password_is_never_echoed_in_any_position(world):
    from studio.datasets.models import Connection

    secret = "hunter2-secret"
    refused = create(world.as_alice, world.a, f"postgresql://u@db.example/x?password={secret}")
    assert url_errors(refused) and secret not in refused.content.decode()
    created = create(world.as_alice, world.a, f"postgresql://u:{secret}@db.example/x?sslmode=require", "ok")
    assert created.status_code == 201
    assert created.json()["display_url"] == "postgresql://u:***@db.example/x?sslmode=require"
    # rows saved by the old code, with the password (or anything else) as a parameter
    Connection.objects.create(project=world.a, name="q1", url=f"postgresql://u@db.example/x?password={secret}")
    Connection.objects.create(project=world.a, name="q2",
                              url=f"mysql://u@db.example/x?charset=utf8&passwd={secret}&x={secret}")
    for client in (world.as_alice, world.as_carol):
        listed = client.get("/api/connections/")
        assert listed.status_code == 200 and secret not in listed.content.decode()
        for item in listed.json()["results"]:
            detail = client.get(f"/api/connections/{item['id']}/")
            assert detail.status_code == 200 and secret not in detail.content.decode()
    shown = {c["name"]: c["display_url"] for c in world.as_carol.get("/api/connections/").json()["results"]}
    assert shown["q1"] == "postgresql://u@db.example/x?password=***"
    assert shown["q2"] == "mysql://u@db.example/x?charset=utf8&passwd=***&x=***"


def test_stored_urls_are_encrypted_at_rest(world, settings):
    from cryptography.fernet import Fernet

    from studio.datasets.models import Connection

    secret = "tiger-secret"
    url = f"postgresql://scott:{secret}@db.example:5432/sales"
    created = create(world.as_alice, world.a, url).json()

    def stored() -> str:
        with studio_db.cursor() as cursor:
            cursor.execute("SELECT * FROM datasets_connection WHERE id = %s", [created["id"]])
            return " ".join(str(v) for v in cursor.fetchone())

    assert secret not in stored() and "db.example" not in stored()
    assert Connection.objects.get(pk=created["id"]).url == url
    # without STUDIO_CONNECTION_KEY the key comes from SECRET_KEY
    secret_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another secret key"
    assert Connection.objects.get(pk=created["id"]).decrypted_url_or_none() is None
    settings.SECRET_KEY = secret_key
    # keys from the environment: the first encrypts, the others still decrypt (rotation)
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.CONNECTION_KEYS = [first]
    assert Connection.objects.get(pk=created["id"]).decrypted_url_or_none() is None
    listed = world.as_alice.get("/api/connections/")  # a row this studio cannot read does not break the list
    assert listed.status_code == 200 and "cannot be decrypted" in listed.json()["results"][0]["display_url"]
    rotated = Connection.objects.create(project=world.a, name="rotated", url=url)
    settings.CONNECTION_KEYS = [second, first]
    assert Connection.objects.get(pk=rotated.pk).url == url
    newer = Connection.objects.create(project=world.a, name="newer", url=url)
    assert Fernet(second).decrypt(newer.encrypted_url.encode()).decode() == url


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_existing_rows():
    from django.db.migrations.executor import MigrationExecutor

    from studio.datasets.models import Connection

    executor = MigrationExecutor(studio_db)
    executor.migrate([("datasets", "0001_initial")])
    old = executor.loader.project_state([("datasets", "0001_initial")]).apps
    project = old.get_model("projects", "Project").objects.create(name="old")
    old.get_model("datasets", "Connection").objects.create(project=project, name="c",
                                                            url="postgresql://u:old-secret@db.example/x")
    executor = MigrationExecutor(studio_db)
    executor.migrate(executor.loader.graph.leaf_nodes())
    with studio_db.cursor() as cursor:
        cursor.execute("SELECT encrypted_url FROM datasets_connection")
        (token,) = cursor.fetchone()
    assert "old-secret" not in token
    assert Connection.objects.get(name="c").url == "postgresql://u:old-secret@db.example/x"


# ------------------------------------------------------------------------------------------ who may
def test_creating_a_connection_needs_the_owner_role_and_the_allow_list_or_staff(world, settings, run_now):
    from studio.projects.models import Membership, Role

    dave = make_user("dave")
    Membership.objects.create(project=world.a, user=dave, role=Role.EDITOR)
    as_dave = client_for(dave)
    url = "postgresql://u:pw@db.example/x"
    assert create(as_dave, world.a, url).status_code == 403  # an editor may not
    assert create(world.as_carol, world.a, url).status_code == 403  # nor a viewer
    made = create(world.as_alice, world.a, url)  # the owner may
    assert made.status_code == 201
    for client, status in ((as_dave, 403), (world.as_bob, 404)):
        assert client.patch(f"/api/connections/{made.json()['id']}/", {"url": PG_TEST}, format="json"
                            ).status_code == status
        assert client.delete(f"/api/connections/{made.json()['id']}/").status_code == status
    # a staff user (here owner of his project) may save what the allow-list does not open, never the studio's
    sam = make_user("sam")
    sam.is_staff = True
    sam.save()
    Membership.objects.create(project=world.b, user=sam, role=Role.OWNER)
    as_sam = client_for(sam)
    approved = create(as_sam, world.b, PG_TEST, name="local")
    assert approved.status_code == 201, approved.json()
    run = run_pipeline(world.as_bob, run_now, sql_pipeline(world.as_bob, world.b, "local", query="SELECT 1 AS one"))
    assert run["status"] == "succeeded", (run["error"], [n["error"] for n in run["nodes"]])
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        own = f"postgresql://postgres@127.0.0.1:5432/{settings.DATABASES['default']['NAME']}"
        assert "studio's own database" in url_errors(create(as_sam, world.b, own, name="own"))[0]
    # bob renames it: the approval stays; bob points it elsewhere: it needs the allow-list again
    link = f"/api/connections/{approved.json()['id']}/"
    assert world.as_bob.patch(link, {"name": "local2"}, format="json").status_code == 200
    assert "loopback" in url_errors(world.as_bob.patch(link, {"url": "postgresql://postgres@127.0.0.1/postgres"},
                                                       format="json"))[0]
    assert world.as_bob.patch(link, {"url": "postgresql://postgres@db.example/x"}, format="json").status_code == 200
    from studio.datasets.models import Connection

    assert Connection.objects.get(pk=approved.json()["id"]).approved_by is None
