"""The online scorer: a lean Starlette app speaking the Open Inference Protocol v2 (REST, JSON and the binary
tensor data extension) for every live deployment, plus a v1-style records endpoint and Prometheus metrics.

No Django, no pyspark, no training code: it imports the bundle loader (pipelines.bundle) and, through it,
the transform kernels. Which models it serves comes from the registry file the studio writes; see
repository.py for how versions swap without a restart.
"""
from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import os
import time
import uuid
from pathlib import Path

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from operators import OperatorError

from .batching import MicroBatcher
from .drift import DriftGauges
from .predlog import PredictionLog
from .protocol import HEADER_LENGTH, RequestError, encode_infer, parse_infer, parse_records
from .repository import Repository, ServedModel

log = logging.getLogger("studio.serving")

SERVER_NAME = "studio-serving"
SERVER_VERSION = "0.1.0"
DEFAULT_MAX_BODY = 64 * 1024 * 1024
# Requests up to this many rows are scored on the event loop (tens of microseconds); larger ones in a
# thread, so that one big batch does not hold up the single-row requests behind it.
INLINE_ROWS = 64


def default_data_dir() -> Path:
    """The studio's data dir, found the way studio.settings finds it, without importing Django."""
    return Path(os.environ.get("STUDIO_DATA_DIR", Path(__file__).resolve().parents[2] / "var")).resolve()


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json", headers=headers)


def error_response(exc: RequestError) -> Response:
    return json_response({"error": exc.message}, exc.status)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("serving_requests", "Inference requests answered", ["model", "version", "protocol",
                                                                                  "code"], registry=self.registry)
        self.errors = Counter("serving_request_errors", "Inference requests answered with an error",
                              ["model", "version", "protocol", "code"], registry=self.registry)
        self.latency = Histogram("serving_request_duration_seconds", "Inference latency inside the server",
                                 ["model", "version", "protocol"], registry=self.registry,
                                 buckets=(.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10))
        self.rows = Counter("serving_rows", "Rows scored", ["model", "version"], registry=self.registry)
        self.batched = Counter("serving_batched_requests", "Small requests scored together with others in one "
                               "kernel call (micro-batching)", registry=self.registry)

        self._ok: dict[tuple, tuple] = {}  # (model, version, protocol) -> its children, looked up once

    def observe(self, model: str, version: str, protocol: str, code: int, seconds: float, rows: int = 0):
        if code >= 400:
            self.requests.labels(model, version, protocol, str(code)).inc()
            self.errors.labels(model, version, protocol, str(code)).inc()
            return
        children = self._ok.get((model, version, protocol))
        if children is None:
            children = self._ok[(model, version, protocol)] = (
                self.requests.labels(model, version, protocol, "200"), self.latency.labels(model, version, protocol),
                self.rows.labels(model, version))
        children[0].inc()
        children[1].observe(seconds)
        children[2].inc(rows)


