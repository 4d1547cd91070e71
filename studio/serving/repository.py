"""The model repository as the serving process sees it: the registry file that the studio writes (atomically
renamed, see pipelines.bundle.write_registry), and every bundle it names, loaded and verified.

A watcher thread polls the registry file; when it changes, new bundles are loaded (and verified by replaying
their held-out rows) off the request path, and one assignment swaps in the new table of models. A request
takes the table once, at its start, so a request in flight finishes on the version it began with; nothing
is locked on the request path.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Callable, Mapping

import numpy as np

from .auth import KeyIndex
from .traffic import Split

log = logging.getLogger("studio.serving")


class ServedVersion(Protocol):
    """What the app needs of one loaded model version (pipelines.bundle.Bundle is one)."""

    name: str
    version: str
    input_spec: list[dict]
    output_spec: list[dict]

    def predict(self, columns: Mapping[str, np.ndarray], n_rows: int, *,
                explain: bool = False) -> dict[str, np.ndarray]: ...


@dataclass
class ServedModel:
    name: str
    live: str | None  # the version answering /v2/models/{name}/infer; None once unpublished
    versions: dict[str, ServedVersion] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # version -> why it was refused
    key_hashes: tuple[str, ...] = ()  # SHA-256 of the primary and secondary keys (auth.py)
    split: Split = field(default_factory=lambda: Split({}))  # live versions and their weights (traffic.py)
    shadow: str | None = None  # a version that scores a copy of every request, off the request path
    rate_limit: tuple[float, float] | None = None  # (requests per second, burst) per key
    log_share: float = 1.0  # the share of requests written to the prediction log
    log_exclude: frozenset[str] = frozenset()  # inputs never written to the prediction log

    def live_version(self) -> ServedVersion | None:
        return self.versions.get(self.live) if self.live is not None else None

    def route(self, request_id: str | None) -> ServedVersion | None:
        """The version answering a request that names none: the split's pick, else the live version."""
        if self.split:
            return self.versions.get(self.split.pick(request_id)) or self.live_version()
        return self.live_version()

    def configure(self, entry: Mapping[str, Any]) -> None:
        """The registry entry's access, traffic, shadow, rate limit and logging settings, each bounded;
        versions that failed to load are left out of the split (the live one answers their share)."""
        self.key_hashes = tuple(str(h) for h in (entry.get("keys") or ())[:2])
        weights = {str(v): int(w) for v, w in (entry.get("traffic") or {}).items()
                   if str(v) in self.versions and isinstance(w, (int, float)) and 0 < w <= 100}
        self.split = Split(weights)
        shadow = entry.get("shadow")
        self.shadow = str(shadow) if shadow is not None and str(shadow) in self.versions else None
        limit = entry.get("rate_limit") or {}
        rate, burst = float(limit.get("rps") or 0), float(limit.get("burst") or 0)
        self.rate_limit = (rate, max(burst, 1.0)) if rate > 0 else None
        logging_ = entry.get("log") or {}
        self.log_share = min(1.0, max(0.0, float(logging_.get("share", 1.0))))
        self.log_exclude = frozenset(str(c) for c in (logging_.get("exclude") or ()))


class Repository:
    """Loads what the registry names and answers `models` (a dict replaced whole, never mutated)."""

    def __init__(self, registry_path: str | Path | None, *, loader: Callable[[Path], ServedVersion],
                 read_registry: Callable[[Path], dict], poll_interval: float = 0.2):
        self.registry_path = Path(registry_path) if registry_path else None
        self._loader = loader
        self._read_registry = read_registry
        self.poll_interval = poll_interval
        self.models: dict[str, ServedModel] = {}
        self.keys = KeyIndex()  # replaced with `models`, from the same registry table
        self.loaded_once = False
        self._cache: dict[str, ServedVersion] = {}  # bundle path -> loaded version (bundles are immutable)
        self._refused: dict[str, str] = {}  # bundle path -> reason
        self._signature: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_swap: Callable[[dict[str, ServedModel]], None] | None = None

    # -------------------------------------------------------------------------------------- loading
    def _registry_signature(self):
        try:
            st = os.stat(self.registry_path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def refresh(self, force: bool = False) -> bool:
        """Reload if the registry file changed; True when a new table of models was swapped in."""
        if self.registry_path is None:
            self.loaded_once = True
            return False
        signature = self._registry_signature()
        if signature == self._signature and not force:
            return False
        registry = self._read_registry(self.registry_path) if signature is not None else {"models": {}}
        models: dict[str, ServedModel] = {}
        wanted_paths = set()
        for name, entry in (registry.get("models") or {}).items():
            model = ServedModel(name, entry.get("live"))
            for version, info in (entry.get("versions") or {}).items():
                path = str(info["bundle"])
                wanted_paths.add(path)
                loaded = self._load(path, name, str(version))
                if isinstance(loaded, str):
                    model.errors[str(version)] = loaded
                else:
                    model.versions[str(version)] = loaded
            if model.live is not None and model.live not in model.versions:
                # The live version was refused: keep answering with the version that was live before.
                previous = self.models.get(name)
                reason = model.errors.get(model.live, "it is not in the registry")
                log.error("model %s version %s cannot go live: %s", name, model.live, reason)
                if previous is not None and previous.live_version() is not None:
                    model.live = previous.live
                    model.versions.setdefault(previous.live, previous.live_version())
                else:
                    model.live = None
            model.configure(entry)
            models[name] = model
        for path in list(self._cache):
            if path not in wanted_paths:
                del self._cache[path]
        self.keys = KeyIndex.of(models, registry.get("control") or ())
        self.models = models  # the swap: one assignment, seen whole by every later request
        self._signature = signature
        self.loaded_once = True
        if self.on_swap is not None:
            self.on_swap(models)
        log.info("serving %s", {n: m.live for n, m in models.items()})
        return True

    def _load(self, path: str, name: str, version: str) -> ServedVersion | str:
        if path in self._cache:
            return self._cache[path]
        if path in self._refused:
            return self._refused[path]
        try:
            loaded = self._loader(Path(path))
        except Exception as exc:  # a refused bundle must not stop the others from loading
            reason = f"bundle {path} was refused: {exc}"
            log.error("model %s version %s: %s", name, version, reason)
            self._refused[path] = reason
            return reason
        loaded.name, loaded.version = name, version
        self._cache[path] = loaded
        return loaded

    # -------------------------------------------------------------------------------------- watching
    def start(self) -> None:
        self.refresh(force=True)
        if self.registry_path is not None and self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="registry-watcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                self.refresh()
            except Exception:  # a half-written or invalid registry: keep serving what we have, try again
                log.exception("cannot read the registry %s", self.registry_path)
                time.sleep(self.poll_interval)
