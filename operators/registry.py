"""Finds every operator in `operators.library` and answers by name.

Discovery imports each module of the library package once; an operator is any `Operator` subclass with a
`name`. Third-party packages can add operators with `register`.
"""
from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import pkgutil
import threading

from .contract import Operator

_registry: dict[str, type[Operator]] = {}
_discovered = False
_lock = threading.Lock()


def register(cls: type[Operator]) -> type[Operator]:
    """Add an operator class (usable as a decorator). A second class with the same name is an error."""
    existing = _registry.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"operator name {cls.name!r} is declared twice: {existing.__module__} and {cls.__module__}")
    _check_declaration(cls)
    _registry[cls.name] = cls
    return cls


def _check_declaration(cls: type[Operator]) -> None:
    for attr in ("name", "category", "description"):
        if not getattr(cls, attr, None):
            raise TypeError(f"operator {cls.__qualname__} does not declare {attr!r}")
    for ports, kind in ((cls.inputs, "input"), (cls.outputs, "output")):
        seen = [p.name for p in ports]
        if len(seen) != len(set(seen)):
            raise TypeError(f"operator {cls.name!r} declares an {kind} port twice: {seen}")
    _check_spark_half(cls)


def _check_spark_half(cls: type[Operator]) -> None:
    """An operator of the library names its Spark half, and the name must point at a function."""
    if cls.spark is None:
        if cls.__module__.startswith("operators.library."):
            raise TypeError(f"operator {cls.name!r} of the library has no Spark half: declare "
                            "spark = \"operators.spark.<module>:<function>\"")
        return  # an operator from outside the library runs on the driver on the Spark engine, for small inputs
    module, _, function = cls.spark.partition(":")
    if not function or function not in _module_functions(module):
        raise TypeError(f"operator {cls.name!r} names a Spark half {cls.spark!r} that does not exist: no function "
                        f"{function!r} in module {module!r}")


@functools.cache
def _module_functions(module: str) -> frozenset[str]:
    """The top-level functions a module's source defines, read without importing it (no pyspark here)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return frozenset()
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return frozenset()
    with open(spec.origin, encoding="utf-8") as source:
        tree = ast.parse(source.read(), filename=spec.origin)
    return frozenset(node.name for node in tree.body if isinstance(node, ast.FunctionDef))


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    with _lock:
        if _discovered:
            return
        from . import library

        for info in pkgutil.iter_modules(library.__path__):
            module = importlib.import_module(f"{library.__name__}.{info.name}")
            for value in vars(module).values():
                if (isinstance(value, type) and issubclass(value, Operator) and value is not Operator
                        and value.__module__ == module.__name__ and getattr(value, "name", None)):
                    register(value)
        _discovered = True


def get(name: str) -> type[Operator] | None:
    _discover()
    return _registry.get(name)


def all_operators() -> list[type[Operator]]:
    _discover()
    return sorted(_registry.values(), key=lambda c: (c.category, c.name))


def catalogue() -> list[dict]:
    """Every operator's declaration as JSON: what the API serves and the canvas draws, unchanged."""
    return [cls.as_json() for cls in all_operators()]
