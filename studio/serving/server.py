"""The inference server behind the online scorer's routes: which model a request names, and one scoring path
(resolve the model, read and parse the body, score, log, count, answer errors in the protocol's shape) that
the v2 infer endpoint and the v1 records endpoint share; they differ only in how a body is parsed and how the
outputs are answered (a `Wire`).

No Django, no pyspark, no training code: the served versions come from the Repository, which loads them with
the bundle loader.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from operators import OperatorError

from .auth import OPEN, Access, check_model_key
from .batching import Costs, MicroBatcher
from .followers import Followers
from .predlog import PredictionLog
from .protocol import HEADER_LENGTH, InferRequest, RequestError, encode_infer, parse_infer, parse_records
from .ratelimit import LocalBuckets, RateGate
from .repository import Repository, ServedModel, ServedVersion
from .traffic import request_id_of

log = logging.getLogger("studio.serving")

SERVER_NAME = "studio-serving"
SERVER_VERSION = "0.1.0"
DEFAULT_MAX_BODY = 64 * 1024 * 1024
# A request whose scoring is expected to take less than this (its version's measured cost per row, batching.Costs)
# is scored on the event loop: handing it to a thread and back costs about 100 us and a GIL hand-over, more than
# scoring one row or a thousand LR rows. A costlier one goes to a thread, so that it does not hold up the
# single-row requests behind it.
INLINE_SECONDS = 300e-6
# Before a request of its size was measured on a version: up to this many rows on the loop, more in a thread.
INLINE_ROWS = 64
# Many-row requests' probabilities counted into the score bins this many rows at a time (Metrics.scores).
BIN_ROWS = 1 << 15


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json", headers=headers)


def error_response(exc: RequestError) -> Response:
    return json_response({"error": exc.message}, exc.status, getattr(exc, "headers", None))


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

        # Many-row requests' probabilities wait here (references, no copy) until BIN_ROWS of them are counted at
        # once, their bin counts until the registry is read (the collector below runs before them, and counts
        # what still waits): one set of array operations per BIN_ROWS rows instead of one per request.
        self._waiting_scores: dict[tuple, list] = {}
        self._waiting_rows = 0
        self._pending_bins: dict[tuple, np.ndarray] = {}
        self._bins_lock = threading.Lock()
        self.registry.register(_BinFlush(self))
        self.score_bins = Counter("serving_scores", "Scored rows by probability bin (0.0 = [0, 0.1), ...)",
                                  ["model", "version", "bin"], registry=self.registry)
        self.shadow = Counter("serving_shadow_requests", "Copies of requests sent to a shadow version, by outcome "
                              "(scored, error, dropped)", ["model", "version", "outcome"], registry=self.registry)
        self.shadow_latency = Histogram("serving_shadow_duration_seconds", "Shadow scoring time, off the request "
                                        "path", ["model", "version"], registry=self.registry,
                                        buckets=(.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10))

        self._ok: dict[tuple, tuple] = {}  # (model, version, protocol) -> its children, looked up once
        self._bins: dict[tuple, list] = {}  # (model, version) -> its ten bins' children

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

    def scores(self, model: str, version: str, outputs: dict) -> None:
        """The score distribution of a version (the page's per-version histogram): a row with probability p is
        counted in bin floor(10 p), NaN and negatives in the first, 1 and over in the last. One row (the
        commonest request) without numpy; more rows wait, and are counted BIN_ROWS rows at a time (or when the
        registry is read) in three array operations and one count."""
        probability = outputs.get("probability")
        if probability is None or not len(probability):
            return
        children = self._bins.get((model, version))
        if children is None:
            children = self._bins[(model, version)] = [
                self.score_bins.labels(model, version, f"{b / 10:.1f}") for b in range(10)]
        if len(probability) == 1:
            x = float(probability[0]) * 10
            children[int(min(x, 9.0)) if x > 0 else 0].inc()
            return
        with self._bins_lock:
            waiting = self._waiting_scores.get((model, version))
            if waiting is None:
                waiting = self._waiting_scores[(model, version)] = []
            waiting.append(probability)
            self._waiting_rows += len(probability)
            if self._waiting_rows < BIN_ROWS:
                return
            waiting, self._waiting_scores, self._waiting_rows = self._waiting_scores, {}, 0
        self._count_bins(waiting)

    def _count_bins(self, waiting: dict[tuple, list]) -> None:
        """Waiting probabilities into bin counts: a row with probability p in bin floor(10 p), NaN and negatives
        in the first, 1 and over in the last."""
        for key, arrays in waiting.items():
            probability = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
            scaled = np.fmax(np.asarray(probability, dtype=np.float64) * 10, 0.0)  # fmax: NaN -> 0
            counts = np.bincount(np.minimum(scaled, 9.0, out=scaled).astype(np.int64), minlength=10)
            with self._bins_lock:
                pending = self._pending_bins.get(key)
                if pending is None:
                    self._pending_bins[key] = counts
                else:
                    pending += counts

    def flush_bins(self) -> None:
        """The waiting probabilities and bin counts into their counters (before every read of the registry)."""
        with self._bins_lock:
            waiting, self._waiting_scores, self._waiting_rows = self._waiting_scores, {}, 0
        self._count_bins(waiting)
        with self._bins_lock:
            pending, self._pending_bins = self._pending_bins, {}
        for key, counts in pending.items():
            for child, count in zip(self._bins[key], counts.tolist(), strict=True):
                if count:
                    child.inc(count)


class _BinFlush:
    """A collector with no samples of its own: collected first, it moves the waiting score-bin counts into the
    serving_scores counters, so that every reader of the registry (the /metrics endpoint, tests) sees them."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def describe(self):
        return []

    def collect(self):
        self.metrics.flush_bins()
        return []


@dataclass(frozen=True)
class Wire:
    """How one endpoint's requests and answers look on the wire; everything between is the server's."""

    protocol: str  # the metrics label, "v2" or "v1"
    verb: str  # for the log line of an internal error
    # (body, request, served version) -> the parsed request; raises RequestError naming the input at fault
    parse: Callable[[bytes, Request, ServedVersion], InferRequest]
    # (model, served version, parsed request, outputs, request id) -> the answer
    answer: Callable[[ServedModel, ServedVersion, InferRequest, dict, str], Response]


def _parse_v2(body: bytes, request: Request, served: ServedVersion) -> InferRequest:
    return parse_infer(body, request.headers.get(HEADER_LENGTH), served.input_spec)


def _answer_v2(model: ServedModel, served: ServedVersion, parsed: InferRequest, outputs: dict,
               request_id: str) -> Response:
    content, header_length = encode_infer(model.name, served.version, parsed, outputs)
    if header_length is None:
        return Response(content, media_type="application/json")
    return Response(content, media_type="application/octet-stream",
                    headers={"Inference-Header-Content-Length": header_length})


def _parse_v1(body: bytes, request: Request, served: ServedVersion) -> InferRequest:
    columns, n_rows = parse_records(body, served.input_spec)
    explain = request.query_params.get("explain", "").lower() in ("1", "true", "yes")
    return InferRequest(None, columns, n_rows, {"explain": explain})


def _answer_v1(model: ServedModel, served: ServedVersion, parsed: InferRequest, outputs: dict,
               request_id: str) -> Response:
    probability, label = outputs["probability"].tolist(), outputs["label"].tolist()
    predictions = [{"probability": p, "label": lab} for p, lab in zip(probability, label, strict=True)]
    if "contributions" in outputs:
        names = served.contribution_names
        for row, values in zip(predictions, outputs["contributions"].tolist(), strict=True):
            row["contributions"] = dict(zip(names, values, strict=True))
    return json_response({"id": request_id, "model_name": model.name, "model_version": served.version,
                          "predictions": predictions})


V2_INFER = Wire("v2", "infer", _parse_v2, _answer_v2)
V1_PREDICT = Wire("v1", "predict", _parse_v1, _answer_v1)


class InferenceServer:
    """The models a process serves and the one way a request to any of them is scored."""

    def __init__(self, repository: Repository, *, max_body_bytes: int = DEFAULT_MAX_BODY,
                 require_keys: bool = True, buckets=None):
        self.repository = repository
        self.max_body_bytes = max_body_bytes
        self.require_keys = require_keys
        self.body_reads = 0
        self.metrics = Metrics()
        self.gate = RateGate(buckets if buckets is not None else LocalBuckets())
        self.followers = Followers(self)
        self.costs = Costs()  # each loaded version's measured cost per row (the inline-or-thread decision)
        self.inline_seconds = INLINE_SECONDS
        self.batcher = MicroBatcher(on_batch=self.metrics.batched.inc, costs=self.costs)
        self.prediction_log: PredictionLog | None = None  # opened by the app's lifespan, when configured
        # Request ids for the prediction log: unique per process start, cheaper than a uuid per request.
        self._id_prefix, self._counter = uuid.uuid4().hex[:12], itertools.count(1)

    def resolve(self, name: str, version: str | None, access: Access = OPEN,
                request_id: str | None = None) -> tuple[ServedModel, ServedVersion]:
        """The model and version a URL names (the traffic split's pick when none is named), or a 404 saying
        why not. A key sees its own deployment only: any other name is unknown to it."""
        model: ServedModel | None = self.repository.models.get(name)
        if model is not None and not (access.sees(name) and check_model_key(access, model)):
            model = None
        if model is None:
            if not access.everything:
                raise RequestError(f"unknown model {name!r} for this key (a key reaches its own deployment only)", 404)
            served_names = ", ".join(sorted(self.repository.models)) or "none"
            raise RequestError(f"unknown model {name!r}; served models: {served_names}", 404)
        if version is None:
            served = model.route(request_id)
            if served is None:
                raise RequestError(f"model {name!r} has no live version (it was unpublished)", 404)
            return model, served
        served = model.versions.get(version)
        if served is None:
            reason = model.errors.get(version)
            raise RequestError(reason if reason else f"model {name!r} has no version {version!r}; versions: "
                               f"{', '.join(sorted(model.versions)) or 'none'}", 404)
        return model, served

    async def read_body(self, request: Request) -> bytes:
        limit = self.max_body_bytes
        self.body_reads += 1  # (the tests' proof that a refused key never got this far)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(f"the request body of {int(declared)} bytes is over the limit of {limit} bytes", 413)
        # The ASGI messages read as they come, not through Starlette's request.stream(): an async generator's
        # frames cost more than the read itself, and the body mostly arrives as one message, taken as it is.
        chunks, size = [], 0
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise RequestError(f"the request body is over the limit of {limit} bytes", 413)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def predict(self, served: ServedVersion, columns: dict[str, np.ndarray], n_rows: int,
                      explain: bool) -> dict[str, np.ndarray]:
        """Scored on the event loop when cheap (see INLINE_SECONDS), else in a thread. Small requests on the loop
        go through the micro-batcher, which shares one kernel call among those arriving together (scoring
        single rows at once instead, skipping it, measured slower under load: 2,400-2,550 against 2,800-3,700
        req/s at c=16); larger cheap ones, and explanations, at once."""
        try:
            expected = self.costs.expected(served, n_rows, explain)
            if (n_rows > INLINE_ROWS) if expected is None else (expected >= self.inline_seconds):
                return await run_in_threadpool(self.costs.timed, served, columns, n_rows, explain)
            if n_rows <= INLINE_ROWS and not explain:
                return await self.batcher.predict(served, columns, n_rows)
            return self.costs.timed(served, columns, n_rows, explain)
        except OperatorError as exc:  # a value the feature state refuses: the kernel names the column
            column = exc.column
            raise RequestError(exc.message if not column or column in exc.message
                               else f"input {column!r}: {exc.message}") from None

    async def score(self, request: Request, wire: Wire, version: str | None) -> Response:
        """The one scoring path: check the key (before the body is read), route, read, parse, score, answer;
        then log the rows, hand a copy to the shadow version and count the request."""
        started = time.perf_counter()
        name = request.path_params["name"]
        # An error is counted under its model when the model is known (an unknown version of it included);
        # unknown names from the URL are not labels, so a client cannot grow the metrics without bound.
        label_model, label_version = (name if name in self.repository.models else ""), ""
        try:
            access = self.access(request, name)
            if access.control:
                raise RequestError("the control token reads metadata and metrics only: scoring needs the "
                                   "deployment's key", 403)
            model, served = self.resolve(name, version, access, request_id_of(request.headers))
            label_model, label_version = model.name, served.version
            await self.gate.check(access, model)
            parsed = wire.parse(await self.read_body(request), request, served)
            outputs = await self.predict(served, parsed.columns, parsed.n_rows, parsed.explain)
            request_id = parsed.id or f"{self._id_prefix}-{next(self._counter)}"
            response = wire.answer(model, served, parsed, outputs, request_id)
        except RequestError as exc:
            self.metrics.observe(label_model, label_version, wire.protocol, exc.status, 0.0)
            return error_response(exc)
        except Exception as exc:  # a bug, not the client's fault: still the protocol's error shape
            log.exception("%s on %s failed", wire.verb, name)
            self.metrics.observe(label_model, label_version, wire.protocol, 500, 0.0)
            return json_response({"error": f"internal error: {type(exc).__name__}: {exc}"}, 500)
        response.raw_headers.append((b"model-version", served.version.encode()))  # (MutableHeaders scans them)
        if self.prediction_log is not None:
            self.followers.log(self.prediction_log, request_id, model, served, parsed, outputs)
        if model.shadow is not None and model.shadow != served.version:
            self.followers.shadow(self.prediction_log, request_id, model, parsed)
        self.metrics.observe(model.name, served.version, wire.protocol, 200, time.perf_counter() - started,
                             parsed.n_rows)
        self.metrics.scores(model.name, served.version, outputs)
        return response

    def access(self, request: Request, name: str | None = None) -> Access:
        """What the request's key reaches (a 401 before anything else is looked at)."""
        return self.repository.keys.access(request.headers, self.require_keys, name)

    # ------------------------------------------------------------------------------------------- endpoints
    async def infer(self, request: Request) -> Response:
        return await self.score(request, V2_INFER, request.path_params.get("version"))

    async def predict_records(self, request: Request) -> Response:
        return await self.score(request, V1_PREDICT, None)

    async def live(self, request: Request) -> Response:
        return json_response({"live": True})

    async def ready(self, request: Request) -> Response:
        is_ready = self.repository.loaded_once
        return json_response({"ready": is_ready}, 200 if is_ready else 503)

    async def server_metadata(self, request: Request) -> Response:
        """Open, like health: the server's name and extensions, nothing of any deployment."""
        return json_response({"name": SERVER_NAME, "version": SERVER_VERSION,
                              "extensions": ["binary_tensor_data", "model_repository_index"]})

    async def repository_index(self, request: Request) -> Response:
        """Every deployment's versions, or only the key's deployment's."""
        try:
            access = self.access(request)
        except RequestError as exc:
            return error_response(exc)
        rows = []
        for name, model in sorted(self.repository.models.items()):
            if not (access.sees(name) and check_model_key(access, model)):
                continue
            for version in sorted(model.versions, key=version_key):
                rows.append({"name": name, "version": version,
                             "state": "READY" if version == model.live else "AVAILABLE"})
            for version, reason in model.errors.items():
                rows.append({"name": name, "version": version, "state": "UNAVAILABLE", "reason": reason})
        return json_response(rows)

    def _model_of(self, request: Request) -> tuple[ServedModel, ServedVersion]:
        name = request.path_params["name"]
        return self.resolve(name, request.path_params.get("version"), self.access(request, name))

    async def model_metadata(self, request: Request) -> Response:
        try:
            model, served = self._model_of(request)
        except RequestError as exc:
            return error_response(exc)
        return json_response({
            "name": model.name,
            "versions": sorted(model.versions, key=version_key),
            "platform": "studio_bundle",
            "inputs": [{"name": s["name"], "datatype": s["datatype"], "shape": [-1]} for s in served.input_spec],
            "outputs": [{"name": s["name"], "datatype": s["datatype"], "shape": s.get("shape", [-1])}
                        for s in served.output_spec],
            "parameters": {"version": served.version, "live_version": model.live,
                           "traffic": model.split.weights or ({model.live: 100} if model.live else {}),
                           "shadow": model.shadow, "input_spec": served.input_spec},
        })

    async def model_ready(self, request: Request) -> Response:
        try:
            model, served = self._model_of(request)
        except RequestError as exc:
            return error_response(exc)
        return json_response({"name": model.name, "version": served.version, "ready": True})

    async def metrics_endpoint(self, request: Request) -> Response:
        """All of it for the control token (or with keys off); a key's own deployment's samples only."""
        try:
            access = self.access(request)
        except RequestError as exc:
            return error_response(exc)
        text = generate_latest(self.metrics.registry)
        if not access.everything:
            text = scoped_metrics(text, access.model or "")
        return Response(text, media_type=CONTENT_TYPE_LATEST)


def scoped_metrics(text: bytes, model: str) -> bytes:
    """The exposition's HELP / TYPE lines and the samples labelled with `model`; nothing of other deployments
    and nothing process-wide."""
    mark = f'model="{model}"'.encode()
    kept = [line for line in text.split(b"\n")
            if line.startswith(b"#") or any(sep + mark in line.split(b"}")[0] for sep in (b"{", b","))]
    return b"\n".join(kept) + b"\n"


def version_key(version: str):
    """Numeric versions in number order, then named ones."""
    return (0, int(version), "") if version.isdigit() else (1, 0, version)
