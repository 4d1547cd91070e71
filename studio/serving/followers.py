"""What follows a live answer, off its path: the prediction log's row (under the deployment's share and
left-out columns) and the shadow version's copy of the request.

Sampling is decided by the request id, so the live and the shadow rows of one request are logged together or
not at all. Left-out columns are dropped before the rows reach the log's queue: they are never written.
The shadow scores in its own small thread pool, behind a bounded queue: a slow shadow drops copies (counted),
never holds a live request; a shadow that raises is counted and changes nothing else.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("studio.serving.shadow")

MAX_PENDING_SHADOWS = 64  # copies waiting for the shadow; beyond, dropped (counted)


def sampled(request_id: str, share: float) -> bool:
    """Deterministic per request id: True for about `share` of ids."""
    if share >= 1.0:
        return True
    if share <= 0.0:
        return False
    point = int.from_bytes(hashlib.blake2b(request_id.encode(), digest_size=8).digest(), "big") / 2.0 ** 64
    return point < share


class Followers:
    def __init__(self, server, max_pending: int = MAX_PENDING_SHADOWS, threads: int = 2):
        self.server = server
        self.max_pending = max_pending
        self._pool: ThreadPoolExecutor | None = None
        self._threads = threads
        self._tasks: set[asyncio.Task] = set()

    def log(self, prediction_log, request_id: str, model, served, parsed, outputs, shadow: bool = False) -> None:
        if prediction_log is None or not sampled(request_id, model.log_share):
            return
        columns = parsed.columns
        if model.log_exclude:
            columns = {k: v for k, v in columns.items() if k not in model.log_exclude}
        prediction_log.record(request_id, model.name, served.version, columns, parsed.n_rows, outputs,
                              shadow=shadow)

    def shadow(self, prediction_log, request_id: str, model, parsed) -> None:
        served = model.versions.get(model.shadow)
        metrics = self.server.metrics
        if served is None:
            return
        if len(self._tasks) >= self.max_pending:
            metrics.shadow.labels(model.name, served.version, "dropped").inc()
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="shadow")
        task = asyncio.get_running_loop().create_task(self._score(prediction_log, request_id, model, served, parsed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _score(self, prediction_log, request_id, model, served, parsed) -> None:
        metrics = self.server.metrics
        started = time.perf_counter()
        try:
            outputs = await asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: served.predict(parsed.columns, parsed.n_rows, explain=False))
        except Exception as exc:  # the shadow's failure is its own: counted, logged, never the caller's
            metrics.shadow.labels(model.name, served.version, "error").inc()
            log.warning("shadow %s v%s failed: %s: %s", model.name, served.version, type(exc).__name__, exc)
            return
        metrics.shadow.labels(model.name, served.version, "scored").inc()
        metrics.shadow_latency.labels(model.name, served.version).observe(time.perf_counter() - started)
        metrics.scores(model.name, served.version, outputs)
        self.log(prediction_log, request_id, model, served, parsed, outputs, shadow=True)

    async def drain(self) -> None:
        """Wait for the shadows in flight (the app's shutdown, and tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
