"""Node outputs for the outputs panel, read from the artifact store: a paged table preview, a column profile,
metrics, report figures (plotly JSON), a model's or feature matrix's summary."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from operators import FeatureMatrix, Fitted, Report


def _jsonable(df: pd.DataFrame) -> list[list]:
    return json.loads(df.to_json(orient="values", date_format="iso", default_handler=str))


def table_page(df: pd.DataFrame, offset: int, limit: int) -> dict:
    page = df.iloc[offset:offset + limit]
    return {"kind": "table", "rows_total": int(len(df)), "offset": offset, "limit": limit,
            "columns": [{"name": str(c), "dtype": str(t)} for c, t in df.dtypes.items()],
            "rows": _jsonable(page)}


def profile(df: pd.DataFrame) -> dict:
    columns = []
    for name in df.columns:
        col = df[name]
        entry = {"name": str(name), "dtype": str(col.dtype), "count": int(col.notna().sum()),
                 "missing": int(col.isna().sum()), "distinct": int(col.nunique(dropna=True))}
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            values = col.dropna().astype(float)
            if len(values):
                q = values.quantile([0.25, 0.5, 0.75]).tolist()
                entry.update(mean=float(values.mean()), std=float(values.std(ddof=0)), min=float(values.min()),
                             p25=q[0], median=q[1], p75=q[2], max=float(values.max()))
                counts, edges = np.histogram(values, bins=min(20, max(1, int(values.nunique()))))
                entry["histogram"] = {"counts": counts.tolist(), "edges": [float(e) for e in edges]}
        else:
            top = col.astype("string").value_counts(dropna=True).head(10)
            entry["top"] = [{"value": str(k), "count": int(v)} for k, v in top.items()]
        columns.append(entry)
    return {"kind": "profile", "rows_total": int(len(df)), "columns": columns}


def model_summary(model: Fitted, top: int = 10) -> dict:
    """What a person reads of a model: its kind, number of trees or coefficients, and its top features by
    importance (gain for LightGBM, |coefficient| for LR), normalised to sum to 1 over all features."""
    names = list(model.meta.get("feature_names", []))
    summary: dict = {"features": len(names)}
    if model.kind == "lightgbm":
        summary["trees"] = model.texts.get("model", "").count("\nTree=")
        weight = np.asarray(model.arrays.get("importance_gain", np.zeros(len(names))), dtype=np.float64)
    elif "coef" in model.arrays:
        coef = np.asarray(model.arrays["coef"], dtype=np.float64)
        summary["coefficients"] = int(coef.size)
        summary["intercept"] = float(np.ravel(model.arrays.get("intercept", [0.0]))[0])
        weight = np.abs(coef)
    else:
        return summary
    if len(names) == len(weight) and weight.sum() > 0:
        best = np.argsort(-weight, kind="stable")[:top]
        summary["top_features"] = [{"name": names[i], "weight": float(weight[i] / weight.sum())} for i in best]
    return summary


SHOWN_NAMES = 3  # feature names shown per block (a hashed column makes hundreds)


def feature_state_summary(state: Fitted) -> dict:
    """A fitted feature state as a person reads it: one row per block (the source column, its kind, the transform,
    the model family it serves, how many features it made and the first of their names), the label and its
    classes, and the columns it left out with why (pipelines.bundle.left_out_inputs, as a published model says
    it). A state cached before some of these entries existed (no `left_out_times`, no `excluded_identifiers`, no
    views) reads with them empty."""
    from operators.kernels import features as kernel
    from pipelines.bundle import left_out_inputs

    meta = state.meta
    kinds = {spec["name"]: spec["kind"] for spec in meta.get("inputs", [])}
    widths = [block.width for block in kernel.compiled(state).blocks]
    names, start, blocks = list(meta["names"]), 0, []
    for block, width in zip(meta["blocks"], widths, strict=True):
        if block["op"] == "cross":
            column, kind = " × ".join(str(p["column"]) for p in block["parts"]), "cross"
        else:
            column, kind = str(block["column"]), kinds.get(block["column"], "")
        blocks.append({"column": column, "kind": kind, "transform": block["op"], "model": block.get("view", "both"),
                       "made": width, "names": names[start:start + min(width, SHOWN_NAMES)]})
        start += width
    classes = meta.get("label_classes")
    return {"features": len(names), "columns": len(kinds), "label": meta.get("label"),
            "label_classes": classes if isinstance(classes, list) and len(classes) == 2 else None,
            "blocks": blocks, "left_out": [{"column": c["name"], "why": c["reason"]} for c in left_out_inputs(state)]}


def describe(value, view: str, offset: int, limit: int) -> dict:
    if isinstance(value, pd.DataFrame):
        return profile(value) if view == "profile" else table_page(value, offset, limit)
    if isinstance(value, Report):
        return {"kind": "report", "figures": value.figures, "tables": value.tables, "text": value.text}
    if isinstance(value, Fitted):
        body = {"kind": "model", "model_kind": value.kind, "state": value.meta, "arrays": {
            k: list(np.shape(v)) for k, v in value.arrays.items()}, "texts": sorted(value.texts)}
        if value.kind == "features":  # a fitted feature state: what it makes of which column, and what it leaves
            body["features_summary"] = feature_state_summary(value)
        else:
            body["summary"] = model_summary(value)
        return body
    if isinstance(value, FeatureMatrix):
        return {"kind": "features", "rows": int(value.n_rows), "width": int(value.X.shape[1]),
                "names": list(value.names)[:1000], "label_name": value.label_name}
    if isinstance(value, dict):
        return {"kind": "metrics", "metrics": json.loads(json.dumps(value, default=lambda v: v.item()
                                                                    if hasattr(v, "item") else str(v)))}
    return {"kind": type(value).__name__.lower()}
