"""Label feedback for served predictions: the true outcome of a served row, posted after the fact, stored once
per (deployment, request id, row) in the database (a repeated label replaces the earlier one), and checked
against the prediction log so that labels for rows the deployment never served are reported, not stored.

A label comes in the values of the version that served its row (the "yes" / "no" it answered with, from its
bundle's classes), in the deployment's live values, or as 0 / 1, and is stored as 0 / 1 against the classes of
the version that served the row (1: that version's positive class; operators/labels.py's given_class), with that
version's number. Versions are immutable, so a stored label keeps its meaning whatever goes live later;
import_prediction_log turns it back into the deployment's values (operators.library.feedback.label_values), so a
model retrained on the log answers in them.

The prediction log is written by the serving process about once a second, so a label posted within a second
of its prediction may be reported unknown; posting it again later stores it.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from operators.labels import given_class, known_classes
from operators.prediction_log import read_log
from studio.core.parsers import whole_number

from .models import Deployment, FeedbackLabel
from .services import serving_dir

MAX_LABELS = 10_000  # per call, JSON or CSV
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_REQUEST_ID = 100
MAX_ROW = 10_000_000
CHUNK = 2_000
UPSERT_ROWS = 1_000  # rows per INSERT: 5,000 parameters, below SQLite's limit of 32,766


class FeedbackError(Exception):
    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def prediction_log_dir() -> Path:
    """Where the serving process writes its prediction log (the same default as studio.serving.app)."""
    return Path(getattr(settings, "SERVING_PREDICTION_LOG", None) or serving_dir() / "prediction_log")


def forget_prediction_log(name: str, began: float | None = None) -> None:
    """Delete the served rows (live and shadow) the prediction log keeps for deployment `name`. The log is kept by
    name and a deleted deployment's name may be taken again, by another project: its rows must go with it.
    `began` (a new deployment's start, epoch seconds) is also marked in the log, since the serving process may
    still flush rows of the deleted one just after the folders went: readers skip rows logged before it."""
    from operators.prediction_log import mark_beginning, safe_name
    from studio.serving.predlog import SHADOW_DIR

    root = prediction_log_dir()
    for log in (root, root / SHADOW_DIR):
        shutil.rmtree(log / safe_name(name), ignore_errors=True)
        if began is not None:
            mark_beginning(log, name, began)


def deployment_classes(deployment: Deployment) -> list | None:
    """[negative, positive]: the label values the deployment answers with (its live version's bundle, else its
    newest version's); None when it has none (0 / 1 labels)."""
    version = deployment.live_version or deployment.versions.order_by("-number").first()
    return version.manifest.get("classes") if version is not None else None


def deployment_target(deployment: Deployment) -> str | None:
    """The name of the label column the deployment's model was trained on ("renewed"), of the same version as
    deployment_classes: its manifest's "target", or for a bundle published before manifests named it, its
    feature state's label; None when neither says."""
    version = deployment.live_version or deployment.versions.order_by("-number").first()
    if version is None:
        return None
    target = version.manifest.get("target")
    if target is None:
        try:
            fitted = json.loads((Path(version.bundle) / "feature_state" / "fitted.json").read_text())
            target = fitted["state"].get("label")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
    return str(target) if target else None


def version_classes(deployment: Deployment) -> dict[str, list | None]:
    """Each version's label values, by its number as the prediction log names it ("1")."""
    return {str(number): manifest.get("classes")
            for number, manifest in deployment.versions.values_list("number", "manifest")}


def parse_labels(items, classes: list | None = None, *, csv: bool = False,
                 others: list | None = None) -> dict[tuple[str, int], tuple[int, object]]:
    """[{"request_id", "row", "label"}] -> {(request id, row): (its position in `items`, the label as given)}; the
    last of repeated pairs wins. A label is one of `classes` (the deployment's values), of another version's
    (`others`), or 0 / 1; from a CSV (`csv`) it is the cell's text. Which class it is depends on the version that
    served its row (label_flags, once the log says which). FeedbackError names the first bad item's field (a CSV's
    bad label: the file and its line)."""
    if not isinstance(items, list) or not items:
        raise FeedbackError("labels", "expected a non-empty list of {request_id, row, label}")
    if len(items) > MAX_LABELS:
        raise FeedbackError("labels", f"{len(items):,} labels in one call; the limit is {MAX_LABELS:,}")
    labels: dict[tuple[str, int], tuple[int, object]] = {}
    accepted: dict = {}
    forms = [classes, *(others or [])]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise FeedbackError(f"labels[{i}]", "expected an object {request_id, row, label}")
        extra = set(item) - {"request_id", "row", "label"}
        if extra:
            raise FeedbackError(f"labels[{i}].{sorted(extra)[0]}", "unknown field")
        request_id, row, label = item.get("request_id"), item.get("row", 0), item.get("label")
        if csv and label == "":
            continue  # a line of the labels template left empty (parse_csv counts them)
        if not isinstance(request_id, str) or not 0 < len(request_id) <= MAX_REQUEST_ID:
            raise _bad_item(i, "request_id", f"expected the id a prediction answered with (a string of 1 to "
                                             f"{MAX_REQUEST_ID} characters)", csv)
        if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < MAX_ROW:
            raise _bad_item(i, "row", "expected the row's position in its request (0, 1, ...)", csv)
        if not memo(accepted, label, lambda v: any(given_class(v, c, text=csv) is not None for c in forms)):
            raise bad_label(i, label, classes, csv)
        labels[(request_id, row)] = (i, label)
    return labels


def memo(cache: dict, label, decide, key=()):
    """decide(label), remembered in `cache` per (key, label, its type): a call's thousands of labels hold a few
    distinct values, each read once; an unhashable label is decided each time."""
    try:
        found = cache.get(full := (*key, type(label).__name__, label), cache)
    except TypeError:
        return decide(label)
    if found is cache:
        found = cache[full] = decide(label)
    return found


def _bad_item(i: int, field: str, expected: str, csv: bool) -> FeedbackError:
    """The i-th label's bad field: in the JSON body's terms, or a CSV's (the file and its line, as the person who
    uploaded it knows them; the header is line 1)."""
    return FeedbackError("file", f"line {i + 2}: {field}: {expected}") if csv else \
        FeedbackError(f"labels[{i}].{field}", expected)


def bad_label(i: int, label, classes, csv: bool, version: str = "") -> FeedbackError:
    expected = "expected " + expected_labels(classes) + f", got {str(label)[:40]!r}"
    if version:
        expected += f" (the row was served by version {version})"
    return FeedbackError("file", f"line {i + 2}: label: {expected}") if csv else \
        FeedbackError(f"labels[{i}].label", expected)


def label_flags(labels: dict, served: dict, classes, versions: dict, *, csv: bool = False) -> dict:
    """{(request id, row): (position, label as given)} of served rows -> {(request id, row): (0 / 1, version)}: the
    label against the classes of the version that served the row (`served`: pair -> version) as it says, else
    against the deployment's live values (`classes`) by role, positive to positive (a "yes" for a row a 0 / 1
    version served), as import_prediction_log reads such a version's rows back."""
    def decide(version):
        def flag(label):
            found = given_class(label, versions.get(version), text=csv)
            return given_class(label, classes, text=csv) if found is None else found
        return flag

    out, flags, deciders = {}, {}, {}
    for pair, (i, label) in labels.items():
        version = served[pair]
        if version not in deciders:
            deciders[version] = decide(version)
        flag = memo(flags, label, deciders[version], (version,))
        if flag is None:
            raise bad_label(i, label, versions.get(version), csv, version)
        out[pair] = (flag, int(version) if whole_number(version) else None)
    return out


def expected_labels(classes: list | None) -> str:
    known = known_classes(classes)
    if known is None or (known.negative, known.positive) == (0, 1):
        return "0 or 1"
    return f"{known.negative!r} or {known.positive!r} (the deployment's labels) or 0 / 1"


def parse_csv(upload, target: str | None = None) -> tuple[list[dict], int]:
    """An uploaded CSV with the columns request_id, row (optional, default 0) and label -> (label items, the number
    of lines with an empty label). The label column may instead be named after the deployment's target (`target`,
    "renewed"), the name the analyst's own table gives it; a file with both is refused as ambiguous. The deployment
    page's labels template lists every served row with an empty label: parse_labels skips the lines left empty
    instead of refusing them as bad labels."""
    reader = csv.DictReader(io.StringIO(_csv_text(upload), newline=""), strict=True)  # "\r" ends a line too
    names = _csv_header(reader)
    column = label_column(set(names), target)
    named = f"label (or {target}, the deployment's target)" if target and target != "label" else "label"
    accepted = f"request_id and {named}, and optionally row (the row's position in its request, 0 when absent)"
    if not any(name.strip() for name in names):
        raise FeedbackError("file", f"the file is empty: a labels CSV has a header line naming its columns, "
                                    f"{accepted}, then one line per served row")
    missing = {"request_id", column} - set(names)
    if missing:
        raise FeedbackError("file", f"the CSV needs the columns {accepted}; it lacks {', '.join(sorted(missing))}")
    items, blank = [], 0
    for n, record in _csv_records(reader):
        if len(items) >= MAX_LABELS:
            raise FeedbackError("file", f"more than {MAX_LABELS:,} labels in one file")
        label = (record.get(column) or "").strip()
        blank += not label  # kept, so that an item's position still names its line; parse_labels skips it
        try:
            items.append({"request_id": _request_id(record.get("request_id") or ""),
                          "row": int(record.get("row") or 0), "label": label})
        except (TypeError, ValueError):
            raise FeedbackError("file", f"line {n}: row must be a whole number") from None
    if len(items) == blank:
        raise FeedbackError("file", "no line of the file has a label" + (
            f" ({blank:,} lines with an empty label column): fill in the label of the rows you know" if blank else
            ": under the header request_id,row,label, one line per served row"))
    return items, blank


def _csv_text(upload) -> str:
    """The labels CSV's text: UTF-8 (a BOM is dropped), at most MAX_CSV_BYTES, no NUL (PostgreSQL's text refuses
    it, and no request id or label holds one)."""
    if upload.size > MAX_CSV_BYTES:
        raise FeedbackError("file", f"the file has {upload.size:,} bytes; the limit is {MAX_CSV_BYTES:,}")
    try:
        text = upload.read(MAX_CSV_BYTES + 1).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FeedbackError("file", "the file is not UTF-8 text") from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise FeedbackError("file", f"line {line} holds a NUL character, which a labels CSV does not: save the "
                                    "file as CSV (UTF-8) text")
    return text


def _csv_header(reader: csv.DictReader) -> list[str]:
    """The header's column names; a name given twice is refused (DictReader would keep the last silently)."""
    try:
        names = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise _unreadable(1, exc) from None
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise FeedbackError("file", f"line 1: the column {twice[0]!r} is named twice in the header")
    return names


def _csv_records(reader: csv.DictReader):
    """(line number as parse_labels counts it, record), a malformed line (an unclosed quote, a cell over the csv
    module's field limit) refused naming its line instead of escaping as a 500."""
    n = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # (reader.line_num lags behind the line the error is on)
            raise _unreadable(n + 1, exc) from None
        n += 1
        yield n, record


def _unreadable(line: int, exc: csv.Error) -> FeedbackError:
    reason = str(exc)
    if "field limit" in reason:
        reason = f"a cell of more than {csv.field_size_limit():,} characters (a request id has at most " \
                 f"{MAX_REQUEST_ID})"
    return FeedbackError("file", f"line {line}: the CSV cannot be read: {reason}")


def label_column(names: set, target: str | None) -> str:
    """Which column of a labels CSV holds the labels: "label", or the deployment's target when the file has that
    column and no "label"; both is ambiguous (FeedbackError naming the two)."""
    if not target or target in ("label", "request_id", "row") or target not in names:
        return "label"
    if "label" in names:
        raise FeedbackError("file", f"the CSV has both a label column and a {target!r} column (the deployment's "
                                    f"target): keep the one that holds the true labels")
    return target


def _request_id(text: str) -> str:
    """A request id of a labels CSV: the template (the Served requests panel) wrote one a spreadsheet would run as
    a formula (=, +, -, @, tab) with a leading ', which comes off here."""
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@", "\t", "\r"):
        text = text[1:]
    return text.strip()


def served_rows(deployment: Deployment, request_ids) -> dict[tuple[str, int], str]:
    """The (request id, row) pairs among `request_ids` that the prediction log holds for the deployment -> the
    version that served each."""
    table = read_log(prediction_log_dir(), deployment.name, request_ids=request_ids,
                     columns=["request_id", "row", "version"])
    if table.num_rows == 0:
        return {}
    return dict(zip(zip(table["request_id"].to_pylist(), table["row"].to_pylist(), strict=True),
                    (str(v) for v in table["version"].to_pylist()), strict=True))


def store_labels(deployment: Deployment, labels: dict, *, csv: bool = False) -> dict:
    """Store the labels of served rows (insert or replace), each against the version that served it; report the
    rest. FeedbackError (nothing stored) when a label is not a value of its row's version nor the deployment's."""
    ids = {request_id for request_id, _ in labels}
    served = served_rows(deployment, ids)
    known_ids = {request_id for request_id, _ in served}
    unknown_ids = sorted(ids - known_ids)
    unknown_rows = [{"request_id": r, "row": n} for r, n in labels if r in known_ids and (r, n) not in served]
    keep = label_flags({pair: label for pair, label in labels.items() if pair in served}, served,
                       deployment_classes(deployment), version_classes(deployment), csv=csv)
    with transaction.atomic():
        existing = set()
        kept_ids = sorted({r for r, _ in keep})
        for start in range(0, len(kept_ids), CHUNK):
            existing.update(FeedbackLabel.objects.filter(
                deployment=deployment, request_id__in=kept_ids[start:start + CHUNK]).values_list("request_id", "row"))
        upsert(deployment, keep)
    replaced = len(existing & set(keep))
    return {"stored": len(keep), "new": len(keep) - replaced, "replaced": replaced,
            "unknown_request_ids": unknown_ids, "unknown_rows": unknown_rows}


def upsert(deployment: Deployment, labels: dict[tuple[str, int], tuple[int, int | None]]) -> None:
    """INSERT ... ON CONFLICT DO UPDATE (SQLite and PostgreSQL alike), UPSERT_ROWS rows per statement: the ORM's
    bulk_create with update_conflicts does the same but builds a model instance per label, several times slower,
    and executemany costs PostgreSQL a round trip per row."""
    quote = connection.ops.quote_name
    table = quote(FeedbackLabel._meta.db_table)
    names = ", ".join(quote(c) for c in ("deployment_id", "request_id", "row", "label", "version", "received_at"))
    keys = ", ".join(quote(c) for c in ("deployment_id", "request_id", "row"))
    updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in ("label", "version", "received_at"))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(deployment.pk, r, n, label, version, now) for (r, n), (label, version) in labels.items()]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), UPSERT_ROWS):
            part = rows[start:start + UPSERT_ROWS]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(part))
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {values} ON CONFLICT ({keys}) DO UPDATE SET "
                           f"{updates}", [value for row in part for value in row])


def labels_frame(deployment: Deployment):
    """Every label of the deployment as a pandas table (request_id, row, label, version), for
    import_prediction_log and the monitoring page: label is 0 / 1 against the classes of `version` (a string, as
    the prediction log names versions; a label stored without one is read against the live version's)."""
    import pandas as pd

    live = deployment.live_version or deployment.versions.order_by("-number").first()
    fallback = str(live.number) if live is not None else None
    rows = list(FeedbackLabel.objects.filter(deployment=deployment).values_list("request_id", "row", "label",
                                                                                "version"))
    frame = pd.DataFrame(rows, columns=["request_id", "row", "label", "version"]).astype(
        {"request_id": object, "row": "int64", "label": "int64", "version": object})
    frame["version"] = [fallback if v is None else str(v) for v in frame["version"]]
    return frame
