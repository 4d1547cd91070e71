"""JSON, not pickle, for what the run queue stores (huey pickles by default).

With REDIS_URL the queue is a Redis list that every web, worker and scheduler machine reads; a pickled
message there would run whatever code its writer chose in every worker (DESIGN principle 6). Our tasks
carry a run id and a priority, so JSON holds all of it: huey's Message tuple, datetimes (eta, expiry) and
tuples are tagged, anything else is refused when the task is enqueued, and a message that is not this
format is refused by the worker, which logs it and moves on.
"""
from __future__ import annotations

import datetime
import json

from huey.registry import Message
from huey.serializer import Serializer

FORMAT = "studio-queue/1"


def _encode(value):
    if isinstance(value, Message):
        return {"$message": [_encode(v) for v in value]}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) and not k.startswith("$") for k in value):
            raise TypeError("queue data: dict keys must be strings not starting with '$'")
        return {k: _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"queue data: {type(value).__name__} is not JSON; tasks take run ids and plain values")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "$message" in value:
            return Message(*[_decode(v) for v in value["$message"]])
        if "$datetime" in value:
            return datetime.datetime.fromisoformat(value["$datetime"])
        if "$tuple" in value:
            return tuple(_decode(v) for v in value["$tuple"])
        return {k: _decode(v) for k, v in value.items()}
    return value


class JSONSerializer(Serializer):
    """huey's Serializer with JSON in place of pickle (compression options are huey's own)."""

    def _serialize(self, data) -> bytes:
        return json.dumps({"format": FORMAT, "data": _encode(data)}, separators=(",", ":")).encode()

    def _deserialize(self, data: bytes):
        try:
            envelope = json.loads(data)
        except (UnicodeDecodeError, ValueError):
            raise ValueError(f"queue message is not {FORMAT} JSON (a pickle?): refused") from None
        if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
            raise ValueError(f"queue message is not {FORMAT}: refused")
        return _decode(envelope["data"])
