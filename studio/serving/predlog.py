"""The prediction log for the closed loop: one Parquet row per scored row (request id, model, version, time,
the row's raw inputs as typed columns, its outputs), written by a background thread, off the request path.

The request path only appends a reference to its columns to a deque (no copy, no formatting). As soon as
CHUNK_ROWS rows are waiting (or half of `max_pending_rows`, if less), every `flush_interval` seconds, and on
close, the writer drains what accumulated into one open Parquet file per model version (columns request_id,
row, model, version, time, in_<input> per raw input, probability, label), one row group per drain. A file is
written under a temporary name and renamed when finished, so a reader never sees half a file: `flush_interval`
seconds after it was opened, at half of `max_pending_rows` rows, on a flush() or close(), and on an interval
with no other wake-up. Draining in chunks keeps the requests' bodies only a few milliseconds: holding a second
of them (134 MB at the benchmark's 2,800 requests of 1,000 rows a second) made the allocator hand their memory
back to the system at each flush and the request path fault it in again (17-20 page faults per request).
Files older than `retention_days` are deleted. If the writer falls behind by more than `max_pending_rows`, new
records are dropped and counted rather than growing memory without bound.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import os
import shutil
import threading
import time
import uuid
from datetime import datetime, UTC
from pathlib import Path
from collections.abc import Mapping

import numpy as np

from operators.prediction_log import safe_name as _safe  # the readers' folder naming

log = logging.getLogger("studio.serving.predlog")

FILTERED = ["request_id", "model", "version", "time"]  # the columns readers filter on (time windows, versions, ids)
SHADOW_DIR = "_shadow"  # shadow rows: <log>/_shadow/<model>/<day>/ (no deployment name starts with "_")
# Waiting rows that wake the writer: one row group (about 23 ms of the benchmark's rows). Writer CPU per 1,000
# rows (benchmarks/serving/log_writer.py, load 15): 165-171 us against 205-209 writing a whole batch at once
# (varied rows 259-286 against 362-371); 8,192 rows cost more in the serving process (per-drain overhead),
# 262,144 brought the page faults back.
CHUNK_ROWS = 1 << 16


class PredictionLog:
    def __init__(self, directory: str | Path, *, flush_interval: float = 1.0, retention_days: float = 30.0,
                 max_pending_rows: int = 2_000_000):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.flush_interval = flush_interval
        self.retention_days = retention_days
        self.max_pending_rows = max_pending_rows
        self.dropped_rows = 0
        self.written_rows = 0
        self._pending: collections.deque = collections.deque()
        self._pending_rows = 0
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by record() when a chunk of rows is waiting
        self._wake_rows = max(1, min(max_pending_rows // 2, CHUNK_ROWS))
        self._lock = threading.Lock()  # one drain at a time (the thread, or flush() / close())
        self._files: dict[tuple[str, str, bool], _OpenFile] = {}  # (model, version, shadow) -> its open file
        self._last_retention = 0.0
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def record(self, request_id: str, model: str, version: str, columns: Mapping[str, np.ndarray], n_rows: int,
               outputs: Mapping[str, np.ndarray], shadow: bool = False) -> None:
        """Called on the request path: O(1), never blocks on disk. `shadow`: a shadow version's rows, kept
        apart (under _shadow/, with shadow=true) so the live log's readers never mistake them for answers."""
        if self._pending_rows + n_rows > self.max_pending_rows:
            self.dropped_rows += n_rows
            return
        self._pending_rows += n_rows
        self._pending.append((request_id, model, version, time.time(), columns, n_rows, outputs, shadow))
        if self._pending_rows >= self._wake_rows and not self._wake.is_set():
            self._wake.set()

    @property
    def native_thread_id(self) -> int | None:
        """The writer thread's id for the kernel (os.sched_setaffinity); None once it ended."""
        return self._thread.native_id if self._thread.is_alive() else None

    def _run(self) -> None:
        while True:
            woken = self._wake.wait(self.flush_interval)  # False: the interval passed with no chunk waiting
            self._wake.clear()
            if self._stop.is_set():  # close() writes what is left
                return
            try:
                self._drain(finish_all=not woken)
            except Exception:
                log.exception("cannot write the prediction log to %s", self.directory)

    def flush(self) -> int:
        """Everything recorded so far into finished files; the number of records drained."""
        return self._drain(finish_all=True)

    def _drain(self, finish_all: bool) -> int:
        with self._lock:
            batch = []
            while self._pending:
                batch.append(self._pending.popleft())
            if batch:
                self._pending_rows -= sum(item[5] for item in batch)
                self._write(batch)
            now = time.time()
            for key, file in list(self._files.items()):
                if finish_all or file.rows * 2 >= self.max_pending_rows or now - file.opened >= self.flush_interval:
                    self._finish(key)
            if now - self._last_retention > 60:
                self._last_retention = now
                self._apply_retention(now)
            return len(batch)

    def _write(self, batch: list) -> None:
        """One row group per (model, version) into its open file: typed columns, built from whole numpy arrays
        (no per-row Python work, so the writer holds the GIL, and so the event loop, only briefly)."""
        groups: dict[tuple[str, str, bool], list] = collections.defaultdict(list)
        for item in batch:
            groups[(item[1], item[2], item[7])].append(item)
        for key, items in groups.items():
            self._append(key, _group_table(items, key[0], key[1], key[2]))

    def _append(self, key: tuple[str, str, bool], table) -> None:
        """`table` into its group's open file; a new file when there is none, the day changed, or the table's
        schema does not fit the file's (a column with nulls where the file has none, another type)."""
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        file = self._files.get(key)
        if file is not None:
            fitted = _conform(table, file.schema) if file.day == day else None
            if fitted is None:
                self._finish(key)
                file = None
            else:
                table = fitted
        if file is None:
            model, _, shadow = key
            folder = (self.directory / SHADOW_DIR if shadow else self.directory) / _safe(model) / day
            file = self._files[key] = _OpenFile(folder, day, table.schema)
        try:
            file.write(table)
        except Exception:
            self._files.pop(key, None)
            file.discard()
            raise

    def _finish(self, key: tuple[str, str, bool]) -> None:
        file = self._files.pop(key)
        try:
            file.finish()
        except Exception:
            file.discard()
            raise
        self.written_rows += file.rows

    def _apply_retention(self, now: float) -> None:
        cutoff = datetime.fromtimestamp(now - self.retention_days * 86400, UTC).strftime("%Y-%m-%d")
        model_dirs = [d for d in self.directory.iterdir() if d.name != SHADOW_DIR]
        if (self.directory / SHADOW_DIR).is_dir():
            model_dirs += list((self.directory / SHADOW_DIR).iterdir())
        for model_dir in model_dirs:
            if not model_dir.is_dir():
                continue
            for day_dir in model_dir.iterdir():
                if day_dir.is_dir() and day_dir.name < cutoff:
                    shutil.rmtree(day_dir, ignore_errors=True)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()



