"""Engines a run executes on, as strategy objects the executor hands engine-specific work to:
`LocalEngine` (pandas / numpy in this process) and `SparkEngine` (pyspark). An engine says how one node
runs (`run`, inside `node_scope`), how it reads an artifact (`reader`), and what downstream receives of an
output it just stored (`stored_value`); the executor and the store never branch on an engine's name.

The Spark engine keeps one SparkSession per process and reuses it across runs (starting a JVM costs
seconds); a worker warms it up at start (pipelines.warmup). Its settings come from the environment, so the
studio's settings, a worker's environment or a notebook can choose them without code (DESIGN principle 8):

    STUDIO_SPARK_MASTER            local[*] (default), local[2], spark://host:7077
    STUDIO_SPARK_DRIVER_MEMORY     2g
    STUDIO_SPARK_EXECUTOR_MEMORY   2g
    STUDIO_SPARK_EXECUTOR_CORES    unset: Spark's default (all of a worker's cores)
    STUDIO_SPARK_SHUFFLE_PARTITIONS  8 (adaptive execution merges small ones further)
    STUDIO_SPARK_JAVA_OPTIONS      unset: the driver JVM's options (spark.driver.extraJavaOptions)
    STUDIO_SPARK_CONF              unset: more Spark settings, "spark.key=value spark.other=value"
    STUDIO_SPARK_DRIVER_PROFILE_ROWS 20000000: a stored table of at most this many rows is profiled on the driver
                                   from its Parquet, a column at a time (operators.profile.parquet_profile); a
                                   bigger one by Spark jobs (operators.spark.profile)
    STUDIO_SPARK_SPREAD_ROWS       200000: a random split's input of at least this many rows in fewer partitions
                                   than cores (a Parquet file of one row group) is spread over the cores, in row
                                   order, so the split and the nodes after it run a task per core
                                   (operators.spark.split.spread)

Jobs are scheduled FAIR between two pools (`scheduler_pools`): a node's jobs in the default pool, which always gets
a free task slot first, and the writer thread's Parquet and profile jobs (`SparkEngine.persist_scope`) in a pool
that gets one only when no node's task waits for it.

While a node runs on Spark, `SparkJobScope` tags its Spark jobs with a job group of the node, turns job
and stage progress into node progress, and cancels the group as soon as the run is cancelled.
pyspark is imported only when the Spark engine is used.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Callable

# Debian's libpostgresql-jdbc-java and libmariadb-java (installed by `make install`) put the drivers here.
JDBC_JARS = ("/usr/share/java/postgresql.jar", "/usr/share/java/mariadb-java-client.jar")

_lock = threading.Lock()
_session = None
_session_settings: dict[str, str] | None = None


def spark_settings() -> dict[str, str]:
    """The Spark settings of this process, read from the environment each time a session is asked for."""
    env = os.environ
    return {
        "master": env.get("STUDIO_SPARK_MASTER", "local[*]"),
        "driver_memory": env.get("STUDIO_SPARK_DRIVER_MEMORY", "2g"),
        "executor_memory": env.get("STUDIO_SPARK_EXECUTOR_MEMORY", "2g"),
        "executor_cores": env.get("STUDIO_SPARK_EXECUTOR_CORES", ""),
        "shuffle_partitions": env.get("STUDIO_SPARK_SHUFFLE_PARTITIONS", "8"),
        # the driver JVM's own options (its JIT, its collector), given to spark-submit before the JVM starts. None by
        # default: at 1M rows (benchmarks/spark, warm session, 2026-12-06, load 9-18) -XX:TieredStopAtLevel=1 cost
        # 1.6x the run's CPU (134 s vs 84 s), -XX:+UseParallelGC the same CPU (85.6 s); nor
        # spark.sql.execution.arrow.maxRecordsPerBatch=50000 (98.3 s): one sample each, see the branch's report
        "java_options": env.get("STUDIO_SPARK_JAVA_OPTIONS", ""),
        # any further Spark settings, "key=value" separated by spaces, applied last (they win over the above)
        "conf": env.get("STUDIO_SPARK_CONF", ""),
    }


def extra_conf(text: str) -> dict[str, str]:
    """STUDIO_SPARK_CONF's "spark.a=1 spark.b=x" as {"spark.a": "1", "spark.b": "x"}; a word without "=" is an
    error naming it, so that a typo does not pass for a setting."""
    conf = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise ValueError(f"STUDIO_SPARK_CONF: {word!r} is not key=value")
        conf[key] = value
    return conf


def _prepare_environment() -> None:
    # Spark's Python workers (local or on a standalone worker of this machine) must run this virtual
    # environment's interpreter, which has numpy, LightGBM and the `operators` package.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # LightGBM's network needs IP addresses; Spark then reports 127.0.0.1 for every task on one machine.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


WRITES_POOL = "studio-writes"
_POOLS = f"""<?xml version="1.0"?>
<allocations>
  <pool name="default"><schedulingMode>FIFO</schedulingMode><weight>1000</weight><minShare>1000</minShare></pool>
  <pool name="{WRITES_POOL}"><schedulingMode>FIFO</schedulingMode><weight>1</weight><minShare>0</minShare></pool>
