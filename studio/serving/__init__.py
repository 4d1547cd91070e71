"""The lean online scorer (Open Inference Protocol v2). Imports only the bundle loader and the transform
kernels: no Django, no pyspark, no training code. Start it with `python -m studio.serving`."""
from __future__ import annotations

import importlib.abc
import sys

# LightGBM's Python package imports scikit-learn and pandas when they are installed, for its sklearn-style
# estimators and DataFrame input; the serving process uses neither (a Booster scoring numpy / CSR input).
# Refusing them keeps training code out of the process and saves about 150 MB and a second of start-up;
# LightGBM treats the ImportError as "not installed".
KEPT_OUT = ("sklearn", "pandas")


class _KeepOut(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in KEPT_OUT:
            raise ImportError(f"{name} is kept out of the serving process")
        return None


def keep_training_code_out() -> None:
    """Called first thing by the serving entry point (never on import: tests share a process)."""
    if not any(isinstance(f, _KeepOut) for f in sys.meta_path):
        sys.meta_path.insert(0, _KeepOut())
