"""Operators that exist only for executor tests: slow, failing, never-ending, counting."""
from __future__ import annotations

import threading
import time

from pydantic import Field

import operators
from operators import Operator, OperatorError, Params, Port, PortType

CALLS: dict[str, int] = {}
_lock = threading.Lock()
# named signals between test nodes and the test itself (tests pick fresh names, e.g. with uuid)
SIGNALS: dict[str, threading.Event] = {}


def signal(name: str) -> threading.Event:
    with _lock:
        return SIGNALS.setdefault(name, threading.Event())


def _count(name: str) -> None:
    with _lock:
        CALLS[name] = CALLS.get(name, 0) + 1


class Emit(Operator):
    name = "test_emit"
    category = "Testing"
    description = "Outputs a metrics dict holding `value`."
    outputs = (Port("out", PortType.METRICS),)

    class Params(Params):
        value: int = Field(0, description="The value")
        sleep: float = Field(0.0, ge=0, description="Seconds to sleep first")

    def run(self, ctx, inputs, params):
        _count(self.name)
        deadline = time.monotonic() + params.sleep
        while time.monotonic() < deadline:
            ctx.check_cancelled()
            time.sleep(0.01)
        return {"out": {"value": params.value}}


class NotANumber(Operator):
    name = "test_not_a_number"
    category = "Testing"
    description = "Outputs metrics JSON has no word for: NaN (an AUC over one class) and infinities."
    outputs = (Port("out", PortType.METRICS),)

    def run(self, ctx, inputs, params):
        return {"out": {"auc": float("nan"), "high": float("inf"), "low": float("-inf"), "rows": 3}}


class AddOne(Operator):
    name = "test_add_one"
    category = "Testing"
    description = "Adds one to its input's value."
    inputs = (Port("in", PortType.METRICS), Port("extra", PortType.METRICS, optional=True))
    outputs = (Port("out", PortType.METRICS),)

    class Params(Params):
        sleep: float = Field(0.0, ge=0)

    def run(self, ctx, inputs, params):
        _count(self.name)
        for i in range(int(params.sleep * 100)):
            ctx.check_cancelled()
            ctx.progress(i / max(1, params.sleep * 100))
            time.sleep(0.01)
        return {"out": {"value": inputs["in"]["value"] + 1}}


class Deaf(Operator):
    """Sleeps without ever checking for cancellation, like a long library call (a scikit-learn fit); a test
    may end the sleep early by setting the signal named `wake`."""

    name = "test_deaf"
    category = "Testing"
    description = "Sleeps, ignoring cancellation."
    inputs = (Port("in", PortType.METRICS),)
    outputs = (Port("out", PortType.METRICS),)

    class Params(Params):
        sleep: float = Field(5.0, ge=0)
        wake: str = ""

    def run(self, ctx, inputs, params):
        ctx.log("falling asleep")
        signal(params.wake or "never").wait(params.sleep)
        return {"out": inputs["in"]}


class Rendezvous(Operator):
    """Sets the signal `sets`, then waits for the signal `waits_for`: two such nodes that wait for each other
    succeed only when they run at the same time; without a partner, it fails after `timeout`."""

    name = "test_rendezvous"
    category = "Testing"
    description = "Meets another node, or a signal of the test."
    outputs = (Port("out", PortType.METRICS),)

    class Params(Params):
        sets: str = ""
        waits_for: str
        timeout: float = Field(30.0, ge=0)

    def run(self, ctx, inputs, params):
        if params.sets:
            signal(params.sets).set()
        deadline = time.monotonic() + params.timeout
        while not signal(params.waits_for).wait(0.01):
            ctx.check_cancelled()
            if time.monotonic() > deadline:
                raise OperatorError(f"nobody set {params.waits_for!r} within {params.timeout} s", field="waits_for")
        return {"out": {"met": params.waits_for}}


class Fail(Operator):
    name = "test_fail"
    category = "Testing"
    description = "Always fails."
    inputs = (Port("in", PortType.METRICS),)
    outputs = (Port("out", PortType.METRICS),)

    class Params(Params):
        message: str = "boom"

    def run(self, ctx, inputs, params):
        raise OperatorError(params.message, field="message")


class Crash(Operator):
    name = "test_crash"
    category = "Testing"
    description = "Raises an unexpected exception."
    inputs = (Port("in", PortType.METRICS),)
    outputs = (Port("out", PortType.METRICS),)

    def run(self, ctx, inputs, params):
        return {"out": {"value": 1 / 0}}


class NeedsTable(Operator):
    name = "test_needs_table"
    category = "Testing"
    description = "Takes a table."
    inputs = (Port("table", PortType.TABLE),)
    outputs = (Port("out", PortType.METRICS),)

    def run(self, ctx, inputs, params):
        return {"out": {"rows": len(inputs["table"])}}


class MakeTable(Operator):
    name = "test_make_table"
    category = "Testing"
    description = "Outputs a small table."
    outputs = (Port("table", PortType.TABLE),)

    def run(self, ctx, inputs, params):
        import pandas as pd

        return {"table": pd.DataFrame({"x": [1.0, 2.0, 3.0]})}


class UnwritableTable(Operator):
    """A table pandas holds but Parquet cannot: a column mixing numbers and text in Python objects."""

    name = "test_unwritable_table"
    category = "Testing"
    description = "Outputs a table whose column `mixed` no Parquet writer accepts."
    outputs = (Port("table", PortType.TABLE),)

    def run(self, ctx, inputs, params):
        import pandas as pd

        return {"table": pd.DataFrame({"x": [1.0, 2.0, 3.0], "mixed": pd.Series([1, "a", 2.5], dtype=object)})}


class ScribbleOnInput(Operator):
    """Changes its input table in place, as a careless operator might."""

    name = "test_scribble"
    category = "Testing"
    description = "Overwrites a column of its input, then returns it."
    inputs = (Port("table", PortType.TABLE),)
    outputs = (Port("table", PortType.TABLE),)

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        table["x"] = -1.0
        return {"table": table}


class SumX(Operator):
    name = "test_sum_x"
    category = "Testing"
    description = "The sum of column x of its input."
    inputs = (Port("table", PortType.TABLE),)
    outputs = (Port("out", PortType.METRICS),)

    def run(self, ctx, inputs, params):
        return {"out": {"sum": float(inputs["table"]["x"].sum())}}


class Allocate(Operator):
    """Fills memory in 64 MiB blocks, each written, as an operator whose data outgrows the machine would."""

    name = "test_allocate"
    category = "Testing"
    description = "Allocates and writes `megabytes` of memory, then lets it go."
    outputs = (Port("out", PortType.METRICS),)

    class Params(Params):
        megabytes: int = Field(64, ge=1)

    def run(self, ctx, inputs, params):
        import numpy as np

        blocks = [np.ones(64 * 1024 * 1024, dtype=np.uint8) for _ in range(max(1, params.megabytes // 64))]
        return {"out": {"allocated_mb": 64 * len(blocks)}}


for _cls in (Emit, NotANumber, AddOne, Deaf, Rendezvous, Fail, Crash, NeedsTable, MakeTable, UnwritableTable,
             ScribbleOnInput, SumX, Allocate):
    operators.register(_cls)


def node(node_id, operator, **params):
    return {"id": node_id, "operator": operator, "params": params, "position": {"x": 0, "y": 0}}


def edge(source, target, source_port="out", target_port="in"):
    return {"source": source, "source_port": source_port, "target": target, "target_port": target_port}
