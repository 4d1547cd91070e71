"""What kind of data file an upload is, from its first bytes (the declared content type is not trusted)."""
from __future__ import annotations

import csv
import json

KINDS_BY_EXTENSION = {".csv": {"csv", "tsv"}, ".tsv": {"tsv", "csv"}, ".txt": {"csv", "tsv"},
                      ".json": {"json"}, ".jsonl": {"json"}, ".parquet": {"parquet"}}


def sniff(head: bytes) -> str | None:
    """csv, tsv, json, parquet, or None when the bytes are none of these."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if b"\x00" in head:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a cut multi-byte character at the very end is fine
            return None
        text = head[:exc.start].decode("utf-8")
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(stripped)
            return "json"
        except json.JSONDecodeError:
            first = stripped.splitlines()[0] if stripped else ""
            try:
                json.loads(first)
                return "json"  # JSON lines
            except json.JSONDecodeError:
                pass
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if not lines:
        return None
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|")
    except csv.Error:
        return "csv" if len(lines) >= 1 and all(ch.isprintable() or ch in "\t" for ch in lines[0]) else None
    return "tsv" if dialect.delimiter == "\t" else "csv"
