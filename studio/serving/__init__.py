"""The lean online scorer (Open Inference Protocol v2). Imports only the bundle loader and the transform
kernels: no Django, no pyspark, no training code. Start it with `python -m studio.serving`."""
from __future__ import annotations

import importlib.abc
import sys

# LightGBM's Python package imports scikit-learn and pandas when they are installed, for its sklearn-style
# estimators and DataFrame input; the serving process uses neither (a Booster scoring numpy / CSR input).
# Refusing them keeps training code out of the process and saves about 150 MB and a second of start-up;
# LightGBM treats the ImportError as "not installed". Its sklearn-style estimators, Dask training and
# plotting modules are imported by lightgbm/__init__ inside `try: ... except ImportError`, so they are
# refused too. (lightgbm.engine, home of lgb.train, is imported unconditionally and stays: a thin Python
# module over the same C library the Booster scores with.)
KEPT_OUT = ("sklearn", "pandas", "lightgbm.sklearn", "lightgbm.dask", "lightgbm.plotting")


class _KeepOut(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if any(name == kept or name.startswith(kept + ".") for kept in KEPT_OUT):
            raise ImportError(f"{name} is kept out of the serving process")
        return None


def keep_training_code_out() -> None:
    """Called first thing by the serving entry point (never on import: tests share a process)."""
    if not any(isinstance(f, _KeepOut) for f in sys.meta_path):
        sys.meta_path.insert(0, _KeepOut())
