"""JSON request bodies with a nesting limit (issue 12, item 5).

Python's JSON parser and everything that walks the parsed value (graph validation, parameter resolution) recurse,
so a body nested thousands deep is a RecursionError, i.e. a 500. The depth is checked on the raw text before
parsing, by one regular expression that steps over strings and stops at brackets, and the error names the
path where the limit was crossed (graph.nodes[0].params.a.a...).
"""
from __future__ import annotations

import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# A string (the "unrolled loop" form: no alternation per character, so long strings are cheap), or a bracket,
# comma or colon; numbers, literals and white space are stepped over.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_TOKENS = re.compile(_STRING + r'|[{}\[\],:]')
_STRINGS = re.compile(_STRING)
_NOT_BRACKET = re.compile(r"[^{}\[\]]+")
_INNERMOST = re.compile(r"\{\}|\[\]")


def _nesting_at_most(text: str, limit: int) -> bool:
    """The fast path, all in the regex engine: keep only the brackets outside strings, then strip the innermost
    pairs once per level; a body no deeper than `limit` is empty after `limit` rounds."""
    brackets = _NOT_BRACKET.sub("", _STRINGS.sub("", text))
    for _ in range(limit):
        if not brackets:
            return True
        brackets = _INNERMOST.sub("", brackets)
    return not brackets


def _key(token: str) -> str:
    try:
        return str(json.loads(token))
    except ValueError:
        return token.strip('"')


def _path(stack: list[list]) -> str:
    out = ""
    for kind, key in stack[:-1]:
        if kind == "[":
            out += f"[{key}]"
        elif key is not None:
            out += f".{key}" if out else str(key)
    return out


def too_deep(text: str, limit: int) -> str | None:
    """The path of the first container nested deeper than `limit`, or None."""
    if _nesting_at_most(text, limit):
        return None
    stack: list[list] = []  # [bracket, current key or index]
    pending_key: str | None = None
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token[0] == '"':
            pending_key = token
        elif token == ":" and stack and stack[-1][0] == "{" and pending_key is not None:
            stack[-1][1] = _key(pending_key)
        elif token in "{[":
            stack.append([token, 0 if token == "[" else None])
            if len(stack) > limit:
                return _path(stack)
        elif token in "}]":
            if stack:
                stack.pop()
        elif token == "," and stack and stack[-1][0] == "[":
            stack[-1][1] += 1
    return None


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not UTF-8: {exc}") from None
        limit = settings.JSON_MAX_DEPTH
        path = too_deep(text, limit)
        if path is not None:
            from .errors import ApiError  # errors imports DRF's views, which import this module's setting

            shown = path if len(path) <= 300 else path[:300] + "..."
            raise ApiError(400, "too_deep", [{"path": shown, "code": "too_deep",
                                              "message": f"nested deeper than {limit} levels"}])
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if "\\u0000" in text and (path := nul_text(data)) is not None:
            from .errors import ApiError

            raise ApiError(400, "invalid", [{"path": path[:300], "code": "null_character",
                                             "message": "text may not hold the NUL character (\\u0000)"}])
        return data


def nul_text(value) -> str | None:
    """The path of the first key or text in `value` holding a NUL character, or None. PostgreSQL's JSON and text
    refuse NUL, so such a body failed at the database as a 500 (a pipeline whose import path held one)."""
    stack = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return path or "(body)"
        if isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return f"{path}.{key!r}" if path else repr(key)
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in enumerate(item))
    return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def whole_number(value) -> bool:
    """str(value) is ASCII digits only, so int() takes it: str.isdigit() is also true of "²" and the other
    superscripts, which int() refuses (?project=² answered every list with a 500)."""
    text = str(value)
    return text.isascii() and text.isdigit()
