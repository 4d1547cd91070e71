"""Import a table from a relational database through SQLAlchemy: SQLite, PostgreSQL (psycopg), MySQL/MariaDB
(PyMySQL). The connection URL is held outside the graph (a named connection) and never appears in an error."""
from __future__ import annotations

import pandas as pd
from pydantic import Field

from ..connections import check_statement, read_only_engine, scrub
from ..contract import Operator, OperatorError, Params, Port, PortType


class ImportSQL(Operator):
    """Reads a table, or the rows of a SELECT query, from a database connection defined in the studio's
    settings (the URL with its password never enters the graph). Rows are fetched in chunks with a server-side
    cursor; more than `max_rows` rows is an error rather than an out-of-memory. The database can change between
    runs, so this node is never served from the cache."""

    name = "import_sql"
    spark = "operators.spark.io:import_sql"
    category = "Data import"
    description = "Read a table or a SELECT query from a database (PostgreSQL, MySQL/MariaDB, SQLite)."
    outputs = (Port("table", PortType.TABLE, "The rows read"),)
    cacheable = False

    class Params(Params):
        connection: str = Field(..., min_length=1, description="Name of one of the project's database "
                                "connections (the studio's Data page lists and adds them)")
        table: str = Field("", description="Table to read (schema.table allowed); or give a query")
        query: str = Field("", description="A SELECT (or WITH ... SELECT) query; or give a table")
        max_rows: int = Field(1_000_000, ge=1, le=200_000_000, description="More rows than this is an error")
        chunk_rows: int = Field(50_000, ge=100, le=5_000_000, description="Rows fetched per round trip")

    def run(self, ctx, inputs, params):
        import sqlalchemy as sa

        if bool(params.table) == bool(params.query):
            raise OperatorError("give either a table or a query, not both or neither", field="table")
        if params.query:
            check_statement(params.query)
        url = ctx.connection_url(params.connection)
        engine, parsed = read_only_engine(url)  # the database refuses writes: operators/connections.py
        chunks, rows = [], 0
        try:
            with engine.connect() as conn:
                if params.table:
                    schema, _, name = params.table.rpartition(".")
                    if not sa.inspect(conn).has_table(name, schema=schema or None):
                        raise OperatorError(f"table {params.table!r} does not exist in connection "
                                            f"{params.connection!r}", field="table")
                    statement = sa.select(sa.text("*")).select_from(sa.table(name, schema=schema or None))
                else:
                    statement = sa.text(params.query)
                conn = conn.execution_options(stream_results=True, max_row_buffer=params.chunk_rows)
                # leaving `connect()` rolls the read-only transaction back
                result = conn.execute(statement)
                columns = list(result.keys())
                while True:
                    ctx.check_cancelled()
                    batch = result.fetchmany(params.chunk_rows)
                    if not batch:
                        break
                    rows += len(batch)
                    if rows > params.max_rows:
                        raise OperatorError(f"the source has more than {params.max_rows:,} rows; raise max_rows "
                                            "or narrow the query", field="max_rows")
                    chunks.append(pd.DataFrame.from_records(batch, columns=columns, coerce_float=True))
                    ctx.progress(min(0.95, rows / params.max_rows), f"{rows:,} rows")
        except OperatorError:
            raise
        except sa.exc.SQLAlchemyError as exc:
            field = "query" if params.query else "table"
            if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) and "connect" in str(exc).lower():
                field = "connection"
            raise OperatorError(f"the database refused: {scrub(str(getattr(exc, 'orig', None) or exc), url, parsed)}",
                                field=field) from None
        finally:
            engine.dispose()
        table = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)
        table = _numeric_decimals(table)
        ctx.log(f"read {len(table):,} rows x {table.shape[1]} columns from {params.table or 'the query'}")
        return {"table": table}


def _numeric_decimals(table: pd.DataFrame) -> pd.DataFrame:
    """Decimal columns (NUMERIC in PostgreSQL, DECIMAL in MySQL) as floats, so operators see numbers."""
    from decimal import Decimal

    for column in table.columns:
        if table[column].dtype == object:
            sample = table[column].dropna().head(100)
            if len(sample) and all(isinstance(v, Decimal) for v in sample):
                table[column] = pd.to_numeric(table[column].map(lambda v: None if v is None else float(v)))
    return table
