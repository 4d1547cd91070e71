"""OperatorErrors raised inside Spark tasks, carried back to the driver.

A kernel run in a task (an expression over a batch, a bundle scoring its rows) raises the local engine's
OperatorError for bad data, but Spark reports a failed task as a PythonException holding the task's
traceback as text. `carry_operator_errors` encodes the error (message, field, column, port) into that text;
`operator_error_in` finds it again on the driver, where pipelines.engines.SparkJobScope raises it as the
node's OperatorError, so a bad value fails the node with the same error on both engines.
"""
from __future__ import annotations

import functools
import json
import re

from ..contract import OperatorError

_MARK = "studio-operator-error"
_FOUND = re.compile(re.escape(_MARK) + r"\[(.*?)\]" + re.escape(_MARK))


class TaskOperatorError(RuntimeError):
    """An OperatorError of a task, as text that survives Spark's error reporting."""

    def __init__(self, error: OperatorError):
        fields = {"message": error.message, "field": error.field, "column": error.column, "port": error.port}
        super().__init__(f"{_MARK}[{json.dumps(fields)}]{_MARK}")


def carry_operator_errors(body):
    """Wrap a mapInArrow body so that its OperatorErrors reach the driver (see `operator_error_in`)."""

    @functools.wraps(body)
    def run(batches, **kwargs):
        try:
            yield from body(batches, **kwargs)
        except OperatorError as exc:
            raise TaskOperatorError(exc) from None

    return run


def operator_error_in(exc: BaseException) -> OperatorError | None:
    """The OperatorError a task raised, if `exc` (or one of its causes) reports one."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        found = _FOUND.search(str(exc))
        if found:
            fields = json.loads(found.group(1))
            return OperatorError(fields["message"], field=fields["field"], column=fields["column"],
                                 port=fields["port"])
        exc = exc.__cause__ or exc.__context__
    return None
