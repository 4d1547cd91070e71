"""One SparkSession (local[2], driver 2g) for the whole Spark suite; other engineers' tests share the machine."""
from __future__ import annotations

import os

import pytest

SPARK_ENV = {
    "STUDIO_SPARK_MASTER": "local[2]",
    "STUDIO_SPARK_DRIVER_MEMORY": "2g",
    "STUDIO_SPARK_EXECUTOR_MEMORY": "1g",
    "STUDIO_SPARK_SHUFFLE_PARTITIONS": "4",
}


@pytest.fixture(scope="session")
def spark():
    from pipelines.engines import spark_session, stop_spark_session

    saved = {name: os.environ.get(name) for name in SPARK_ENV}
    os.environ.update(SPARK_ENV)
    session = spark_session()
    yield session
    stop_spark_session()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def credit_root(tmp_path_factory):
    """A data root with the demo's generated table as data/credit.csv and data/credit.parquet (8,000 rows)."""
    from operators.library.sample_data import credit_default_table

    root = tmp_path_factory.mktemp("spark-data")
    (root / "data").mkdir()
    table = credit_default_table(n_rows=8_000, seed=11)
    table.to_csv(root / "data" / "credit.csv", index=False)
    table.to_parquet(root / "data" / "credit.parquet", index=False)
    return root
