"""Training and scoring on Spark, producing and reading the very model formats of the local engine.

- train_gbdt: up to `one_task_cells()` training rows x features, plain LightGBM in ONE Spark task
  (coalesce(1): no shuffle, no network; an executor's cores), which at 1M rows x 10 features beat two
  networked tasks on two cores. Above it, LightGBM trained across Spark tasks in barrier execution mode: each
  task feeds its partition (Arrow batches from mapInArrow) to LightGBM's own socket network (`machines` from
  the barrier task infos as IP:port, ports shared with allGather, tree_learner "data"). Either way the task
  computes the model's view (dense for GBDT, as the local engine) itself: from the raw columns of the feature
  node's compact frame with the view's blocks alone (operators.spark.frames.Compact; no wide vectors decoded),
  or, for features read back from an artifact, by decoding the vectors once and taking the view's columns,
  and the first task returns the LightGBM text model, so publishing and serving are unchanged.
- predict does not read the feature vectors: it runs the feature kernel on the table's own columns, so a
  plain array column for the features would save predict nothing (evaluate reads only the scores).
- train_lr: pyspark.ml LogisticRegression (L-BFGS / OWL-QN) with scikit-learn's objective translated
  (regParam = 1 / (C * rows), elasticNetParam = l1 share, no standardisation), exported as coefficients,
  intercept and feature names.
- predict: the feature kernel and the model's scorer (operators.kernels.models) through mapInArrow.
"""
from __future__ import annotations

import functools
import json
import os
import socket
import time
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from ..contract import OperatorError
from ..kernels.features import matrix_view
from ..values import FeatureMatrix, Fitted
from .frames import FEATURES, LABEL, SparkFeatures, matrix_from_vectors, spark_view, view_of

MIN_ROWS_PER_TASK = 1_000  # smaller partitions make LightGBM's network cost more than it saves
# Up to this many cells (training rows x the model's features) LightGBM trains in ONE Spark task on all the
# executor's cores, with no shuffle and no socket network: 100M cells are 800 MB as the dense float64 matrix the
# task builds (plus LightGBM's binned copy, about a byte a cell), within one task's memory. At 1M rows x 10 features
# one task on 2 threads took about half the time of 2 networked tasks on 2 cores; at 10M rows (8M x 10 = 80M cells)
# one task's gbdt node 102.5 s against 2 barrier tasks' 136.2 s, and the whole run 189.4 s against 265.2 s (CPU
# 252.6 s against 274.8 s): the barrier stage held both slots, so the features' artifact waited and then slowed
# predict (20.9 s against 65.6 s); the one task leaves a slot to the writer (README, Spark rows, 2026-12-07).
ONE_TASK_CELLS = 100_000_000
NETWORK_TIMEOUT_MINUTES = 10  # LightGBM's time_out is in minutes


def _local(operator_name: str):
    """The local implementation of an operator, for inputs that are already on the driver (a feature
    matrix cached by a local run of the same node)."""
    import operators

    return operators.get(operator_name)()


def _label_counts(features: SparkFeatures, port: str) -> tuple[int, int]:
    from pyspark.sql import functions as F

    from ..library.models_lr import TrainingMessages

    if not features.has_label:
        raise TrainingMessages.no_label(port=port)
    compact = features.compact  # the label from the raw columns, not through the kernel
    if compact is not None and compact.label_counts is not None:  # counted by the fit that made the features
        rows, positives = compact.label_counts
    else:
        frame, label = (compact.frame, compact.label) if compact is not None else (features.dataframe, LABEL)
        row = frame.agg(F.count(F.lit(1)).alias("n"), F.sum(label).alias("pos")).collect()[0]
        rows, positives = int(row["n"]), int(row["pos"] or 0)
    if rows == 0:
        raise TrainingMessages.no_rows(port=port)
    if positives in (0, rows):
        raise TrainingMessages.one_class(port=port, column=features.label_name)
    return rows, positives


# ----------------------------------------------------------------------------------------------- LightGBM
def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def one_task_cells() -> int:
    """Training rows x features up to which train_gbdt uses one Spark task (STUDIO_SPARK_GBDT_ONE_TASK_CELLS,
    default ONE_TASK_CELLS); above it, LightGBM's network across barrier tasks."""
    return int(os.environ.get("STUDIO_SPARK_GBDT_ONE_TASK_CELLS", ONE_TASK_CELLS))


