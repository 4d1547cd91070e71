"""The Spark halves of the operators.

An operator is declared once, in `operators.library` (ports, parameters, docs, messages); its declaration names
its Spark half, `spark = "operators.spark.<module>:<function>"`, a function `run(ctx, inputs, params) -> outputs`
defined here. Table inputs arrive as Spark DataFrames (`ctx.spark` is the session); fit computes statistics
with Spark aggregations, and transforms run the library's numpy kernels through `mapInArrow`, so both engines
give the same features for the same fitted state (DESIGN principle 1).

Only the Spark engine (pipelines.engines.SparkEngine.spark_half) imports these modules, so pyspark is never
loaded by the local engine, the studio or the online scorer; the registry checks each name without importing.
"""
