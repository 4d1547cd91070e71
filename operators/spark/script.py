"""python_script on Spark. The user's `run` takes whole pandas tables, so its inputs come to the driver, at most
STUDIO_SPARK_LOCAL_FALLBACK_ROWS rows each (what an operator without a Spark half may take), and the script
runs in its confined child process exactly as on the local engine; its outputs go back as pandas tables."""
from __future__ import annotations

import os

from ..contract import OperatorError


def python_script(ctx, inputs, params):
    import operators

    limit = int(os.environ.get("STUDIO_SPARK_LOCAL_FALLBACK_ROWS", "1000000"))
    tables = {}
    for port, table in inputs.items():
        rows = table.count()
        if rows > limit:
            raise OperatorError(f"python_script takes whole pandas tables: input {port!r} has {rows:,} rows, more "
                                f"than the {limit:,} the driver may take (STUDIO_SPARK_LOCAL_FALLBACK_ROWS); "
                                "use sql_transform or derive_column on big tables", port=port)
        tables[port] = table.toPandas()
    return operators.get("python_script")().run(ctx, tables, params)
