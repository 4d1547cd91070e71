"""Import tables from files: an uploaded file (by id) or a path below the data root."""
from __future__ import annotations

import contextlib
import hashlib
import re
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..contract import Message, Messages, Operator, OperatorError, Params, Port, PortType

ColumnType = Literal["number", "integer", "string", "category", "boolean", "datetime"]
DEFAULT_NULLS = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]
# read_csv sees the mixed types this warns of, and reads the file again
warnings.filterwarnings("ignore", category=pd.errors.DtypeWarning, module=__name__)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def file_sha256(path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class ImportMessages(Messages):
    """import_csv's and import_parquet's messages, on either engine."""

    not_in_file = Message("column {column!r} (from {source}) is not in the file; columns are: {known}")
    unreadable = Message("column {column!r} cannot be read as {kind}: {reason}")


# What a column given the type boolean may hold (any case, surrounding spaces stripped).
BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False,
                 "t": True, "f": False, "y": True, "n": False}


class FileSource(Params):
    """Where a file comes from: an uploaded file's id, or a path below the data root (exactly one)."""

    path: str = Field("", description="Path of the file, relative to the data root")
    upload: str = Field("", description="An uploaded file of the project, instead of a path (the canvas picks it by "
                                        "name from the project's Data page; the value is its id)")
    # Which version of the upload a run reads. The studio resolves "newest" before the graph reaches the executor
    # (studio/datasets/follow.py) and records the upload it chose with the run; the executor reads `upload` as
    # given. Left out of the cache key (exclude=True): the key holds the upload id resolved and the file's sha256.
    upload_version: Literal["pinned", "newest"] = Field(
        "pinned", exclude=True, title="Which version",
        description="pinned: this upload, in every run (the default: a run can be made again from its graph); "
                    "newest: the newest upload of this name in the project at the time each run starts, so a "
                    "scheduled retrain reads the file uploaded again under its name")
    upload_name: str = Field("", exclude=True, max_length=255,
                             description="With upload_version newest: the file name followed (the canvas sets it to "
                                         "the picked upload's name; empty: that upload's name), so that when that "
                                         "upload is deleted the next newest of its name is read")


def source_label(params: FileSource, path: Path) -> tuple[str, str]:
    """How a message names the file read (its path, or an upload's file name as the person uploaded it, never the
    upload's id) and which field chose it."""
    return (params.path, "path") if params.path else (path.name, "upload")


def source_path(ctx, params: FileSource):
    if bool(params.path) == bool(params.upload):
        raise OperatorError("give either a path or an upload id, not both or neither", field="path")
    if params.upload:
        path = ctx.upload_path(params.upload)
        if not path.is_file():
            raise OperatorError(f"the uploaded file {path.name!r} is missing from the studio's storage: upload it "
                                "again", field="upload")
        return path
    path = ctx.resolve_path(params.path)
    if not path.is_file():
        raise OperatorError(f"file {params.path!r} does not exist under the data root", field="path")
    return path


def _convert(table: pd.DataFrame, column: str, kind: str) -> pd.Series:
    series = table[column]
    field = f"column_types.{column}"
    try:
        if kind == "number":
            return pd.to_numeric(series, errors="raise").astype(np.float64)
        if kind == "integer":
            numbers = pd.to_numeric(series, errors="raise")
            if (numbers.dropna() % 1 != 0).any():
                raise ValueError("it has fractions")
            return numbers.astype("Int64")
        if kind == "string":
            return series.astype("string").astype(object).where(series.notna(), None)
        if kind == "category":
            return series.astype("string").astype(object).where(series.notna(), None)
        if kind == "boolean":
            text = series.astype("string").str.strip().str.lower()
            unknown = text.dropna()[~text.dropna().isin(list(BOOLEAN_WORDS))]
            if len(unknown):
                raise ValueError(f"{unknown.iloc[0]!r} is not true/false")
            return text.map(BOOLEAN_WORDS).astype("boolean")
        if kind == "datetime":
            return pd.to_datetime(series, errors="raise")
    except (ValueError, TypeError) as exc:
        raise ImportMessages.unreadable(kind=kind, reason=exc, field=field, column=column) from None
    raise OperatorError(f"unknown type {kind!r}", field=field, column=column)


def read_csv(path, **options) -> pd.DataFrame:
    """pandas' CSV reader, in chunks (low_memory; 2-2.5x faster than one pass over a million rows), unless the
    chunks disagree on a column's type: numbers in the first chunk and text in a later one make a column of mixed
    Python objects, so the file is then read again in one pass, which types each column over all its rows.
    Only such a column is of object dtype (text is `str`; booleans with missing values, the one other object
    column, pay for a second read); where the chunks' types merge without objects (integers, then floats or
    missing values) one pass gives the same column."""
    table = pd.read_csv(path, low_memory=True, **options)
    if any(pd.api.types.is_object_dtype(dtype) for dtype in table.dtypes):
        table = pd.read_csv(path, low_memory=False, **options)
    return table


