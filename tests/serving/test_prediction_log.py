"""The prediction log's files (studio.serving.predlog): what a reader gets back is the rows as they were scored,
with plain string columns (the writer builds repeated strings as Arrow dictionary arrays, which must not leak
into the files' types), and a day holding files of the earlier writer beside new ones reads as one table."""
from __future__ import annotations

import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from operators.prediction_log import read_log
from studio.serving.predlog import PredictionLog


def _requests():
    """Three requests of 1, 4 and 2 rows: numbers with a missing value, strings with a missing one."""
    rng = np.random.default_rng(5)
    out = []
    for k, n in enumerate((1, 4, 2)):
        columns = {"age": rng.random(n) * 80, "region": np.array(["north", None, "south", "north"][:n], dtype=object)}
        columns["age"][-1] = np.nan
        outputs = {"probability": rng.random(n), "label": (rng.random(n) > 0.5).astype(np.int64)}
        out.append((f"req-{k}", columns, n, outputs))
    return out


def test_the_log_reads_back_as_scored_with_plain_string_columns(tmp_path):
    log = PredictionLog(tmp_path, flush_interval=3600)
    requests = _requests()
    for request_id, columns, n, outputs in requests:
        log.record(request_id, "credit", "7", columns, n, outputs)
    log.close()
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) == 1
    table = pq.read_table(files[0])
    assert table.schema.field("request_id").type == pa.string()
    assert table.schema.field("model").type == pa.string() and table.schema.field("version").type == pa.string()
    assert table.schema.field("in_region").type == pa.string() and table.schema.field("row").type == pa.int32()
    rows = table.to_pylist()
    expected = [(rid, i, columns["age"][i], columns["region"][i], outputs["probability"][i], outputs["label"][i])
                for rid, columns, n, outputs in requests for i in range(n)]
    got = [(r["request_id"], r["row"], r["in_age"], r["in_region"], r["probability"], r["label"]) for r in rows]
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g[:2] == e[:2] and g[3] == e[3] and g[4] == e[4] and g[5] == e[5]
        assert (g[2] is None and np.isnan(e[2])) or g[2] == e[2]  # NaN is logged as null
    assert {r["model"] for r in rows} == {"credit"} and {r["version"] for r in rows} == {"7"}
    assert not any(r["shadow"] for r in rows)


def test_a_file_of_the_earlier_writer_and_a_new_one_read_as_one_table(tmp_path):
    log = PredictionLog(tmp_path, flush_interval=3600)
    request_id, columns, n, outputs = _requests()[1]
    log.record(request_id, "credit", "7", columns, n, outputs)
    log.close()
    new = next(tmp_path.rglob("*.parquet"))
    table = pq.read_table(new)  # as the writer before dictionary arrays wrote it: plain strings, Arrow schema kept
    old = table.set_column(0, "request_id", pa.array(["old-req"] * n, pa.string()))
    pq.write_table(old, new.parent / "part-1-old.parquet")
    table = read_log(tmp_path, "credit", since=time.time() - 3600)
    assert table.num_rows == 2 * n
    assert sorted(set(table.column("request_id").to_pylist())) == ["old-req", request_id]
    assert read_log(tmp_path, "credit", request_ids=[request_id]).num_rows == n


def test_an_integer_label_is_delta_encoded_and_a_text_label_written_as_before(tmp_path):
    """The writer's cheaper encoding of a 0 / 1 label: the values read back the same (by pyarrow here, by Spark in
    tests/spark/test_prediction_log.py), the other columns still snappy; a text label keeps the usual encoding."""
    log = PredictionLog(tmp_path, flush_interval=3600)
    requests = _requests()
    for request_id, columns, n, outputs in requests:
        log.record(request_id, "credit", "7", columns, n, outputs)
        text = {"probability": outputs["probability"], "label": np.where(outputs["label"] == 1, "yes", "no")}
        log.record(request_id, "words", "1", columns, n, text)
    log.close()
    for model, expected_type in (("credit", pa.int64()), ("words", pa.string())):
        (file,) = sorted((tmp_path / model).rglob("*.parquet"))
        chunks = pq.ParquetFile(file).metadata.row_group(0)
        by_name = {chunks.column(i).path_in_schema: chunks.column(i) for i in range(chunks.num_columns)}
        label = by_name["label"]
        table = pq.read_table(file)
        assert table.schema.field("label").type == expected_type
        want = np.concatenate([o["label"] for _, _, _, o in requests])
        got = table["label"].to_numpy(zero_copy_only=False)
        assert (got.tolist() == want.tolist()) if model == "credit" else \
            (got.tolist() == np.where(want == 1, "yes", "no").tolist())
        if model == "credit":
            assert "DELTA_BINARY_PACKED" in label.encodings and label.compression == "UNCOMPRESSED"
        else:
            assert "DELTA_BINARY_PACKED" not in label.encodings and label.compression == "SNAPPY"
        # every other column snappy, the floats too (uncompressed they took 2.5x the disk on the demo's rows)
        snappy = ("probability", "in_age", "request_id", "row", "time", "in_region", "shadow")
        assert {by_name[name].compression for name in snappy} == {"SNAPPY"}