def create_app(registry_path: str | Path | None = None, *, repository: Repository | None = None,
               prediction_log_dir: str | Path | None = None, log_retention_days: float = 30.0,
               log_flush_interval: float = 1.0, max_body_bytes: int = DEFAULT_MAX_BODY,
               poll_interval: float = 0.2) -> Starlette:
    """The ASGI app. `registry_path`: the registry file the studio writes; `repository` replaces it (tests)."""
    if repository is None:
        from pipelines.bundle import load_bundle, read_registry

        repository = Repository(registry_path, loader=load_bundle, read_registry=read_registry,
                                poll_interval=poll_interval)
    metrics = Metrics()
    if prediction_log_dir is not None:  # input drift of each live model over its prediction log
        metrics.registry.register(DriftGauges.from_environment(repository, prediction_log_dir))
    batcher = MicroBatcher(on_batch=metrics.batched.inc)
    state = {"log": None}
    # Request ids for the prediction log: unique per process start, cheaper than a uuid per request.
    id_prefix, counter = uuid.uuid4().hex[:12], itertools.count(1)

    def resolve(name: str, version: str | None):
        model: ServedModel | None = repository.models.get(name)
        if model is None:
            raise RequestError(f"unknown model {name!r}; served models: {', '.join(sorted(repository.models)) or 'none'}",
                               404)
        if version is None:
            served = model.live_version()
            if served is None:
                raise RequestError(f"model {name!r} has no live version (it was unpublished)", 404)
            return model, served
        served = model.versions.get(version)
        if served is None:
            reason = model.errors.get(version)
            raise RequestError(reason if reason else f"model {name!r} has no version {version!r}; versions: "
                               f"{', '.join(sorted(model.versions)) or 'none'}", 404)
        return model, served

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise RequestError(f"the request body of {int(declared)} bytes is over the limit of "
                               f"{max_body_bytes} bytes", 413)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise RequestError(f"the request body is over the limit of {max_body_bytes} bytes", 413)
            chunks.append(chunk)
        return b"".join(chunks)

    # ---------------------------------------------------------------------------------------- health
    async def live(request):
        return json_response({"live": True})

    async def ready(request):
        is_ready = repository.loaded_once
        return json_response({"ready": is_ready}, 200 if is_ready else 503)

    async def server_metadata(request):
        return json_response({"name": SERVER_NAME, "version": SERVER_VERSION,
                              "extensions": ["binary_tensor_data", "model_repository_index"]})

    async def repository_index(request):
        rows = []
        for name, model in sorted(repository.models.items()):
            for version in sorted(model.versions, key=_version_key):
                rows.append({"name": name, "version": version,
                             "state": "READY" if version == model.live else "AVAILABLE"})
            for version, reason in model.errors.items():
                rows.append({"name": name, "version": version, "state": "UNAVAILABLE", "reason": reason})
        return json_response(rows)

    # ---------------------------------------------------------------------------------------- models
    async def model_metadata(request):
        try:
            model, served = resolve(request.path_params["name"], request.path_params.get("version"))
        except RequestError as exc:
            return error_response(exc)
        return json_response({
            "name": model.name,
            "versions": sorted(model.versions, key=_version_key),
            "platform": "studio_bundle",
            "inputs": [{"name": s["name"], "datatype": s["datatype"], "shape": [-1]} for s in served.input_spec],
            "outputs": [{"name": s["name"], "datatype": s["datatype"], "shape": s.get("shape", [-1])}
                        for s in served.output_spec],
            "parameters": {"version": served.version, "live_version": model.live,
                           "input_spec": served.input_spec},
        })

    async def model_ready(request):
        try:
            model, served = resolve(request.path_params["name"], request.path_params.get("version"))
        except RequestError as exc:
            return error_response(exc)
        return json_response({"name": model.name, "version": served.version, "ready": True})

    async def infer(request: Request):
        started = time.perf_counter()
        name, version = request.path_params["name"], request.path_params.get("version")
        # An error is counted under its model when the model is known (an unknown version of it included);
        # unknown names from the URL are not labels, so a client cannot grow the metrics without bound.
        label_model, label_version = (name if name in repository.models else ""), ""
        try:
            model, served = resolve(name, version)
            label_model, label_version = model.name, served.version
            body = await read_body(request)
            parsed = parse_infer(body, request.headers.get(HEADER_LENGTH), served.input_spec)
            outputs = await _predict(served, parsed.columns, parsed.n_rows, parsed.explain)
            content, header_length = encode_infer(model.name, served.version, parsed, outputs)
        except RequestError as exc:
            metrics.observe(label_model, label_version, "v2", exc.status, 0.0)
            return error_response(exc)
        except Exception as exc:  # a bug, not the client's fault: still the protocol's error shape
            log.exception("infer on %s failed", name)
            metrics.observe(label_model, label_version, "v2", 500, 0.0)
            return json_response({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)
        request_id = parsed.id or f"{id_prefix}-{next(counter)}"
        if state["log"] is not None:
            state["log"].record(request_id, model.name, served.version, parsed.columns, parsed.n_rows, outputs)
        metrics.observe(model.name, served.version, "v2", 200, time.perf_counter() - started, parsed.n_rows)
        if header_length is None:
            return Response(content, media_type="application/json")
        return Response(content, media_type="application/octet-stream",
                        headers={"Inference-Header-Content-Length": header_length})

    async def predict_records(request: Request):
        started = time.perf_counter()
        name = request.path_params["name"]
        label_model, label_version = (name if name in repository.models else ""), ""
        try:
            model, served = resolve(name, None)
            label_model, label_version = model.name, served.version
            body = await read_body(request)
            columns, n_rows = parse_records(body, served.input_spec)
            explain = request.query_params.get("explain", "").lower() in ("1", "true", "yes")
            outputs = await _predict(served, columns, n_rows, explain)
        except RequestError as exc:
            metrics.observe(label_model, label_version, "v1", exc.status, 0.0)
            return error_response(exc)
        except Exception as exc:
            log.exception("predict on %s failed", name)
            metrics.observe(label_model, label_version, "v1", 500, 0.0)
            return json_response({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)
        probability, label = outputs["probability"].tolist(), outputs["label"].tolist()
        predictions = [{"probability": p, "label": lab} for p, lab in zip(probability, label)]
        if "contributions" in outputs:
            names = served.contribution_names
            for row, values in zip(predictions, outputs["contributions"].tolist()):
                row["contributions"] = dict(zip(names, values))
        request_id = f"{id_prefix}-{next(counter)}"
        if state["log"] is not None:
            state["log"].record(request_id, model.name, served.version, columns, n_rows, outputs)
        metrics.observe(model.name, served.version, "v1", 200, time.perf_counter() - started, n_rows)
        return json_response({"id": request_id, "model_name": model.name, "model_version": served.version,
                              "predictions": predictions})

    async def _predict(served, columns, n_rows, explain):
        try:
            if n_rows <= INLINE_ROWS:
                if not explain:
                    return await batcher.predict(served, columns, n_rows)
                return served.predict(columns, n_rows, explain=explain)
            return await run_in_threadpool(served.predict, columns, n_rows, explain=explain)
        except OperatorError as exc:  # a value the feature state refuses: the kernel names the column
            column = exc.column
            raise RequestError(exc.message if not column or column in exc.message
                               else f"input {column!r}: {exc.message}") from None

    async def metrics_endpoint(request):
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(repository.start)
        # Move everything loaded so far (libraries, bundles) out of the collector's sight: full collections
        # then scan only what requests allocate, which keeps their pauses out of the latency tail.
        gc.collect()
        gc.freeze()
        if prediction_log_dir is not None:
            state["log"] = PredictionLog(prediction_log_dir, flush_interval=log_flush_interval,
                                         retention_days=log_retention_days)
        try:
            yield
        finally:
            repository.stop()
            if state["log"] is not None:
                state["log"].close()

    routes = [
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/v2", server_metadata),
        Route("/v2/repository/index", repository_index, methods=["POST", "GET"]),
        Route("/v2/models/{name}", model_metadata),
        Route("/v2/models/{name}/ready", model_ready),
        Route("/v2/models/{name}/versions/{version}", model_metadata),
        Route("/v2/models/{name}/versions/{version}/ready", model_ready),
        Route("/v2/models/{name}/infer", infer, methods=["POST"]),
        Route("/v2/models/{name}/versions/{version}/infer", infer, methods=["POST"]),
        Route("/v1/models/{name}:predict", predict_records, methods=["POST"]),
        Route("/metrics", metrics_endpoint),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.repository = repository
    app.state.metrics = metrics
    app.state.batcher = batcher
    app.state.prediction_log = state
    return app


def _version_key(version: str):
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def app_from_environment() -> Starlette:
    """The app as `make run` starts it: the registry and the prediction log in the studio's data dir."""
    serving_dir = Path(os.environ.get("SERVING_DIR", default_data_dir() / "serving"))  # as studio.settings says
    registry = Path(os.environ.get("SERVING_REGISTRY", serving_dir / "registry.json"))
    return create_app(
        registry,
        prediction_log_dir=os.environ.get("SERVING_PREDICTION_LOG", serving_dir / "prediction_log"),
        log_retention_days=float(os.environ.get("SERVING_LOG_RETENTION_DAYS", "30")),
        max_body_bytes=int(os.environ.get("SERVING_MAX_BODY_BYTES", DEFAULT_MAX_BODY)),
    )
