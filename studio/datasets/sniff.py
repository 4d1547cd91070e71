"""What kind of data file an upload is, from its first bytes (the declared content type is not trusted).

Text is read in the encoding the user chose, else as UTF-8, else in the encoding charset-normalizer detects
(a latin-1 CSV is a CSV; import_csv's `encoding` parameter then reads it)."""
from __future__ import annotations

import codecs
import csv
import json

import charset_normalizer

KINDS_BY_EXTENSION = {".csv": {"csv", "tsv"}, ".tsv": {"tsv", "csv"}, ".txt": {"csv", "tsv"},
                      ".json": {"json"}, ".jsonl": {"json"}, ".parquet": {"parquet"}}


def known_encoding(name: str) -> str | None:
    """The codec's canonical name, or None when Python knows no such text encoding."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _decode(head: bytes, encoding: str) -> str | None:
    try:
        return head.decode(encoding)
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a cut multi-byte character at the very end is fine
            return None
        return head[:exc.start].decode(encoding, errors="ignore")


def decode_head(head: bytes, encoding: str | None = None) -> tuple[str | None, str | None]:
    """(text, encoding): in the given encoding, else UTF-8, else the detected one; (None, None) when none fits."""
    if encoding:
        text = _decode(head, encoding)
        return (text, encoding) if text is not None else (None, None)
    text = _decode(head, "utf-8")
    if text is not None:
        return text, "utf-8"
    best = charset_normalizer.from_bytes(head).best()
    if best is None:
        return None, None
    text = _decode(head, best.encoding)
    return (text, best.encoding) if text is not None else (None, None)


def sniff(head: bytes, encoding: str | None = None) -> str | None:
    """csv, tsv, json, parquet, or None when the bytes are none of these (read as text in `encoding`)."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if b"\x00" in head and not (encoding or "").lower().startswith("utf-16"):
        return None
    text, _ = decode_head(head, encoding)
    if text is None:
        return None
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
