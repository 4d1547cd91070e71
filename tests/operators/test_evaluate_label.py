"""evaluate_binary's true label, left empty: the label the model was trained on. A person's table calls it
"churned" (not "label"); evaluate finds it from the connected model, or from the mark predict leaves on the table
it scored (kept through the artifact store), and says which column it read; with neither, an error naming the
field and the columns, never a guess."""
from __future__ import annotations

import numpy as np
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
    # an unmarked table (a filter on the way dropped the mark): the connected model still says which column
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
