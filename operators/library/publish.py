"""Publish a trained model, with its feature logic, as an online prediction service."""
from __future__ import annotations

from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..labels import THRESHOLD_HINT


class PublishModel(Operator):
    """Builds a model bundle (the fitted feature state, the model, and 100 held-out rows with their batch
    scores, no pickle) and makes it the live version of a deployment: in the studio it answers on the serving
    process at /v2/models/<deployment>/infer within seconds. The bundle replays its held-out rows whenever it
    loads and is refused if any score differs. Runs every time (publishing is not cached)."""

    name = "publish_model"
    spark = "operators.spark.io:publish_model"
    category = "Deployment"
    description = "Publish a model and its feature state as an online service (Open Inference Protocol v2)."
    inputs = (Port("model", PortType.MODEL, "A trained model (LR or GBDT)"),
              Port("feature_state", PortType.FEATURE_STATE, "The feature state the model was trained on"),
              Port("table", PortType.TABLE, "Held-out rows (raw columns): the first 100 verify the bundle"))
    outputs = (Port("deployment", PortType.METRICS, "The deployment name, its new version and the bundle"),)
    cacheable = False  # publishing is a side effect: rerunning publishes again

    class Params(Params):
        deployment: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$",
                                description="Deployment name: lower-case letters, digits, '-' or '_'; the model "
                                            "answers at /v2/models/<deployment>/infer")
        threshold: float = Field(0.5, ge=0, le=1, description=THRESHOLD_HINT)

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        if hasattr(table, "toPandas"):  # a Spark DataFrame: the bundle summarises a sample (drift statistics)
            table = table.limit(100_000).toPandas()
        if len(table) == 0:
            raise OperatorError("the held-out table has no rows; the bundle needs rows to verify itself",
                                port="table")
        if inputs["feature_state"].kind != "features":
            raise OperatorError(f"expected a feature state, got a {inputs['feature_state'].kind!r} state",
                                port="feature_state")
        info = ctx.publish(params.deployment, model=inputs["model"], feature_state=inputs["feature_state"],
                           holdout=table, threshold=params.threshold)
        ctx.log(f"published {params.deployment} version {info.get('version') or '(unregistered)'}: "
                f"{info.get('bundle')}")
        return {"deployment": {k: ("" if v is None else v) for k, v in info.items()}}


class ScoreWithDeployment(Operator):
    """Batch-scores a table with a published deployment's bundle (its live version unless `version` is set):
    the same feature kernel and model as the online service, so the same numbers. Adds `probability` and
    `predicted_label`."""

    name = "score_with_deployment"
    spark = "operators.spark.io:score_with_deployment"
    category = "Deployment"
    description = "Batch-score rows with a published model (the same numbers as online)."
    inputs = (Port("table", PortType.TABLE, "Rows holding the deployment's raw input columns"),)
    outputs = (Port("table", PortType.TABLE, "The input rows plus probability and predicted label"),)
    cacheable = False  # the live version may change between runs

    class Params(Params):
        deployment: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$", description="Deployment name")
        version: str = Field("", description="Version to use; empty for the live one")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        if hasattr(table, "toPandas"):
            raise OperatorError("scoring with a deployment runs on the local engine", port="table")
        bundle = ctx.deployment_bundle(params.deployment, params.version or None)
        try:
            scores = bundle.score_table(table)
        except ValueError as exc:  # a column the bundle needs is missing
            raise OperatorError(str(exc), port="table") from None
        out = table.copy()
        out["probability"], out["predicted_label"] = scores["probability"], scores["label"]
        ctx.log(f"scored {len(out):,} rows with {params.deployment} version {bundle.version}")
        return {"table": out}
