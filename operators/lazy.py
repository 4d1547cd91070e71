"""A module imported on first use of one of its names, for the few heavy libraries that a module needs in some
functions only. The reason is start-up: a cached rerun from the CLI imports every operator module to find the
operators and their parameters but runs none of them, and scipy alone was a tenth of that start-up (issue 19).

    sp = lazy_module("scipy.sparse")   # at the top of the module, where `import scipy.sparse as sp` stood
    sp.issparse(X)                     # scipy.sparse is imported here, once
"""
from __future__ import annotations

import importlib
import threading
from types import ModuleType


class LazyModule:
    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None
        self._lock = threading.Lock()

    def __getattr__(self, attribute: str):
        module = self._module
        if module is None:
            with self._lock:
                if self._module is None:
                    self._module = importlib.import_module(self._name)
                module = self._module
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{' (imported)' if self._module is not None else ''}>"


def lazy_module(name: str) -> LazyModule:
    return LazyModule(name)