def _large_requests(sizes):
    """Requests of `sizes` rows as the binary path parses them: FP64 columns viewing the (read-only) body, NaN
    for missing; BYTES as object arrays with None for missing; an INT64 column."""
    rng = np.random.default_rng(11)
    out = []
    for k, n in enumerate(sizes):
        values = rng.random(n) * 80
        values[::7] = np.nan
        body = b"\0" * 8 + values.tobytes()  # the header before the binary data
        words = np.array([None if i % 5 == 0 else f"w{i % 3}" for i in range(n)], dtype=object)
        columns = {"age": np.frombuffer(body, dtype="<f8", offset=8), "region": words,
                   "count": np.arange(n, dtype=np.int64), "score": np.linspace(-1.0, 1.0, n)}
        outputs = {"probability": rng.random(n), "label": (rng.random(n) > 0.5).astype(np.int64)}
        out.append((f"big-{k}", columns, n, outputs))
    return out


def _rows(table):
    return [(r["request_id"], r["row"], r["in_age"], r["in_region"], r["in_count"], r["in_score"], r["probability"],
             r["label"]) for r in table.to_pylist()]


def _expected(requests):
    return [(rid, i, None if np.isnan(c["age"][i]) else float(c["age"][i]), c["region"][i], int(c["count"][i]),
             float(c["score"][i]), float(o["probability"][i]), int(o["label"][i]))
            for rid, c, n, o in requests for i in range(n)]


def test_rows_logged_from_the_requests_own_arrays_read_back_as_scored(tmp_path):
    """The log holds references to the request's arrays (views of its body for FP64 columns) until the writer
    runs: what it writes is what each request carried, NaN and None as nulls, INT64 as integers."""
    log = PredictionLog(tmp_path, flush_interval=3600)
    sizes = [100, 3, 1000, 64]
    for request_id, columns, n, outputs in _large_requests(sizes):
        log.record(request_id, "credit", "7", columns, n, outputs)
    log.close()
    (file,) = sorted(tmp_path.rglob("*.parquet"))
    table = pq.read_table(file)
    assert table.schema.field("in_region").type == pa.string() and table.schema.field("in_count").type == pa.int64()
    assert table.schema.field("in_age").type == pa.float64() and table["in_age"].null_count > 0
    want = _expected(_large_requests(sizes))  # the same values again (a seeded generator)
    assert _rows(table) == want
    assert log.written_rows == sum(sizes)


def test_columns_without_nulls_are_required_and_read_with_optional_ones_of_earlier_files(tmp_path):
    """A column with no null in a file is written REQUIRED (no definition levels to encode), one with nulls
    OPTIONAL; a file of the earlier writer (every column optional) and a new one still read as one table."""
    log = PredictionLog(tmp_path, flush_interval=3600)
    requests = _large_requests([100, 5])
    for request_id, columns, n, outputs in requests:
        log.record(request_id, "credit", "7", columns, n, outputs)
    log.close()
    (new,) = sorted(tmp_path.rglob("*.parquet"))
    schema = pq.read_schema(new)
    optional = {f.name for f in schema if f.nullable}
    assert optional == {"in_age", "in_region"}  # the two inputs with missing values; in_count, in_score have none
    earlier = pq.read_table(new)
    earlier = pa.table(earlier.columns, schema=pa.schema([f.with_nullable(True) for f in earlier.schema]))
    earlier = earlier.set_column(0, "request_id", pa.array(["old"] * earlier.num_rows, pa.string()))
    pq.write_table(earlier, new.parent / "part-1-old.parquet")
    table = read_log(tmp_path, "credit")
    assert table.num_rows == 2 * 105
    rows = _rows(table)
    assert sorted(r for r in rows if r[0] != "old") == sorted(_expected(_large_requests([100, 5])))
    assert sorted(r[1:] for r in rows if r[0] == "old") == sorted(r[1:] for r in _expected(_large_requests([100, 5])))


