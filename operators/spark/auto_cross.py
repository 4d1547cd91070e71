"""auto_cross on the Spark engine: the search runs on the driver over a seeded sample of the table (at most
`search_rows` rows, as pandas); the fit with the crosses found is feature_extraction's Spark fit."""
from __future__ import annotations

import time


def auto_cross(ctx, inputs, params):
    from ..library.auto_cross import cross_report, search_crosses, with_crosses
    from .features import feature_extraction

    table = inputs["table"]
    total = table.count()
    fraction = min(1.0, 1.2 * params.search_rows / max(total, 1))
    sample = (table.sample(False, fraction, params.seed) if fraction < 1 else table).limit(params.search_rows)
    kept, summary = search_crosses(sample.toPandas(), params, time.monotonic() + params.cross_budget,
                                   lambda f, m: ctx.progress(0.6 * f, m))
    report = cross_report(kept, summary)
    ctx.log(f"{report.text} (searched on the driver over a sample of {min(total, params.search_rows):,} rows)")
    out = feature_extraction(ctx, inputs, with_crosses(params, kept))
    out["feature_state"].meta["auto_crosses"] = kept
    return {**out, "report": report}
