"""check_drift: a deployment's served inputs against the statistics its bundle keeps of the rows it was
published with; the run fails when any input drifted past the threshold, so a schedule can alert on it."""
from __future__ import annotations

from pydantic import Field

from ..contract import Operator, OperatorError, Params, Port, PortType
from ..prediction_log import served_drift, window
from ..values import Report

WARN, ALERT = 0.1, 0.25  # the usual PSI reading: < 0.1 stable, 0.1 - 0.25 some shift, > 0.25 a real shift
# Fewer served rows than this and a PSI says little: a handful of rows in ten reference bins reads as a large
# shift (one Try it request gave PSIs about 8). check_drift refuses to judge below it; the page greys the bars.
MIN_ROWS = 100
TOO_FEW_COLOUR = "#95a5a6"


def drift_figure(report: dict, threshold: float = ALERT, min_rows: int = MIN_ROWS) -> dict:
    """A bar per input (PSI), coloured by threshold: the deployment page and check_drift's report draw it. Over
    fewer than `min_rows` served rows the bars are grey and the title says they are too few to judge."""
    features = sorted(report["features"], key=lambda f: -f["psi"])
    rows = report["rows"]
    title = f"Input drift (PSI) over {rows:,} served {'row' if rows == 1 else 'rows'}"
    if rows < min_rows:
        colours = [TOO_FEW_COLOUR] * len(features)
        title += f": too few to judge (drift needs at least {min_rows:,})"
    else:
        colours = ["#c0392b" if f["psi"] > threshold else "#e67e22" if f["psi"] > WARN else "#27ae60"
                   for f in features]
    return {"data": [{"type": "bar", "x": [f["name"] for f in features], "y": [round(f["psi"], 4) for f in features],
                      "marker": {"color": colours}, "name": "PSI"}],
            "layout": {"title": {"text": title},
                       "yaxis": {"title": {"text": "PSI"}, "rangemode": "tozero"},
                       "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": threshold, "y1": threshold,
                                   "line": {"dash": "dash", "color": "#c0392b"}}]}}


class CheckDrift(Operator):
    """Compares the rows a deployment served in a time window with the rows it was published with (the
    quantile edges and category shares its bundle keeps): the population stability index (PSI) per input,
    numeric inputs binned by the reference's deciles, categories by value with never-seen values counted, and
    missing values as a bin of their own; the score's PSI too. Fails the run, naming the inputs, when any PSI
    exceeds the threshold (0.25 is the usual "real shift"), so a scheduled run alerts."""

    name = "check_drift"

    spark = "operators.spark.feedback:check_drift"
    category = "Deployment"
    description = "Fail when a deployment's served inputs drifted from its training rows (PSI per input)."
    outputs = (Port("metrics", PortType.METRICS, "PSI per input and of the score, missing and unseen shares"),
               Port("report", PortType.REPORT, "A bar per input, coloured by threshold"))
    cacheable = False

    class Params(Params):
        deployment: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$", description="Deployment name")
        last_days: float = Field(1.0, gt=0, le=3660, description="Served rows of the last N days")
        until: str = Field("", max_length=40, description="End of the window (ISO date or date-time); empty: now")
        version: str = Field("", max_length=20, description="Version whose statistics and rows to compare; "
                                                            "empty for the live one")
        threshold: float = Field(ALERT, gt=0, le=10, description="Fail when any input's PSI exceeds this")
        min_rows: int = Field(MIN_ROWS, ge=1, le=10_000_000, description="Fewer served rows than this fail the check")

    def run(self, ctx, inputs, params):
        bundle = ctx.deployment_bundle(params.deployment, params.version or None)
        if bundle.statistics is None:
            raise OperatorError(f"version {bundle.version} of {params.deployment!r} was published before drift "
                                "statistics were kept; publish it again", field="version")
        try:
            since, until = window(params.last_days, params.until)
        except ValueError:
            raise OperatorError(f"until {params.until!r} is not an ISO date or date-time", field="until") from None
        found = ctx.prediction_log(params.deployment)
        report = served_drift(found["directory"], params.deployment, bundle.statistics, since=since, until=until,
                              version=bundle.version)
        if report["rows"] < params.min_rows:
            raise OperatorError(f"{params.deployment!r} version {bundle.version} served {report['rows']:,} rows in "
                                f"the window; the check needs at least {params.min_rows:,}", field="min_rows")
        metrics = {"rows": report["rows"], "version": bundle.version, "score_psi": round(report["score"]["psi"], 6)}
        for f in report["features"]:
            metrics[f"psi_{f['name']}"] = round(f["psi"], 6)
            metrics[f"missing_{f['name']}"] = round(f["missing_share"], 6)
            if f["kind"] == "categorical":
                metrics[f"unseen_{f['name']}"] = f["unseen"]
        drifted = [f for f in report["features"] if f["psi"] > params.threshold]
        if drifted:
            names = ", ".join(f"{f['name']} (PSI {f['psi']:.3f})" for f in sorted(drifted, key=lambda f: -f["psi"]))
            raise OperatorError(f"{params.deployment!r} drifted: {names} over the threshold {params.threshold}")
        ctx.log(f"no input of {params.deployment!r} drifted past PSI {params.threshold} over {report['rows']:,} rows")
        table = [{k: v for k, v in f.items() if k != "unseen_values"} for f in report["features"]]
        return {"metrics": metrics, "report": Report(figures={"drift": drift_figure(report, params.threshold,
                                                                                          params.min_rows)},
                                                     tables={"drift": table})}
