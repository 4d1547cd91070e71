"""Transform kernels: the one implementation of each fitted transform (DESIGN principle 1).

The local engine, the Spark engine (through Arrow batches) and the online scorer all call these modules, so
batch and online scores are the same numbers. They import numpy, scipy and (models only) lightgbm: never
pandas, scikit-learn or pyspark. Fitting lives in `operators.library`, not here.
"""
