"""Which databases a connection may reach (DESIGN principle 8: a plain account is an attacker).

A connection never reaches the studio's own database: not its SQLite file (by any path: symlinks, hard
links, /proc paths, `file:` URIs and relative paths are resolved or refused, and nothing below the studio's
data directory is opened), not its PostgreSQL / MySQL database (same server, port and database name), not a
unix socket. By default it does not reach this machine either (loopback, link-local, any address of this
machine's interfaces), nor another database on the studio's database server, nor any SQLite file;
`STUDIO_CONNECTION_ALLOW` (settings.CONNECTION_ALLOW) opens
addresses, networks, host names, single databases and SQLite directories. A connection a staff user saved
may reach what the allow-list does not open, never the studio's own database.

The check runs when a connection is saved (the serializer) and again when a SQL import asks for its URL
(`RunConnections`, the executor's `connections`), because the allow-list may have changed since and a host
name may resolve elsewhere now; the URL handed to the driver then names the address that was checked.
Reading itself is read-only at the driver level (operators/connections.py), whatever the URL.
"""
from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAX_URL_LENGTH = 2000
RESOLVE_SECONDS = 5.0
KINDS = {"postgresql": "postgresql", "postgres": "postgresql", "mysql": "mysql", "mariadb": "mysql",
         "sqlite": "sqlite"}
DRIVERS = {"postgresql": {"psycopg"}, "mysql": {"pymysql"}, "sqlite": {"pysqlite"}}
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306}
# URL parameters a connection may carry, with the values each takes. Everything else is refused: libpq and
# the MySQL driver take parameters that pick a unix socket (host=/run/..., unix_socket), read files on the
# worker (sslkey, passfile, read_default_file) or undo the read-only session (options).
_SSL_MODES = {"disable", "allow", "prefer", "require"}
_NUMBER = re.compile(r"^[0-9]{1,4}$")
_NAME = re.compile(r"^[\w.-]{1,64}$")
QUERY_PARAMETERS = {
    "postgresql": {"sslmode": _SSL_MODES.__contains__, "connect_timeout": _NUMBER.match,
                   "application_name": _NAME.match},
    "mysql": {"charset": _NAME.match, "connect_timeout": _NUMBER.match},
}
_HOST_NAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                        r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
_DATABASE_NAME = re.compile(r"^[\w$.-]{1,128}$")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


class Refused(ValueError):
    """A connection URL that is malformed or may not be reached. The message never contains the URL."""


@dataclass(frozen=True)
class Target:
    kind: str  # postgresql, mysql or sqlite
    url: object  # sqlalchemy URL
    host: str = ""
    port: int = 0
    database: str = ""