# Measured on 300 records of 1,000 rows (writer CPU per 1,000 rows, in one run): the defaults 111 us; values
# handed to the column writers 65,536 at a time instead of 1,024 (the same file, byte for byte), 98 us; and a
# 0 / 1 label delta-encoded without compression (1 bit a row, no snappy pass over 8 bytes a row), 88 us and a
# smaller file.
_WRITE_OPTIONS = {"write_batch_size": 1 << 16}


class _OpenFile:
    """One group's file being written: a row group per drain, under a temporary name until finish()."""

    def __init__(self, folder: Path, day: str, schema):
        import pyarrow.parquet as pq

        folder.mkdir(parents=True, exist_ok=True)
        self.day, self.schema, self.rows, self.opened = day, schema, 0, time.time()
        self.final = folder / f"part-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        self.tmp = folder / f".{self.final.name}.tmp"
        # Dictionary pages for the text columns only: tried on 300,000 distinct floats, they cost 3/4 of the
        # write and are dropped anyway. The dictionary arrays become those pages as they are (no string is
        # hashed); without the Arrow schema in the file, readers get plain strings, as from earlier files.
        # Statistics (min / max of each column chunk) only for the columns readers filter on: a float
        # column's cost half of its write.
        text = [f.name for f in schema if _is_text(f.type)]
        self.writer = pq.ParquetWriter(self.tmp, schema, use_dictionary=text, store_schema=False,
                                       write_statistics=FILTERED, **_WRITE_OPTIONS, **_column_options(schema))

    def write(self, table) -> None:
        self.writer.write_table(table, row_group_size=max(table.num_rows, 1))
        self.rows += table.num_rows

    def finish(self) -> None:
        self.writer.close()
        os.replace(self.tmp, self.final)

    def discard(self) -> None:
        with contextlib.suppress(Exception):  # (already failing: its own error was raised)
            self.writer.close()
        self.tmp.unlink(missing_ok=True)


def _is_text(arrow_type) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_dictionary(arrow_type)