def _task_matrix(batches, *, width: int, columns, dense: bool, seconds: dict, compact=None):
    """This task's rows as (X, y): the vectors decoded once, the view's columns taken here (no separate
    mapInArrow re-encoding them), dense for the GBDT view as on the local engine; or, with `compact` (the view's
    feature state, the label column, the out-of-fold columns), the view's blocks computed by the kernel from the
    raw columns (the same values, with no wide vectors). `seconds` gets the time the rows took to arrive as Arrow
    ("rows") and to become the matrix ("matrix")."""
    import pyarrow as pa

    started = time.perf_counter()
    tables = [pa.Table.from_batches([b]) for b in batches if b.num_rows]
    seconds["rows"] = time.perf_counter() - started
    if not tables:
        return None, None
    table = pa.concat_tables(tables)
    if compact is not None:
        X, y = _compact_matrix(table, *compact)
    else:
        X = matrix_from_vectors(table.column(FEATURES), width)
        if columns is not None:
            X = X[:, columns]
        y = table.column(LABEL).to_numpy()
    if dense and sp.issparse(X):
        X = X.toarray()
    elif not dense and not sp.issparse(X):  # as the vectors decode: CSR
        X = sp.csr_matrix(X)
    seconds["matrix"] = time.perf_counter() - started - seconds["rows"]
    return X, y


def _compact_matrix(table, state: Fitted, label: str, oof: dict[int, str]):
    from ..kernels import features as kernel
    from .features import _label_values, arrow_columns

    n = table.num_rows
    overrides = {i: table.column(c).to_numpy() for i, c in oof.items()} or None
    X = kernel.transform_compiled(kernel.compiled(state), arrow_columns(table, state), n, overrides).X
    return X, _label_values(table.column(label).to_numpy())


def _train_lightgbm_task(batches, *, params: dict, rounds: int, width: int, categorical: list[int],
                         barrier: bool, record_train: bool, columns=None, dense: bool = False, compact=None):
    """mapInArrow body: LightGBM on this task's rows (of `columns` of the `width` features, all when None; or
    the view's blocks from the raw columns with `compact`, see `_task_matrix`); in barrier mode, one member of
    LightGBM's network."""
    import lightgbm as lgb
    import pyarrow as pa

    seconds: dict[str, float] = {}
    X, y = _task_matrix(batches, width=width, columns=columns, dense=dense, seconds=seconds, compact=compact)
    width = width if columns is None else len(columns)
    params = dict(params)
    rank = 0
    started = time.perf_counter()
    if barrier:
        from pyspark import BarrierTaskContext

        context = BarrierTaskContext.get()
        rank = context.partitionId()
        hosts = [info.address.rsplit(":", 1)[0] for info in context.getTaskInfos()]  # IP addresses
        port = _free_port(hosts[rank])
        ports = [int(p) for p in context.allGather(str(port))]
        if X is None:
            raise RuntimeError(f"LightGBM task {rank} received no rows; repartition gave it none")
        params.update(machines=",".join(f"{h}:{p}" for h, p in zip(hosts, ports, strict=True)), local_listen_port=port,
                      num_machines=len(hosts), tree_learner="data", pre_partition=True,
                      time_out=NETWORK_TIMEOUT_MINUTES)
        seconds["network"] = time.perf_counter() - started  # waiting for the other tasks' ports
    started = time.perf_counter()
    train = lgb.Dataset(X, label=y, feature_name=[f"f{j}" for j in range(width)],
                        categorical_feature=categorical, params={"max_bin": params["max_bin"], "verbosity": -1})
    evals: dict = {}
    callbacks = [lgb.record_evaluation(evals)] if record_train else []
    booster = None
    try:
        booster = lgb.train(params, train, num_boost_round=rounds, valid_sets=[train] if record_train else [],
                            valid_names=["train"] if record_train else [], callbacks=callbacks)
        text = booster.model_to_string() if rank == 0 else None
        seconds["training"] = time.perf_counter() - started
    finally:
        if barrier and booster is not None:
            booster.free_network()
    if rank == 0:
        yield pa.RecordBatch.from_pydict({"model": [text], "evals": [json.dumps(evals)],
                                          "rows": [int(X.shape[0])], "seconds": [json.dumps(seconds)]})


