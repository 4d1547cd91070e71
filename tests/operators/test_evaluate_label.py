"""evaluate_binary's true label, left empty: the label the model was trained on. A person's table calls it
"churned" (not "label"); evaluate finds it from the connected model, or from the mark predict leaves on the table
it scored (kept through the artifact store), and says which column it read; with neither, an error naming the
field and the columns, never a guess."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from operators import OperatorError, PortType
from operators.tables import SCORED_LABEL
from tests.operators.conftest import planted_table


@pytest.fixture(scope="module")
def churn():
    df = planted_table(3000, seed=4).rename(columns={"label": "churned"})
    df["churned"] = np.where(df["churned"] == 1, "yes", "no")
    return df.iloc[:2000].reset_index(drop=True), df.iloc[2000:].reset_index(drop=True)


@pytest.fixture
def trained(run, churn):
    train, test = churn
    fitted = run("feature_extraction", {"table": train}, label="churned")
    model = run("train_lr", {"features": fitted["features"]})["model"]
    scored = run("predict", {"model": model, "feature_state": fitted["feature_state"], "table": test})["table"]
    return model, scored


def test_the_default_label_is_the_one_the_model_was_trained_on(run, churn, trained):
    model, scored = trained
    stored = run.roundtrip(PortType.TABLE, scored)  # as the evaluate node downstream reads it
    y = (churn[1]["churned"] == "yes").to_numpy()
    for inputs in ({"table": stored}, {"table": stored.copy(), "model": model}):
        out = run("evaluate_binary", inputs)
        assert out["metrics"]["auc"] == roc_auc_score(y, scored["probability"])
        assert out["metrics"]["positive_class"] == "yes"
        assert "true label: column 'churned'" in out["report"].text
    # an unmarked table (a rename of the label on the way dropped the mark): the connected model still says which
    # column
    unmarked = stored.copy()
    unmarked.attrs.clear()
    assert run("evaluate_binary", {"table": unmarked, "model": model})["metrics"]["auc"] > 0.6
    # asked for by name, the column asked for wins and the report does not claim a default
    asked = run("evaluate_binary", {"table": unmarked.assign(other=unmarked["churned"])}, label="other")
    assert asked["metrics"]["auc"] == roc_auc_score(y, scored["probability"])
    assert "true label: column" not in asked["report"].text


def test_with_no_label_model_or_mark_the_error_names_the_field_and_the_columns(run, trained):
    _, scored = trained
    unmarked = scored.copy()
    unmarked.attrs.clear()
    with pytest.raises(OperatorError) as err:
        run("evaluate_binary", {"table": unmarked})
    assert err.value.field == "label" and err.value.port == "table"
    assert "churned" in err.value.message and "connect the model" in err.value.message
    # a table with a column called "label" (the former default) still evaluates with nothing set
    as_before = unmarked.rename(columns={"churned": "label"})
    assert run("evaluate_binary", {"table": as_before})["metrics"]["positive_class"] == "yes"


def test_the_second_table_reads_its_own_mark(run, churn, trained):
    _, scored = trained
    second = scored.rename(columns={"churned": "left"})
    second.attrs[SCORED_LABEL] = "left"
    out = run("evaluate_binary", {"table": scored, "table_b": second})
    assert out["metrics"]["b_auc"] == out["metrics"]["auc"]
    assert "true label: column 'churned' and 'left'" in out["report"].text


# ------------------------------------------------------------------------------------ the mark through operators
# Table operators between predict and evaluate, in a pipeline (the executor carries the mark: operators do not):
# each keeps the true label column under its name, so evaluate left at its defaults still finds it ...
def mark_kept(first: str = "x1", key: str = "shape") -> list:
    """The branches that keep the label column (`first`: a column to drop, `key`: the join's key)."""
    return [
        ("filter", "filter_rows", {"expression": "probability >= 0.2"}, ["table"], "table"),
        ("keep_columns", "select_columns", {"columns": ["probability", "churned"]}, ["table"], "table"),
        ("drop_columns", "select_columns", {"columns": [first, "predicted_label"], "mode": "drop"}, ["table"], "table"),
        ("sorted", "sort_rows", {"columns": ["probability"]}, ["table"], "table"),
        ("dedupe", "drop_duplicates", {}, ["table"], "table"),
        ("sampled", "sample", {"fraction": 0.5}, ["table"], "table"),
        ("rule", "split_rule", {"expression": "probability >= 0.2"}, ["table"], "first"),
        ("cast", "cast_columns", {"types": {"probability": "number"}}, ["table"], "table"),
        ("derive", "derive_column", {"column": "z", "expression": "probability * 2"}, ["table"], "table"),
        ("union", "union_tables", {}, ["first", "second"], "table"),
        ("join", "join", {"left_on": [key]}, ["left"], "table"),
        ("sql", "sql_transform", {"sql": "SELECT * FROM t1 WHERE probability >= 0.2"}, ["t1"], "table"),
        ("sql_columns", "sql_transform", {"sql": "SELECT churned, probability FROM t1"}, ["t1"], "table"),
        ("script", "python_script", {"code": "def run(tables, params):\n    return {'table': tables['t1']}\n"},
         ["t1"], "table"),
    ]


# ... and where the column is gone or renamed the mark is gone too: evaluate asks which column, never names a
# column the table lacks
MARK_LOST = [
    ("renamed", "rename_columns", {"mapping": {"churned": "y"}}, ["table"], "table"),
    ("sql_renamed", "sql_transform", {"sql": "SELECT churned AS y, probability FROM t1"}, ["t1"], "table"),
    ("label_dropped", "select_columns", {"columns": ["churned"], "mode": "drop"}, ["table"], "table"),
]
RIGHT_TABLE = ([("right", "import_parquet", {"path": "data/right.parquet"})], [("right", "table", "join", "right")])


def check_marks(result, kept, lost=MARK_LOST, label="churned") -> None:
    """Each kept branch's table carries the mark and its evaluate reads that column; each lost one neither."""
    from operators.tables import scored_label

    for branch, *_, output in kept:
        evaluated = result.nodes[f"ev_{branch}"]
        assert evaluated.status == "succeeded", (branch, evaluated.error)
        assert scored_label(result.output(branch, output)) == label, branch
        assert f"true label: column '{label}'" in result.output(f"ev_{branch}", "report").text, branch
        assert result.metrics[f"ev_{branch}"]["positive_class"] == "yes", branch
    for branch, *_, output in lost:
        assert result.nodes[branch].status == "succeeded", (branch, result.nodes[branch].error)
        assert scored_label(result.output(branch, output)) is None, branch
        error = result.nodes[f"ev_{branch}"].error
        assert error["field"] == "label" and "which column holds the true label?" in error["message"], branch


def test_the_mark_survives_table_operators_that_keep_the_label(tmp_path, monkeypatch):
    import pipelines
    from tests.spark.graphs import scored_then

    monkeypatch.setenv("STUDIO_ALLOW_SCRIPTS", "1")
    (tmp_path / "data").mkdir()
    table = planted_table(3000, seed=4).rename(columns={"label": "churned"})
    table.assign(churned=np.where(table["churned"] == 1, "yes", "no")).to_parquet(tmp_path / "data" / "churn.parquet")
    pd.DataFrame({"shape": ["circle", "square"], "k": [1, 2]}).to_parquet(tmp_path / "data" / "right.parquet")
    g = scored_then(mark_kept() + MARK_LOST, train="train_lr", extra=RIGHT_TABLE)
    result = pipelines.run(g, store_root=tmp_path / "store", data_root=tmp_path)
    check_marks(result, mark_kept())