</allocations>
"""


def scheduler_pools() -> str:
    """The fair scheduler's pools file: `default` (the nodes' jobs) always below its minimum share, so it gets every
    free slot it has a task for; WRITES_POOL never, so it gets only the slots the nodes leave. Written once per
    content to the temporary folder, where the driver reads it at session start."""
    import hashlib
    import tempfile

    path = Path(tempfile.gettempdir()) / f"studio-spark-pools-{hashlib.sha256(_POOLS.encode()).hexdigest()[:12]}.xml"
    if not path.is_file():
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}")
        tmp.write_text(_POOLS)
        os.replace(tmp, path)
    return str(path)


def spark_session():
    """The process's SparkSession, created on first use with `spark_settings()`. If the settings changed
    since (a test switching to a standalone cluster), the old session is stopped and a new one started."""
    global _session, _session_settings
    settings = spark_settings()
    with _lock:
        if _session is not None and _session_settings == settings and not _is_stopped(_session):
            return _session
        if _session is not None:
            _session.stop()
            _session = None
        _prepare_environment()
        from pyspark.sql import SparkSession

        builder = (SparkSession.builder.master(settings["master"]).appName("studio")
                   .config("spark.driver.memory", settings["driver_memory"])
                   .config("spark.executor.memory", settings["executor_memory"])
                   .config("spark.driver.host", os.environ["SPARK_LOCAL_IP"])
                   .config("spark.driver.bindAddress", os.environ["SPARK_LOCAL_IP"])
                   .config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
                   .config("spark.sql.shuffle.partitions", settings["shuffle_partitions"])
                   .config("spark.scheduler.mode", "FAIR")
                   .config("spark.scheduler.allocation.file", scheduler_pools())
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.sql.session.timeZone", "UTC")
                   .config("spark.sql.legacy.parquet.nanosAsLong", "true")  # pandas' timestamps; see store
                   .config("spark.ui.enabled", "false")  # many workers on one machine: no port races
                   .config("spark.ui.showConsoleProgress", "false"))
        if settings["executor_cores"]:
            builder = builder.config("spark.executor.cores", settings["executor_cores"])
        if settings["java_options"]:
            builder = builder.config("spark.driver.extraJavaOptions", settings["java_options"])
        for key, value in extra_conf(settings["conf"]).items():
            builder = builder.config(key, value)
        jars = [jar for jar in JDBC_JARS if Path(jar).is_file()]
        if jars:
            builder = builder.config("spark.jars", ",".join(jars))
        _session = builder.getOrCreate()
        _session.sparkContext.setLogLevel("ERROR")
        if logging.getLogger("py4j").level == logging.NOTSET:  # a line per thread that used the session, at INFO
            logging.getLogger("py4j").setLevel(logging.WARNING)
        _session_settings = settings
        return _session


def _is_stopped(session) -> bool:
    try:
        return session.sparkContext._jsc is None or session.sparkContext._jsc.sc().isStopped()
    except Exception:
        return True


def stop_spark_session() -> None:
    """Stop the process's session (tests switching masters, a worker shutting down)."""
    global _session, _session_settings
    with _lock:
        if _session is not None:
            _session.stop()
        _session, _session_settings = None, None


