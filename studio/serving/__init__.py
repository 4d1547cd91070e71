"""The lean online scorer (Open Inference Protocol v2). Imports only the bundle loader and the transform
kernels: no Django, no pyspark, no training code. Start it with `python -m studio.serving`."""
from __future__ import annotations

import ctypes
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


# glibc's malloc serves a block of 128 KB or more (its starting threshold, which it raises by itself only after
# such a block is freed, so it differs from one process to the next) with a fresh mmap, and hands freed memory
# at the top of a heap back to the system: the prediction log's writer allocates and frees a few MB per drain (a
# column of 65,536 rows is 512 KB), and in some serving processes every page of it is faulted in again: 20 minor
# faults per 1,000 logged rows (benchmarks.serving.bench's faults per request: 20.9 in one process, 0-0.8 in
# others), a quarter of the writer's CPU on this machine kind. These keep such blocks in the heap and up to
# 64 MB freed at its top for reuse. Set by the serving entry point.
MMAP_THRESHOLD = 16 << 20
TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters (malloc.h)


def keep_freed_memory() -> bool:
    """glibc's allocator told to reuse freed blocks of up to MMAP_THRESHOLD bytes instead of mapping them anew
    (True when set; False on a C library without mallopt, where nothing changes)."""
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
