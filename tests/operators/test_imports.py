"""Imports: CSV and Parquet from the data root or an upload; SQL from SQLite, PostgreSQL and MariaDB."""
from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from operators import OperatorError, PortType

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
MARIADB = "mysql://root@127.0.0.1:3306/test"


def write(run, name: str, text: str, encoding: str = "utf-8"):
    path = run.data_root / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_delimiter_nulls_type_overrides_and_dates(run):
    write(run, "a.csv", "id;score;flag;zip;when;note\n1;0.5;yes;00123;2024-01-02;x\n2;-;no;99999;2024-02-03;NA\n"
                        "3;2.5;yes;00042;2024-03-04;y\n")
    table = run("import_csv", path="a.csv", delimiter=";", null_values=["-", "NA"],
                column_types={"flag": "boolean", "zip": "string", "id": "integer"})["table"]
    assert table["score"].isna().tolist() == [False, True, False] and table["score"].dtype == np.float64
    assert table["flag"].tolist() == [True, False, True]
    assert table["zip"].tolist() == ["00123", "99999", "00042"]  # leading zeros kept
    assert str(table["id"].dtype) == "Int64"
    assert pd.api.types.is_datetime64_any_dtype(table["when"])
    assert table["note"].tolist()[1] is None or pd.isna(table["note"].tolist()[1])


def test_csv_without_header_encoding_and_row_limit(run):
    write(run, "latin.csv", "café;1\nthé;2\nbière;3\n", encoding="latin-1")
    table = run("import_csv", path="latin.csv", delimiter=";", header=False, encoding="latin-1", max_rows=2)["table"]
    assert list(table.columns) == ["column_1", "column_2"] and table["column_1"].tolist() == ["café", "thé"]
    with pytest.raises(OperatorError) as err:
        run("import_csv", path="latin.csv", delimiter=";", header=False)
    assert err.value.field == "encoding"


def test_csv_bad_input_names_the_field_or_column(run):
    write(run, "b.csv", "a,b\n1,x\n2,y\n")
    with pytest.raises(OperatorError) as err:
        run("import_csv", path="b.csv", column_types={"b": "number"})
    assert err.value.column == "b" and err.value.field == "column_types.b" and "'x'" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("import_csv", path="b.csv", column_types={"nope": "number"})
    assert err.value.column == "nope"
    with pytest.raises(OperatorError, match="outside the data root") as err:
        run("import_csv", path="../b.csv")
    assert err.value.field == "path"
    with pytest.raises(OperatorError, match="does not exist"):
        run("import_csv", path="missing.csv")
    write(run, "empty.csv", "")
    with pytest.raises(OperatorError, match="empty"):
        run("import_csv", path="empty.csv")
    with pytest.raises(OperatorError, match="either a path or an upload"):
        run("import_csv")


def test_upload_ids_resolve_through_the_context(run, tmp_path):
    uploaded = tmp_path / "upload-7.csv"
    uploaded.write_text("a,b\n1,2\n")
    run.uploads["u7"] = uploaded
    assert run("import_csv", upload="u7")["table"].to_dict("list") == {"a": [1], "b": [2]}
    with pytest.raises(OperatorError) as err:
        run("import_csv", upload="u8")
    assert err.value.field == "upload" and "u8" in err.value.message


def test_an_uploads_file_is_named_by_its_file_name_not_its_id(run, tmp_path):
    """A person picked the file by its name and never saw the upload's id: every message about the file says the
    name, on the upload field."""
    folder = tmp_path / "uploads" / "0f3a"
    folder.mkdir(parents=True)
    (folder / "churn.csv").write_bytes(b"")
    (folder / "churn.parquet").write_text("not parquet")
    run.uploads.update({"31": folder / "churn.csv", "32": folder / "churn.parquet", "33": folder / "gone.csv"})
    for operator, upload, said in (("import_csv", "31", "'churn.csv' is empty"),
                                   ("import_parquet", "32", "cannot read 'churn.parquet' as Parquet"),
                                   ("import_csv", "33", "the uploaded file 'gone.csv' is missing")):
        with pytest.raises(OperatorError) as err:
            run(operator, upload=upload)
        assert err.value.field == "upload" and said in err.value.message and upload not in err.value.message


