"""automl_gbdt and automl_lr on the Spark engine: the trials run on the driver over a seeded sample.

Each trial is a small model (LightGBM or scikit-learn) on at most `spark_sample_rows` rows collected as a
FeatureMatrix; the final model is trained on that sample too, with the best parameters, so what the report shows
is what was published. The search itself is operators.library.automl's, unchanged.
"""
from __future__ import annotations

from ..values import FeatureMatrix
from .frames import SparkFeatures, to_feature_matrix


def _sample(features, rows: int, seed: int):
    if features is None or isinstance(features, FeatureMatrix):
        return features, None
    compact = features.compact  # counted and sampled from the raw columns: the kernel runs on the sample only
    total = (features.dataframe if compact is None else compact.frame).count()
    frame = features.dataframe
    if total > rows and compact is None:
        frame = frame.sample(False, min(1.0, 1.2 * rows / total), seed).limit(rows)
    elif total > rows:
        from .features import compact_vectors

        frame = compact_vectors(compact, compact.frame.sample(False, min(1.0, 1.2 * rows / total), seed).limit(rows))
    sample = SparkFeatures(frame, features.names, features.label_name, features.categorical, features.views)
    return to_feature_matrix(sample), total


def _run(operator_name: str, ctx, inputs, params):
    from .. import get

    local = dict(inputs)
    local["features"], total = _sample(inputs["features"], params.spark_sample_rows, params.seed)
    local["valid_features"] = _sample(inputs.get("valid_features"), params.spark_sample_rows, params.seed)[0]
    if total is not None:
        ctx.log(f"Spark engine: the trials and the final model run on the driver over "
                f"{local['features'].n_rows:,} of {total:,} training rows (a seeded sample)")
    return get(operator_name)().run(ctx, local, params)


def automl_gbdt(ctx, inputs, params):
    return _run("automl_gbdt", ctx, inputs, params)


def automl_lr(ctx, inputs, params):
    return _run("automl_lr", ctx, inputs, params)
