"""The online scorer: a lean Starlette app speaking the Open Inference Protocol v2 (REST, JSON and the binary
tensor data extension) for every live deployment, plus a v1-style records endpoint and Prometheus metrics.

No Django, no pyspark, no training code: it imports the bundle loader (pipelines.bundle) and, through it,
the transform kernels. Which models it serves comes from the registry file the studio writes; see
repository.py for how versions swap without a restart, and server.py for how a request is scored.
"""
from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

try:  # the server python -m studio.serving runs: its responses go out in one write (send_in_one_write)
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle as _HttpToolsCycle
except ImportError:
    _HttpToolsCycle = None

from .drift import DriftGauges
from .predlog import PredictionLog
from .repository import Repository
from .server import DEFAULT_MAX_BODY, InferenceServer

log = logging.getLogger("studio.serving")


def default_data_dir() -> Path:
    """The studio's data dir, found the way studio.settings finds it, without importing Django."""
    return Path(os.environ.get("STUDIO_DATA_DIR", Path(__file__).resolve().parents[2] / "var")).resolve()


def create_app(registry_path: str | Path | None = None, *, repository: Repository | None = None,
               prediction_log_dir: str | Path | None = None, log_retention_days: float = 30.0,
               log_flush_interval: float = 1.0, max_body_bytes: int = DEFAULT_MAX_BODY,
               poll_interval: float = 0.2, require_keys: bool = True, buckets=None,
               pin_threads: tuple[int, int] | None = None) -> Starlette:
    """The ASGI app. `registry_path`: the registry file the studio writes; `repository` replaces it (tests).
    `require_keys`: every scoring and metadata request carries its deployment's key (health stays open);
    `buckets`: where per-key rate limits count (ratelimit.py; this process by default); `pin_threads`: (the
    event loop's CPU, the prediction log writer's CPU), see pin_threads()."""
    if repository is None:
        from pipelines.bundle import load_bundle, read_registry

        repository = Repository(registry_path, loader=load_bundle, read_registry=read_registry,
                                poll_interval=poll_interval)
    server = InferenceServer(repository, max_body_bytes=max_body_bytes, require_keys=require_keys,
                             buckets=buckets)
    if prediction_log_dir is not None:  # input drift of each live model over its prediction log
        server.metrics.registry.register(DriftGauges.from_environment(repository, prediction_log_dir))
        server.metrics.registry.register(PredictionLogRows(server))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(repository.start)
        # Move everything loaded so far (libraries, bundles) out of the collector's sight: full collections
        # then scan only what requests allocate, which keeps their pauses out of the latency tail.
        gc.collect()
        gc.freeze()
        if prediction_log_dir is not None:
            server.prediction_log = PredictionLog(prediction_log_dir, flush_interval=log_flush_interval,
                                                  retention_days=log_retention_days)
        if pin_threads is not None:
            app.state.pinned = pin_threads_to_cpus(pin_threads, server.prediction_log)
        try:
            yield
        finally:
            await server.followers.drain()
            server.followers.close()
            if hasattr(server.gate.buckets, "close"):
                await server.gate.buckets.close()
            repository.stop()
            if server.prediction_log is not None:
                server.prediction_log.close()

    app = ServingApp(server, routes=routes_of(server), lifespan=lifespan)
    app.state.server = server
    app.state.repository = repository
    app.state.metrics = server.metrics
    app.state.batcher = server.batcher
    return app


class PredictionLogRows:
    """serving_prediction_log_rows_total{outcome="written" | "dropped"}: the rows the prediction log wrote, and
    those it dropped because its writer fell behind by max_pending_rows (else known only to the process).
    Process-wide: a deployment key's /metrics leaves it out (scoped_metrics), the control token's shows it."""

    def __init__(self, server: InferenceServer):
        self.server = server

    def collect(self):
        from prometheus_client.core import CounterMetricFamily

        log = self.server.prediction_log
        family = CounterMetricFamily("serving_prediction_log_rows", "Rows of answered requests the prediction "
                                     "log wrote, and dropped because its writer fell behind", labels=["outcome"])
        family.add_metric(["written"], log.written_rows if log is not None else 0)
        family.add_metric(["dropped"], log.dropped_rows if log is not None else 0)
        yield family


