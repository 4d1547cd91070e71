"""The serving app of benchmarks/serving/shadow.py: the real create_app over the registry in SERVING_REGISTRY,
where the bundle folder named "sleepy" is wrapped to sleep SHADOW_SLEEP_SECONDS per request before scoring
(a slow shadow version). Started with `uvicorn benchmarks.serving.shadow_app:app --factory`."""
from __future__ import annotations

import os
import time
from pathlib import Path


class Sleepy:
    def __init__(self, bundle, seconds: float):
        self._bundle, self._seconds = bundle, seconds
        self.input_spec, self.output_spec = bundle.input_spec, bundle.output_spec
        self.contribution_names = bundle.contribution_names

    def predict(self, columns, n_rows, *, explain=False):
        time.sleep(self._seconds)
        return self._bundle.predict(columns, n_rows, explain=explain)


def app():
    from pipelines.bundle import load_bundle, read_registry
    from studio.serving.app import create_app
    from studio.serving.repository import Repository

    seconds = float(os.environ.get("SHADOW_SLEEP_SECONDS", "0.05"))

    def loader(path: Path):
        bundle = load_bundle(path)
        return Sleepy(bundle, seconds) if path.name == "sleepy" else bundle

    repository = Repository(os.environ["SERVING_REGISTRY"], loader=loader, read_registry=read_registry)
    return create_app(repository=repository)
