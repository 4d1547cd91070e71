from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_PIPELINE = REPO / "examples" / "credit_default.json"


@pytest.fixture(scope="session")
def demo_csv(tmp_path_factory) -> Path:
    """The demo's generated CSV, written once per test session into a data root of its own."""
    from operators.library.sample_data import credit_default_table

    root = tmp_path_factory.mktemp("data-root")
    (root / "data").mkdir()
    credit_default_table().to_csv(root / "data" / "credit_default.csv", index=False)
    return root / "data" / "credit_default.csv"


@pytest.fixture
def data_root(tmp_path, demo_csv) -> Path:
    """A data root holding a copy of the demo CSV at data/credit_default.csv, private to one test."""
    root = tmp_path / "data-root"
    (root / "data").mkdir(parents=True)
    shutil.copy(demo_csv, root / "data" / "credit_default.csv")
    return root


@pytest.fixture
def store(tmp_path):
    from pipelines import FileSystemStore

    return FileSystemStore(tmp_path / "artifacts")
