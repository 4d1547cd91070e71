"""Writes the demo's synthetic credit-default table to examples/data/credit_default.csv (deterministic)."""
from __future__ import annotations

import sys
from pathlib import Path

from operators.library.sample_data import credit_default_table


def main(target: str = "examples/data/credit_default.csv", n_rows: int = 20_000) -> None:
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    credit_default_table(n_rows).to_csv(tmp, index=False)
    tmp.replace(path)
    print(f"wrote {path} ({n_rows:,} rows)")


if __name__ == "__main__":
    main(*sys.argv[1:2])