def is_spark_dataframe(value: Any) -> bool:
    """True for a pyspark DataFrame, without importing pyspark when it is not loaded."""
    return type(value).__module__.startswith("pyspark.sql") and type(value).__name__ == "DataFrame"


def default_parallelism(spark) -> int:
    return max(1, int(spark.sparkContext.defaultParallelism))


class SparkJobScope:
    """Runs a block of Spark work as one node: its jobs carry a job group, progress of their stages is
    reported through `report(fraction, message, detail)`, and `is_cancelled()` turning true cancels the
    group (running tasks are interrupted; Python workers are killed after spark.python.task.killTimeout).

    On exit after a cancellation, the Spark error of the cancelled job is replaced by `cancelled_error()`;
    a Spark error that carries an operator's OperatorError from a task (operators.spark.tasks) by that error.
    """

    POLL = 0.25  # seconds between looks at the status tracker

    def __init__(self, spark, node_id: str, *, is_cancelled: Callable[[], bool],
                 report: Callable[[float, str, dict], None], cancelled_error: Callable[[], BaseException]):
        self.spark = spark
        self.group = f"studio-{node_id}-{uuid.uuid4().hex[:8]}"
        self.node_id = node_id
        self.is_cancelled = is_cancelled
        self.report = report
        self.cancelled_error = cancelled_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cancel_requested_at: float | None = None

    def __enter__(self):
        sc = self.spark.sparkContext
        sc.setJobGroup(self.group, f"node {self.node_id}", interruptOnCancel=True)
        self._thread = threading.Thread(target=self._watch, name=f"spark-watch-{self.node_id}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        sc = self.spark.sparkContext
        try:  # the node's thread returns to the pool: its next node must not inherit this group
            sc.setLocalProperty("spark.jobGroup.id", None)
            sc.setLocalProperty("spark.job.description", None)
            sc.setLocalProperty("spark.job.interruptOnCancel", None)
        except Exception:
            pass
        if exc is not None and self.is_cancelled() and not isinstance(exc, type(self.cancelled_error())):
            raise self.cancelled_error() from exc
        if isinstance(exc, Exception):
            from operators import OperatorError
            from operators.spark.tasks import operator_error_in

            # a kernel's OperatorError inside a task (a bad value) arrives as Spark's PythonException text:
            # the node fails with the operator's error, as on the local engine, not with a Spark traceback
            error = None if isinstance(exc, OperatorError) else operator_error_in(exc)
            if error is not None:
                raise error from None
        return False

    def _watch(self) -> None:
        sc = self.spark.sparkContext
        tracker = sc.statusTracker()
        last = None
        while not self._stop.wait(self.POLL):
            try:
                if self.is_cancelled():
                    if self.cancel_requested_at is None:
                        self.cancel_requested_at = time.monotonic()
                    # again each round: a job submitted after the first cancel is cancelled as well
                    if tracker.getJobIdsForGroup(self.group):
                        sc.cancelJobGroup(self.group)
                    continue
                snapshot = self._progress(tracker)
                if snapshot and snapshot != last:
                    last = snapshot
                    fraction, message, detail = snapshot
                    self.report(fraction, message, detail)
            except Exception:  # the session stopping under us must not kill the node
                if self._stop.is_set():
                    return

    def _progress(self, tracker):
        done = total = 0
        active = None
        for job_id in sorted(tracker.getJobIdsForGroup(self.group)):
            job = tracker.getJobInfo(job_id)
            if job is None:
                continue
            for stage_id in job.stageIds:
                stage = tracker.getStageInfo(stage_id)
                if stage is None:
                    continue
                done += stage.numCompletedTasks
                total += stage.numTasks
                if stage.numActiveTasks and active is None:
                    active = (job_id, stage_id, stage.name, stage.numCompletedTasks, stage.numTasks,
                              stage.numActiveTasks)
        if not total:
            return None
        if active is None:
            return done / total, f"Spark: {done}/{total} tasks", {"tasks_done": done, "tasks_total": total}
        job_id, stage_id, name, stage_done, stage_total, running = active
        detail = {"job": job_id, "stage": stage_id, "stage_tasks_done": stage_done,
                  "stage_tasks_total": stage_total, "tasks_running": running, "tasks_done": done,
                  "tasks_total": total}
        return (done / total, f"Spark job {job_id}, stage {stage_id}: {stage_done}/{stage_total} tasks", detail)


def jobs_per_node(spark, after_job: int = -1) -> dict[str, dict]:
    """Per node, the Spark jobs its job group ran (SparkJobScope) with an id above `after_job`: {"jobs": count,
    "seconds": their summed wall time}, from Spark's status store (kept with the UI off too). For benchmarks and
    tests that count a node's jobs, not its time."""
    prefix, out = "studio-", {}
    jobs = spark.sparkContext._jsc.sc().statusStore().jobsList(None)
    for i in range(jobs.size()):
        job = jobs.apply(i)
        group = job.jobGroup()
        if job.jobId() <= after_job or not group.isDefined() or not group.get().startswith(prefix):
            continue
        node = group.get()[len(prefix):-9]  # studio-<node>-<8 hex digits>
        entry = out.setdefault(node, {"jobs": 0, "seconds": 0.0})
        entry["jobs"] += 1
        if job.submissionTime().isDefined() and job.completionTime().isDefined():
            entry["seconds"] += (job.completionTime().get().getTime() - job.submissionTime().get().getTime()) / 1000
    return out


def last_job_id(spark) -> int:
    """The id of the newest Spark job of this session, -1 before the first (see `jobs_per_node`)."""
    jobs = spark.sparkContext._jsc.sc().statusStore().jobsList(None)
    return max((jobs.apply(i).jobId() for i in range(jobs.size())), default=-1)


def driver_profile_rows() -> int:
    """Largest stored Spark table whose profile the driver makes from its Parquet, one column at a time: at 1M rows
    0.3 s of pandas against 4.8 s of CPU in three Spark jobs (local[2], 2026-12-06)."""
    return int(os.environ.get("STUDIO_SPARK_DRIVER_PROFILE_ROWS", "20000000"))


def fallback_rows() -> int:
    """Largest table an operator without a Spark implementation may pull to the driver on the Spark engine."""
    return int(os.environ.get("STUDIO_SPARK_LOCAL_FALLBACK_ROWS", "1000000"))


class Engine(Protocol):
    name: str
    # True: downstream nodes start from a node's values in memory while its tables and feature matrices are
    # written by the run's writer thread (pipelines.schedule); False (or absent): written before they start
    background_writes: bool

    def node_scope(self, ctx):
        """A context manager around one node's run (ctx: pipelines.executor.NodeContext)."""

    def run(self, ctx, cls, inputs: dict[str, Any], params) -> dict[str, Any]:
        """Run operator class `cls` on `inputs` (values as this engine holds them)."""

    def reader(self, meta: dict) -> Callable[[Path, dict], Any] | None:
        """How this engine reads an artifact with this meta, or None for the store's own codec."""

    def stored_value(self, store, fingerprint: str, port_type, value: Any) -> Any:
        """What downstream nodes receive of an output just saved under `fingerprint`."""

    def handoff(self, port_type, value: Any) -> Any:
        """With background_writes: what downstream nodes receive of an output before it is written (and what
        is written); called in the node's scope."""

    def release(self, value: Any) -> None:
        """With background_writes: the run is over and `value` (from handoff) is stored; free what it holds."""

    def persist_scope(self):
        """A context manager around the writer thread's writing of one node's outputs."""


class LocalEngine:
    """pandas / numpy / scikit-learn / LightGBM in this process. Downstream nodes get a node's values in
    memory, so its tables and feature matrices are written in the background (pipelines.schedule)."""

    name = "local"
    background_writes = True

    def node_scope(self, ctx):
        return contextlib.nullcontext()

    def run(self, ctx, cls, inputs: dict[str, Any], params) -> dict[str, Any]:
        return cls().run(ctx, inputs, params)

    def reader(self, meta: dict):
        return None

    def stored_value(self, store, fingerprint: str, port_type, value: Any) -> Any:
        return value

    def handoff(self, port_type, value: Any) -> Any:
        return value

    def release(self, value: Any) -> None:
        pass

    def persist_scope(self):
        return contextlib.nullcontext()


class SparkEngine:
    """pyspark: table inputs as Spark DataFrames, each operator's Spark half, its jobs grouped per node.

    A node's table and feature outputs are cached (`handoff`: persisted, and counted once inside the node's
    job group, so its lineage runs once, in the node): downstream nodes start from the cached DataFrame while
    the run's writer thread writes its Parquet (and profile) from the same cache (pipelines.schedule), instead of
    writing, profiling and reading the Parquet back on the critical path. The cache is dropped when the run
    ends (`release`). A Parquet file imported whole is not cached: the store copies the file (no Spark job reads
    it), and downstream nodes read the file again for less than filling a cache with it costs (an import of part of
    a file is cached: uncached, the split decoded it three times while the writer read it a fourth; measured on
    benchmarks/spark/engines_local_vs_spark.py, 2026-12-05 and 2026-12-06)."""

    name = "spark"
    background_writes = True

    def node_scope(self, ctx) -> SparkJobScope:
        """The node's job group, its progress and its cancellation (SparkJobScope)."""
        from operators import Cancelled

        return SparkJobScope(ctx.spark, ctx.node_id, is_cancelled=lambda: ctx.cancelled,
                             report=ctx.spark_progress,
                             cancelled_error=lambda: Cancelled(f"node {ctx.node_id!r} was cancelled"))

    @staticmethod
    def spark_half(cls) -> Callable | None:
        """The Spark implementation the operator class `cls` declares (`cls.spark`, checked by the registry when
        it was registered), or None if it declares none."""
        if not cls.spark:
            return None
        module, _, function = cls.spark.partition(":")
        return getattr(importlib.import_module(module), function)

    def run(self, ctx, cls, inputs: dict[str, Any], params) -> dict[str, Any]:
        """Run one operator on Spark. Its declaration (ports, params) is the one the local engine uses; table
        inputs reach its Spark half as Spark DataFrames. An operator without a Spark half runs its local
        implementation on the driver, explicitly and only for small inputs (`run_on_driver`)."""
        import pandas as pd

        from operators import PortType

        half = self.spark_half(cls)
        if half is None:
            return self.run_on_driver(ctx, cls, inputs, params)
        from .store import table_marks, with_marks

        table_ports = {p.name for p in cls.inputs if p.type == PortType.TABLE}
        # a pandas table (from a node that ran on the driver) as a Spark one, with its marks (predict's true label)
        ready = {name: with_marks(ctx.spark.createDataFrame(value), table_marks(value))
                 if name in table_ports and isinstance(value, pd.DataFrame) else value
                 for name, value in inputs.items()}
        return half(ctx, ready, params)

    @staticmethod
    def run_on_driver(ctx, cls, inputs: dict[str, Any], params) -> dict[str, Any]:
        """The local implementation on the driver: every table input must have at most `fallback_rows()` rows
        (STUDIO_SPARK_LOCAL_FALLBACK_ROWS, default 1,000,000), otherwise the node fails with an error naming
        the node, the operator and the input."""
        from operators import OperatorError

        limit = fallback_rows()
        local_inputs = {}
        for name, value in inputs.items():
            frame = value.dataframe if is_spark_dataframe(getattr(value, "dataframe", None)) else value
            if is_spark_dataframe(frame):
                rows = frame.count()
                if rows > limit:
                    raise OperatorError(
                        f"node {ctx.node_id!r}: operator {cls.name!r} has no Spark implementation, and its input "
                        f"{name!r} has {rows:,} rows, more than the {limit:,} rows that may run on the driver "
                        "(STUDIO_SPARK_LOCAL_FALLBACK_ROWS)", port=name)
                if frame is value:
                    from .store import spark_marks, with_marks

                    value = with_marks(value.toPandas(), spark_marks(value))  # its marks as the pandas table's attrs
                else:  # operators.spark.frames.SparkFeatures
                    from operators.spark.frames import to_feature_matrix

                    value = to_feature_matrix(value)
            local_inputs[name] = value
        ctx.log(f"operator {cls.name!r} has no Spark implementation: ran on the driver with the local engine "
                f"(inputs of at most {limit:,} rows)")
        return cls().run(ctx, local_inputs, params)

    def reader(self, meta: dict):
        from operators import PortType

        from .store import FeaturesCodec, TableCodec

        if meta["type"] == PortType.TABLE.value:
            return TableCodec.load_spark
        if meta["type"] == PortType.FEATURES.value and meta.get("engine") == "spark":
            return FeaturesCodec.load_spark
        return None

    def stored_value(self, store, fingerprint: str, port_type, value: Any) -> Any:
        from operators import PortType

        if port_type in (PortType.TABLE, PortType.FEATURES):
            return store.load(fingerprint, engine=self)  # the Parquet just written, not the lineage again
        return value

    @staticmethod
    def _cache_of(value: Any):
        """The Spark DataFrame whose cache serves a table or feature output (the one frame several outputs share,
        operators.spark.tables.share_cache, cached once for all), or None (a pandas table from the driver)."""
        from operators.spark.tables import cached_frame

        frame = value.dataframe if is_spark_dataframe(getattr(value, "dataframe", None)) else value
        return cached_frame(frame) if is_spark_dataframe(frame) else None

    def handoff(self, port_type, value: Any) -> Any:
        from operators.spark.tables import needs_no_cache

        frame = self._cache_of(value)
        if frame is not None and not frame.is_cached and not needs_no_cache(frame):
            frame.persist()  # memory, spilling to disk (Spark's default for DataFrames)
            # computed here, once, in the node's job group: one job filling the cache (count() would add an
            # adaptive aggregation over it, two more jobs); the plan of a new frame over `frame`, which finds
            # the cache (`frame`'s own plan may have been fixed before the persist)
            frame.select("*")._jdf.queryExecution().toRdd().count()
        return value

    @staticmethod
    @contextlib.contextmanager
    def persist_scope():
        """The writer's jobs in WRITES_POOL (`scheduler_pools`): on local[2] a node's tasks take a slot before a
        write's, so the writes fill the slots the nodes leave instead of sharing them half and half."""
        sc = spark_session().sparkContext
        sc.setLocalProperty("spark.scheduler.pool", WRITES_POOL)
        try:
            yield
        finally:
            sc.setLocalProperty("spark.scheduler.pool", None)

    def release(self, value: Any) -> None:
        frame = self._cache_of(value)
        if frame is not None and frame.is_cached:
            frame.unpersist(blocking=True)  # gone when the run reports it finished


ENGINES: dict[str, Engine] = {"local": LocalEngine(), "spark": SparkEngine()}


def engine_named(engine: str | Engine) -> Engine:
    """The engine called `engine` ("local" or "spark"); an engine object is returned as it is."""
    if not isinstance(engine, str):
        return engine
    try:
        return ENGINES[engine]
    except KeyError:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}") from None
