"""Split one table into two."""
from __future__ import annotations

import numpy as np
from pydantic import Field

from ..contract import Operator, Params, Port, PortType
from ..tables import require_rows


class SplitRandom(Operator):
    """Splits rows at random into two tables, `ratio` of them into the first. Seeded, so a rerun gives the
    same split."""

    name = "split_random"
    category = "Data preparation"
    description = "Split rows at random by ratio (seeded)."
    inputs = (Port("table", PortType.TABLE, "Rows to split"),)
    outputs = (Port("first", PortType.TABLE, "`ratio` of the rows (e.g. training)"),
               Port("second", PortType.TABLE, "The remaining rows (e.g. test)"))

    class Params(Params):
        ratio: float = Field(0.7, gt=0.0, lt=1.0, description="Share of rows that go to the first output")
        seed: int = Field(42, description="Random seed")

    def run(self, ctx, inputs, params):
        table = inputs["table"]
        require_rows(table)
        rng = np.random.default_rng(params.seed)
        mask = rng.random(len(table)) < params.ratio
        return {"first": table[mask].reset_index(drop=True), "second": table[~mask].reset_index(drop=True)}