def test_parquet_columns_and_row_limit(run):
    pd.DataFrame({"a": range(100), "b": [f"s{i}" for i in range(100)]}).to_parquet(run.data_root / "t.parquet")
    table = run("import_parquet", path="t.parquet", columns=["b"], max_rows=10)["table"]
    assert list(table.columns) == ["b"] and len(table) == 10
    with pytest.raises(OperatorError) as err:
        run("import_parquet", path="t.parquet", columns=["zz"])
    assert err.value.column == "zz"
    write(run, "fake.parquet", "not parquet")
    with pytest.raises(OperatorError, match="Parquet"):
        run("import_parquet", path="fake.parquet")


def test_every_imported_table_carries_a_profile(run):
    write(run, "p.csv", "n,c\n1,a\n2,a\n,b\n4,\n")
    table = run("import_csv", path="p.csv")["table"]
    fp = uuid.uuid4().hex
    run.store.save(fp, PortType.TABLE, table)
    profile = run.store.profile(fp)
    n, c = profile["columns"]
    assert profile["rows"] == 4
    assert n["kind"] == "number" and n["nulls"] == 1 and n["distinct"] == 3 and n["min"] == 1 and n["max"] == 4
    assert n["mean"] == pytest.approx(7 / 3) and sum(n["histogram"]["counts"]) == 3
    assert c["kind"] == "string" and c["nulls"] == 1 and c["top"][0] == {"value": "a", "count": 2}


SAMPLE = pd.DataFrame({"id": [1, 2, 3, 4, 5], "amount": [1.5, None, 3.25, 4.0, 5.5],
                       "region": ["north", "south", None, "east", "west"], "label": [0, 1, 0, 1, 1]})


def sql_database(url: str):
    """A uniquely named table holding SAMPLE in the database at `url`; dropped afterwards."""
    from operators.connections import sqlalchemy_url

    engine = sa.create_engine(sqlalchemy_url(url))
    name = f"op_test_{uuid.uuid4().hex[:10]}"
    SAMPLE.to_sql(name, engine, index=False)
    return engine, name


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request, tmp_path):
    url = {"sqlite": f"sqlite:///{tmp_path / 'db.sqlite'}", "postgresql": POSTGRES, "mariadb": MARIADB}[request.param]
    engine, name = sql_database(url)
    yield url, name
    with engine.begin() as conn:
        conn.execute(sa.text(f"DROP TABLE {name}"))
    engine.dispose()


def test_sql_import_reads_a_table_or_a_query(run, database):
    url, name = database
    run.connections["warehouse"] = url
    table = run("import_sql", connection="warehouse", table=name)["table"]
    pd.testing.assert_frame_equal(table.sort_values("id").reset_index(drop=True), SAMPLE, check_dtype=False)
    assert table["amount"].dtype == np.float64
    query = run("import_sql", connection="warehouse",
                query=f"SELECT id, region FROM {name} WHERE label = 1 ORDER BY id", chunk_rows=100)["table"]
    assert query.to_dict("list") == {"id": [2, 4, 5], "region": ["south", "east", "west"]}


def test_sql_import_row_limit_missing_table_and_bad_query(run, database):
    url, name = database
    run.connections["warehouse"] = url
    with pytest.raises(OperatorError, match="more than 3 rows") as err:
        run("import_sql", connection="warehouse", table=name, max_rows=3, chunk_rows=100)
    assert err.value.field == "max_rows"
    with pytest.raises(OperatorError) as err:
        run("import_sql", connection="warehouse", table="no_such_table")
    assert err.value.field == "table" and "no_such_table" in err.value.message
    with pytest.raises(OperatorError) as err:
        run("import_sql", connection="warehouse", query=f"SELECT nope FROM {name}")
    assert err.value.field == "query"
    with pytest.raises(OperatorError, match="must be a SELECT"):
        run("import_sql", connection="warehouse", query=f"DROP TABLE {name}")
    with pytest.raises(OperatorError) as err:
        run("import_sql", connection="elsewhere", table=name)
    assert err.value.field == "connection"


