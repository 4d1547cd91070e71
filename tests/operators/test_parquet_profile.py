"""operators.profile.parquet_profile reads a stored table a column at a time and makes the profile table_profile
makes of the whole table: the same rows sampled, the same numbers."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import operators.profile
from operators.profile import parquet_profile, table_profile


@pytest.mark.parametrize("sample_rows", [100, 10_000], ids=["sampled", "whole"])
def test_a_parquet_profile_equals_the_profile_of_the_table_read_whole(tmp_path, monkeypatch, sample_rows):
    monkeypatch.setattr(operators.profile, "SAMPLE_ROWS", sample_rows)
    rng = np.random.default_rng(4)
    n = 2_000
    table = pd.DataFrame({
        "id": np.arange(n),
        "amount": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 10, n)),
        "city": rng.choice(["Oslo", "Lima", None], n),
        "flag": rng.random(n) < 0.3,
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")})
    path = tmp_path / "t.parquet"
    table.to_parquet(path, index=False)
    got = parquet_profile(path)
    assert got == table_profile(pd.read_parquet(path))
    assert got["sampled"] == (sample_rows < n) and got["rows"] == n
    assert [c["name"] for c in got["columns"]] == list(table.columns)


def test_a_folder_of_parts_is_profiled_in_the_order_of_its_parts(tmp_path, monkeypatch):
    monkeypatch.setattr(operators.profile, "SAMPLE_ROWS", 50)
    folder = tmp_path / "data.parquet"
    folder.mkdir()
    whole = pd.DataFrame({"x": np.arange(300, dtype=np.int64), "y": np.linspace(0, 1, 300)})
    for i in range(3):  # as Spark writes them, with its marker file
        whole.iloc[i * 100:(i + 1) * 100].to_parquet(folder / f"part-{i:05d}.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    assert parquet_profile(folder) == table_profile(whole)
