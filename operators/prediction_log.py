"""Reading the prediction log that the serving process writes (studio.serving.predlog): Parquet files under
`<root>/<model>/<YYYY-MM-DD>/part-*.parquet`, one row per scored row, with the columns request_id, row, model,
version, time (epoch seconds), in_<input> per raw input, probability and label (the served label).

Imports pyarrow only (no pandas), so the serving process, the studio and the operators read the log the same
way. Files are immutable once renamed into place, so a reader never sees half a file. Versions of one
deployment may have different inputs: their files are concatenated with missing columns as nulls.
"""
from __future__ import annotations

import functools
from datetime import datetime, timedelta, UTC
from pathlib import Path
from collections.abc import Iterable

INPUT_PREFIX = "in_"
# A deployment's log folder may hold this file: the epoch seconds its deployment began. Rows logged before it are
# a deleted deployment's of the same name (the serving process may flush them just after the folder was
# cleared) and no reader returns them.
BEGINS = ".begins"


def safe_name(name: str) -> str:
    """The folder name of a model in the log (the writer and every reader use this one)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"


def log_files(root: str | Path, model: str, since: float | None = None, until: float | None = None) -> list[Path]:
    """The model's Parquet files, oldest day first, skipping day folders wholly outside [since, until].

    A day folder is the UTC day the file was written, never before its rows' times and at most one flush
    later, so a folder is skipped only when it is before `since`'s day or more than a day after `until`'s."""
    folder = Path(root) / safe_name(model)
    if not folder.is_dir():
        return []
    first = _day(since) if since is not None else ""
    last = _day(until + 86400) if until is not None else "9999"
    files = []
    for day in sorted(p for p in folder.iterdir() if p.is_dir()):
        if first <= day.name <= last:
            files.extend(sorted(day.glob("part-*.parquet")))
    return files


def mark_beginning(root: str | Path, model: str, at: float) -> None:
    """Record that the deployment `model` began at `at` (epoch seconds): readers skip rows logged before."""
    folder = Path(root) / safe_name(model)
    folder.mkdir(parents=True, exist_ok=True)
    written = folder / f"{BEGINS}.tmp"
    written.write_text(repr(float(at)))
    written.replace(folder / BEGINS)


def served_since(root: str | Path, model: str, since: float | None) -> float | None:
    """`since`, moved up to when the deployment `model` began (mark_beginning) where it began later."""
    try:
        began = float((Path(root) / safe_name(model) / BEGINS).read_text())
    except (OSError, ValueError):
        return since
    return began if since is None else max(since, began)


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def read_log(root: str | Path, model: str, *, since: float | None = None, until: float | None = None,
             version: str | None = None, request_ids: Iterable[str] | None = None,
             columns: list[str] | None = None):
    """The logged rows of `model` (a pyarrow Table) with since <= time < until, of one `version` and / or
    among `request_ids` when given; only `columns` (plus what the filters need) when given. Empty (no
    columns) when nothing was logged."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    wanted_ids = pa.array(sorted(set(request_ids)), pa.string()) if request_ids is not None else None
    since = served_since(root, model, since)
    if columns is not None:  # the filters' columns too
        needed = [("time", since is not None or until is not None), ("version", version is not None),
                  ("request_id", wanted_ids is not None)]
        columns = list(dict.fromkeys(list(columns) + [name for name, used in needed if used]))
    tables = []
    for file in log_files(root, model, since, until):
        try:
            parquet = pq.ParquetFile(file)
            names = set(parquet.schema_arrow.names)
            # a column another version lacks is left out here and comes back as nulls when tables are joined
            table = parquet.read(columns=None if columns is None else [c for c in columns if c in names])
        except (OSError, pa.ArrowInvalid):  # removed by retention meanwhile, or not the log's
            continue
        conditions = []
        if since is not None:
            conditions.append(pc.greater_equal(table["time"], since))
        if until is not None:
            conditions.append(pc.less(table["time"], until))
        if version is not None:
            conditions.append(pc.equal(table["version"], str(version)))
        if wanted_ids is not None:
            conditions.append(pc.is_in(table["request_id"], value_set=wanted_ids))
        if conditions:  # one mask: each condition has the unfiltered table's length
            table = table.filter(functools.reduce(pc.and_, conditions))
        tables.append(table)  # even with no row left: its columns are part of the window's (as on Spark)
    if not any(t.num_rows for t in tables):
        return pa.table({})
    conflicts = conflicting_types([t.schema for t in tables])
    if conflicts:  # only then: a cast per file costs a third of a second over 1,000 files
        tables = [_cast(t, conflicts) for t in tables]
    return pa.concat_tables(tables, promote_options="default")


def _cast(table, types: dict):
    import pyarrow as pa

    if all(types.get(f.name, f.type) == f.type for f in table.schema):
        return table
    return table.cast(pa.schema([pa.field(f.name, types.get(f.name, f.type)) for f in table.schema]))


