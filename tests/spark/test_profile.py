"""Spark tables in the artifact store get a profile.json of the local engine's shape, with the exact numbers
(rows, missing values, min / max / mean) equal to the local profile of the same table."""
from __future__ import annotations

import pytest

from tests.spark.both import graph, run_both

EXACT = ("nulls", "min", "max")


def _pipeline():
    return graph([("import", "import_parquet", {"path": "data/credit.parquet"}),
                  ("adults", "filter_rows", {"expression": "age >= 30"}),
                  ("split", "split_time", {"column": "application_date", "last_fraction": 0.2})],
                 [("import", "table", "adults", "table"), ("adults", "table", "split", "table")])


def _profiles(result, engine_store):
    out = {}
    for node, outcome in result.nodes.items():
        assert outcome.status == "succeeded", outcome.error
        for port, fp in outcome.outputs.items():
            out[(node, port)] = engine_store.profile(fp)
    return out


def _assert_exact_numbers_agree(local: dict, spark: dict) -> None:
    assert spark["rows"] == local["rows"]
    assert spark["sampled"] == local["sampled"]
    assert [c["name"] for c in spark["columns"]] == [c["name"] for c in local["columns"]]
    for a, b in zip(local["columns"], spark["columns"], strict=True):
        assert b["kind"] == a["kind"], a["name"]
        for key in EXACT:
            assert b.get(key) == a.get(key), (a["name"], key)
        assert ("mean" in b) == ("mean" in a), a["name"]
        if "mean" in a:
            assert b["mean"] == pytest.approx(a["mean"], rel=1e-12), a["name"]


# tables up to STUDIO_SPARK_DRIVER_PROFILE_ROWS rows are profiled on the driver from their Parquet (the default,
# 20M); "0" profiles every one with Spark jobs
PROFILERS = pytest.mark.parametrize("driver_rows", ["20000000", "0"], ids=["driver", "spark-jobs"])


@PROFILERS
def test_spark_run_writes_a_profile_equal_to_the_local_one(spark, credit_root, tmp_path, monkeypatch, driver_rows):
    monkeypatch.setenv("STUDIO_SPARK_DRIVER_PROFILE_ROWS", driver_rows)
    local, distributed = run_both(_pipeline(), credit_root, tmp_path)
    expected, got = _profiles(local, local.store), _profiles(distributed, distributed.store)
    assert sorted(got) == sorted(expected) == [("adults", "table"), ("import", "table"), ("split", "first"),
                                               ("split", "second")]
    for key, profile in got.items():
        assert profile is not None, f"{key}: no profile.json on the Spark engine"
        fp = distributed.nodes[key[0]].outputs[key[1]]
        if key[0] == "import":  # the Parquet file imported whole, kept as it is: profiled when asked, as locally
            assert "profile.json" not in distributed.store.meta(fp)["files"]
        else:
            assert distributed.store.meta(fp)["engine"] == "spark" and distributed.store.meta(fp)["profile"]
        _assert_exact_numbers_agree(expected[key], profile)
        assert not profile["sampled"] and profile["sample_rows"] == profile["rows"]
        # no sampling on either engine: the sample statistics are the whole table's too
        for a, b in zip(expected[key]["columns"], profile["columns"], strict=True):
            assert b["distinct"] == a["distinct"], a["name"]
            assert b.get("histogram") == a.get("histogram"), a["name"]
            assert sorted(t["count"] for t in b.get("top", [])) == sorted(t["count"] for t in a.get("top", []))


@PROFILERS
def test_a_sampled_spark_profile_keeps_exact_counts_and_bounds_its_sample(spark, credit_root, tmp_path,
                                                                           monkeypatch, driver_rows):
    import operators.profile
    import operators.spark.profile

    monkeypatch.setenv("STUDIO_SPARK_DRIVER_PROFILE_ROWS", driver_rows)
    for module in (operators.profile, operators.spark.profile):
        monkeypatch.setattr(module, "SAMPLE_ROWS", 1_000)
    # every row, written by Spark (the import of a whole file is a copy of it, profiled as a local table)
    g = graph([("import", "import_parquet", {"path": "data/credit.parquet"}),
               ("all", "filter_rows", {"expression": "age >= 0"})], [("import", "table", "all", "table")])
    local, distributed = run_both(g, credit_root, tmp_path)
    fp = distributed.nodes["all"].outputs["table"]
    expected, got = local.store.profile(fp), distributed.store.profile(fp)
    assert distributed.store.meta(fp)["engine"] == "spark" and distributed.store.meta(fp)["profile"]
    if driver_rows != "0":  # the local engine's own profile of the same rows in the same order: the same sample
        assert got == expected
    assert got["sampled"] and got["rows"] == 8_000
    assert 800 < got["sample_rows"] <= 1_000
    _assert_exact_numbers_agree(expected, got)
    for column in got["columns"]:
        assert column["distinct"] <= got["sample_rows"]
        if "histogram" in column:
            assert sum(column["histogram"]["counts"]) <= got["sample_rows"]
