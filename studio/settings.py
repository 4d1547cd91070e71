"""Settings from the environment, with embedded defaults (DESIGN principle 8).

STUDIO_DATA_DIR  where the SQLite file, artifacts, uploads and the generated secret key live (default ./var)
DATABASE_URL     e.g. postgres://postgres@127.0.0.1:5432/studio (default: SQLite in the data dir)
REDIS_URL        optional; enables Redis for the queue and the channel layer
SECRET_KEY       default: generated once into the data dir
DEBUG            off unless set to 1/true
STUDIO_HTTPS     1/true behind HTTPS: secure cookies, HSTS (STUDIO_HSTS_SECONDS, default a year then) and a
                 redirect of plain HTTP (STUDIO_SSL_REDIRECT, default on then); each can also be set alone
STUDIO_CONNECTION_ALLOW  what database connections may reach beyond the default (see below)
STUDIO_CONNECTION_KEY    Fernet key(s) for stored connection URLs (default: derived from SECRET_KEY)
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("STUDIO_DATA_DIR", BASE_DIR / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def _secret_key() -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = DATA_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def _private(path: Path) -> None:
    """Create `path` (if missing) readable by this user only, and make an existing one so: the SQLite files
    hold password hashes, API tokens and encrypted connection URLs. SQLite gives its -wal and -shm files the
    database file's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
    except OSError:  # another user's file (a shared data dir): leave it as its owner set it
        pass


SECRET_KEY = _secret_key()
DEBUG = _flag("DEBUG")
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver").split(",") if h]
CSRF_FAILURE_VIEW = "studio.core.api.views.csrf_failure"
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
# Behind HTTPS (STUDIO_HTTPS=1; docker/ sets it): cookies only over HTTPS, HSTS, plain HTTP redirected. Behind a
# proxy that ends TLS, STUDIO_PROXY_SSL_HEADER=1 trusts its X-Forwarded-Proto (only if the proxy sets it always).
HTTPS = _flag("STUDIO_HTTPS")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _flag("STUDIO_SECURE_COOKIES", HTTPS)
SECURE_SSL_REDIRECT = _flag("STUDIO_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("STUDIO_HSTS_SECONDS", 31_536_000 if HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("STUDIO_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]  # a container health check speaks plain HTTP inside the network
if _flag("STUDIO_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
REDIS_URL = os.environ.get("REDIS_URL", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "huey.contrib.djhuey",
    "studio.core",
    "studio.projects",
    "studio.workflows",
    "studio.datasets",
    "studio.runs",
    "studio.deployments",
    "studio.schedules",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "studio.urls"
ASGI_APPLICATION = "studio.asgi.application"
WSGI_APPLICATION = "studio.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASES = {"default": dj_database_url.parse(
    os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'studio.sqlite3'}", conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL and a busy timeout let the web server and the worker write the same file without "locked" errors.
    # IMMEDIATE transactions take the write lock up front, so two processes queue on the busy timeout
    # instead of failing with "database is locked" when a reader upgrades to a writer.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;",
                                       "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests on a file as the studio runs, not Django's shared-cache memory database: there a node thread's write
    # (publish_if_better's decision) beside the run's event writer fails at once with "database table is locked"
    # instead of waiting on the busy timeout as WAL does.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_studio.sqlite3")}
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        _private(Path(DATABASES["default"]["NAME"]))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns at every start without it; collectstatic is optional
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Where pipelines keep their node outputs and where file imports may read. STUDIO_ARTIFACTS=s3://bucket/prefix
# shares artifacts, bundles and the serving registry between machines (pipelines/objects.py; STUDIO_S3_ENDPOINT
# for MinIO and other S3 servers); ARTIFACT_DIR then holds this machine's local copies.
_ARTIFACTS = os.environ.get("STUDIO_ARTIFACTS", "")
ARTIFACTS_URL = _ARTIFACTS if _ARTIFACTS.startswith("s3://") else ""
ARTIFACT_DIR = Path(_ARTIFACTS) if _ARTIFACTS and not ARTIFACTS_URL else DATA_DIR / "artifacts"
DATA_ROOT = Path(os.environ.get("STUDIO_DATA_ROOT", DATA_DIR / "data"))
# The online scorer (python -m studio.serving): where the studio tells it what is live, and where it answers.
SERVING_DIR = Path(os.environ.get("SERVING_DIR", DATA_DIR / "serving"))
SERVING_URL = os.environ.get("SERVING_URL", "http://127.0.0.1:8001")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "studio.core.tokens.ExpiringTokenAuthentication",  # API clients: "Authorization: Token <key>"
        "rest_framework.authentication.SessionAuthentication",  # the browser; CSRF enforced
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only (uploads declare their multipart parser): one parser to bound, one shape in the schema.
    "DEFAULT_PARSER_CLASSES": ["studio.core.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "studio.core.pagination.Pagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "studio.core.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Studio API",
    "DESCRIPTION": "Pipelines, runs, operators and deployments of the machine-learning workflow studio. "
                   "Every error has one shape (`Error`): a code, a message and a list of field paths.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],  # the schema and docs need a user too
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",  # no CDN: the assets come from drf-spectacular-sidecar
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "studio.core.errors.add_error_responses"],
}

