"""Database connections opened read-only at the driver level, for the SQL import on both engines.

Which databases a URL may reach is decided before a URL gets here (the studio checks it when a connection is
saved and again when a node asks for it); this module makes whatever it opens refuse writes in the database
itself, so a query that gets past the statement check (`WITH ... UPDATE ... RETURNING`, a function that
writes) still changes nothing:

- SQLite: the file opened through a `mode=ro` URI, `PRAGMA query_only`, and neither ATTACH (a query cannot
  reach a second file) nor a pragma that changes a setting;
- PostgreSQL: `default_transaction_read_only` for the session plus `SET TRANSACTION READ ONLY` at each begin;
- MySQL / MariaDB: `SET SESSION TRANSACTION READ ONLY` at connect plus `START TRANSACTION READ ONLY`;
- Spark's JDBC reads: the same session settings as JDBC connection properties, and no LOCAL INFILE.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from .contract import OperatorError

# Drivers installed with the project, used when a URL names only the database kind.
DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg", "mysql": "mysql+pymysql",
                   "mariadb": "mariadb+pymysql"}
READ_ONLY_STATEMENT = re.compile(r"^\s*(\(\s*)*(select|with)\b", re.IGNORECASE)

# What each kind runs when a transaction begins (the session default is set at connect, see read_only_engine).
_BEGIN = {"postgresql": "SET TRANSACTION READ ONLY", "mysql": "START TRANSACTION READ ONLY",
          "mariadb": "START TRANSACTION READ ONLY"}
_CONNECT_ARGS = {"postgresql": {"options": "-c default_transaction_read_only=on"},
                 "mysql": {"init_command": "SET SESSION TRANSACTION READ ONLY", "local_infile": False},
                 "mariadb": {"init_command": "SET SESSION TRANSACTION READ ONLY", "local_infile": False}}


def check_statement(query: str) -> None:
    """A friendly early error for what is plainly not a query; the database's read-only mode is the guard."""
    if not READ_ONLY_STATEMENT.match(query):
        raise OperatorError("the query must be a SELECT (or WITH ... SELECT)", field="query")


def sqlalchemy_url(url: str):
    """The URL parsed by SQLAlchemy, with the installed driver when it names only the database kind."""
    import sqlalchemy as sa

    try:
        parsed = sa.engine.make_url(url)
    except Exception:  # noqa: BLE001 - sqlalchemy raises several kinds; none may echo the URL
        raise OperatorError("the connection's URL is not a valid database URL", field="connection") from None
    if parsed.drivername in DEFAULT_DRIVERS:
        parsed = parsed.set(drivername=DEFAULT_DRIVERS[parsed.drivername])
    return parsed


def read_only_engine(url: str):
    """(engine, parsed URL) for reading: every connection of the engine refuses writes (see the module's doc)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    parsed = sqlalchemy_url(url)
    kind = parsed.get_backend_name()
    try:
        if kind == "sqlite":
            return sa.create_engine("sqlite://", creator=lambda: _open_sqlite(parsed.database),
                                    poolclass=NullPool), parsed
        if kind not in _BEGIN:
            raise OperatorError(f"unsupported database {kind!r}; use postgresql, mysql / mariadb or sqlite",
                                field="connection")
        connect_args = dict(_CONNECT_ARGS[kind])
        if kind == "postgresql" and "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = 15  # libpq waits forever by default; PyMySQL gives up after 10 s
        engine = sa.create_engine(parsed, connect_args=connect_args, poolclass=NullPool)
    except OperatorError:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a driver that is not installed
        raise OperatorError(f"cannot use the connection: {scrub(str(exc), url, parsed)}", field="connection") from None

    def begin_read_only(conn) -> None:
        # on the driver's cursor: the SQLAlchemy connection may carry stream_results, which would wrap this
        # statement in a server-side cursor
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            cursor.execute(_BEGIN[kind])
        finally:
            cursor.close()

    sa.event.listen(engine, "begin", begin_read_only)
    return engine, parsed


def _open_sqlite(path: str | None):
    import sqlite3

    if not path or path == ":memory:":
        raise OperatorError("a SQLite connection needs the path of a database file", field="connection")
    # quote(): a '?' or '#' in the file name cannot add URI parameters (mode=rw, vfs=...)
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
    except sqlite3.Error as exc:
        raise OperatorError(f"cannot open the SQLite database read-only: {exc}", field="connection") from None
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.set_authorizer(_sqlite_authorizer)
    return conn


# Pragmas that only describe tables (SQLAlchemy's inspector uses them), and settings read without a value;
# other pragmas (query_only = 0, writable_schema, ...) are refused.
_DESCRIBING_PRAGMAS = {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
                       "foreign_key_list"}
_READING_PRAGMAS = {"read_uncommitted", "query_only"}


def _sqlite_authorizer(action: int, arg1, arg2, database, trigger) -> int:
    """No second database file (ATTACH) and no pragma that changes a setting; writes are left to mode=ro and
    query_only, which refuse them with a clear "readonly database" error."""
    import sqlite3

    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and not (arg1 in _DESCRIBING_PRAGMAS or (arg1 in _READING_PRAGMAS
                                                                                and arg2 is None)):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def jdbc_read_only_properties(jdbc_url: str) -> dict[str, str]:
    """JDBC connection properties (and Spark JDBC options) that make every connection Spark opens read-only:
    the schema lookup, the bounds query and each partition's read."""
    if jdbc_url.startswith("jdbc:postgresql:"):
        return {"options": "-c default_transaction_read_only=on", "readOnly": "true", "readOnlyMode": "always",
                "sessionInitStatement": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"}
    # MariaDB Connector/J (it also reads MySQL): the session's transactions read-only, and no LOAD DATA LOCAL,
    # through which a server could read the worker's files
    return {"sessionVariables": "tx_read_only=1", "allowLocalInfile": "false",
            "sessionInitStatement": "SET SESSION TRANSACTION READ ONLY"}


def scrub(message: str, url: str, parsed) -> str:
    """An error message with the URL and password removed, so a secret never reaches the canvas or a log."""
    for secret in (url, parsed.render_as_string(hide_password=False), parsed.password):
        if secret:
            message = message.replace(str(secret), "***")
    return message.splitlines()[0][:500] if message else message