# ----------------------------------------------------------------------------------------------- parsing
def parse(url: str) -> Target:
    """The URL's parts, or Refused naming what is wrong (never echoing the URL: it may hold a password)."""
    from sqlalchemy.engine import make_url

    if not isinstance(url, str) or not url.strip():
        raise Refused("a database URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise Refused(f"the URL is longer than {MAX_URL_LENGTH:,} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise Refused("the URL must not contain spaces or control characters")
    try:
        parsed = make_url(url)
        port = parsed.port
    except Exception:  # noqa: BLE001 - ArgumentError, ValueError (a port that is not a number), ...
        raise Refused("not a database URL; the form is kind://user:password@host:port/database") from None
    kind = KINDS.get(parsed.get_backend_name())
    if kind is None:
        raise Refused(f"unsupported database {parsed.get_backend_name()[:40]!r}; use postgresql, mysql / mariadb "
                      "or sqlite")
    if "+" in parsed.drivername and parsed.get_driver_name() not in DRIVERS[kind]:
        raise Refused(f"unsupported driver {parsed.get_driver_name()[:40]!r}; leave it out "
                      f"({parsed.get_backend_name()}://...) to use the installed one")
    if kind == "sqlite":
        return _parse_sqlite(parsed)
    if port is not None and not 1 <= port <= 65535:
        raise Refused(f"port {port} is out of range (1 to 65535)")
    host = parsed.host or ""
    if not host:
        raise Refused("the URL must name a host (connections through a unix socket are not allowed)")
    if not (_is_address(host) or _HOST_NAME.match(host)):
        raise Refused(f"{host[:100]!r} is not a host name or an IP address")
    if not parsed.database or not _DATABASE_NAME.match(parsed.database):
        raise Refused("the URL must name a database (letters, digits, _ $ . -) after the host: "
                      "kind://user:password@host:port/database")
    allowed = QUERY_PARAMETERS[kind]
    for key, value in parsed.query.items():
        if key not in allowed:
            raise Refused(f"URL parameter {key[:40]!r} is not allowed; allowed: {', '.join(sorted(allowed))}")
        if not isinstance(value, str) or not allowed[key](value):
            raise Refused(f"URL parameter {key!r} has a value that is not allowed")
    return Target(kind, parsed, host.lower().rstrip("."), port or DEFAULT_PORTS[kind], parsed.database)


def _parse_sqlite(parsed) -> Target:
    path = parsed.database or ""
    if not path or path == ":memory:" or path.startswith("file:"):
        raise Refused("a SQLite URL names a database file by its absolute path: sqlite:////path/to/file.db "
                      "(no URI forms)")
    if parsed.host or parsed.username or parsed.password or parsed.query:
        raise Refused("a SQLite URL is sqlite:////absolute/path/to/file.db, with no host, user or parameters")
    if "\x00" in path:
        raise Refused("the SQLite path must not contain a NUL character")
    if not os.path.isabs(path):
        raise Refused("a SQLite file must be given by its absolute path (sqlite:////path/to/file.db)")
    return Target("sqlite", parsed, database=os.path.realpath(path))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def display(url: str) -> str:
    """The URL with its password and every parameter value that is not known to be harmless masked."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        allowed = QUERY_PARAMETERS.get(KINDS.get(parsed.get_backend_name(), ""), {})
        shown = parsed.set(query={}).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL saved before validation was strict: show nothing of it
        return "(not a valid database URL)"
    query = [f"{key}={value if key in allowed and isinstance(value, str) and allowed[key](value) else '***'}"
             for key, values in parsed.query.items() for value in (values if isinstance(values, tuple) else [values])]
    return shown + ("?" + "&".join(query) if query else "")


def kind_of(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).get_backend_name()
    except Exception:  # noqa: BLE001
        return ""


# ------------------------------------------------------------------------------------------- checking
def check(url: str, *, trusted: bool = False, at_run_time: bool = False) -> str:
    """The URL to open, or Refused with the reason. `trusted`: saved by a staff user, so the allow-list is
    not needed (the studio's own database stays out of reach). At run time a host that does not resolve is
    refused and the returned URL names the checked address; when a connection is saved, a name that does
    not resolve here is accepted (it may resolve only where the worker runs) and checked at run time."""
    target = parse(url)
    if target.kind == "sqlite":
        return _check_file(target, trusted)
    return _check_server(target, trusted, at_run_time)


def _check_file(target: Target, trusted: bool) -> str:
    path = Path(target.database)
    data_dir = Path(os.path.realpath(settings.DATA_DIR))
    if path == data_dir or data_dir in path.parents or any(_same_file(path, own) for own in _studio_files()):
        raise Refused("this file is the studio's own database or lies in its data directory")
    allow = allow_list()
    if not trusted and not any(path.parent == d or d in path.parents for d in allow.directories):
        raise Refused(f"SQLite files are read only from the directories an administrator allows "
                      f"(STUDIO_CONNECTION_ALLOW); {str(path.parent)[:200]!r} is not one of them")
    return target.url.set(database=str(path)).render_as_string(hide_password=False)


def _check_server(target: Target, trusted: bool, at_run_time: bool) -> str:
    addresses = resolve(target.host, target.port)
    if not addresses:
        if at_run_time:
            raise Refused(f"cannot resolve the host {target.host!r}")
        return target.url.render_as_string(hide_password=False)
    for address in addresses:
        studio = _studio_server(target, address)
        if studio == "database":
            raise Refused("this is the studio's own database")
        reason = local_reason(address) or ("the studio's database server" if studio == "server" else None)
        if reason and not trusted and not _allowed(target, address):
            shown = target.host if target.host == str(address) else f"{target.host} ({address})"
            raise Refused(f"{shown} is {reason}; an administrator can allow it with STUDIO_CONNECTION_ALLOW")
    return target.url.set(host=str(addresses[0])).render_as_string(hide_password=False)


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses `host` resolves to, IPv4 first; [] when it does not resolve within RESOLVE_SECONDS."""
    if _is_address(host):
        return [ipaddress.ip_address(host)]
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        infos = pool.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM).result(RESOLVE_SECONDS)
    except (OSError, UnicodeError, FutureTimeout):
        return []
    finally:
        pool.shutdown(wait=False)
    found = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}
    return sorted(found, key=lambda a: (a.version, a))