def test_the_writer_is_woken_when_half_the_pending_limit_is_waiting(tmp_path):
    """Rows arriving faster than max_pending_rows per flush interval are written, not dropped while the writer
    sleeps: at half the limit it is woken (here long before its hour-long interval)."""
    log = PredictionLog(tmp_path, flush_interval=3600, max_pending_rows=1000)
    requests = _large_requests([100, 450])
    for request_id, columns, n, outputs in requests:
        log.record(request_id, "credit", "7", columns, n, outputs)
    deadline = time.monotonic() + 60  # (a liveness bound: the writer runs at once when it is free)
    while log.written_rows < 550 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.written_rows == 550 and log.dropped_rows == 0
    for request_id, columns, n, outputs in _large_requests([700, 200]):  # 900 more: fits once those are written
        log.record(request_id + "-again", "credit", "7", columns, n, outputs)
    log.close()
    assert log.dropped_rows == 0 and log.written_rows == 1450
    assert read_log(tmp_path, "credit").num_rows == 1450


def test_a_chunk_of_rows_is_drained_into_an_open_file_that_readers_see_only_when_finished(tmp_path):
    """Once CHUNK_ROWS rows wait, the writer takes them (the requests' arrays are let go) into a file under a
    temporary name that no reader lists; flush() finishes it: one file, every row, in order."""
    from studio.serving import predlog

    log = PredictionLog(tmp_path, flush_interval=3600)
    sizes = [predlog.CHUNK_ROWS // 2, predlog.CHUNK_ROWS // 2 + 10]
    for request_id, columns, n, outputs in _large_requests(sizes):
        log.record(request_id, "credit", "7", columns, n, outputs)
    deadline = time.monotonic() + 60  # (a liveness bound: the writer runs at once when it is free)
    while (log._pending or not log._files) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not log._pending and len(log._files) == 1  # drained into the open file ...
    assert list(tmp_path.rglob("*.parquet")) == [] and log.written_rows == 0  # ... which nobody reads yet
    assert read_log(tmp_path, "credit").num_rows == 0
    assert log.flush() == 0 and not log._files
    (file,) = tmp_path.rglob("*.parquet")
    assert _rows(pq.read_table(file)) == _expected(_large_requests(sizes))
    assert log.written_rows == sum(sizes) and not list(tmp_path.rglob("*.tmp"))
    log.close()


def test_a_later_chunk_with_nulls_where_the_open_file_has_none_starts_a_new_file(tmp_path):
    """A column written REQUIRED (no null in the first chunk) cannot take a null: the open file is finished and
    the chunk goes to a new one; a chunk without nulls fits a file whose column is optional (cast); an all-null
    text chunk fits a text column. Every row reads back, in order."""
    log = PredictionLog(tmp_path, flush_interval=3600)
    (_, first, n1, out1), (_, second, n2, out2), (_, third, n3, out3) = _large_requests([20, 20, 20])
    first = {**first, "age": np.arange(20, dtype=np.float64)}  # no NaN: in_age REQUIRED in the first file
    third = {**third, "region": np.full(20, None, dtype=object)}  # all null: no type of its own
    for request_id, columns, n, outputs in (("a", first, n1, out1), ("b", second, n2, out2), ("c", third, n3, out3)):
        log.record(request_id, "credit", "7", columns, n, outputs)
        log._drain(finish_all=False)  # one chunk each
    log.close()
    files = sorted(tmp_path.rglob("*.parquet"))
    assert len(files) == 2
    assert not pq.read_schema(files[0]).field("in_age").nullable and pq.read_schema(files[1]).field("in_age").nullable
    table = read_log(tmp_path, "credit")
    assert table.num_rows == 60 and sorted(set(table["request_id"].to_pylist())) == ["a", "b", "c"]
    by_id = {rid: [r for r in table.to_pylist() if r["request_id"] == rid] for rid in "abc"}
    assert [r["in_age"] for r in by_id["a"]] == list(range(20))
    assert [r["in_region"] for r in by_id["c"]] == [None] * 20
    assert [r["in_region"] for r in by_id["b"]] == list(second["region"])


def test_a_window_and_a_version_filter_one_file_whose_rows_straddle_both(tmp_path):
    """A file holding rows on both sides of `since` (one flush spans a window's edge), read with a second filter
    (a version, request ids): each condition was computed over the whole file but applied one after the other,
    so the second met a table the first had shortened (ArrowInvalid: the drift and shadow pages failed)."""
    log = PredictionLog(tmp_path, flush_interval=3600)
    requests = _requests()
    log.record(*requests[0][:1], "credit", "7", *requests[0][1:])
    time.sleep(0.01)
    edge = time.time()
    log.record(*requests[1][:1], "credit", "7", *requests[1][1:])
    log.record(*requests[2][:1], "credit", "8", *requests[2][1:])
    log.close()
    table = read_log(tmp_path, "credit", since=edge, version="7")
    assert table.column("request_id").to_pylist() == ["req-1"] * 4
    assert read_log(tmp_path, "credit", since=edge, request_ids=["req-0", "req-2"]).num_rows == 2