# The infer routes of routes_of, as Starlette matches them ({name} and {version}: one path segment each).
INFER_PATH = re.compile(r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?/infer")


class ServingApp(Starlette):
    """Starlette, with an infer request (POST to an infer route) handed straight to the server's scoring path:
    the middleware stack and the router cost 30-40 us of a request's CPU, more than a binary 1,000-row LR
    request's parsing. server.score answers every error itself, in the protocol's shape, as through the
    router; every other request, and any other method on these paths, goes the usual way."""

    def __init__(self, server: InferenceServer, **kwargs):
        super().__init__(**kwargs)
        self._server = server

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = INFER_PATH.fullmatch(scope["path"])
            if match is not None:
                scope["app"] = self
                scope["path_params"] = {k: v for k, v in match.groupdict().items() if v is not None}
                response = await self._server.infer(Request(scope, receive, send))
                await send_in_one_write(response, scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class _OneWrite:
    """Stands in for a connection's transport while one response is sent: keeps its writes (the status line and
    headers, then the body) and hands them on together, as one system call and one TCP segment."""

    def __init__(self, transport):
        self.transport = transport
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.parts.append(data)

    def flush(self) -> None:
        parts, self.parts = self.parts, []
        if parts and not self.transport.is_closing():
            self.transport.writelines(parts)

    def close(self) -> None:  # (a connection that does not keep alive: what was written goes first)
        self.flush()
        self.transport.close()

    def __getattr__(self, name):
        return getattr(self.transport, name)


async def send_in_one_write(response, scope, receive, send) -> None:
    """`response` sent through uvicorn's httptools protocol with its header and body in one write: uvloop sends
    each transport.write at once, so the two went as two writes and two TCP segments, waking the client twice
    (strace of the serving loop under wrk: 2 write -> 1 writev per request; the server's CPU per 1,000-row binary
    request 535-631 us against 584-651 before, in three runs). It swaps the transport of uvicorn's request cycle
    (not public API), so anything else (another server, a uvicorn whose cycle has no transport) is sent as
    before."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None) if _HttpToolsCycle is not None else None
    if type(cycle) is not _HttpToolsCycle or transport is None:
        await response(scope, receive, send)
        return
    one_write = cycle.transport = _OneWrite(transport)
    try:
        await response(scope, receive, send)
    finally:
        cycle.transport = transport
        one_write.flush()


def routes_of(server: InferenceServer) -> list[Route]:
    # Starlette tries the routes in order, and every scoring request pays for each miss: infer first.
    return [
        Route("/v2/models/{name}/infer", server.infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", server.infer, methods=["POST"]),
        Route("/v2/health/live", server.live),
        Route("/v2/health/ready", server.ready),
        Route("/v2", server.server_metadata),
        Route("/v2/repository/index", server.repository_index, methods=["POST", "GET"]),
        Route("/v2/models/{name}", server.model_metadata),
        Route("/v2/models/{name}/ready", server.model_ready),
        Route("/v2/models/{name}/versions/{version}", server.model_metadata),
        Route("/v2/models/{name}/versions/{version}/ready", server.model_ready),
        Route("/v1/models/{name}:predict", server.predict_records, methods=["POST"]),
        Route("/metrics", server.metrics_endpoint),
    ]


def app_from_environment() -> Starlette:
    """The app as `make run` starts it: the registry and the prediction log in the studio's data dir."""
    serving_dir = Path(os.environ.get("SERVING_DIR", default_data_dir() / "serving"))  # as studio.settings says
    registry = Path(os.environ.get("SERVING_REGISTRY", serving_dir / "registry.json"))
    if not os.environ.get("SERVING_REGISTRY"):
        from pipelines.objects import RegistryMirror, shared_objects

        objects = shared_objects()  # STUDIO_ARTIFACTS=s3://...: follow the registry every replica shares
        if objects is not None:
            registry = RegistryMirror(objects, serving_dir).start().registry_path
    return create_app(
        registry,
        prediction_log_dir=os.environ.get("SERVING_PREDICTION_LOG", serving_dir / "prediction_log"),
        log_retention_days=float(os.environ.get("SERVING_LOG_RETENTION_DAYS", "30")),
        max_body_bytes=int(os.environ.get("SERVING_MAX_BODY_BYTES", DEFAULT_MAX_BODY)),
        require_keys=require_keys_from_environment(),
        buckets=_buckets_from_environment(),
        pin_threads=pin_threads_from_environment(),
    )


def pin_threads_to_cpus(cpus: tuple[int, int], prediction_log: PredictionLog | None) -> dict[str, int]:
    """The event loop's thread (the caller: the app's lifespan runs on the loop) on CPU cpus[0], the prediction
    log's writer thread on cpus[1], so that the two do not take turns on one core and each other's caches
    (opt-in: SERVING_PIN_THREADS=loop,writer, e.g. 0,1). Threads the loop starts later (the thread pool that
    scores costly requests, shadow scoring) inherit the loop's CPU. A CPU this process may not use is left out
    with a warning, as on a system without sched_setaffinity. Returns {thread: CPU} for what was pinned."""
    import threading

    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_setaffinity") else set()
    targets = [("loop", threading.get_native_id(), cpus[0])]
    if prediction_log is not None:
        targets.append(("writer", prediction_log.native_thread_id, cpus[1]))
    pinned = {}
    for name, thread_id, cpu in targets:
        if cpu not in allowed or thread_id is None:
            log.warning("SERVING_PIN_THREADS: CPU %s is not one this process may use (%s): %s not pinned", cpu,
                        sorted(allowed), name)
            continue
        os.sched_setaffinity(thread_id, {cpu})
        pinned[name] = cpu
    return pinned


def pin_threads_from_environment() -> tuple[int, int] | None:
    """SERVING_PIN_THREADS=<loop CPU>,<writer CPU> (e.g. 0,1); unset or empty: nothing pinned."""
    value = os.environ.get("SERVING_PIN_THREADS", "").strip()
    if not value:
        return None
    try:
        loop_cpu, writer_cpu = (int(part) for part in value.split(","))
    except ValueError:
        raise ValueError(f"SERVING_PIN_THREADS={value!r}: expected two CPU numbers, e.g. 0,1") from None
    return loop_cpu, writer_cpu


def require_keys_from_environment() -> bool:
    """SERVING_REQUIRE_KEYS: on unless explicitly set to 0 / false / no / off."""
    return os.environ.get("SERVING_REQUIRE_KEYS", "1").strip().lower() not in ("0", "false", "no", "off")


def _buckets_from_environment():
    """SERVING_RATE_LIMIT_REDIS=redis://...: rate limits shared by every replica; else this process's."""
    url = os.environ.get("SERVING_RATE_LIMIT_REDIS", "").strip()
    if not url:
        return None
    from .ratelimit import RedisBuckets

    return RedisBuckets(url)