def conflicting_types(schemas) -> dict:
    """The columns whose type differs between the log's files (a version that answered 0 / 1 and a later one that
    answers "yes" / "no"; an input that was whole numbers and became text) -> the type every file is read as:
    float64 when all are numbers, else string (Arrow's text of the value: 1, true). Nulls-only columns fit any."""
    import pyarrow as pa

    seen: dict[str, set] = {}
    for schema in schemas:
        for field in schema:
            if not pa.types.is_null(field.type):
                seen.setdefault(field.name, set()).add(field.type)
    numbers = (pa.types.is_integer, pa.types.is_floating)
    return {name: pa.float64() if all(any(is_(t) for is_ in numbers) for t in types) else pa.string()
            for name, types in seen.items() if len(types) > 1}


def window(last_days: float = 0.0, until: str = "", now: float | None = None) -> tuple[float | None, float | None]:
    """(since, until) in epoch seconds from a window of `last_days` (0: no lower bound) ending at `until`
    (an ISO date or date-time, UTC unless it says otherwise; empty: now). ValueError on a bad date."""
    if until:
        end = datetime.fromisoformat(until.strip())
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        if len(until.strip()) == 10:  # a plain date means the whole day
            end += timedelta(days=1)
        end_epoch = end.timestamp()
    else:
        end_epoch = now if now is not None else datetime.now(UTC).timestamp()
    since = end_epoch - last_days * 86400 if last_days > 0 else None
    return since, (end_epoch if until else None)


def input_columns(table, names: Iterable[str]) -> dict:
    """The logged raw inputs as the drift kernel takes them: float64 with NaN for numbers, and for strings
    their counts (operators.kernels.drift.CategoryCounts, counted by Arrow: no Python object per row). An input
    the rows lack (another version's) is left out."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from .kernels.drift import CategoryCounts

    columns = {}
    for name in names:
        column = INPUT_PREFIX + name
        if column not in table.column_names:
            continue
        values = table[column]
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            counted = pc.value_counts(values).to_pylist()
            counts = {c["values"]: c["counts"] for c in counted if c["values"] not in (None, "")}
            columns[name] = CategoryCounts(counts, len(values) - sum(counts.values()), len(values))
        elif pa.types.is_null(values.type):
            columns[name] = np.full(len(values), np.nan)
        else:
            columns[name] = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return columns


def served_drift(root: str | Path, model: str, statistics: dict, *, since: float | None = None,
                 until: float | None = None, version: str | None = None) -> dict:
    """operators.kernels.drift's report for the rows the model served in the window (of one version)."""
    import numpy as np

    from .kernels.drift import drift_report

    names = list(statistics["inputs"])
    table = read_log(root, model, since=since, until=until, version=version,
                     columns=[INPUT_PREFIX + n for n in names] + ["probability"])
    if table.num_rows == 0:
        return drift_report(statistics, {}, np.zeros(0))
    probability = table["probability"].to_numpy(zero_copy_only=False).astype(np.float64)
    return drift_report(statistics, input_columns(table, names), probability)


def recent_requests(root: str | Path, model: str, limit: int, shown_rows: int = 5) -> list[dict]:
    """The last `limit` requests the log holds for `model`, newest first: request_id, time (epoch seconds), version,
    rows, and the first `shown_rows` rows' label and probability. Files are read newest first, only the columns
    this needs, until `limit` requests are found (a request's rows are in one file: it is logged at once)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    wanted = ["request_id", "row", "time", "version", "label", "probability"]
    found: dict[str, dict] = {}
    since = served_since(root, model, None)
    for file in reversed(log_files(root, model, since)):
        try:
            parquet = pq.ParquetFile(file)
            table = parquet.read(columns=[c for c in wanted if c in parquet.schema_arrow.names])
        except (OSError, pa.ArrowInvalid):  # removed by retention meanwhile, or not the log's
            continue
        columns = {name: table[name].to_pylist() if name in table.column_names else [None] * table.num_rows
                   for name in wanted}
        for i in reversed(range(table.num_rows)):
            if since is not None and (columns["time"][i] or 0) < since:
                continue
            request_id = columns["request_id"][i]
            request = found.get(request_id)
            if request is None:
                if len(found) >= limit:
                    continue
                request = found[request_id] = {"request_id": request_id, "time": columns["time"][i],
                                               "version": columns["version"][i], "rows": 0, "answers": []}
            request["rows"] += 1
            request["answers"].append((columns["row"][i], columns["label"][i], columns["probability"][i]))
        if len(found) >= limit:
            break
    out = sorted(found.values(), key=lambda r: -(r["time"] or 0))
    for request in out:
        first = sorted(request["answers"], key=lambda a: a[0])[:shown_rows]
        request["answers"] = [{"row": row, "label": label, "probability": p} for row, label, p in first]
    return out
