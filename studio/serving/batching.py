"""Opportunistic micro-batching of small requests: the requests for one model version that arrive together
(in the same turn of the event loop) are scored in one call of the feature kernel and the model, then split.

No request waits for a timer: a lone request is scored at once, by itself. Under load, requests pile up while
the previous batch is scored, and the next batch takes them all, so the per-call cost of the kernels (most of
a single row's cost) is shared. Scores are row-wise, so a row scores the same alone or in a batch. If a batch
fails, each of its requests is scored alone, so one bad request cannot fail its neighbours.

A version with a single-row scorer (`row_scorer`, operators.kernels.rows: about 15 us a row against the batch
kernel's 200 us a call) scores a pile of single-row requests one by one, up to ROW_PATH_ROWS of them: below
that the loop is cheaper than one vectorised call, and no columns are concatenated or split.

`Costs` keeps what scoring measured of each loaded version, so that the server can tell a cheap request
(scored on the event loop: no thread hand-off, which costs more than scoring a few hundred LR rows) from an
expensive one (scored in a thread, so it does not hold up the requests behind it).
"""
from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any

import numpy as np

ROW_PATH_ROWS = 16


class Costs:
    """Measured seconds per row of each loaded version, by request size (the row count's bit length: 1, 2-3,
    4-7, ... rows), with and without explanations: a moving average of what its calls took. Kept per version
    object, and forgotten with it when a swap drops the version."""

    CLASSES = 40  # bit lengths up to 2^39 rows, then explain's own 40
    WEIGHT = 0.2  # of the newest call in the moving average

    def __init__(self):
        self._per_row: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @classmethod
    def _class(cls, n_rows: int, explain: bool) -> int:
        return min(max(n_rows, 1).bit_length(), cls.CLASSES - 1) + (cls.CLASSES if explain else 0)

    def expected(self, served, n_rows: int, explain: bool = False) -> float | None:
        """Seconds a call of `n_rows` is expected to take; None before a call of about that size was measured."""
        table = self._per_row.get(served)
        per_row = table[self._class(n_rows, explain)] if table is not None else None
        return None if per_row is None else per_row * max(n_rows, 1)

    def observe(self, served, n_rows: int, seconds: float, explain: bool = False) -> None:
        table = self._per_row.get(served)
        if table is None:
            table = self._per_row[served] = [None] * (2 * self.CLASSES)
        k, per_row = self._class(n_rows, explain), seconds / max(n_rows, 1)
        old = table[k]
        table[k] = per_row if old is None else old + self.WEIGHT * (per_row - old)

    def timed(self, served, columns, n_rows: int, explain: bool = False) -> dict[str, np.ndarray]:
        """`served.predict`, its CPU time observed (not when it raises: a refused value costs no scoring). CPU
        time, not wall time: on a loaded machine the process is often descheduled mid-call, and a 20 us row
        measured at 5 ms would send the next rows to a thread, where they wait for the GIL and so measure slow
        again."""
        started = time.thread_time()
        outputs = served.predict(columns, n_rows, explain=explain)
        self.observe(served, n_rows, time.thread_time() - started, explain)
        return outputs


class MicroBatcher:
    def __init__(self, max_rows: int = 256, on_batch=None, costs: Costs | None = None):
        self.max_rows = max_rows
        self.on_batch = on_batch  # called with the number of requests that shared one kernel call
        self.costs = costs if costs is not None else Costs()  # what each call took, by version and size
        self._pending: dict[int, tuple[Any, list]] = {}  # id(served version) -> (version, [(columns, n, future)])
        self._scheduled = False
        self.batches = 0  # how many kernel calls served more than one request (for tests and metrics)

    async def predict(self, served, columns: dict[str, np.ndarray], n_rows: int) -> dict[str, np.ndarray]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        entry = self._pending.get(id(served))
        if entry is None:
            entry = self._pending[id(served)] = (served, [])
        entry[1].append((columns, n_rows, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)  # after the requests already ready in this turn of the loop
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, {}
        for served, items in pending.values():
            batch, rows = [], 0
            for item in items:
                if batch and rows + item[1] > self.max_rows:
                    self._score(served, batch)
                    batch, rows = [], 0
                batch.append(item)
                rows += item[1]
            self._score(served, batch)

    def _score(self, served, items: list) -> None:
        if len(items) == 1 or (getattr(served, "row_scorer", None) is not None and len(items) <= ROW_PATH_ROWS
                               and all(item[1] == 1 for item in items)):
            for item in items:
                self._score_one(served, item)
            return
        names = list(items[0][0])
        columns = {name: np.concatenate([item[0][name] for item in items]) for name in names}
        total = sum(item[1] for item in items)
        try:
            outputs = self.costs.timed(served, columns, total)
        except Exception:
            for item in items:
                self._score_one(served, item)
            return
        self.batches += 1
        if self.on_batch is not None:
            self.on_batch(len(items))
        start = 0
        for _, n_rows, future in items:
            if not future.done():
                future.set_result({name: value[start:start + n_rows] for name, value in outputs.items()})
            start += n_rows

    def _score_one(self, served, item) -> None:
        columns, n_rows, future = item
        if future.done():  # the client went away
            return
        try:
            future.set_result(self.costs.timed(served, columns, n_rows))
        except Exception as exc:
            future.set_exception(exc)
