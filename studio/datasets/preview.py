"""What an upload holds, before any run: its first rows, the delimiter and header guessed for a text table, each
column's type as the file import will read it, and per-column missing and distinct counts over the first
SAMPLE_ROWS rows (read from disk: a file of hundreds of MB is never loaded whole)."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

SHOWN_ROWS = 20
SAMPLE_ROWS = 10_000
SAMPLE_BYTES = 8 * 1024 * 1024  # text files: the rows in the first 8 MiB at most (one 500 MB line is not read)
MAX_COLUMNS = 200
MAX_CELL = 200
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
NULLS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]  # import_csv's default null tokens


class PreviewError(ValueError):
    """The file cannot be read as its kind; the message says why."""


def sniff_delimiter(head: bytes, kind: str) -> str:
    if kind == "tsv":
        return "\t"
    lines = [line for line in head.decode("utf-8", errors="replace").splitlines()[:20] if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines[:-1] or lines), delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _text_head(path: Path) -> io.BytesIO:
    """The file's first SAMPLE_BYTES, cut after its last complete line when the file goes on."""
    with open(path, "rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        more = bool(handle.read(1))
    if more and b"\n" in head:
        head = head[:head.rindex(b"\n") + 1]
    return io.BytesIO(head)


def _read(path: Path, kind: str, delimiter: str, encoding: str | None = None) -> pd.DataFrame:
    if kind in ("csv", "tsv"):
        return pd.read_csv(_text_head(path), sep=delimiter, nrows=SAMPLE_ROWS, na_values=NULLS,
                           keep_default_na=False, encoding=encoding or "utf-8", encoding_errors="replace",
                           low_memory=False)
    if kind == "json":
        try:
            return pd.read_json(_text_head(path), lines=True, nrows=SAMPLE_ROWS)
        except ValueError:  # a JSON array, not lines: read whole only when it is small
            if path.stat().st_size > SAMPLE_BYTES:
                raise PreviewError(f"a JSON array over {SAMPLE_BYTES // 2**20} MiB has no preview; "
                                   "JSON lines (one object per line) have one") from None
            return pd.read_json(path).head(SAMPLE_ROWS)
    if kind == "parquet":
        import pyarrow.parquet as pq

        batches = pq.ParquetFile(path).iter_batches(batch_size=SAMPLE_ROWS)
        batch = next(batches, None)
        return batch.to_pandas() if batch is not None else pq.ParquetFile(path).schema_arrow.empty_table().to_pandas()
    raise PreviewError(f"no preview for {kind!r} files")


def column_type(series: pd.Series) -> str:
    """number, integer, boolean, datetime or string: what import_csv reads the column as."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    sample = series.dropna().head(200)
    if len(sample) and all(isinstance(v, str) and _ISO_DATE.match(v) for v in sample):
        return "datetime"
    return "string"


NUMERIC_SHARE = 0.9  # a text column whose values are at least this share numbers is flagged
SHOWN_NOT_NUMBERS = 3


def not_numbers(series: pd.Series) -> dict | None:
    """A text column that is numbers but for a few cells (a typo such as "3O" makes import_csv read the whole
    column as text): how many cells are not numbers and the first few of them, with their line in the file
    (1 is the header). None for any other column."""
    values = series.dropna()
    if not len(values) or not all(isinstance(v, str) for v in values.head(200)):
        return None
    numbers = pd.to_numeric(values.str.strip(), errors="coerce")
    bad = values[numbers.isna()]
    if not len(bad) or len(bad) > (1 - NUMERIC_SHARE) * len(values):
        return None
    shown = bad.head(SHOWN_NOT_NUMBERS)
    return {"count": int(len(bad)),
            "examples": [{"value": _cell(str(v)), "line": int(i) + 2} for i, v in zip(shown.index, shown, strict=True)]}


MAX_CATEGORIES_CHECKED = 50  # a column of more distinct values is free text, not categories
RARE_SHARE = 0.1  # a value this share as common as a look-alike (or rarer) is taken for its typo
SHOWN_LOOK_ALIKES = 3


def _edits(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) between two short strings: "premuim" is 1 from
    "premium"."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _looks_like(rare: str, common: str) -> bool:
    a, b = rare.strip().casefold(), common.strip().casefold()
    if a == b:
        return True  # "Premium", "premium "
    shortest = min(len(a), len(b))
    if shortest < 4 or max(len(a), len(b)) > 40 or abs(len(a) - len(b)) > 2:
        return False  # short codes differ by design; long text is not a category
    return _edits(a, b) <= (2 if shortest >= 8 else 1)


def look_alikes(series: pd.Series) -> dict | None:
    """A category column where a rare value looks like a common one ("premuim" once beside "premium" 498 times):
    most likely a typo, which the model would take for a category of its own. How many cells, and the first few
    values with their first line in the file (1 is the header) and the value each looks like. None otherwise."""
    values = series.dropna()
    if not len(values) or not all(isinstance(v, str) for v in values.head(200)):
        return None
    counts = values.value_counts()
    if len(counts) > MAX_CATEGORIES_CHECKED:
        return None
    found = []
    for rare, n in counts.items():
        like = next((c for c, m in counts.items() if c != rare and n <= RARE_SHARE * m and _looks_like(rare, c)), None)
        if like is not None:
            found.append({"value": _cell(rare), "rows": int(n), "line": int(values.index[values == rare][0]) + 2,
                          "like": _cell(like), "like_rows": int(counts[like])})
    if not found:
        return None
    return {"count": sum(f["rows"] for f in found), "examples": found[:SHOWN_LOOK_ALIKES]}


def _column(table: pd.DataFrame, name) -> dict:
    column = {"name": str(name), "type": column_type(table[name]), "missing": int(table[name].isna().sum()),
              "distinct": int(table[name].nunique(dropna=True))}
    if column["type"] == "string" and (flagged := not_numbers(table[name])) is not None:
        column["not_numbers"] = flagged
    elif column["type"] == "string" and (similar := look_alikes(table[name])) is not None:
        column["look_alikes"] = similar
    return column


def _nested_as_text(table: pd.DataFrame) -> pd.DataFrame:
    """JSON lines' objects and lists in cells as their JSON text, which can be counted (a dict cannot be hashed,
    so counting distinct values failed the upload with a 500)."""
    nested = [c for c in table.columns if table[c].dtype == object
              and table[c].map(lambda v: isinstance(v, (dict, list))).any()]
    if not nested:
        return table
    table = table.copy()
    for c in nested:
        table[c] = table[c].map(lambda v: json.dumps(v, default=str) if isinstance(v, (dict, list)) else v)
    return table


def _cell(value):
    if isinstance(value, str) and len(value) > MAX_CELL:
        return value[:MAX_CELL] + "…"
    return value


def preview(path: Path, kind: str, head: bytes = b"", encoding: str | None = None) -> dict:
    """{kind, delimiter?, columns: [{name, type, missing, distinct, not_numbers?, look_alikes?}], rows, sampled_rows,
    sample_limit}."""
    delimiter = sniff_delimiter(head, kind) if kind in ("csv", "tsv") else None
    try:
        table = _read(path, kind, delimiter, encoding)
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PreviewError(f"cannot read it as {kind}: {str(exc)[:300]}") from None
    table = _nested_as_text(table.iloc[:, :MAX_COLUMNS])
    columns = [_column(table, name) for name in table.columns]
    shown = json.loads(table.head(SHOWN_ROWS).to_json(orient="values", date_format="iso", default_handler=str))
    out = {"kind": kind, "columns": columns, "rows": [[_cell(v) for v in row] for row in shown],
           "sampled_rows": len(table), "sample_limit": SAMPLE_ROWS}
    if delimiter is not None:
        out["delimiter"] = delimiter
    return out