def _group_table(items: list, model: str, version: str, shadow: bool):
    """One (model, version) group's records as one Arrow table: repeated strings as dictionary arrays (one Python
    object per record, not per row), the inputs one typed column each, null for missing."""
    import pyarrow as pa

    counts = np.array([item[5] for item in items])
    record = pa.array(np.repeat(np.arange(len(items), dtype=np.int32), counts))  # each row's record
    # int8 indices for the one-value columns: the Parquet writer finds the values a dictionary column uses (for
    # its statistics) by a hash of every index, which for 8-bit indices is a table lookup (writer instructions
    # per 1,000 rows: 822k -> 772k)
    first = pa.array(np.zeros(len(record), dtype=np.int8))
    table = {
        "request_id": _dictionary(record, pa.array([item[0] for item in items], pa.string())),
        "row": pa.array(_row_numbers(counts)),
        "model": _dictionary(first, pa.array([model], pa.string())),
        "version": _dictionary(first, pa.array([version], pa.string())),
        "time": pa.array(np.repeat(np.array([item[3] for item in items]), counts)),
    }
    for name in items[0][4]:
        table[f"in_{name}"] = _nullable(np.concatenate([item[4][name] for item in items]))
    for name in ("probability", "label"):
        table[name] = pa.array(np.concatenate([item[6][name] for item in items]))
    table["shadow"] = pa.repeat(shadow, int(counts.sum()))  # (no numpy array of booleans to pack)
    return _table(table)


def _conform(table, schema):
    """`table` as `schema` when it fits it: the same columns and types, a column required in the table and
    optional in the schema, or all null (no type of its own) where the schema's is optional; else None."""
    import pyarrow as pa

    if table.schema.equals(schema):
        return table
    if table.schema.names != schema.names:
        return None
    for have, want in zip(table.schema, schema, strict=True):
        fits = have.type == want.type and (want.nullable or not have.nullable)
        if not (fits or (pa.types.is_null(have.type) and want.nullable)):
            return None
    return table.cast(schema)


def _column_options(schema) -> dict:
    """An integer label (0 / 1, or a label's integer values) delta-encoded and not compressed; other labels
    (text, booleans) as the other columns (snappy, each named: a column left out of the dict is not compressed).
    The floats stay snappy: written PLAIN uncompressed they cost about a quarter fewer writer instructions, but the
    log took 2.5x the disk on the demo's credit rows, and the saving was not seen end to end (README, binary4)."""
    import pyarrow as pa

    if not pa.types.is_integer(schema.field("label").type):
        return {}
    return {"column_encoding": {"label": "DELTA_BINARY_PACKED"},
            "compression": {name: "none" if name == "label" else "snappy" for name in schema.names}}


def _table(columns: dict):
    """The columns as a table, a field with no null in this file REQUIRED: the Parquet writer then writes no
    definition level per value (pq.write_table's CPU per 1,000 rows of a numeric LR's 14 columns, min of 5 in
    one run: 96 us -> 79; the whole flush, benchmarks/serving/log_writer.py: 121-130 -> 91-97). Readers see
    the same values: pyarrow's concat_tables and Spark's schema merge read a field that is required in one
    file and optional in another as optional."""
    import pyarrow as pa

    fields = [pa.field(name, array.type, nullable=array.null_count > 0 or pa.types.is_null(array.type))
              for name, array in columns.items()]
    return pa.table(list(columns.values()), schema=pa.schema(fields))


def _dictionary(indices, dictionary):
    """A dictionary array of indices built here, in range by construction: not checked again (from_arrays' check
    read every index, ~27k instructions per 1,000 rows)."""
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(indices, dictionary, safe=False)


def _nullable(values: np.ndarray):
    """An input column as Arrow, null where missing (NaN, None). A float column's nulls from a validity bitmap
    packed by numpy (pyarrow's own NaN search, from_pandas, cost 3-4 times an isnan mask; the mask's conversion
    to a bitmap, mask=, 28k instructions per 1,000 rows, packbits ~2k). A column whose sum is a number has no
    NaN (as the feature kernel's _fill tells): no bitmap at all, the array handed over as it is."""
    import pyarrow as pa

    if values.dtype.kind == "f":
        total = np.add.reduce(values)
        if total == total:
            return pa.array(values)
        values = np.ascontiguousarray(values)
        valid = np.packbits(values == values, bitorder="little")  # (NaN != NaN)
        return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                     [pa.py_buffer(valid), pa.py_buffer(values)])
    return pa.array(values, from_pandas=True)


def _row_numbers(counts: np.ndarray) -> np.ndarray:
    """Each record's rows numbered from 0, for records of `counts` rows, without a call per record."""
    total = int(counts.sum())
    kind = np.int32 if total < 2**31 else np.int64  # (int32: half the memory to write and read)
    starts = np.repeat((np.cumsum(counts) - counts).astype(kind), counts)
    return np.subtract(np.arange(total, dtype=kind), starts, out=starts).astype(np.int32, copy=False)