# Credentials (studio/core/tokens.py, studio/core/api/auth.py): API tokens expire after STUDIO_TOKEN_TTL_HOURS
# and logging out revokes them; WebSocket tickets live WS_TICKET_SECONDS and work once; after
# LOGIN_FAILURES_PER_USER wrong passwords for one user name from one address (or LOGIN_FAILURES_PER_ADDRESS from
# one address, or LOGIN_FAILURES_PER_USER_ANY_ADDRESS for one user name from anywhere) within the window, those
# logins answer 429 until it passes: an attacker's guesses lock out the attacker's address, not the user, unless
# they come from many addresses. The counts live in the cache (Redis with REDIS_URL).
TOKEN_TTL_SECONDS = int(float(os.environ.get("STUDIO_TOKEN_TTL_HOURS", 24 * 7)) * 3600)
WS_TICKET_SECONDS = 30
LOGIN_FAILURES_PER_USER = 5
LOGIN_FAILURES_PER_ADDRESS = 30
LOGIN_FAILURES_PER_USER_ANY_ADDRESS = 100
LOGIN_FAILURES_WINDOW_SECONDS = 15 * 60

# Request bodies (studio/core/limits.py): uploads up to UPLOAD_MAX_BYTES, every other request up to
# REQUEST_MAX_BYTES; a bigger one is answered 413 before its body is read. JSON bodies nest at most
# JSON_MAX_DEPTH levels (studio/core/parsers.py).
UPLOAD_MAX_BYTES = int(os.environ.get("STUDIO_UPLOAD_MAX_BYTES", 500 * 1024 * 1024))
REQUEST_MAX_BYTES = int(os.environ.get("STUDIO_REQUEST_MAX_BYTES", 20 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BYTES  # Django's own check (WSGI, tests) agrees with the edge's
JSON_MAX_DEPTH = 64
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Database connections (studio/datasets/guard.py). A connection never reaches the studio's own database (its
# SQLite file or anything in STUDIO_DATA_DIR; its PostgreSQL / MySQL server + database name) nor a unix socket,
# and by default no address of this machine (loopback, link-local, its interfaces) and no SQLite file. An
# administrator opens more with STUDIO_CONNECTION_ALLOW, comma-separated entries of four kinds: a directory
# (/srv/sqlite: SQLite files below it), an address or network (127.0.0.1, 10.0.0.0/8), a host name
# (db.internal), or one database (postgresql://127.0.0.1:5432/warehouse, mysql://127.0.0.1:3306/sales).
# Checked when a connection is saved and again when a SQL import runs. A staff user's connections need no
# allow-list entry.
CONNECTION_ALLOW = [e.strip() for e in os.environ.get("STUDIO_CONNECTION_ALLOW", "").split(",") if e.strip()]
# Connection URLs are stored encrypted (Fernet). STUDIO_CONNECTION_KEY: comma-separated Fernet keys (make one
# with `python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`); the
# first encrypts and all decrypt, so a new key goes first while the old one still reads the stored rows.
# Without it, one key is derived from SECRET_KEY (changing SECRET_KEY then makes the stored URLs unreadable).
CONNECTION_KEYS = [k.strip() for k in os.environ.get("STUDIO_CONNECTION_KEY", "").split(",") if k.strip()]

# The run queue (huey.contrib.djhuey): SqliteHuey in the data dir by default, Redis with REDIS_URL.
# Runs have priorities: previews and single-node runs (10) go before full runs (0).
from studio.runs.queue_format import JSONSerializer  # noqa: E402  (huey and json only, no Django)

QUEUE_NAME = os.environ.get("STUDIO_QUEUE_NAME", "studio")
HUEY = {
    "name": QUEUE_NAME,
    "immediate": _flag("STUDIO_QUEUE_IMMEDIATE"),
    # JSON, not huey's default pickle: the Redis queue is shared by every machine (studio/runs/queue_format.py)
    "serializer": JSONSerializer(),
    "consumer": {"workers": int(os.environ.get("STUDIO_WORKER_THREADS", 2)), "worker_type": "thread",
                 "periodic": True, "check_worker_health": True},
}
if REDIS_URL:
    HUEY.update({"huey_class": "huey.PriorityRedisHuey", "url": REDIS_URL})
else:
    HUEY.update({"huey_class": "huey.SqliteHuey", "filename": str(DATA_DIR / "queue.sqlite3")})
    _private(DATA_DIR / "queue.sqlite3")
# Dedicated training workers: with STUDIO_TRAINING_QUEUE=<name>, full runs go to that queue, consumed by
# workers started with STUDIO_QUEUE_NAME=<name>; previews and single-node runs stay on the main queue.
TRAINING_QUEUE_NAME = os.environ.get("STUDIO_TRAINING_QUEUE", "")
# A run whose worker has not written a heartbeat for this long is taken as dead and re-queued.
WORKER_STALE_SECONDS = float(os.environ.get("STUDIO_WORKER_STALE_SECONDS", 60))
RUN_MAX_ATTEMPTS = int(os.environ.get("STUDIO_RUN_MAX_ATTEMPTS", 2))
# The worker process's memory ceiling, under which every node runs (operators/isolation.py): a size like 4g or
# 512m, "off", or "auto" (80% of the machine's or the container's memory). A node that allocates past it fails
# with a "memory limit" error; the worker goes on. Spark's JVM, started by the worker, gets the same ceiling.
WORKER_MEMORY_LIMIT = os.environ.get("STUDIO_WORKER_MEMORY_LIMIT", "auto")
# The Spark engine's warm-up at worker start (pipelines.warmup): "on", "off", or "auto" (on in a worker of the
# dedicated training queue, where full Spark runs go; elsewhere the session starts with the first Spark run). A
# Spark run taken while the warm-up runs waits for it, up to SPARK_WARMUP_WAIT_SECONDS, then runs beside it.
SPARK_WARMUP = os.environ.get("STUDIO_SPARK_WARMUP", "auto").strip().lower()
SPARK_WARMUP_WAIT_SECONDS = float(os.environ.get("STUDIO_SPARK_WARMUP_WAIT_SECONDS", 300))
# Extra operator modules to import in web and worker (plug-ins; the tests add their slow operators).
OPERATOR_MODULES = [m for m in os.environ.get("STUDIO_OPERATOR_MODULES", "").split(",") if m]

# The scheduler (manage.py run_scheduler): how often it looks for due fires, and how late a fire may be seen
# and still count as on time (older ones were missed while no scheduler ran: the catch-up policy decides).
SCHEDULER_TICK_SECONDS = float(os.environ.get("STUDIO_SCHEDULER_TICK_SECONDS", 5))
SCHEDULER_GRACE_SECONDS = int(os.environ.get("STUDIO_SCHEDULER_GRACE_SECONDS", 120))
# Failure webhooks of scheduled runs never reach internal addresses (loopback, link-local, private, the studio
# itself) unless listed here: host names, host:port pairs or CIDR networks, comma-separated.
WEBHOOK_ALLOW = [h.strip().lower() for h in os.environ.get("STUDIO_WEBHOOK_ALLOW", "").split(",") if h.strip()]
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("STUDIO_WEBHOOK_TIMEOUT_SECONDS", 5))
# Failure e-mail: Django's mail backend (the console by default; EMAIL_BACKEND=...smtp.EmailBackend and
# EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER / EMAIL_HOST_PASSWORD / EMAIL_USE_TLS to send for real).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _flag("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "studio@localhost")

# The cache holds login failure counts: Redis when there is one (shared by every web process), else memory.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": os.environ.get("STUDIO_CHANNEL_PREFIX", "studio") + ":cache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Live run events: channels-redis across processes when REDIS_URL is set. Without Redis the WebSocket
# consumer tails the RunEvent table (see studio/runs/consumers.py), which works across processes too.
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                  "CONFIG": {"hosts": [REDIS_URL],
                                             "prefix": os.environ.get("STUDIO_CHANNEL_PREFIX", "studio")}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
EVENT_POLL_SECONDS = float(os.environ.get("STUDIO_EVENT_POLL_SECONDS", 0.1 if not REDIS_URL else 2.0))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
