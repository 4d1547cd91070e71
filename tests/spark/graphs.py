"""Pipelines the Spark tests run on both engines."""
from __future__ import annotations

CROSSES: list = []  # crosses: see test_parity.test_crosses_fit_and_transform_alike


def credit_pipeline(path: str = "data/credit.parquet", *, importer: str = "import_parquet", trees: int = 60,
                    stratify: str = "") -> dict:
    """import -> split -> features (auto, one cross) -> GBDT and LR -> predict -> evaluate both."""
    def node(id, operator, params=None):
        return {"id": id, "operator": operator, "params": params or {}}

    def edge(source, source_port, target, target_port):
        return {"source": source, "source_port": source_port, "target": target, "target_port": target_port}

    return {
        "format": "studio.pipeline/1",
        "name": "credit on two engines",
        "nodes": [
            node("import", importer, {"path": path}),
            node("split", "split_random", {"ratio": 0.7, "seed": 5, "stratify": stratify}),
            node("features", "feature_extraction", {"label": "default", "exclude": ["customer_id", "application_date"],
                                                    "crosses": CROSSES}),
            node("train_gbdt", "train_gbdt", {"n_estimators": trees, "learning_rate": 0.1, "num_leaves": 15,
                                              "min_data_in_leaf": 40}),
            # converged optima (scikit-learn's lbfgs stops early at its default tolerance)
            node("train_lr", "train_lr", {"penalty": "l2", "C": 0.5, "tol": 1e-8, "max_iter": 3000}),
            node("predict_gbdt", "predict"),
            node("predict_lr", "predict"),
            node("evaluate", "evaluate_binary", {"label": "default", "name": "GBDT", "name_b": "LR"}),
        ],
        "edges": [
            edge("import", "table", "split", "table"),
            edge("split", "first", "features", "table"),
            edge("features", "features", "train_gbdt", "features"),
            edge("features", "features", "train_lr", "features"),
            edge("train_gbdt", "model", "predict_gbdt", "model"),
            edge("features", "feature_state", "predict_gbdt", "feature_state"),
            edge("split", "second", "predict_gbdt", "table"),
            edge("train_lr", "model", "predict_lr", "model"),
            edge("features", "feature_state", "predict_lr", "feature_state"),
            edge("split", "second", "predict_lr", "table"),
            edge("predict_gbdt", "table", "evaluate", "table"),
            edge("predict_lr", "table", "evaluate", "table_b"),
            edge("train_gbdt", "model", "evaluate", "model"),
            edge("train_lr", "model", "evaluate", "model_b"),
        ],
    }


def scored_then(branches, *, path: str = "data/churn.parquet", label: str = "churned", train: str = "train_gbdt",
                extra=()) -> dict:
    """import -> split -> features (label `label`) -> `train` -> predict, then per branch (id, operator, params,
    input ports that get predict's table, outputs: the one evaluated) that operator over the scored table and an
    evaluate_binary `ev_<id>` left at its defaults (no label, no model input) over its output. `extra`: more
    (id, operator, params) nodes and (source, port, target, port) edges, e.g. a join's right table."""
    from tests.spark.both import graph

    extra_nodes, extra_edges = extra or ((), ())
    nodes = [("import", "import_parquet", {"path": path}), ("split", "split_random", {"ratio": 0.7, "seed": 5}),
             ("features", "feature_extraction", {"label": label}), ("train", train, {}),
             ("predict", "predict", {}), *extra_nodes]
    edges = [("import", "table", "split", "table"), ("split", "first", "features", "table"),
             ("features", "features", "train", "features"), ("train", "model", "predict", "model"),
             ("features", "feature_state", "predict", "feature_state"), ("split", "second", "predict", "table"),
             *extra_edges]
    for branch, operator, params, ports, output in branches:
        nodes += [(branch, operator, params), (f"ev_{branch}", "evaluate_binary", {})]
        edges += [("predict", "table", branch, port) for port in ports]
        edges.append((branch, output, f"ev_{branch}", "table"))
    return graph(nodes, edges)
