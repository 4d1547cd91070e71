"""Import tables from files below the data root."""
from __future__ import annotations

import hashlib

import pandas as pd
from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType


def file_sha256(path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class ImportCSV(Operator):
    """Reads a CSV file below the data root into a table. Column types are inferred; the file's content
    hash is part of the cache key, so an edited file is read again and an unchanged one is not."""

    name = "import_csv"
    category = "Data import"
    description = "Read a CSV file into a table."
    outputs = (Port("table", PortType.TABLE, "The file's rows"),)

    class Params(Params):
        path: str = Field(..., min_length=1, description="Path of the CSV file, relative to the data root")
        delimiter: str = Field(",", min_length=1, max_length=1, description="Field separator")
        header: bool = Field(True, description="The first line holds the column names")
        encoding: str = Field("utf-8", description="Text encoding of the file")

    def source_fingerprint(self, ctx, params):
        return file_sha256(self._existing_path(ctx, params))

    def _existing_path(self, ctx, params):
        path = ctx.resolve_path(params.path)
        if not path.is_file():
            raise OperatorError(f"file {params.path!r} does not exist under the data root", field="path")
        return path

    def run(self, ctx, inputs, params):
        path = self._existing_path(ctx, params)
        try:
            table = pd.read_csv(path, sep=params.delimiter, header=0 if params.header else None,
                                encoding=params.encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise OperatorError(f"cannot decode {params.path!r} as {params.encoding}: {exc}", field="encoding")
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise OperatorError(f"cannot parse {params.path!r} as CSV: {exc}", field="path")
        if not params.header:
            table.columns = [f"column_{i + 1}" for i in range(table.shape[1])]
        ctx.log(f"read {len(table):,} rows x {table.shape[1]} columns from {params.path}")
        return {"table": table}