def local_reason(address) -> str | None:
    """Why `address` reaches this machine (or its link), or None."""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or (address.version == 4 and address in _THIS_NETWORK):
        return "an address of this machine"
    if address.is_multicast or address.is_reserved:
        return "a reserved address"
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))  # only this machine's own addresses can be bound
        except OSError:
            return None
    return "an address of this machine"


# ------------------------------------------------------------------------------ the studio's own databases
def _studio_files() -> list[Path]:
    files = [Path(str(db.get("NAME") or "")) for db in settings.DATABASES.values()
             if db.get("ENGINE", "").endswith("sqlite3")]
    files.append(Path(str(getattr(settings, "HUEY", {}).get("filename") or "")))
    return [f for f in files if f.is_absolute()]


def _same_file(path: Path, own: Path) -> bool:
    if os.path.realpath(own) == str(path):
        return True
    try:
        return os.path.samefile(path, own)  # a hard link to the studio's file
    except OSError:
        return False


def _studio_server(target: Target, address) -> str | None:
    """"database" when `address` + the target's port and database are the studio's own database, "server" when
    they are another database on the studio's database server, else None."""
    found = None
    for db in settings.DATABASES.values():
        engine = db.get("ENGINE", "")
        kind = "postgresql" if "postgres" in engine else "mysql" if "mysql" in engine else None
        if kind != target.kind or int(db.get("PORT") or DEFAULT_PORTS[kind]) != target.port:
            continue
        host = str(db.get("HOST") or "")
        if not host or host.startswith("/"):  # a unix socket: the studio's database is on this machine
            same = local_reason(address) is not None
        else:
            own = resolve(host, target.port)
            same = address in own or (any(local_reason(a) for a in own) and local_reason(address) is not None)
        if same and str(db.get("NAME", "")).casefold() == target.database.casefold():
            return "database"
        found = found or ("server" if same else None)
    return found


# ------------------------------------------------------------------------------------------ allow-list
@dataclass
class AllowList:
    directories: list[Path]
    networks: list
    hosts: set[str]
    databases: list[Target]


def allow_list() -> AllowList:
    """settings.CONNECTION_ALLOW, each entry one of: a directory (/srv/sqlite: SQLite files below it), an
    address or network (127.0.0.1, 10.0.0.0/8, ::1), a host name (db.internal), or one database given as a
    URL without user (postgresql://127.0.0.1:5432/warehouse)."""
    allow = AllowList([], [], set(), [])
    for entry in getattr(settings, "CONNECTION_ALLOW", []):
        if entry.startswith("/"):
            allow.directories.append(Path(os.path.realpath(entry)))
        elif "://" in entry:
            try:
                allow.databases.append(parse(entry))
            except Refused as exc:
                raise ImproperlyConfigured(f"STUDIO_CONNECTION_ALLOW entry {entry!r}: {exc}") from None
        else:
            try:
                allow.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if not _HOST_NAME.match(entry):
                    raise ImproperlyConfigured(f"STUDIO_CONNECTION_ALLOW entry {entry!r} is not a directory, "
                                               "an address, a network, a host name or a database URL") from None
                allow.hosts.add(entry.lower().rstrip("."))
    return allow


def _allowed(target: Target, address) -> bool:
    allow = allow_list()
    if target.host in allow.hosts or any(address in network for network in allow.networks):
        return True
    return any(db.kind == target.kind and db.port == target.port and db.database == target.database
               and (db.host == target.host or address in resolve(db.host, db.port)) for db in allow.databases)


# ------------------------------------------------------------------------------------------- at run time
class RunConnections(Mapping):
    """The executor's `connections` for a run of `project`: name -> the URL to open, checked again when a
    node asks for it (in the executor's threads: the rows are read here, in the worker's thread)."""

    def __init__(self, project):
        self._saved: dict[str, tuple[str | None, bool]] = {}
        for connection in project.connections.select_related("approved_by"):
            self._saved[connection.name] = (connection.decrypted_url_or_none(), connection.trusted)

    def __getitem__(self, name: str) -> str:
        from operators import OperatorError

        url, trusted = self._saved[name]
        if url is None:
            raise OperatorError(f"connection {name!r}: its stored URL cannot be decrypted (did "
                                "STUDIO_CONNECTION_KEY or SECRET_KEY change?); save the connection again",
                                field="connection")
        try:
            return check(url, trusted=trusted, at_run_time=True)
        except Refused as exc:
            raise OperatorError(f"connection {name!r} is refused: {exc}", field="connection") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._saved)

    def __len__(self) -> int:
        return len(self._saved)
