"""Row identifiers (issue 14 item 3): what auto feature extraction leaves out, and why."""
from __future__ import annotations

import numpy as np
import pandas as pd

from operators.identifiers import row_identifiers


def test_row_identifiers_by_name_and_by_values():
    n = 100
    rng = np.random.default_rng(1)
    table = pd.DataFrame({
        "Unnamed: 0": np.arange(n),                  # a spreadsheet's index column, as pandas names it
        "Row ID": rng.permutation(n) + 1,            # by name
        "customer_index": rng.integers(0, 5, n),     # not by name: only exact identifier names count
        "seq": np.arange(n) * 2 + 1,                 # unique integers, dense: 1, 3, ..., 199
        "sampled": rng.choice(np.arange(400), n, replace=False),  # a 25% sample of row numbers
        "sparse": rng.choice(np.arange(10_000), n, replace=False),  # unique, but spread out: a measurement
        "age": rng.integers(18, 90, n),
        "score": rng.random(n),                      # unique floats are not identifiers
        "gappy": pd.array([*range(n - 1), None], dtype="Int64"),
    })
    found = row_identifiers(table, list(table.columns))
    assert [f["column"] for f in found] == ["Unnamed: 0", "Row ID", "seq", "sampled"]
    assert found[0]["reason"] == "it has no name (an exported row index)"
    assert found[1]["reason"] == "its name 'Row ID' names a row identifier"
    assert found[2]["reason"] == "it holds 100 unique integers from 1 to 199 (row numbers)"


def test_text_keys_named_id_are_identifiers_other_unique_texts_are_not():
    """A shop's customer ids ("C0001", as a database or a spreadsheet keeps them): hashed, each value is one row's, so
    a model can only learn them by heart. Only a name ending in the word id, unique and complete, counts."""
    n = 60
    ids = [f"C{i:04d}" for i in range(n)]
    table = pd.DataFrame({
        "customer_id": ids, "Customer ID": [i.lower() for i in ids], "userId": ids,
        "comment": [f"note {i}" for i in range(n)],                   # unique text, not named as a key
        "region_id": ["north", "south"] * (n // 2),                   # named as a key, repeated values
        "order-id": [*ids[:-1], None],                                # one missing
        "paid": ids,                                                  # "id" inside a word
    })
    found = row_identifiers(table, list(table.columns))
    assert [f["column"] for f in found] == ["customer_id", "Customer ID", "userId"]
    assert found[1]["reason"] == "its name 'Customer ID' and 60 different texts, one per row, make it a key"
    assert row_identifiers(table.head(10), ["customer_id"]) == []


def test_small_tables_are_not_judged_by_values():
    table = pd.DataFrame({"n": np.arange(10), "id": np.arange(10)})
    assert [f["column"] for f in row_identifiers(table, ["n", "id"])] == ["id"]


def churn_table(n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    tenure = rng.integers(0, 72, n)
    return pd.DataFrame({"Unnamed: 0": np.arange(n), "tenure": tenure, "plan": rng.choice(["basic", "pro"], n),
                         "churned": np.where(rng.random(n) * 72 > tenure + 20, "yes", "no")})


def test_feature_extraction_leaves_row_identifiers_out_and_says_so(run, monkeypatch):
    from pipelines.executor import NodeContext

    logs = []
    monkeypatch.setattr(NodeContext, "log", lambda self, message: logs.append(message))
    table = churn_table()
    out = run("feature_extraction", {"table": table}, label="churned")
    state = out["feature_state"]
    assert [i["name"] for i in state.meta["inputs"]] == ["tenure", "plan"]
    assert state.meta["excluded_identifiers"] == [{"column": "Unnamed: 0",
                                                   "reason": "it has no name (an exported row index)"}]
    assert state.meta["label_classes"] == ["no", "yes"]
    assert out["features"].label.tolist() == (table["churned"] == "yes").astype(int).tolist()
    assert any("left out 'Unnamed: 0' (it has no name" in line for line in logs)
    forced = run("feature_extraction", {"table": table}, label="churned", columns={"Unnamed: 0": ["standardize"]})
    assert "Unnamed: 0" in [i["name"] for i in forced["feature_state"].meta["inputs"]]
    assert forced["feature_state"].meta["excluded_identifiers"] == []
    flipped = run("feature_extraction", {"table": table}, label="churned", positive="no")["feature_state"]
    assert flipped.meta["label_classes"] == ["yes", "no"]


def test_feature_extraction_names_a_date_column_it_leaves_out(run, monkeypatch):
    """Auto mode makes no feature of a date: the log says which column and how to use it, instead of a newcomer's
    signup date vanishing from the model (and from its Try it form) without a word."""
    from pipelines.executor import NodeContext

    logs = []
    monkeypatch.setattr(NodeContext, "log", lambda self, message: logs.append(message))
    table = churn_table().drop(columns=["Unnamed: 0"])
    table["signup_date"] = pd.Timestamp("2023-01-01") + pd.to_timedelta(np.arange(len(table)) % 700, unit="D")
    out = run("feature_extraction", {"table": table}, label="churned")
    assert [i["name"] for i in out["feature_state"].meta["inputs"]] == ["tenure", "plan"]
    said = [line for line in logs if "signup_date" in line]
    assert said == ["left out 'signup_date' (a date/time: auto mode makes no feature of it); to use it, derive "
                    "numbers from it before this node with derive_column, e.g. month(signup_date) or "
                    "year(signup_date)"]
    # Excluded by the user, or no date at all: nothing to say.
    logs.clear()
    run("feature_extraction", {"table": table}, label="churned", exclude=["signup_date"])
    run("feature_extraction", {"table": table.drop(columns=["signup_date"])}, label="churned")
    assert not [line for line in logs if "date/time" in line]


def test_new_rows_get_the_training_labels_positive(run):
    table = churn_table()
    state = run("feature_extraction", {"table": table.head(300)}, label="churned", positive="no")["feature_state"]
    applied = run("apply_features", {"feature_state": state, "table": table.tail(100)})["features"]
    assert applied.label.tolist() == (table.tail(100)["churned"] == "no").astype(int).tolist()
