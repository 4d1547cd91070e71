"""Sample data that the project generates, so demos and tests need no download."""
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from ..contract import Operator, Params, Port, PortType


def credit_default_table(n_rows: int = 20_000, seed: int = 7) -> pd.DataFrame:
    """A deterministic synthetic credit-default table: numeric and categorical columns, missing values,
    a planted signal (late payments, debt ratio, income, and a region x purpose interaction)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(19, 76, n_rows)
    income = np.round(rng.lognormal(mean=10.6, sigma=0.55, size=n_rows), 2)
    debt_ratio = np.round(np.clip(rng.beta(2.0, 5.0, n_rows) * 1.6, 0, None), 4)
    credit_limit = np.round(income * rng.uniform(0.1, 0.6, n_rows), -2)
    late = rng.poisson(0.6, n_rows)
    months_employed = rng.integers(0, 360, n_rows).astype(float)
    education = rng.choice(["high_school", "bachelor", "master", "phd", "other"], n_rows,
                           p=[0.35, 0.35, 0.18, 0.04, 0.08])
    home = rng.choice(["rent", "own", "mortgage"], n_rows, p=[0.4, 0.2, 0.4])
    region = rng.choice(["north", "south", "east", "west", "central"], n_rows)
    purpose = rng.choice(["car", "home", "education", "business", "travel", "debt_consolidation"], n_rows)
    days = rng.integers(0, 730, n_rows)
    application_date = (np.datetime64("2024-01-01") + days.astype("timedelta64[D]")).astype("datetime64[ns]")

    logit = (-2.2 + 0.65 * late + 2.4 * (debt_ratio - 0.45) - 0.9 * (np.log(income) - 10.6)
             - 0.012 * (age - 45) - 0.002 * months_employed
             + 0.5 * (education == "high_school") - 0.4 * (home == "own")
             + 1.1 * ((region == "south") & (purpose == "business"))
             + 0.8 * ((region == "east") & (purpose == "travel")))
    default = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)

    df = pd.DataFrame({
        "customer_id": np.arange(1, n_rows + 1),
        "age": age,
        "income": income,
        "debt_ratio": debt_ratio,
        "credit_limit": credit_limit,
        "late_payments": late,
        "months_employed": months_employed,
        "education": education,
        "home_ownership": home,
        "region": region,
        "purpose": purpose,
        "application_date": application_date,
        "default": default,
    })
    # Missing values where real data has them.
    df.loc[rng.random(n_rows) < 0.05, "income"] = np.nan
    df.loc[rng.random(n_rows) < 0.08, "months_employed"] = np.nan
    df.loc[rng.random(n_rows) < 0.03, "education"] = None
    return df


class SampleCreditDefault(Operator):
    """Generates the synthetic credit-default table used by the demo: one row per loan application,
    with a binary `default` label. Deterministic for a given seed."""

    name = "sample_credit_default"
    spark = "operators.spark.sample_data:sample_credit_default"
    category = "Data import"
    description = "A generated credit-default table with a planted signal (demo data)."
    outputs = (Port("table", PortType.TABLE, "Loan applications with a binary `default` label"),)

    class Params(Params):
        n_rows: int = Field(20_000, ge=10, le=50_000_000, description="Number of rows to generate")
        seed: int = Field(7, description="Random seed; the same seed gives the same table")

    def run(self, ctx, inputs, params):
        return {"table": credit_default_table(params.n_rows, params.seed)}
