"""The Spark halves of the operators, keyed by operator name.

An operator is declared once, in `operators.library` (ports, parameters, docs). Its Spark half is a
function `run(ctx, inputs, params) -> outputs` registered here under the operator's name: table inputs
arrive as Spark DataFrames (`ctx.spark` is the session); fit computes statistics with Spark
aggregations, and transforms run the library's numpy kernels through `mapInArrow`, so both engines give
the same features for the same fitted state (DESIGN principle 1).

Only the Spark engine (pipelines.engines.run_on_spark) imports this package, so pyspark is never loaded
by the local engine, the studio or the online scorer.
"""
from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import Any
from collections.abc import Callable, Mapping

SparkRun = Callable[[Any, Mapping[str, Any], Any], dict]

_implementations: dict[str, SparkRun] = {}
_discovered = False
_lock = threading.Lock()


def spark_operator(name: str) -> Callable[[SparkRun], SparkRun]:
    """Register the decorated function as the Spark implementation of operator `name`."""

    def register(run: SparkRun) -> SparkRun:
        existing = _implementations.get(name)
        if existing is not None and existing is not run:
            raise ValueError(f"operator {name!r} has two Spark implementations: {existing.__module__} and "
                             f"{run.__module__}")
        _implementations[name] = run
        return run

    return register


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    with _lock:
        if not _discovered:
            for info in pkgutil.iter_modules(__path__):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{__name__}.{info.name}")
            _discovered = True


def spark_implementation(name: str) -> SparkRun | None:
    """The Spark implementation of operator `name`, or None if it has none."""
    _discover()
    return _implementations.get(name)


def implemented() -> list[str]:
    """Names of the operators that have a Spark implementation."""
    _discover()
    return sorted(_implementations)
