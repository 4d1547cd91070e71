"""The demo's generated table on Spark."""
from __future__ import annotations

from ..library.sample_data import credit_default_table


def sample_credit_default(ctx, inputs, params):
    """A demo generator: the table is generated on the driver by the local engine's code (so the same rows
    for a seed) and handed to Spark with createDataFrame (through Arrow), so its size is bounded by the
    driver's memory. For tables of tens of millions of rows, write them as Parquet and import them."""
    return {"table": ctx.spark.createDataFrame(credit_default_table(params.n_rows, params.seed))}
