"""Running one graph on both engines and comparing what they wrote."""
from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

import pipelines


def graph(nodes, edges=()) -> dict:
    """nodes: (id, operator, params); edges: (source, source_port, target, target_port)."""
    return {"format": "studio.pipeline/1", "name": "both engines",
            "nodes": [{"id": i, "operator": o, "params": p} for i, o, p in nodes],
            "edges": [{"source": s, "source_port": sp, "target": t, "target_port": tp} for s, sp, t, tp in edges]}


def one_operator(operator: str, params: dict, inputs: dict[str, str]) -> dict:
    """A graph of an import per input port (inputs: port -> Parquet path below the data root) feeding node `n`."""
    nodes = [(f"import_{port}", "import_parquet", {"path": path}) for port, path in inputs.items()]
    edges = [(f"import_{port}", "table", "n", port) for port in inputs]
    return graph(nodes + [("n", operator, params)], edges)


def run_both(g: dict, data_root, tmp_path, **kwargs) -> tuple:
    """The graph run on the local engine and on Spark, each with a store of its own."""
    return tuple(pipelines.run(g, store_root=tmp_path / engine, data_root=data_root, engine=engine, **kwargs)
                 for engine in ("local", "spark"))


def node_logs_of_both(g: dict, data_root, tmp_path) -> tuple[dict, dict]:
    """The graph run on both engines, each with a store of its own and checked to have succeeded: ({engine: its
    result}, {engine: its nodes' log lines, in order})."""
    results, logs = {}, {}
    for engine in ("local", "spark"):
        lines = logs[engine] = []

        def keep(event, to=lines):
            if event.type == "node_log":
                to.append(event.data["message"])

        result = results[engine] = pipelines.run(g, store_root=tmp_path / engine, data_root=data_root,
                                                 engine=engine, on_event=keep)
        assert result.status == "succeeded", {n: r.error for n, r in result.nodes.items() if r.error}
    return results, logs


def run_local_then_spark_from(g: dict, data_root, tmp_path, node: str) -> tuple:
    """The graph run on the local engine, then from `node` on on Spark over a copy of the local store (the nodes
    before it taken from the local engine's cache): both results, each checked to have succeeded."""
    local = pipelines.run(g, store_root=tmp_path / "local", data_root=data_root, engine="local")
    assert local.status == "succeeded", {n: r.error for n, r in local.nodes.items() if r.error}
    shutil.copytree(tmp_path / "local", tmp_path / "spark")
    on_spark = pipelines.run(g, store_root=tmp_path / "spark", data_root=data_root, engine="spark", from_node=node,
                             force=True)
    assert on_spark.status == "succeeded", {n: r.error for n, r in on_spark.nodes.items() if r.error}
    return local, on_spark


def outputs_of(result, node: str = "n") -> dict:
    """A succeeded node's outputs by port."""
    outcome = result.nodes[node]
    assert outcome.status == "succeeded", outcome.error
    return {port: result.output(node, port) for port in outcome.outputs}


def error_of(result, node: str = "n") -> dict:
    outcome = result.nodes[node]
    assert outcome.status == "failed", f"{node} {outcome.status}"
    return outcome.error


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """A table with Spark's row order and time types undone: Spark writes UTC instants (microseconds), the
    local engine naive nanosecond times; rows sorted by every column."""
    df = df.copy()
    for name in df.columns:
        series = df[name]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(series):
            series = series.astype("datetime64[ns]")
        df[name] = series
    return df.sort_values(list(df.columns), na_position="first", kind="stable").reset_index(drop=True)


def assert_same_rows(local: pd.DataFrame, spark: pd.DataFrame, *, rtol: float = 1e-12) -> None:
    """The same columns in the same order and the same rows (in any order), numbers within `rtol`
    (float summation order), integer columns holding gaps as float64 on either side."""
    assert list(spark.columns) == list(local.columns)
    assert len(spark) == len(local), (len(spark), len(local))
    a, b = comparable(local), comparable(spark)
    for name in a.columns:
        x, y = a[name], b[name]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y) \
                and not pd.api.types.is_bool_dtype(x):
            np.testing.assert_allclose(y.to_numpy(dtype=float), x.to_numpy(dtype=float), rtol=rtol, atol=0,
                                       equal_nan=True, err_msg=name)
        else:
            assert x.astype(object).where(x.notna(), None).tolist() == \
                y.astype(object).where(y.notna(), None).tolist(), name
