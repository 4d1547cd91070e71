"""Columns that identify rows rather than describe them, which automatic feature extraction leaves out (issue 14
item 3): a model that learns from a row number learns the file's order, not the world.

A column is a row identifier when
  * it has no name: pandas reads an empty header cell as "Unnamed: 0" (a spreadsheet's exported index);
  * its name says so: id, index, idx, row, row_id, row number, rownum, row_index, row_no (any case, with spaces,
    dashes or underscores);
  * it holds unique integers, none missing, densely: at least 20 rows and a span (max - min + 1) of at most
    four times the row count (0..n-1 or 1..n, or a split or sample of them);
  * it holds text, a different value on each of at least 20 rows, none missing, and its name ends in the word id
    (customer_id, Customer ID, order-id, CustomerID, userId): a key such as "C0001", which a model can only learn
    by heart (hashed, each value is one row's).
Listing the column in `columns` uses it anyway. Engines compute the statistics (pandas here; Spark aggregates
in operators/spark/identifiers.py); the decision is this module's."""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

ID_NAMES = {"id", "index", "idx", "row", "rowid", "rownumber", "rownum", "rowindex", "rowno"}
MIN_ROWS = 20
MAX_SPAN_PER_ROW = 4


@dataclass(frozen=True)
class IntegerStats:
    """What the unique-integers rule needs of an integer column."""

    rows: int
    missing: int
    distinct: int
    minimum: int
    maximum: int


@dataclass(frozen=True)
class TextStats:
    """What the text-key rule needs of a text column."""

    rows: int
    missing: int
    distinct: int


def names_a_key(name) -> bool:
    """A name ending in the word "id": customer_id, Customer ID, order-id, order.id, CustomerID, userId."""
    text = str(name).strip()
    return bool(re.search(r"(^|[\s_.\-])id$", text, re.IGNORECASE) or re.search(r"[a-z](ID|Id)$", text))


def reason_by_text(name, stats: TextStats | None) -> str | None:
    if stats is None or not names_a_key(name) or stats.rows < MIN_ROWS or stats.missing or stats.distinct != stats.rows:
        return None
    return f"its name {str(name).strip()!r} and {stats.rows:,} different texts, one per row, make it a key"


def text_stats(series: pd.Series) -> TextStats | None:
    if not (pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)):
        return None
    values = series.dropna()
    return TextStats(len(series), len(series) - len(values), int(values.nunique()))


def reason_by_name(name) -> str | None:
    text = str(name).strip()
    if not text or re.fullmatch(r"Unnamed: \d+", text):
        return "it has no name (an exported row index)"
    if re.sub(r"[\s_.\-]+", "", text.lower()) in ID_NAMES:
        return f"its name {text!r} names a row identifier"
    return None


def reason_by_values(stats: IntegerStats | None) -> str | None:
    if stats is None or stats.rows < MIN_ROWS or stats.missing or stats.distinct != stats.rows:
        return None
    if stats.maximum - stats.minimum + 1 > MAX_SPAN_PER_ROW * stats.rows:
        return None
    return f"it holds {stats.rows:,} unique integers from {stats.minimum:,} to {stats.maximum:,} (row numbers)"


def integer_stats(series: pd.Series) -> IntegerStats | None:
    if not pd.api.types.is_integer_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    values = series.dropna()
    if values.empty:
        return None
    return IntegerStats(len(series), int(series.isna().sum()), int(values.nunique()), int(values.min()),
                        int(values.max()))


def row_identifiers(table: pd.DataFrame, candidates) -> list[dict]:
    """[{"column", "reason"}] for the candidate columns (those auto mode would use) that identify rows."""
    found = []
    for column in candidates:
        reason = (reason_by_name(column) or reason_by_values(integer_stats(table[column]))
                  or (reason_by_text(column, text_stats(table[column])) if names_a_key(column) else None))
        if reason:
            found.append({"column": str(column), "reason": reason})
    return found


def log_line(found: list[dict]) -> str:
    listed = "; ".join(f"{f['column']!r} ({f['reason']})" for f in found)
    return f"left out {listed}: row identifiers are not features; list a column in `columns` to use it anyway"