def test_an_unknown_connection_names_the_ones_defined(run):
    """A newcomer who types a name that is not a connection learns which names there are (or that there are none)."""
    with pytest.raises(OperatorError, match=r"no connection named 'shop'; none is defined") as err:
        run("import_sql", connection="shop", table="customers")
    assert err.value.field == "connection"
    run.connections["warehouse"] = "sqlite:////nowhere.db"
    run.connections["archive"] = "sqlite:////elsewhere.db"
    with pytest.raises(OperatorError, match=r"no connection named 'Shop'; the connections defined are 'archive', "
                                            r"'warehouse'"):
        run("import_sql", connection="Shop", table="customers")


def test_sql_errors_never_echo_the_connection_url(run):
    secret = "s3cr3t-pw"
    run.connections["bad"] = f"postgresql://postgres:{secret}@127.0.0.1:1/test"
    with pytest.raises(OperatorError) as err:
        run("import_sql", connection="bad", table="t")
    assert secret not in err.value.message and "127.0.0.1:1" not in err.value.message.replace("***", "")
    assert err.value.field == "connection"
    run.connections["garbage"] = f"nonsense://{secret}"
    with pytest.raises(OperatorError) as err:
        run("import_sql", connection="garbage", table="t")
    assert secret not in err.value.message


def one_pass_import(path, **params) -> pd.DataFrame:
    """import_csv's table as pandas makes it reading the whole file in one pass (as import_csv did before it read
    in chunks)."""
    from operators.library.io_files import DEFAULT_NULLS, apply_types

    table = pd.read_csv(path, na_values=params.get("null_values", DEFAULT_NULLS), keep_default_na=False,
                        low_memory=False)
    return apply_types(table, params.get("column_types", {}), params.get("parse_dates", True))


def test_a_column_whose_type_changes_late_in_the_file_gets_the_whole_files_type(run):
    """pandas reads a large file in chunks of 2**18 rows: each column's type is the whole file's all the same."""
    rows = [f"{i},{i},2024-01-{1 + i % 28:02d},{'true' if i % 2 else 'false'},{i % 3}" for i in range(300_000)]
    write(run, "late.csv", "n,x,when,b,k\n" + "\n".join(rows + ["oops,2.5,someday,,NA"]) + "\n")
    table = run("import_csv", path="late.csv")["table"]
    assert pd.api.types.is_string_dtype(table["n"]) and table["n"].iloc[-1] == "oops" and table["n"].iloc[7] == "7"
    assert table["x"].dtype == np.float64 and table["x"].iloc[-1] == 2.5
    assert pd.api.types.is_string_dtype(table["when"]) and table["when"].iloc[0] == "2024-01-01"
    assert table["b"].tolist()[:2] == [False, True] and pd.isna(table["b"].iloc[-1])
    assert table["k"].dtype == np.float64 and np.isnan(table["k"].iloc[-1])
    pd.testing.assert_frame_equal(table, one_pass_import(run.data_root / "late.csv"))
    dates = "\n".join([f"{i % 28 + 1},2024-02-{i % 28 + 1:02d}" for i in range(300_000)])
    write(run, "dates.csv", "d,when\n" + dates + "\n")
    table = run("import_csv", path="dates.csv")["table"]
    assert table["d"].dtype == np.int64 and pd.api.types.is_datetime64_any_dtype(table["when"])
    pd.testing.assert_frame_equal(table, one_pass_import(run.data_root / "dates.csv"))


@pytest.mark.parametrize("values", [
    ["2024-01-02", None, "1999-12-31", "2024-02-29"],  # plain dates: pyarrow's parser
    ["2024-01-02", "2024-01-02 10:30:00", None],  # a time among them: pandas'
    ["2024-01-02T10:30:00.123456789", "2024-01-03T00:00:00"],
])
def test_iso_dates_are_pandas_dates(values):
    from operators.library.io_files import iso_dates

    for dtype in ("str", object):
        series = pd.Series(values, dtype=dtype, name="when", index=range(10, 10 + len(values)))
        pd.testing.assert_series_equal(iso_dates(series), pd.to_datetime(series, format="ISO8601"))


def test_a_column_of_dates_with_one_impossible_date_stays_text(run):
    write(run, "d.csv", "when\n2024-01-02\n2024-02-30\n")
    table = run("import_csv", path="d.csv")["table"]
    assert table["when"].tolist() == ["2024-01-02", "2024-02-30"]
