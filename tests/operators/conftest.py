"""Operators run with the real executor's context (pipelines.executor.NodeContext), not a stand-in."""
from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import operators
from pipelines import FileSystemStore
from pipelines.executor import CancelToken, Executor, NodeContext


class Runner:
    """Runs one operator by name on in-memory inputs through a real NodeContext."""

    def __init__(self, tmp_path: Path):
        self.data_root = tmp_path / "data"
        self.data_root.mkdir()
        self.store = FileSystemStore(tmp_path / "store")
        self.connections: dict[str, str] = {}
        self.uploads: dict[str, Path] = {}
        self.events: list = []  # what the operators reported (log lines, progress), in order

    def logged(self) -> list[str]:
        return [e.data["message"] for e in self.events if e.type == "node_log"]

    def context(self, node_id: str = "node", token: CancelToken | None = None) -> NodeContext:
        executor = Executor(self.store, data_root=self.data_root, connections=self.connections, uploads=self.uploads,
                            on_event=self.events.append)
        return NodeContext(node_id, executor, token or CancelToken())

    def __call__(self, operator: str, inputs: dict | None = None, /, **params):
        cls = operators.get(operator)
        assert cls is not None, operator
        validated = cls.Params(**params)
        ctx = self.context()
        cls().source_fingerprint(ctx, validated)
        return cls().run(ctx, inputs or {}, validated)

    def roundtrip(self, port_type, value):
        """The value after a save and load through the artifact store (as a downstream node sees it)."""
        fp = uuid.uuid4().hex
        self.store.save(fp, port_type, value)
        return self.store.load(fp)


@pytest.fixture
def run(tmp_path) -> Runner:
    return Runner(tmp_path)


def planted_table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical columns with gaps, a label driven by a numeric effect and an interaction."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.uniform(0, 10, n)
    color = rng.choice(["red", "green", "blue", "rare"], n, p=[0.4, 0.35, 0.249, 0.001])
    shape = rng.choice(["circle", "square"], n)
    logit = 1.2 * x1 - 0.2 * x2 + 1.5 * ((color == "red") & (shape == "square")) + 0.5
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "shape": shape, "label": label})
    df.loc[rng.random(n) < 0.05, "x1"] = np.nan
    df.loc[rng.random(n) < 0.05, "color"] = None
    return df