class Trained(NamedTuple):
    text: str  # the LightGBM text model
    evals: dict  # the first task's recorded training metrics
    tasks: int  # Spark tasks that trained it (1: plain LightGBM, no shuffle; more: barrier tasks, networked)
    rows: int
    threads: int | None  # LightGBM's threads per task (None: LightGBM's default)
    seconds: dict  # the first task's: rows arriving as Arrow, the matrix, LightGBM's network set-up, training


def _plan_tasks(spark, rows: int, cells: int, tasks: int | None, params: dict) -> tuple[int, dict]:
    """How many tasks train (one up to `one_task_cells()`, unless `tasks` is given), and their LightGBM params."""
    slots = max(1, int(spark.sparkContext.defaultParallelism))
    if tasks is None and cells <= one_task_cells():
        n = 1
    else:
        n = max(1, min(tasks or slots, slots, -(-rows // MIN_ROWS_PER_TASK)))
    params = dict(params)
    if not params.get("num_threads"):
        if n > 1:  # one LightGBM per task slot: no oversubscription
            params["num_threads"] = int(spark.conf.get("spark.task.cpus", "1"))
        elif tasks is None:  # the one task alone in its stage: an executor's cores
            params["num_threads"] = min(slots, int(spark.conf.get("spark.executor.cores", str(slots))))
    return n, params


def _partitions_fit(frame, n: int) -> bool:
    """True when `frame` has `n` partitions of at least MIN_ROWS_PER_TASK rows each, so that the barrier tasks can
    train on them as they are: no repartition, whose shuffle wrote and read every training row again (at 10M rows
    on local[2] the cached compact frame's 8M rows). One small job counts the rows of each partition."""
    from .split import partition_offsets

    if frame.rdd.getNumPartitions() != n:
        return False
    offsets, rows = partition_offsets(frame)
    sizes = np.diff([*offsets, rows])
    return bool(len(sizes) == n and sizes.min() >= MIN_ROWS_PER_TASK)


def train_lightgbm_on_spark(features: SparkFeatures, params: dict, rounds: int, *, tasks: int | None = None,
                            record_train: bool = True, view: str | None = None) -> Trained:
    """Train one LightGBM model on a SparkFeatures (on its `view`'s columns, taken inside the training tasks).
    Up to `one_task_cells()` rows x features, and unless `tasks` says otherwise, in one task without a shuffle
    (coalesce(1)); above it, repartitioned across barrier tasks joined by LightGBM's network."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    from ..kernels.features import dense_view

    spark = features.dataframe.sparkSession
    rows, _ = _label_counts(features, "features")
    columns, names, categorical_names = view_of(features, view) if view else (None, features.names,
                                                                              features.categorical)
    n, params = _plan_tasks(spark, rows, rows * len(names), tasks, params)
    categorical = [names.index(c) for c in categorical_names if c in names]
    compact, frame = None, features.dataframe.select(FEATURES, LABEL)
    if features.compact is not None:  # the task computes the view's blocks from the raw columns
        from .features import view_state

        state, oof = view_state(features.compact, view)
        if list(state.meta["names"]) != list(names):
            raise RuntimeError(f"the {view!r} view's state has other columns than the features' view")
        compact, frame = (state, features.compact.label, oof), features.compact.frame
    body = functools.partial(_train_lightgbm_task, params=params, rounds=rounds, width=len(features.names),
                             categorical=categorical, barrier=n > 1, record_train=record_train,
                             columns=None if columns is None else [int(j) for j in columns],
                             dense=columns is not None and dense_view(view, len(names)), compact=compact)
    schema = StructType([StructField("model", StringType()), StructField("evals", StringType()),
                         StructField("rows", LongType()), StructField("seconds", StringType())])
    # never coalesce before a barrier stage; one task needs no shuffle; barrier tasks need none either when the
    # frame's own partitions are already one per task, each with rows enough (`_partitions_fit`)
    if n == 1:
        frame = frame.coalesce(1)
    elif not _partitions_fit(frame, n):
        frame = frame.repartition(n)
    result = frame.mapInArrow(body, schema, barrier=n > 1).collect()
    if len(result) != 1 or not result[0]["model"]:
        raise RuntimeError(f"LightGBM on Spark returned {len(result)} models, expected 1")
    return Trained(result[0]["model"], json.loads(result[0]["evals"]), n, rows, params.get("num_threads") or None,
                   json.loads(result[0]["seconds"]))


def train_gbdt(ctx, inputs, params):
    import lightgbm as lgb

    from ..library.models_gbdt import lightgbm_params

    features = inputs["features"]
    if isinstance(features, FeatureMatrix):  # already on the driver
        return _local("train_gbdt").run(ctx, inputs, params)
    if params.early_stopping_rounds:
        raise OperatorError("early stopping is not available on the Spark engine: LightGBM's distributed "
                            "training has no shared validation set; set early_stopping_rounds to 0",
                            field="early_stopping_rounds")
    view = "gbdt" if features.views else None
    _, names, categorical = view_of(features, "gbdt")
    trained = train_lightgbm_on_spark(features, lightgbm_params(params), params.n_estimators,
                                      record_train=params.record_train_metrics, view=view)
    ctx.check_cancelled()
    booster = lgb.Booster(model_str=trained.text)
    evals_json = {part: {metric: [float(v) for v in values] for metric, values in metrics.items()}
                  for part, metrics in trained.evals.items()}
    meta = {"feature_names": names, "categorical": categorical, "label": features.label_name,
            "best_iteration": None, "evals": evals_json, "params": params.model_dump(mode="json"),
            "engine": "spark", "spark_tasks": trained.tasks, "feature_view": view}
    valid = _view_of(inputs.get("valid_features"), "gbdt")
    model = Fitted("lightgbm", meta=meta,
                   arrays={"importance_gain": booster.feature_importance("gain").astype(np.float64),
                           "importance_split": booster.feature_importance("split").astype(np.float64)},
                   texts={"model": trained.text})
    if valid is not None:
        model.meta["valid"] = _valid_metrics(model, valid)
    ctx.log(_trained_message(booster.num_trees(), trained, len(names)))
    return {"model": model}


def _trained_message(trees: int, trained: Trained, width: int) -> str:
    """The node's log line: which path trained the model, and why."""
    cells, bound = trained.rows * width, one_task_cells()
    spent = "; first task: " + ", ".join(f"{k} {v:.1f} s" for k, v in trained.seconds.items())
    if trained.tasks > 1:
        return (f"{trees} trees trained by {trained.tasks} Spark tasks (LightGBM network, barrier mode): "
                f"{trained.rows:,} rows x {width} features = {cells:,} cells > {bound:,} "
                f"(STUDIO_SPARK_GBDT_ONE_TASK_CELLS){spent}")
    threads = f"{trained.threads} threads" if trained.threads else "LightGBM's default threads"
    return (f"{trees} trees trained by 1 Spark task (plain LightGBM on {threads}, no shuffle): "
            f"{trained.rows:,} rows x {width} features = {cells:,} cells <= {bound:,} "
            f"(STUDIO_SPARK_GBDT_ONE_TASK_CELLS){spent}")


# -------------------------------------------------------------------------------------------------- LR
def train_lr(ctx, inputs, params):
    """Spark ML's LogisticRegression, driven through its JVM object: pyspark.ml's Python parameter wrappers
    walk dir(cls) and break when zope.interface (Twisted, under the studio) has decorated typing.Generic."""
    from pyspark.sql import functions as F

    features = inputs["features"]
    if isinstance(features, FeatureMatrix):
        return _local("train_lr").run(ctx, inputs, params)
    features, view = spark_view(features, "lr")
    rows, positives = _label_counts(features, "features")
    frame = features.dataframe
    l1_share = {"l2": 0.0, "l1": 1.0, "elasticnet": params.l1_ratio, "none": 0.0}[params.penalty]
    reg = 0.0 if params.penalty == "none" else 1.0 / (params.C * rows)
    estimator = (frame.sparkSession._jvm.org.apache.spark.ml.classification.LogisticRegression()
                 .setFeaturesCol(FEATURES).setLabelCol(LABEL).setRegParam(reg).setElasticNetParam(l1_share)
                 .setMaxIter(params.max_iter).setTol(params.tol).setStandardization(False).setFitIntercept(True)
                 .setFamily("binomial"))
    if params.class_weight == "balanced":  # scikit-learn's n / (2 * class count)
        w1, w0 = rows / (2.0 * positives), rows / (2.0 * (rows - positives))
        frame = frame.withColumn("__weight", F.when(F.col(LABEL) == 1.0, w1).otherwise(w0))
        estimator = estimator.setWeightCol("__weight")
    ctx.progress(0.1, f"fitting on {rows:,} rows x {len(features.names):,} features (Spark ML)")
    fitted = estimator.fit(frame._jdf)
    ctx.check_cancelled()
    coefficients = _dense_vector(fitted.coefficients().toDense().toString())
    if len(coefficients) != len(features.names):
        raise RuntimeError(f"Spark ML returned {len(coefficients)} coefficients for {len(features.names)} features")
    iterations = int(fitted.summary().totalIterations()) if fitted.hasSummary() else None
    model = Fitted("lr", meta={"feature_names": list(features.names), "label": features.label_name,
                               "penalty": params.penalty, "C": params.C, "n_iter": iterations, "engine": "spark",
                               "feature_view": view},
                   arrays={"coef": coefficients, "intercept": np.asarray([fitted.intercept()], dtype=np.float64)})
    valid = _view_of(inputs.get("valid_features"), "lr")
    if valid is not None:
        model.meta["valid"] = _valid_metrics(model, valid)
        ctx.log(f"validation AUC {model.meta['valid']['auc']:.4f}, logloss {model.meta['valid']['logloss']:.4f}")
    return {"model": model}


def _view_of(features, view: str):
    """A validation input's columns of `view` (local or Spark)."""
    if features is None:
        return None
    if isinstance(features, FeatureMatrix):
        return matrix_view(features, view)[0]
    return spark_view(features, view)[0]


def _dense_vector(text: str) -> np.ndarray:
    """A Spark ML DenseVector's toString ("[0.1,-2.5E-4,...]", Java's round-trip doubles) as numpy."""
    body = text.strip()[1:-1]
    return np.array([float(v) for v in body.split(",")] if body else [], dtype=np.float64)


def _score_vectors(batches, *, model: Fitted, width: int):
    import pyarrow as pa

    from ..kernels.models import load_scorer

    scorer = load_scorer(model)
    for batch in batches:
        if not batch.num_rows:
            continue
        X = matrix_from_vectors(batch.column(batch.schema.get_field_index(FEATURES)), width)
        p = scorer.predict_proba(X)
        yield pa.RecordBatch.from_arrays([batch.column(batch.schema.get_field_index(LABEL)), pa.array(p)],
                                         names=[LABEL, "p"])


def _valid_metrics(model: Fitted, valid) -> dict:
    """Validation AUC and logloss of a model on a SparkFeatures, by the binned evaluation (no collect)."""
    from .evaluate import binned_scores

    if isinstance(valid, FeatureMatrix) or not valid.has_label:
        return {}
    scored = valid.dataframe.select(FEATURES, LABEL).mapInArrow(
        functools.partial(_score_vectors, model=model, width=len(valid.names)), f"{LABEL} double, p double")
    binned = binned_scores(scored, LABEL, "p")
    return {"auc": binned.auc(), "logloss": binned.logloss_sum / binned.rows}


# ----------------------------------------------------------------------------------------------- predict
def _score_arrays(*arrays, names: tuple[str, ...], model: Fitted, state: Fitted, threshold: float, label_type):
    """Scalar Arrow UDF body: one batch of the feature state's input columns (`names`, in order) -> a struct of
    the probability and the predicted label."""
    import pyarrow as pa

    from ..kernels import features as kernel
    from ..kernels.models import load_scorer
    from ..labels import predicted_values
    from .features import arrow_columns

    scorer = model.__dict__.get("_spark_scorer")  # built once per task: the UDF's closure keeps the model object
    if scorer is None:
        scorer = model.__dict__["_spark_scorer"] = load_scorer(model)
    batch = pa.RecordBatch.from_arrays(list(arrays), names=list(names))
    n = batch.num_rows
    if n:
        X = kernel.transform_compiled(kernel.compiled(state), arrow_columns(batch, state), n).X
        p = scorer.predict_proba(X)
    else:
        p = np.empty(0, dtype=np.float64)
    labels = predicted_values(p >= threshold, state.meta.get("label_classes"), zero_one=np.int8)
    return pa.StructArray.from_arrays([pa.array(p, type=pa.float64()), pa.array(labels, type=label_type)],
                                      names=["p", "label"])


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def scored_label_metadata(state) -> dict:
    """The probability column's metadata: the true label column its rows were scored against, for evaluate."""
    from ..tables import SCORED_LABEL

    label = state.meta.get("label")
    return {SCORED_LABEL: label} if label else {}


def _predict_held(table, body, kept: list[str], names: tuple[str, ...], params, state, spark_type):
    """The scored table when the driver holds `table`'s rows in Arrow (operators.spark.tables.held_rows, a split
    done on the driver): the UDF's body run on the driver over them, the result handed to Spark from Arrow and
    held too (no Spark job, no cache to fill: evaluate and the writer read it), else None."""
    import pyarrow as pa
    from pyspark.sql.types import DoubleType, StructField, StructType

    from .tables import hand_to_spark, held_rows

    rows = held_rows(table)
    if rows is None:
        return None
    scored = [body(*batch.columns) for batch in rows.select(list(names)).to_batches() if batch.num_rows]
    if not scored:  # no rows: the body's empty result
        scored = [body(*[pa.array([], type=f.type) for f in rows.select(list(names)).schema])]
    p = pa.chunked_array([s.field("p") for s in scored], type=pa.float64())
    labels = pa.chunked_array([s.field("label") for s in scored])
    out = pa.Table.from_arrays([*rows.select(kept).columns, p, labels],
                               names=[*kept, params.probability_column, params.label_column])
    by_name = {f.name: f for f in table.schema.fields}
    schema = StructType([by_name[c] for c in kept] + [
        StructField(params.probability_column, DoubleType(), metadata=scored_label_metadata(state)),
        StructField(params.label_column, spark_type)])
    return hand_to_spark(table.sparkSession, out, schema)


def predict(ctx, inputs, params):
    """The local operator's probability and predicted label (in the label's own values, the same rule). A scalar
    Arrow UDF of the feature state's input columns: only those columns travel to the Python worker and only the
    two results come back (a mapInArrow would ship every column of the table both ways)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, StructField, StructType

    from ..kernels.models import load_scorer

    from ..kernels.features import model_view, state_view
    from .labels import predicted_types

    model, state, table = inputs["model"], inputs["feature_state"], inputs["table"]
    state = state_view(state, model_view(model))
    scorer = load_scorer(model)
    if list(state.meta["names"]) != scorer.feature_names:
        raise OperatorError("the model was trained on a different feature state than the one connected",
                            port="feature_state")
    names = tuple(c["name"] for c in state.meta["inputs"])
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise OperatorError(f"input column {missing[0]!r} is missing; the feature state needs it",
                            column=missing[0], port="table")
    kept = [c for c in table.columns if c not in (params.probability_column, params.label_column)]
    spark_type, arrow_type = predicted_types(state.meta.get("label_classes"), np.int8)
    body = functools.partial(_score_arrays, names=names, model=model, state=state, threshold=params.threshold,
                             label_type=arrow_type)
    if (held := _predict_held(table, body, kept, names, params, state, spark_type)) is not None:
        return {"table": held}
    returns = StructType([StructField("p", DoubleType()), StructField("label", spark_type)])
    # nondeterministic: the optimiser must not copy the call into each field it reads (two runs of the model)
    score = F.arrow_udf(body, returns, F.ArrowUDFType.SCALAR).asNondeterministic()
    result = "__studio_scored"
    scored = (table.select(*[_quoted(c) for c in kept], score(*[F.col(_quoted(c)) for c in names]).alias(result))
              .select(*[_quoted(c) for c in kept],
                      F.col(f"{result}.p").alias(params.probability_column, metadata=scored_label_metadata(state)),
                      F.col(f"{result}.label").alias(params.label_column)))
    return {"table": scored}