def iso_dates(series: pd.Series) -> pd.Series:
    """pd.to_datetime(series, format="ISO8601"), with a column of plain dates (YYYY-MM-DD, the common case)
    parsed by pyarrow, several times faster, into the same datetime64[us] values. Raises ValueError when a
    value is no ISO date or time."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(series, from_pandas=True)
        plain = pa.types.is_string(text.type) or pa.types.is_large_string(text.type)
        if plain and pc.all(pc.match_substring_regex(text, r"^\d{4}-\d{2}-\d{2}$")).as_py():
            stamps = pc.cast(text, pa.timestamp("us")).to_numpy(zero_copy_only=False)
            return pd.Series(stamps, index=series.index, name=series.name)
    except pa.ArrowException:
        pass  # not plain dates after all (or an impossible one): pandas decides, and says why
    return pd.to_datetime(series, errors="raise", format="ISO8601")


def apply_types(table: pd.DataFrame, overrides: dict[str, str], parse_dates: bool) -> pd.DataFrame:
    """Per-column type overrides, then ISO dates recognised in the remaining text columns."""
    for column, kind in overrides.items():
        if column not in table.columns:
            raise ImportMessages.not_in_file(source="column_types", known=", ".join(map(str, table.columns[:20])),
                                             field=f"column_types.{column}", column=column)
        table[column] = _convert(table, column, kind)
    if parse_dates:
        for column in table.columns:
            if column in overrides or not pd.api.types.is_string_dtype(table[column]):
                continue  # (object columns of text count as string dtype too)
            top = table[column].head(1000).dropna()  # a look at the first values, not a pass over every row
            sample = (top if len(top) else table[column].dropna()).head(200)
            if len(sample) and all(isinstance(v, str) and ISO_DATE.match(v) for v in sample):
                with contextlib.suppress(ValueError, TypeError):  # dates at the top only: leave it as text
                    table[column] = iso_dates(table[column])
    return table


class ImportCSV(Operator):
    """Reads a CSV file (uploaded, or a path below the data root; paths outside it are refused) into a table.
    Column types are inferred (numbers, ISO dates, text) and can be overridden per column; null tokens are
    configurable. The file's content hash is part of the cache key, so an edited file is read again and an
    unchanged one is not."""

    name = "import_csv"
    spark = "operators.spark.io:import_csv"
    category = "Data import"
    description = "Read a CSV file into a table."
    outputs = (Port("table", PortType.TABLE, "The file's rows"),)

    Messages = ImportMessages

    class Params(FileSource):
        delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator")
        header: bool = Field(True, description="The first line holds the column names")
        encoding: str = Field("utf-8", description="Text encoding of the file")
        null_values: list[str] = Field(default_factory=lambda: list(DEFAULT_NULLS),
                                       description="Cell values read as missing")
        column_types: dict[str, ColumnType] = Field(
            default_factory=dict, description="Type overrides per column: number, integer, string, category, "
                                              "boolean, datetime")
        parse_dates: bool = Field(True, description="Read text columns holding ISO dates as date/time")
        max_rows: int = Field(0, ge=0, description="Read at most this many rows; 0 reads them all")

    def source_fingerprint(self, ctx, params):
        return file_sha256(source_path(ctx, params))

    def run(self, ctx, inputs, params):
        path = source_path(ctx, params)
        label, field = source_label(params, path)
        # text-typed columns are read as text, so "007" keeps its zeros
        dtype = {c: str for c, k in params.column_types.items() if k in ("string", "category")}
        try:
            table = read_csv(path, sep=params.delimiter, header=0 if params.header else None,
                             encoding=params.encoding, na_values=params.null_values, keep_default_na=False,
                             dtype=dtype or None, nrows=params.max_rows or None)
        except (UnicodeDecodeError, LookupError) as exc:
            raise OperatorError(f"cannot decode {label!r} as {params.encoding}: {exc}", field="encoding") from None
        except pd.errors.EmptyDataError:
            raise OperatorError(f"{label!r} is empty", field=field) from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise OperatorError(f"cannot parse {label!r} as CSV: {exc}", field=field) from None
        if not params.header:
            table.columns = [f"column_{i + 1}" for i in range(table.shape[1])]
        table = apply_types(table, params.column_types, params.parse_dates)
        ctx.log(f"read {len(table):,} rows x {table.shape[1]} columns from {label}")
        return {"table": table}


class ImportParquet(Operator):
    """Reads a Parquet file (uploaded, or a path below the data root) into a table, optionally only some
    columns. The file's content hash is part of the cache key."""

    name = "import_parquet"
    spark = "operators.spark.io:import_parquet"
    category = "Data import"
    description = "Read a Parquet file into a table."
    outputs = (Port("table", PortType.TABLE, "The file's rows"),)

    Messages = ImportMessages

    class Params(FileSource):
        columns: list[str] = Field(default_factory=list, description="Columns to read; empty reads all")
        max_rows: int = Field(0, ge=0, description="Read at most this many rows; 0 reads them all")

    def source_fingerprint(self, ctx, params):
        return file_sha256(source_path(ctx, params))

    def run(self, ctx, inputs, params):
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = source_path(ctx, params)
        try:
            handle = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as exc:
            label, field = source_label(params, path)
            raise OperatorError(f"cannot read {label!r} as Parquet: {exc}", field=field) from None
        names = handle.schema_arrow.names
        for column in params.columns:
            if column not in names:
                raise ImportMessages.not_in_file(source="columns", known=", ".join(names[:20]), field="columns",
                                                 column=column)
        if params.max_rows:
            batches, rows = [], 0
            for batch in handle.iter_batches(columns=params.columns or None, batch_size=65_536):
                batches.append(batch)
                rows += batch.num_rows
                if rows >= params.max_rows:
                    break
            arrow = pa.Table.from_batches(batches, schema=batches[0].schema if batches else None).slice(
                0, params.max_rows) if batches else handle.schema_arrow.empty_table()
        else:
            arrow = handle.read(columns=params.columns or None)
        table = arrow.to_pandas()
        ctx.log(f"read {len(table):,} rows x {table.shape[1]} columns")
        return {"table": table}
