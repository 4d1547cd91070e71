"""The SQL import reads through connections that are read-only at the driver level (operators/connections.py):
queries that get past the statement check and would write are refused by the database itself, including
writes a rollback does not undo (SQLite outside a transaction, MyISAM tables, sequences), and nothing changes
in the attacked `users` table. Real SQLite, PostgreSQL (database `test`) and MariaDB (database `test`)."""
from __future__ import annotations

import sqlite3
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from operators import OperatorError
from operators.connections import read_only_engine, sqlalchemy_url

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
MARIADB = "mysql://root@127.0.0.1:3306/test"


class Target:
    """A `users` table (alice is no superuser) and a way to write to it from a SELECT, in one database."""

    def __init__(self, kind: str, url: str, attack: str, users: str, seq: str | None = None):
        self.kind, self.url, self.attack, self.users, self.seq = kind, url, attack, users, seq
        self.admin = sa.create_engine(sqlalchemy_url(url))

    def state(self):
        with self.admin.connect() as conn:
            users = conn.execute(sa.text(f"SELECT name, is_superuser FROM {self.users} ORDER BY name")).all()
            seq = None
            if self.seq and self.kind == "postgresql":
                seq = conn.execute(sa.text(f"SELECT last_value, is_called FROM {self.seq}")).one()
            elif self.seq:
                seq = conn.execute(sa.text(f"SELECT next_not_cached_value FROM {self.seq}")).one()
        return [tuple(u) for u in users], seq and tuple(seq)


def sqlite_target(tmp_path) -> Target:
    path = tmp_path / "app.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (name TEXT, is_superuser INTEGER)")
        conn.execute("INSERT INTO users VALUES ('alice', 0)")
    # Python's sqlite3 opens no transaction for a statement that starts with WITH: without the read-only
    # driver settings this UPDATE is committed at once and no rollback undoes it
    return Target("sqlite", f"sqlite:///{path}", "WITH a AS (SELECT 1) UPDATE users SET is_superuser = 1 "
                                                 "RETURNING name", "users")


# A users table, a sequence and a function that promotes every user and takes a sequence value, per server.
# nextval() is not undone by a rollback, nor is anything in a MyISAM table (no transactions): only the
# read-only session stops them.
_SERVER_SETUP = {
    "postgresql": ["CREATE TABLE users_{s} (name TEXT, is_superuser BOOLEAN)",
                   "INSERT INTO users_{s} VALUES ('alice', false)", "CREATE SEQUENCE audit_{s}",
                   "CREATE FUNCTION promote_{s}() RETURNS bigint LANGUAGE plpgsql AS $$ BEGIN "
                   "UPDATE users_{s} SET is_superuser = true; RETURN nextval('audit_{s}'); END $$"],
    "mysql": ["CREATE TABLE users_{s} (name VARCHAR(20), is_superuser INT) ENGINE=MyISAM",
              "INSERT INTO users_{s} VALUES ('alice', 0)", "CREATE SEQUENCE audit_{s}",
              "CREATE FUNCTION promote_{s}() RETURNS BIGINT MODIFIES SQL DATA BEGIN "
              "UPDATE users_{s} SET is_superuser = 1; RETURN NEXTVAL(audit_{s}); END"],
}


def server_target(kind: str, suffix: str) -> Target:
    """kind: postgresql or mysql (MariaDB)."""
    target = Target(kind, POSTGRES if kind == "postgresql" else MARIADB, f"SELECT promote_{suffix}() AS promoted",
                    f"users_{suffix}", f"audit_{suffix}")
    with target.admin.begin() as conn:
        for statement in _SERVER_SETUP[kind]:
            conn.execute(sa.text(statement.replace("{s}", suffix)))
    return target


def drop_target(target: Target, suffix: str) -> None:
    if target.kind == "sqlite":
        return
    with target.admin.begin() as conn:
        conn.execute(sa.text(f"DROP FUNCTION IF EXISTS promote_{suffix}" + ("()" if target.kind == "postgresql"
                                                                            else "")))
        conn.execute(sa.text(f"DROP SEQUENCE IF EXISTS audit_{suffix}"))
        conn.execute(sa.text(f"DROP TABLE IF EXISTS users_{suffix}"))
    target.admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def target(request, tmp_path):
    suffix = uuid.uuid4().hex[:10]
    made = sqlite_target(tmp_path) if request.param == "sqlite" else server_target(
        "mysql" if request.param == "mariadb" else request.param, suffix)
    yield made
    drop_target(made, suffix)


def test_a_writing_query_is_refused_by_the_database_and_changes_nothing(run, target):
    before = target.state()
    run.connections["app"] = target.url
    with pytest.raises(OperatorError) as err:
        run("import_sql", connection="app", query=target.attack)
    assert err.value.field == "query"
    assert any(word in err.value.message.lower() for word in ("read-only", "readonly", "read only")), \
        err.value.message
    assert target.state() == before  # alice is still no superuser; no sequence value was used up
    # the table itself still reads
    table = run("import_sql", connection="app", table=target.users)["table"]
    assert table["name"].tolist() == ["alice"]


def test_the_engine_refuses_writes_without_the_statement_check(target):
    """The statement check is a friendly early error, not the guard: straight through the engine, a write,
    a session setting that would undo read-only mode, and a second file are all refused."""
    before = target.state()
    engine, _ = read_only_engine(target.url)
    try:
        with engine.connect() as conn, pytest.raises(sa.exc.SQLAlchemyError):
            conn.exec_driver_sql(f"UPDATE {target.users} SET is_superuser = 1")
        if target.kind == "postgresql":
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT set_config('default_transaction_read_only', 'off', false)")
                conn.rollback()
                with pytest.raises(sa.exc.SQLAlchemyError, match="read-only"):  # the next transaction too
                    conn.exec_driver_sql(f"UPDATE {target.users} SET is_superuser = true")
        if target.kind == "mysql":
            with engine.connect() as conn, pytest.raises(sa.exc.SQLAlchemyError):
                conn.exec_driver_sql(f"INSERT INTO {target.users} VALUES ('mallory', 1)")
        if target.kind == "sqlite":
            for statement in ("PRAGMA query_only = 0", f"ATTACH DATABASE '{target.url[10:]}' AS other",
                              "CREATE TEMP TABLE t (a INT)"):
                with engine.connect() as conn, pytest.raises(sa.exc.SQLAlchemyError):
                    conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    assert target.state() == before


def test_sqlite_is_opened_read_only_whatever_the_file_name(run, tmp_path):
    """A file name cannot add URI parameters (mode=rw) to the read-only open; a missing file is not created."""
    odd = tmp_path / "odd?mode=rw#x.sqlite"
    with sqlite3.connect(odd) as conn:
        conn.execute("CREATE TABLE t (a INT)")
        conn.execute("INSERT INTO t VALUES (1)")
    run.connections["odd"] = f"sqlite:///{quote(str(odd))}"  # SQLAlchemy URLs percent-encode the path
    assert run("import_sql", connection="odd", table="t")["table"]["a"].tolist() == [1]
    run.connections["missing"] = f"sqlite:///{tmp_path / 'missing.sqlite'}"
    with pytest.raises(OperatorError) as err:
        run("import_sql", connection="missing", table="t")
    assert err.value.field == "connection"
    assert not (tmp_path / "missing.sqlite").exists()
